"""View: the classification head's top classes (random, the shapes model's, or the checkpoint's)."""

from __future__ import annotations

import streamlit as st

from page import compute, ui
from page.compute import Computed
from page.state import SHAPES
from vizlib import analysis
from vizlib.i18n import Translator

TOP_K = 5


def draw(t: Translator, c: Computed) -> None:
    labels = compute.get_loaded(c.weights).labels if c.weights.trained else None
    if c.weights.trained and labels is None:
        st.info(t("no_head_note"))
        return
    rows = [
        {t("label"): ui.class_label(t, c.weights, labels, i), t("probability"): round(p, 4), t("logit"): round(z, 4)}
        for i, p, z in analysis.top_k(c.trace.logits, TOP_K)
    ]
    st.dataframe(rows, hide_index=True)
    if not c.weights.trained:
        st.caption(t("random_head_note", K=c.cfg.num_classes))
    elif c.weights.kind == SHAPES:
        st.caption(t("shapes_head_note", n=len(labels)))
