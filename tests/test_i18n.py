"""Every word on the page comes from the translation table, in English and Japanese."""

from __future__ import annotations

import ast
import re

from tests.conftest import ROOT
from vizlib.i18n import Translator, load_table

LETTERS = re.compile(r"[A-Za-z\u3040-\u30ff\u4e00-\u9fff]")
# Streamlit calls that put text on the page, and the arguments that carry it.
TEXT_FUNCS = {
    "title", "header", "subheader", "markdown", "caption", "write", "text", "error", "warning", "info", "success",
    "button", "radio", "selectbox", "slider", "select_slider", "number_input", "text_input", "file_uploader",
    "checkbox", "toggle", "tabs", "expander", "metric", "image", "download_button", "spinner", "set_page_config",
    "plotly_chart", "dataframe", "toast", "segmented_control", "pills", "popover",
}  # fmt: skip
TEXT_KEYWORDS = {"label", "body", "help", "caption", "placeholder", "title", "text", "page_title", "value_label"}


def literal_text(node: ast.AST) -> list[str]:
    """String literals with letters inside an expression, not looking into calls (t("key") is fine)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value] if LETTERS.search(node.value) else []
    if isinstance(node, ast.JoinedStr):
        return [v for part in node.values for v in literal_text(part)]
    if isinstance(node, ast.BinOp):
        return literal_text(node.left) + literal_text(node.right)
    if isinstance(node, (ast.List, ast.Tuple)):
        return [v for e in node.elts for v in literal_text(e)]
    if isinstance(node, ast.IfExp):
        return literal_text(node.body) + literal_text(node.orelse)
    return []


PAGE_FILES = [ROOT / "app.py", *sorted((ROOT / "views").glob("*.py")), *sorted((ROOT / "page").glob("*.py"))]


def test_no_text_literal_in_the_page():
    found = []
    for path in PAGE_FILES:
        found += [(path.name, *item) for item in literal_calls(ast.parse(path.read_text(encoding="utf-8")))]
    assert found == []


def literal_calls(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for call in ast.walk(tree):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
            continue
        if call.func.attr not in TEXT_FUNCS:
            continue
        args = call.args[:1] + [k.value for k in call.keywords if k.arg in TEXT_KEYWORDS]
        found += [(call.lineno, text) for arg in args for text in literal_text(arg)]
    return found


def test_the_checker_catches_literals():
    tree = ast.parse('st.button("Go", key="go")\nst.markdown(f"Hello {x}")\nst.caption(t("a") + " left")')
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") in TEXT_FUNCS]
    assert [literal_text(c.args[0]) for c in calls] == [["Go"], ["Hello "], [" left"]]


def test_every_key_used_by_the_page_exists():
    source = "\n".join(path.read_text(encoding="utf-8") for path in PAGE_FILES)
    table = load_table()
    used = set(re.findall(r'\bt\(\s*"([a-z0-9_]+)"', source))
    assert used and used <= set(table)
    # keys built at run time: f"fit_{policy}", f"sample_{name}", f"preset_{p}", f"source_{s}", f"err_{code}"
    for prefix in ["fit_", "sample_", "preset_", "source_", "err_"]:
        assert any(k.startswith(prefix) for k in table), prefix


def test_format_fields_match_between_languages():
    field = re.compile(r"\{(\w+)")
    for key, texts in load_table().items():
        assert set(field.findall(texts["en"])) == set(field.findall(texts["ja"])), key
    assert Translator("ja")("block_short", b=3) == "ブロック 3"


# Colour names in the text: the kernel window's and its vector's come from ui.colours (green/red, or
# orange/blue in presenter view). Only these keys name a colour themselves, each for a reason:
LITERAL_COLOURS = {
    "pca_explain",  # red, green, blue = PC 1, 2, 3: the picture's own RGB channels, the same in presenter view
    "channel_r", "channel_g", "channel_b",  # the input's colour channels
    "snap_formula_crop", "snap_formula_pad",  # the crop shade, drawn red in both views (patches.SHADE)
    "presenter_colours",  # shown in presenter view only, about presenter view's colours
    "colour_window", "colour_vector", "colour_window_presenter", "colour_vector_presenter",
}  # fmt: skip
COLOUR_WORD = {"en": re.compile(r"\b(green|red|orange|blue)\b", re.I), "ja": re.compile("緑|赤|オレンジ|青")}


def test_only_the_listed_sentences_name_a_colour_themselves():
    named = {key for key, text in load_table().items() for lang in ("en", "ja") if COLOUR_WORD[lang].search(text[lang])}
    assert named <= LITERAL_COLOURS, sorted(named - LITERAL_COLOURS)


def test_the_crop_shade_keeps_its_colour_in_presenter_view():
    import plotly.graph_objects as go

    from vizlib.figures.patches import SHADE
    from vizlib.figures.theme import presenter

    fig = go.Figure(layout=dict(shapes=[dict(type="rect", x0=0, x1=1, y0=0, y1=1, fillcolor=SHADE)]))
    assert presenter(fig).layout.shapes[0].fillcolor == SHADE  # so "red-shaded" stays true
