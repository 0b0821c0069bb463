"""View: the ViT paper's Figure 7, live on this model: embedding filters' principal components,
position-embedding similarity, mean attention distance per head and block."""

from __future__ import annotations

import math

import streamlit as st

from page import compute, ui
from page.compute import Computed
from vizlib import model
from vizlib.figures import paper as paper_fig
from vizlib.i18n import Translator

POS_GRID_MAX = 256  # most patches for the position-similarity grid of grids (N² cells) drawn whole
POS_GRID_STRIDED_MAX = 4096  # beyond POS_GRID_MAX, every s-th tile row and column …
POS_TILES_MAX = 10  # … at most this many tiles a side: more are too small to read in one column


def draw(t: Translator, c: Computed) -> None:
    cfg = c.cfg
    st.markdown(t("fig7_explain"))
    left, centre, right = st.columns(3)
    with left:
        comps = compute.filter_components(c)  # (k, 3, P, P)
        title = t("fig7_filters", k=comps.shape[0])
        build = lambda: paper_fig.filter_tiles_figure(comps.numpy(), title)  # noqa: E731
        ui.cached_chart("fig7_filters", (c.run[:3], t.lang), build)
        st.caption(t("fig7_filters_caption"))
    with centre:
        axes = (t("fig7_pos_x"), t("fig7_pos_y"))
        if cfg.num_patches <= POS_GRID_MAX:
            ui.cached_chart("fig7_pos", (c.run[:3], t.lang),
                            lambda: paper_fig.pos_similarity_figure(compute.pos_similarity(c).numpy(), t("fig7_pos"),
                                                                    axes))  # fmt: skip
            st.caption(t("fig7_pos_caption"))
        elif cfg.num_patches <= POS_GRID_STRIDED_MAX:  # every s-th tile row and column, each tile whole
            stride = math.ceil(max(cfg.grid) / POS_TILES_MAX)  # 32 × 32 patches: every 4th, 8 × 8 tiles
            ui.cached_chart("fig7_pos", (c.run[:3], t.lang, stride),
                            lambda: paper_fig.pos_similarity_strided_figure(compute.pos_similarity(c).numpy(), stride,
                                                                            t("fig7_pos"), axes))  # fmt: skip
            Gh, Gw = cfg.grid
            st.caption(t("fig7_pos_strided", s=stride, R=-(-Gh // stride), C=-(-Gw // stride), Gh=Gh, Gw=Gw) + " "
                       + t("fig7_pos_caption"))  # fmt: skip
        else:
            st.info(t("fig7_pos_too_many", N=cfg.num_patches, max=POS_GRID_STRIDED_MAX))
    with right:
        if not c.full:
            st.info(t("needs_full", T=cfg.num_tokens, max=model.FULL_ATTENTION_MAX))
            return
        axes = (t("fig7_dist_x"), t("fig7_dist_y"))
        ui.cached_chart("fig7_distance", (c.run, t.lang),
                        lambda: paper_fig.distance_figure(compute.distances(c).numpy(), t("fig7_dist"), axes,
                                                          t("head")))  # fmt: skip
        st.caption(t("fig7_dist_caption"))
