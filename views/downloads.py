"""Below every view: the stride animation as a GIF, any figure of the open view as offline HTML,
the run's tensors as .npy files with their config. Each file is built only when asked for."""

from __future__ import annotations

import streamlit as st

from page import compute, ui
from page.compute import Computed
from views import state as S
from vizlib import export
from vizlib.figures import patches as patches_fig
from vizlib.i18n import Translator


def draw(t: Translator, c: Computed) -> None:
    cfg = c.cfg
    Gh, Gw = cfg.grid
    with st.expander(t("downloads"), icon=":material/download:"):
        gif, html, arrays, weights = st.columns([1, 1.4, 1, 1])  # the figure's selectbox needs the room
        row_step = patches_fig.frame_row_step(cfg.grid)
        frames = len(patches_fig.stride_steps(cfg.grid, row_step))
        pixels, colours, P = c.pixels, c.colours, cfg.patch_size
        gif.download_button(t("dl_gif"), lambda: export.stride_gif(pixels, P, colours, row_step), "stride.gif",
                            "image/gif", key="dl_gif", on_click="ignore", icon=":material/gif_box:")  # fmt: skip
        W, H = export.gif_size(*cfg.img_size)
        thinned = " " + t("anim_row_step", k=row_step, N=Gh * Gw, max=patches_fig.MAX_FRAMES) if row_step > 1 else ""
        gif.caption(t("dl_gif_caption", n=frames, W=W, H=H) + thinned)
        figures = ui.drawn_figures()
        keys = [key for key in figures if f"fig_{key}" in t.table]
        if keys:
            if S.get("dl_figure") not in keys:
                S.put("dl_figure", keys[0])
            html.selectbox(t("dl_figure"), keys, format_func=lambda k: t(f"fig_{k}"), **S.bind("dl_figure"))
            key = S.get("dl_figure")
            fig = figures[key]
            html.download_button(t("dl_html"), lambda: export.figure_html(fig), f"{key}.html",
                                 "text/html", key="dl_html", on_click="ignore", icon=":material/html:")  # fmt: skip
            html.caption(t("dl_html_caption"))
        trace = c.trace
        meta = export.config_json(cfg, weights=c.weights, fit_policy=c.policy, snap=c.snap,
                                  requested_size=list(c.requested))  # fmt: skip
        arrays.download_button(t("dl_arrays"), lambda: export.arrays_zip(export.trace_arrays(trace), meta),
                               "vit_tensors.zip", "application/zip", key="dl_arrays", on_click="ignore",
                               icon=":material/data_array:")  # fmt: skip
        attention = t("dl_attention_full") if c.full else t("dl_attention_rows")
        arrays.caption(t("dl_arrays_caption", D=cfg.embed_dim, Gh=Gh, Gw=Gw, attention=attention))
        vit, labels = c.vit, (compute.get_loaded(c.weights).labels if c.weights != S.RANDOM else None)
        mean, std = compute.normalisation(c.weights)
        weights.download_button(t("dl_weights"), lambda: export.weights_safetensors(vit, labels, mean, std),
                                "vit.safetensors", "application/octet-stream", key="dl_weights", on_click="ignore",
                                icon=":material/neurology:")  # fmt: skip
        weights.caption(t("dl_weights_caption"))
