"""View: Conv2d = split + flatten + Linear, measured on this picture and these weights."""

from __future__ import annotations

import streamlit as st

from page import compute
from page.compute import Computed
from vizlib.i18n import Translator


def draw(t: Translator, c: Computed, lesson: bool = False) -> None:
    """The two computations' difference and times; in the ``lesson`` its step text explains them."""
    cfg = c.cfg
    P, D = cfg.patch_size, cfg.embed_dim
    proof = compute.proof(c)
    if not lesson:
        st.markdown(t("proof_explain", P=P, D=D, L=3 * P * P, N=cfg.num_patches))
    a, b, col, d = st.columns(4)
    a.metric(t("proof_diff"), f"{proof.max_abs_diff:.1e}")
    b.metric(t("proof_conv_ms"), f"{proof.conv_ms:.2f}")
    col.metric(t("proof_linear_ms"), f"{proof.linear_ms:.2f}")
    d.metric(t("proof_values"), f"{proof.values:,}")
    st.caption(t("proof_timing", runs=f"{proof.runs:,}"))
    st.markdown(t("proof_why", P=P, D=D, L=3 * P * P))
