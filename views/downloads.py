"""Below every view: the stride animation as a GIF, any figure of the open view as offline HTML,
the run's tensors as .npy files with their config. Each file is built only when asked for, from what
the page shows at that moment: a control inside a fragment (block, head, query, token …) redraws
its figures without rerunning this expander, so the files are read, when clicked, from the figures
and the run the page last drew (``ui.drawn_figures``, ``ui.shown_run``), never from this run's copies."""

from __future__ import annotations

import streamlit as st

from page import compute, ui
from page import state as S
from page.compute import Computed
from vizlib import export
from vizlib.figures import patches as patches_fig
from vizlib.i18n import Translator


def draw(t: Translator, c: Computed) -> None:
    cfg = c.cfg
    Gh, Gw = cfg.grid
    with st.expander(t("downloads"), icon=":material/download:"):
        # Two rows: the figure's selectbox needs the room of a long figure name in either language, on a
        # tablet too (four columns in a row left it 149 px there and cut the names off).
        html, gif = st.columns([1.6, 1])
        arrays, weights = st.columns(2)
        row_step = patches_fig.frame_row_step(cfg.grid)
        frames = len(patches_fig.stride_steps(cfg.grid, row_step))
        pixels, colours, P = c.pixels, c.colours, cfg.patch_size
        gif.download_button(t("dl_gif"), lambda: export.stride_gif(pixels, P, colours, row_step), "stride.gif",
                            "image/gif", key="dl_gif", on_click="ignore", icon=":material/gif_box:")  # fmt: skip
        W, H = export.gif_size(*cfg.img_size)
        thinned = " " + t("anim_row_step", k=row_step, N=Gh * Gw, max=patches_fig.MAX_FRAMES) if row_step > 1 else ""
        gif.caption(t("dl_gif_caption", n=frames, W=W, H=H) + thinned)
        figures = ui.drawn_figures()  # the session's own dict: fragments put their new figures in it
        keys = [key for key in figures if f"fig_{key}" in t.table]
        if keys:
            key = S.get("dl_figure") if S.get("dl_figure") in keys else keys[0]  # the choice stays until picked
            menu = S.bind("dl_figure", options=keys)
            st.session_state[menu["key"]] = key
            html.selectbox(t("dl_figure"), keys, format_func=lambda k: t(f"fig_{k}"), **menu)
            html.download_button(t("dl_html"), lambda: figure_file(figures, key), f"{key}.html",
                                 "text/html", key="dl_html", on_click="ignore", icon=":material/html:")  # fmt: skip
            html.caption(t("dl_html_caption"))
        shown = ui.shown_run()  # the run the open view shows (a fragment's query may keep another attention row)
        meta = export.config_json(cfg, weights=str(c.weights), fit_policy=c.policy, snap=c.snap,
                                  requested_size=list(c.requested))  # fmt: skip
        arrays.download_button(t("dl_arrays"), lambda: tensors_file(shown, c, meta), "vit_tensors.zip",
                               "application/zip", key="dl_arrays", on_click="ignore",
                               icon=":material/data_array:")  # fmt: skip
        attention = t("dl_attention_full") if c.full else t("dl_attention_rows")
        arrays.caption(t("dl_arrays_caption", D=cfg.embed_dim, Gh=Gh, Gw=Gw, attention=attention))
        vit, labels = c.vit, (compute.get_loaded(c.weights).labels if c.weights.trained else None)
        mean, std = compute.normalisation(c.weights)
        weights.download_button(t("dl_weights"), lambda: export.weights_safetensors(vit, labels, mean, std),
                                "vit.safetensors", "application/octet-stream", key="dl_weights", on_click="ignore",
                                icon=":material/neurology:")  # fmt: skip
        weights.caption(t("dl_weights_caption"))


def figure_file(figures: dict, key: str) -> bytes:
    """The HTML of figure ``key`` as the page shows it when the button is clicked: ``figures`` is the
    session's dict of drawn figures, which a fragment's rerun updates in place. (Called by the
    download, outside any script run: no ``st`` here.)"""
    return export.figure_html(figures[key])


def tensors_file(shown: dict, c: Computed, meta: dict) -> bytes:
    """The run's tensors as the page shows them when the button is clicked (``shown``: the session's
    holder of the run drawn last, updated in place by a fragment; ``c`` until one is)."""
    return export.arrays_zip(export.trace_arrays(shown.get("run", c).trace), meta)
