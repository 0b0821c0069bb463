"""View: attention. For a chosen query (CLS, DeiT's DIST, a register, or any patch): its map in one
block and head on the picture, every block × head at once, the raw T × T matrix, and attention rollout.

All its controls (query, opacity, block, head, fusion, discard ratio) rerun only this view
(``st.fragment``); rollout per (fusion, discard) and every figure are cached with the run.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import streamlit as st

from page import compute, screen, ui
from page import state as S
from page.compute import Computed
from vizlib import analysis, image, model
from vizlib.figures import attention as attention_fig
from vizlib.i18n import Translator

Inside = Callable[[Translator, Computed, int, "int | str", int], None]
MATRIX_MAX = 400  # most rows/columns of a raw attention matrix sent to the browser
PICKER_HEIGHT = {False: 380, True: 276}  # px, in the explore view and in the lesson (its first screen)


def pick_query(grid_w: int) -> None:
    """Callback of a click on the attention picture: the clicked patch becomes the query."""
    points = st.session_state["query_picker"].selection.get("points", [])
    if points:
        r, col = divmod(int(points[0]["point_index"]), grid_w)
        S.update({"q_kind": "patch", "q_r": r, "q_c": col})
        S.write_url()


def query_name(t: Translator, kind: str) -> str:
    """How the page names a query kind: CLS token, A patch, DIST token, register i."""
    if kind.startswith("reg"):
        return t("query_reg", i=int(kind.removeprefix("reg")))
    return t(f"query_{kind}")


def head_name(t: Translator, head) -> str:
    """"head 2" (``head`` 0-based), or "mean of heads": the way titles name the map shown."""
    return t("mean_title") if head == "mean" else t("head_title", h=head + 1)


def query_controls(t: Translator, c: Computed, compact: bool = False) -> float:
    """Query kind, row, column and overlay opacity; returns the opacity. ``compact`` (the lesson,
    half the page wide): no opacity slider."""
    Gh, Gw = c.cfg.grid
    kind, row, col, last = st.columns([2, 1, 1, 2]) if not compact else (*st.columns([2, 1, 1]), None)
    options = S.query_options(c.cfg)  # cls, (dist, reg1 …), patch
    pick = kind.radio if len(options) <= 3 else kind.selectbox  # CLS, DIST and a patch fit in a row
    extra = dict(horizontal=True) if len(options) <= 3 else {}
    pick(t("query"), options, format_func=partial(query_name, t), **extra, **S.bind("q_kind"))
    patch = S.get("q_kind") == "patch"
    ui.number_input(row, t("token_row"), "q_r", 0, Gh - 1, disabled=not patch)
    ui.number_input(col, t("token_col"), "q_c", 0, Gw - 1, disabled=not patch)
    ui.refused(t, {"q_r": t("token_row"), "q_c": t("token_col")})
    if not compact:
        last.slider(t("opacity"), 0.0, 1.0, step=0.05, **S.bind("opacity"))
    return float(S.get("opacity"))


def block_and_head(t: Translator, c: Computed, side_by_side: bool = False) -> tuple[int, int | str]:
    """The block slider (1-based) and head selectbox (0-based or "mean"), one under the other or
    ``side_by_side`` (where the column is wide enough for both); ``state.fit_to`` keeps them in range."""
    depth, nh = c.cfg.depth, c.cfg.num_heads
    block_col, head_col = st.columns([3, 2]) if side_by_side else (st, st)
    # A slider needs min < max: with one block it shows 1 of 2, disabled. The choice None is the
    # last block of whichever model runs (a 6-block model shows block 6, not the 4 of the model before).
    slider = S.bind("layer", last_block, (depth,))
    st.session_state[slider["key"]] = min(S.get("layer") or depth, depth)
    block_col.slider(t("layer"), 1, max(depth, 2), disabled=depth == 1, **slider)
    heads = [*range(nh), "mean"]
    head_col.selectbox(t("head"), heads, format_func=partial(head_name, t), **S.bind("head", options=heads))
    return min(int(S.get("layer") or depth), depth), S.get("head")


def last_block(depth: int) -> None:
    """Callback of the block slider: the last block is stored as None, "the last", so that it
    stays the last when the model changes depth."""
    if S.get("layer") == depth:
        S.put("layer", None)


def chosen_query(t: Translator, c: Computed) -> tuple[Computed, int, tuple[int, int] | None, str]:
    """The query chosen: the run that keeps its attention row, its token index, its patch (None for
    CLS, DIST or a register) and the sentence that names it."""
    cfg = c.cfg
    query = S.query_index(cfg)
    c = compute.with_query(c, query)  # beyond FULL_ATTENTION_MAX tokens: a trace that keeps this row
    ui.show_run(c)  # the tensors download holds this row
    patch = cfg.token_cell(query)
    if patch:
        shown = t("attn_query_patch", r=patch[0], c=patch[1], **ui.colours(t))
    else:
        shown = t("attn_query_cls") if query == 0 else t("attn_query_prefix", name=cfg.prefix_names()[query])
    return c, query, patch, shown


def query_picker(t: Translator, c: Computed, query: int, patch, block: int, head, alpha: float,
                 lesson: bool) -> np.ndarray:  # fmt: skip
    """The chosen block's and head's map of the query, laid over the picture; a click (a tap) on a
    patch makes it the query. Returns the map ``(Gh, Gw)``."""
    cfg = c.cfg
    rows, source = (list(range(cfg.num_tokens)), c.trace.attentions) if c.full else (
        c.trace.rows, c.trace.attention_rows)  # fmt: skip
    maps = analysis.query_maps(source, rows, query, cfg.grid)  # (depth, nh, Gh, Gw)
    chosen = analysis.pick_head(maps[block - 1], head).numpy()  # (Gh, Gw)

    def picker():
        title = t("enlarged_title", b=block, h=head_name(t, head))
        return attention_fig.overlay_figure(c.pixels, chosen, cfg.patch_size, alpha, patch, True, title,
                                            height=PICKER_HEIGHT[lesson])  # fmt: skip

    ui.cached_chart("query_picker", (c.run, t.lang, query, block, head, alpha, lesson), picker,
                    on_select=partial(pick_query, cfg.grid[1]), selection_mode="points")  # fmt: skip
    return chosen


@st.fragment
def draw(t: Translator, c: Computed, inside: Inside | None = None) -> None:
    """The Attention view for a chosen query: its map, every block × head, the raw matrix and rollout.
    ``inside(t, c, block, head, query)`` draws more for the chosen block (1-based), head and query
    inside this fragment, so that it follows them (the encoder's one-head arithmetic)."""
    st.markdown(ui.touch_words(t, "attn_explain"))
    alpha = query_controls(t, c)
    c, query, patch, shown = chosen_query(t, c)
    st.markdown(shown)
    left, right = st.columns([1, 2])
    with left:
        block, head = block_and_head(t, c)
        chosen = query_picker(t, c, query, patch, block, head, alpha, lesson=False)
        st.caption(ui.touch_words(t, "click_to_query"))
        outliers_note(t, chosen)
    with right:
        st.markdown(t("grid_title"))
        narrow = screen.narrow()
        ui.cached_chart("layer_head_grid", (c.run, t.lang, query, alpha, narrow),
                        lambda: layer_head(t, c, query, alpha, narrow))  # fmt: skip
    raw_matrix(t, c, block, head)
    rollout(t, c, query, patch, alpha)
    if not c.weights.trained:
        st.caption(t("attn_random_note"))
    if inside is not None:
        with st.container(key="attention_inside"):  # below the maps: more to read, not the step's named parts
            inside(t, c, block, head, query)
    S.write_url()  # block, head and query travel in the share link


@st.fragment
def draw_lesson(t: Translator, c: Computed, inside: Inside | None = None) -> None:
    """The lesson's attention step: the query's map and rollout side by side (left), every control
    beside them (right); no block × head grid or raw matrix. ``inside`` as in ``draw``."""
    maps, right = st.columns([2, 1])
    left, middle = maps.columns(2)
    with right:
        alpha = query_controls(t, c, compact=True)
        block, head = block_and_head(t, c)  # one under the other: a third of the width is too narrow for both
        if c.full:
            rollout_controls(t)
    c, query, patch, shown = chosen_query(t, c)
    with left:
        chosen = query_picker(t, c, query, patch, block, head, alpha, lesson=True)
        st.caption(f"{shown} {ui.touch_words(t, 'click_to_query')}")
        outliers_note(t, chosen)
    with middle:
        rollout_map(t, c, query, patch, alpha, lesson=True)
        if c.full:
            st.caption(t("rollout_explain"))
    if inside is not None:
        with st.container(key="attention_inside"):
            inside(t, c, block, head, query)
    S.write_url()


def outliers_note(t: Translator, attention_map) -> None:
    """Say so when a few patches hold much of the map and are drawn at the top colour (registers)."""
    if (found := attention_fig.outliers(attention_map)) is not None:
        n, share = found
        st.caption(t("attn_outliers", n=n, pct=f"{100 * share:.0f}"))


def layer_head(t: Translator, c: Computed, query: int, alpha: float, narrow: bool = False):
    """Every block × head (and their mean) for this query, on a thumbnail of the picture."""
    cfg = c.cfg
    rows, source = (list(range(cfg.num_tokens)), c.trace.attentions) if c.full else (
        c.trace.rows, c.trace.attention_rows)  # fmt: skip
    maps = analysis.query_maps(source, rows, query, cfg.grid)  # (depth, nh, Gh, Gw)
    thumb = image.grid_thumbnail(c.pixels, cfg.grid)
    grid_maps = analysis.with_mean_heads(maps)  # (depth, nh + 1, Gh, Gw)
    cols = [t("head_short", h=h + 1) for h in range(cfg.num_heads)] + [t("mean_title")]
    row_labels = [t("block_short", b=b + 1) for b in range(cfg.depth)]
    return attention_fig.layer_head_figure(thumb, grid_maps.numpy(), row_labels, cols, alpha, narrow)


def raw_matrix(t: Translator, c: Computed, block: int, head) -> None:
    st.subheader(t("raw_header"))
    if not c.full:
        st.info(t("needs_full", T=c.cfg.num_tokens, max=model.FULL_ATTENTION_MAX))
        return
    matrix = analysis.pick_head(c.trace.attentions[block - 1][0], head)  # (T, T)
    shown, step, _ = analysis.display_downsample(matrix, MATRIX_MAX, MATRIX_MAX)
    title = t("raw_title", b=block, h=head_name(t, head), T=matrix.shape[0])
    axes = (t("raw_queries"), t("raw_keys"))
    narrow = screen.narrow()
    ui.cached_chart("raw_matrix", (c.run, t.lang, block, head, narrow),
                    lambda: attention_fig.matrix_figure(shown.numpy(), step, title, axes, narrow))  # fmt: skip
    if step > 1:
        st.caption(t("tokens_downsampled", r=step, c=step))


def rollout(t: Translator, c: Computed, query: int, patch, alpha: float) -> None:
    """Attention rollout (Abnar & Zuidema 2020) with vit-explain's head fusion and discard ratio: its
    heading, explanation, controls and map."""
    st.subheader(t("rollout_header"))
    st.markdown(t("rollout_explain"))
    if c.full:
        rollout_controls(t, side_by_side=True)
    rollout_map(t, c, query, patch, alpha, lesson=False)


def rollout_map(t: Translator, c: Computed, query: int, patch, alpha: float, lesson: bool) -> None:
    """The query's rollout map over the picture (titled in the lesson, where it stands beside the
    query's map), or why there is none (it needs every full attention matrix)."""
    if not c.full:
        st.info(t("needs_full", T=c.cfg.num_tokens, max=model.FULL_ATTENTION_MAX))
        return
    fusion, discard = S.get("fusion"), float(S.get("discard"))
    title = t("rollout_header") if lesson else ""

    def build():
        query_map = analysis.rollout_map(compute.rollout(c, fusion, discard), query, c.cfg.grid)  # (Gh, Gw)
        return attention_fig.overlay_figure(c.pixels, query_map.numpy(), c.cfg.patch_size, alpha, patch, False,
                                            title, height=PICKER_HEIGHT[lesson])  # fmt: skip

    ui.cached_chart("rollout", (c.run, query, alpha, fusion, discard, lesson, t.lang), build)


def rollout_controls(t: Translator, side_by_side: bool = False) -> None:
    """Rollout's head fusion and discard ratio, side by side or one under the other."""
    fusion_col, discard_col = st.columns(2) if side_by_side else (st, st)
    fusions = ["mean", "max", "min"]
    fusion_col.selectbox(t("fusion"), fusions, format_func=lambda f: t(f"fusion_{f}"),
                         **S.bind("fusion", options=fusions))  # fmt: skip
    discard_col.slider(t("discard"), 0.0, 0.95, step=0.05, help=t("discard_help"), **S.bind("discard"))
