"""A download holds what is on the screen: the head chosen inside the Attention view's fragment
(which reruns only that view, not the downloads) is the head in the saved figure."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import wait_for_app

pytestmark = pytest.mark.browser


def test_the_figure_saved_is_the_head_on_the_screen(page):
    page.get_by_role("tab", name="Attention").click()
    page.get_by_text("Click a patch to make it the query.").first.wait_for(timeout=60_000)
    wait_for_app(page)
    page.get_by_role("combobox", name="Head", exact=True).click()
    page.get_by_role("option", name="head 2", exact=True).click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot')].some(gd => "
        "(gd.layout.title && gd.layout.title.text || '').endsWith('block 4, head 2</b></b>'))",  # Streamlit's bold
        timeout=60_000,
    )
    wait_for_app(page)
    page.get_by_text("Downloads", exact=True).click()
    with page.expect_download(timeout=60_000) as download:
        page.get_by_text("Figure as HTML (opens offline)").click()
    assert download.value.suggested_filename == "query_picker.html"
    html = download.value.path().read_text(encoding="utf-8")
    assert re.findall(r'"title":\{"text":"([^"]*)"', html) == ["block 4, head 2"]
