"""Figures laid out for a phone's column (``narrow=True``, issue 26): panels wrap into rows, every
title fits its panel, every colour bar keeps to its own panel's row and to the gap after it, the
overview runs top to bottom with each label inside its box; play buttons grow for a finger.

Checked on the figures' specs against the rules written out here (domains, the character widths of
``common.text_columns``, plotly's button height formula); the browser tests measure the same
figures drawn (tests/browser/test_screens.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from vizlib.figures import common
from vizlib.figures.attention import layer_head_figure, matrix_figure
from vizlib.figures.common import CHAR_PX, PHONE_PX, for_touch, text_columns, wrap_words
from vizlib.figures.embedding import token_heatmap
from vizlib.figures.encoder import head_maps_figure, relevance_pair_figure, token_norms_figure, token_pca_figure
from vizlib.figures.inspector import kernels_figure, window_figure
from vizlib.figures.overview import overview_figure
from vizlib.figures.patches import StrideText, stride_animation
from vizlib.figures.sequence import sequence_figure

RNG = np.random.default_rng(0)
LONG_EN = "First component after block 12: the patches the model now treats alike"
LONG_JA = "ブロック 12 の後の第 1 主成分：モデルが同じように扱うパッチ"


def lines(title: str) -> list[str]:
    return title.split("<br>")


@pytest.mark.parametrize("text", [LONG_EN, LONG_JA, "kernel 0: y = -0.308", "a<br>b c d e f g h", "x" * 40])
@pytest.mark.parametrize("columns", [6, 12, 17])
def test_wrapped_lines_fit_and_keep_every_character(text, columns):
    wrapped = wrap_words(text, columns)
    assert all(text_columns(line) <= columns for line in lines(wrapped)), wrapped
    assert wrapped.replace("<br>", "").replace(" ", "") == text.replace("<br>", "").replace(" ", "")
    assert text.count("<br>") <= wrapped.count("<br>")  # a line break given stays


def test_a_japanese_character_takes_two_columns():
    assert text_columns("パッチ P") == 2 * 3 + 2
    assert text_columns("（10, 128）") == 2 + 7 + 2  # full-width brackets are wide


def x_domain(fig, axis: int) -> tuple[float, float]:
    return tuple(fig.layout[f"xaxis{'' if axis == 1 else axis}"].domain)


def y_domain(fig, axis: int) -> tuple[float, float]:
    return tuple(fig.layout[f"yaxis{'' if axis == 1 else axis}"].domain)


def panel_rows(fig) -> int:
    """How many rows of panels: distinct y domains of the figure's subplots."""
    axes = [k for k in fig.layout if k.startswith("yaxis")]
    return len({tuple(round(v, 6) for v in fig.layout[k].domain) for k in axes})


def titles_fit(fig, panels_a_row: int, font_px: float, spacing: float = 0.0, width_px: float = PHONE_PX):
    """Every subplot title's longest line is no wider than its panel on a phone (``CHAR_PX`` a column)."""
    panel_px = width_px * (1 - spacing * (panels_a_row - 1)) / panels_a_row
    for note in fig.layout.annotations:
        if note.text and note.text.strip():
            widest = max(text_columns(line) for line in lines(note.text)) * CHAR_PX * font_px / 13
            assert widest <= panel_px + 1e-6, (note.text, widest, panel_px)


def bars_keep_to_their_row(fig):
    """Each colour bar lies within the y extent of one row of panels and starts right of some panel."""
    rows = {tuple(fig.layout[k].domain) for k in fig.layout if k.startswith("yaxis")}
    bars = [t.colorbar for t in fig.data if getattr(t, "colorbar", None) is not None and t.showscale is not False]
    bars += [fig.layout[k].colorbar for k in fig.layout if k.startswith("coloraxis")]
    assert bars
    for bar in bars:
        if bar.len is None or bar.y is None:
            continue
        lo, hi = bar.y - bar.len / 2, bar.y + bar.len / 2
        assert any(r[0] - 1e-6 <= lo and hi <= r[1] + 1e-6 for r in rows), (bar.y, bar.len, rows)


@pytest.mark.parametrize("lang_titles", [["the window", *[f"kernel {d}: y = -0.308" for d in range(6)]],
                                         ["窓", *[f"カーネル {d}：y = -0.308" for d in range(6)]]])  # fmt: skip
def test_kernels_wrap_four_a_row_with_titles_that_fit(lang_titles):
    kernels = RNG.normal(size=(6, 3, 16, 16))
    wide = kernels_figure(kernels, lang_titles, window=RNG.integers(0, 255, (16, 16, 3), dtype=np.uint8))
    narrow = kernels_figure(kernels, lang_titles, window=RNG.integers(0, 255, (16, 16, 3), dtype=np.uint8),
                            narrow=True)  # fmt: skip
    assert panel_rows(wide) == 1 and panel_rows(narrow) == 2
    assert narrow.layout.height == 2 * wide.layout.height
    titles_fit(narrow, 4, 12, 0.02)


def test_the_window_and_its_channels_take_two_rows_each_bar_beside_its_channel():
    titles = ["the window", "channel R", "channel G", "channel B"]
    fig = window_figure(RNG.integers(0, 255, (16, 16, 3), dtype=np.uint8), RNG.normal(size=(3, 16, 16)), titles,
                        (-2.1, 2.6), narrow=True)  # fmt: skip
    assert panel_rows(fig) == 2
    bars_keep_to_their_row(fig)
    for i, trace in enumerate(fig.data[1:], start=2):  # each bar starts right of its own channel's panel
        assert trace.colorbar.x >= x_domain(fig, i)[1]
        later = [x_domain(fig, j)[0] for j in range(1, 5) if x_domain(fig, j)[0] > x_domain(fig, i)[0]]
        assert all(trace.colorbar.x + (2 + 8 + 34) / PHONE_PX <= x for x in later)


@pytest.mark.parametrize("titles", [
    ["grid 3×3<br>token order", "flatten<br>(9, 128)", "+CLS in front<br>(10, 128)",
     "+ position embeddings<br>(10, 128)", "= to the encoder<br>(10, 128)"],
    ["格子 3×3<br>トークンの順番", "平坦化<br>(9, 128)", "先頭に +CLS<br>(10, 128)", "+ 位置埋め込み<br>(10, 128)",
     "= エンコーダへ<br>(10, 128)"],
])  # fmt: skip
def test_the_sequence_takes_three_rows_of_two_on_a_phone(titles):
    N, D = 9, 128
    args = (RNG.normal(size=(N, D)), RNG.normal(size=(1, D)), RNG.normal(size=(N + 1, D)) * 0.02, (3, 3), titles)
    wide, narrow = sequence_figure(*args), sequence_figure(*args, narrow=True)
    assert panel_rows(wide) == 1 and panel_rows(narrow) == 3
    titles_fit(narrow, 2, 12, 0.2)
    bars_keep_to_their_row(narrow)
    # a bar starts right of its panel; beside a left panel, it and its numbers (~34 px) end before the
    # right one (a right panel's bar goes in the margin plotly makes for it)
    for name, panel in (("coloraxis", 3), ("coloraxis2", 4), ("coloraxis3", 5)):
        bar = narrow.layout[name].colorbar
        assert x_domain(narrow, panel)[1] <= bar.x
        if panel == 3:  # panel 5 is alone in its row
            assert bar.x + (bar.xpad + bar.thickness + 34) / PHONE_PX <= x_domain(narrow, panel + 1)[0]


def test_the_overview_runs_down_with_each_label_in_its_box():
    labels = ["Image<br>→ patches", "Linear<br>projection<br>(one Conv2d)", "+ CLS<br>+ position",
              "Transformer<br>encoder ×12", "MLP head<br>→ class"]  # fmt: skip
    shapes = ["(196, 3·16²)", "(196, 768)", "(197, 768)", "CLS (768)"]
    fig = overview_figure(labels, shapes, (1,), font_size=14, narrow=True)
    boxes = [s for s in fig.layout.shapes if s.type == "rect"]
    assert [b.y0 for b in boxes] == sorted(b.y0 for b in boxes)  # top to bottom
    assert all(a.y1 <= b.y0 for a, b in zip(boxes, boxes[1:], strict=False))
    names = [a for a in fig.layout.annotations if a.text and not a.showarrow and a.xanchor != "left"]
    assert len(names) == 5
    for box, note in zip(boxes, names, strict=True):
        text = note.text.replace("<b>", "").replace("</b>", "")
        assert "<br>" not in text and box.y0 < note.y < box.y1
        width_px = text_columns(text) * CHAR_PX * note.font.size / 13
        assert width_px <= (box.x1 - box.x0) * PHONE_PX, (text, width_px)
    assert fig.layout.height == pytest.approx(max(b.y1 for b in boxes) + 4)


def test_one_line_titles_wrap_and_get_room_on_a_phone():
    title = "block 12, mean of heads: 197×197 weights, each row sums to 1"
    wide = matrix_figure(RNG.random((20, 20)), 10, title, ("query", "key"))
    narrow = matrix_figure(RNG.random((20, 20)), 10, title, ("query", "key"), narrow=True)
    extra = narrow.layout.title.text.count("<br>")
    assert extra >= 1 and narrow.layout.margin.t == wide.layout.margin.t + 20 * extra
    tokens = token_heatmap(RNG.normal(size=(9, 16)), title="Patch tokens: the 9×128 matrix after flatten (one row "
                           "per patch)", narrow=True)  # fmt: skip
    assert all(text_columns(line) <= common.title_columns(1, 16) for line in lines(tokens.layout.title.text))


def test_the_blocks_by_heads_header_fits_each_tile():
    maps = RNG.random((4, 5, 3, 3))
    fig = layer_head_figure(RNG.integers(0, 255, (30, 30, 3), dtype=np.uint8), maps, [f"block {b}" for b in range(4)],
                            ["h1", "h2", "h3", "h4", "mean of heads"], narrow=True)  # fmt: skip
    assert fig.layout.xaxis.ticktext[-1] == "mean of<br>heads"


def test_encoder_pairs_stack_on_a_phone_with_bars_in_their_rows():
    pixels = RNG.integers(0, 255, (48, 48, 3), dtype=np.uint8)
    pair = relevance_pair_figure(pixels, [RNG.random((3, 3)), RNG.random((3, 3))], 16, ["GAE", "rollout"], narrow=True)
    assert panel_rows(pair) == 2
    bars_keep_to_their_row(pair)
    norms = token_norms_figure(RNG.random((5, 10)) + 1, 1, (3, 3), 4, {"prefix0": "CLS", "median": "median",
                               "max": "largest", "map": "norms after block 4"}, [f"b{i}" for i in range(5)],
                               narrow=True)  # fmt: skip
    assert panel_rows(norms) == 2
    bars_keep_to_their_row(norms)
    maps = head_maps_figure(RNG.normal(size=10), RNG.random(10), (3, 3), ["scores", "weights"], narrow=True)
    first_bar = maps.data[1].colorbar
    assert first_bar.x + (first_bar.xpad + first_bar.thickness + 34) / PHONE_PX <= x_domain(maps, 3)[0]


def test_token_pca_titles_fit_their_panels_on_a_phone():
    titles = ["The model's input", "First component after block 4", "Tokens after block 4: PCA → RGB"]
    fig = token_pca_figure(RNG.random((3, 3, 3)), titles, RNG.integers(0, 255, (48, 48, 3), dtype=np.uint8),
                           RNG.normal(size=(3, 3)), narrow=True)  # fmt: skip
    titles_fit(fig, 3, 13, 0.14, PHONE_PX - 30)


def test_play_buttons_grow_to_a_finger_and_the_original_stays():
    fig = stride_animation(RNG.integers(0, 255, (48, 48, 3), dtype=np.uint8), 16, RNG.random((3, 3, 3)), 32,
                           StrideText())  # fmt: skip
    before = fig.to_plotly_json()
    touch = for_touch(fig)
    assert fig.to_plotly_json() == before  # not changed in place: the cache shares it
    for menu in touch.layout.updatemenus:
        for button in menu.buttons:
            # plotly.js updatemenus: a button is max(1.3 × font size × lines, 30) + 3 px tall
            height = max(1.3 * menu.font.size * (button.label.count("<br>") + 1), 30) + 3
            assert height >= 44, (button.label, height)
    grow = touch.layout.margin.b - fig.layout.margin.b
    assert grow > 0 and touch.layout.height == fig.layout.height + grow
    assert touch.layout.sliders[0].pad.t == fig.layout.sliders[0].pad.t + grow
    plain = overview_figure(["a", "b"], ["x"], (0,))
    assert for_touch(plain).to_plotly_json() == plain.to_plotly_json()  # no buttons: the same figure


def test_every_touch_text_says_tap_where_its_pointer_text_says_click():
    """``ui.touch_words``: on a touch screen the page says "tap" (タップ) where it says "click" (クリック)."""
    import json
    import string
    from pathlib import Path

    table = json.loads((Path(__file__).resolve().parents[1] / "assets" / "i18n.json").read_text())
    touched = [key for key in table if key.endswith("_touch")]
    assert len(touched) >= 4
    fields = lambda text: {name for _, name, _, _ in string.Formatter().parse(text) if name}  # noqa: E731
    for key in touched:
        base = table[key.removesuffix("_touch")]
        for lang, tap, click in (("en", "tap", "click"), ("ja", "タップ", "クリック")):
            assert fields(table[key][lang]) == fields(base[lang]), key
            assert click in base[lang].lower() and tap in table[key][lang].lower(), (key, lang)
            assert click not in table[key][lang].lower(), (key, lang)


def test_a_selectbox_label_handed_back_is_not_taken_as_a_choice():
    """Streamlit's selectbox deserialises a shown label that is no longer an option's to the label
    itself (its options changed under it): the write-back of ``state.bind(..., options=...)`` keeps
    the choice; an option is taken."""
    from streamlit.testing.v1 import AppTest

    def script():
        import streamlit as st

        from page import state as S

        S.init()
        options = ["patch_grid", "overview"]
        for handed_back in st.session_state.pop("handed_back", []):  # what the frontend sent, as its callback runs
            write_back = S.bind("dl_figure", options=options)["on_change"]  # the widget drawn, then changed:
            st.session_state[S.widget_key("dl_figure")] = handed_back
            write_back("dl_figure", None, (), options)
            st.session_state.setdefault("after", []).append(st.session_state["dl_figure"])

    at = AppTest.from_function(script).run()
    at.session_state["handed_back"] = ["the label shown", "overview", "パッチの格子"]
    at.run()
    assert at.session_state["after"] == [None, "overview", "overview"]
