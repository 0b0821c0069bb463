"""User-given text (file names, hub ids, link values, error messages) shows exactly as given.

Checked with a CommonMark renderer (markdown-it-py, another implementation than Streamlit's) and
through the page; the browser test checks Streamlit's own rendering.
"""

from __future__ import annotations

import html
import re

import pytest

from page import ui

markdown_it = pytest.importorskip("markdown_it")

NAMES = [
    "my__draft__v2_$5$_$10$.png",
    "*bold* and _em_.png",
    "[link](http://example.com).png",
    "<b>tag</b> & <script>x</script>.png",
    ":smile: :material/home:.png",
    "`tick` ``two``.png",
    "# heading | table | ~~strike~~.png",
    "back\\slash\\_.png",
    "1. list + more - dash.png",
    "日本語_ファイル*名*.png",
]


def rendered_text(markdown: str) -> str:
    """The text a CommonMark renderer shows for ``markdown`` (tags stripped, entities decoded)."""
    out = markdown_it.MarkdownIt("commonmark").renderInline(markdown)
    return html.unescape(re.sub(r"<[^>]+>", "", out))


@pytest.mark.parametrize("name", NAMES)
def test_plain_text_renders_exactly_as_given(name):
    markdown = ui.plain(name)
    assert rendered_text(markdown) == name
    assert "<" not in re.sub(r"\\<", "", markdown)  # no raw HTML reaches the page
    assert not re.search(r"(?<!\\)\$", markdown)  # no formula can start


@pytest.mark.parametrize("name", NAMES)
def test_code_spans_render_exactly_as_given(name):
    out = markdown_it.MarkdownIt("commonmark").renderInline(ui.code(name))
    assert out.startswith("<code>") and out.endswith("</code>")
    assert html.unescape(out.removeprefix("<code>").removesuffix("</code>")) == name
