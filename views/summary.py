"""Above every view: which weights are live, the shape strip of the forward pass and its cost, and
on request the forward pass's warm time."""

from __future__ import annotations

import streamlit as st

from page import compute, ui
from page.compute import Computed
from page.source import FILE, HUB, REAL, SHAPES
from page.state import SHAPE_SAMPLES
from vizlib import config, timing
from vizlib.i18n import Translator


def weights_badge(t: Translator, c: Computed, picture: str) -> None:
    """Always say which weights are live, when they were resampled, and when the picture is out of
    their world."""
    if not c.weights.trained:
        st.badge(t("badge_random"), icon=":material/casino:", color="gray")
        return
    if c.weights.kind == REAL:
        st.badge(t("badge_real"), icon=":material/visibility:", color="violet", help=t("real_caveat"))
    elif c.weights.kind in (HUB, FILE):
        st.badge(t("badge_pretrained", name=ui.plain(c.weights.shown)), icon=":material/public:", color="blue")
    else:
        step = c.weights.name  # the shapes model's snapshot
        text = t("badge_shapes") if step == "final" else t("badge_shapes_step", step=f"{int(step):,}")
        st.badge(text, icon=":material/school:", color="green")
    own = compute.get_loaded(c.weights).model.cfg.patch_size
    if c.cfg.patch_size != own:
        st.badge(t("badge_resampled", P=own), icon=":material/transform:", color="orange")
    if c.weights.kind == SHAPES and picture not in SHAPE_SAMPLES:
        st.info(t("ood_note"))  # only the shapes model was trained on generated shapes


def shape_strip(t: Translator, c: Computed) -> None:
    """The tensor shapes from picture to encoder, and what the forward pass cost."""
    cfg = c.cfg
    parts = []
    for key, shape, fields in config.shape_strip(cfg):
        label = t(key, **fields)
        parts.append(f"**`{tuple(shape)}`** {label}" if shape else f"→ *{label}* →")
    st.markdown(" ".join(parts))
    N, nh = cfg.num_patches, cfg.num_heads
    T = cfg.num_tokens
    cost = t(
        "cost_line", N=N, prefix=cfg.prefix_summary(), params=f"{config.count_parameters(cfg):,}", nh=nh, T=T,
        entries=f"{nh * T * T:,}",
        mb=f"{nh * T * T * 4 / 1e6:.2f}",
    )  # fmt: skip
    st.caption(cost)
    forward_time(t, c)


TIMED = "_forward_time"  # session-state key: {run: Timing}, the last measured on request in this session


@st.fragment
def forward_time(t: Translator, c: Computed) -> None:
    """The forward pass's time, measured warm and only on request: a button runs it a few times to warm
    up, then times more calls and shows their median (``timing.warm_median``). A first call at a new
    size is many times a warm one and one call says nothing of the spread, so no single call's time is
    shown; measuring on every new config would cost a class server several forward passes each time."""
    measured = st.session_state.get(TIMED, {}).get(c.run)
    row = st.container(horizontal=True, vertical_alignment="center")  # the button as wide as its words
    help_text = t("forward_time_help", warmup=timing.WARMUP, runs=timing.MIN_RUNS)
    if row.button(t("forward_time_button"), key="time_forward", help=help_text, icon=":material/timer:",
                  type="tertiary"):  # fmt: skip
        with st.spinner(t("computing")):
            measured = compute.time_forward(c)  # a second click measures again
        st.session_state[TIMED] = {c.run: measured}
    if measured is not None:
        busy = "" if measured.steady else " " + t("time_busy")
        ms = {name: f"{value:.2f}" for name, value in (("ms", measured.median_ms), ("low", measured.low_ms),
                                                        ("high", measured.high_ms))}  # fmt: skip
        row.caption(t("forward_time_warm", device=c.dev, runs=measured.runs, warmup=measured.warmup, **ms) + busy)
