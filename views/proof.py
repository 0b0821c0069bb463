"""View: Conv2d = split + flatten + Linear, measured on this picture and these weights.

The times are medians of warm calls after warm-up calls (``analysis.conv_vs_linear``), with the
middle half of the calls beside them; "time again" measures anew for this session."""

from __future__ import annotations

import streamlit as st

from page import compute
from page.compute import Computed
from vizlib.i18n import Translator


def draw(t: Translator, c: Computed, lesson: bool = False) -> None:
    """The two computations' difference and times; in the ``lesson`` its step text explains them."""
    cfg = c.cfg
    P, D = cfg.patch_size, cfg.embed_dim
    if not lesson:
        st.markdown(t("proof_explain", P=P, D=D, L=3 * P * P, N=cfg.num_patches))
    measured(t, c)
    st.markdown(t("proof_why", P=P, D=D, L=3 * P * P))


RETIMED = "_proof_timed"  # session-state key: {run: Proof}, the last measured again in this session


@st.fragment
def measured(t: Translator, c: Computed) -> None:
    """The difference and both medians with their middle half; a button times both again (only this reruns)."""
    if st.button(t("proof_time_again"), key="proof_time_again", icon=":material/timer:"):
        with st.spinner(t("computing")):
            st.session_state[RETIMED] = {c.run: compute.time_proof(c)}
    proof = st.session_state.get(RETIMED, {}).get(c.run) or compute.proof(c)
    a, b, col, d = st.columns(4)
    a.metric(t("proof_diff"), f"{proof.max_abs_diff:.1e}")
    b.metric(t("proof_conv_ms"), f"{proof.conv_ms:.2f}")
    col.metric(t("proof_linear_ms"), f"{proof.linear_ms:.2f}")
    d.metric(t("proof_values"), f"{proof.values:,}")
    conv, linear = proof.conv, proof.linear
    spread = dict(conv_low=f"{conv.low_ms:.2f}", conv_high=f"{conv.high_ms:.2f}", linear_low=f"{linear.low_ms:.2f}",
                  linear_high=f"{linear.high_ms:.2f}")  # fmt: skip
    busy = "" if conv.steady and linear.steady else " " + t("time_busy")
    st.caption(t("proof_timing_warm", runs=f"{proof.runs:,}", warmup=conv.warmup, **spread) + busy)
