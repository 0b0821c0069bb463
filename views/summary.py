"""Above every view: which weights are live, the shape strip of the forward pass and its cost."""

from __future__ import annotations

import streamlit as st

from page import compute, ui
from page.compute import Computed
from views.state import RANDOM, REAL, SHAPE_SAMPLES, SHAPES
from vizlib import config
from vizlib.i18n import Translator


def weights_badge(t: Translator, c: Computed, picture: str) -> None:
    """Always say which weights are live, when they were resampled, and when the picture is out of
    their world."""
    if c.weights == RANDOM:
        st.badge(t("badge_random"), icon=":material/casino:", color="gray")
        return
    if c.weights == REAL:
        st.badge(t("badge_real"), icon=":material/visibility:", color="violet", help=t("real_caveat"))
    elif c.weights.startswith(("hf:", "file:")):
        name = ui.plain(compute.weights_name(c.weights))
        st.badge(t("badge_pretrained", name=name), icon=":material/public:", color="blue")
    else:
        step = c.weights.removeprefix(f"{SHAPES}@")
        text = t("badge_shapes") if step == "final" else t("badge_shapes_step", step=f"{int(step):,}")
        st.badge(text, icon=":material/school:", color="green")
    own = compute.get_loaded(c.weights).model.cfg.patch_size
    if c.cfg.patch_size != own:
        st.badge(t("badge_resampled", P=own), icon=":material/transform:", color="orange")
    if c.weights.startswith(SHAPES) and picture not in SHAPE_SAMPLES:
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
    st.caption(cost + " · " + t("forward_time", ms=c.seconds * 1000, device=c.dev))
