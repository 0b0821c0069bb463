"""View parts: inside the encoder. One head's arithmetic for the chosen block, head and query; the
prediction block by block (logit lens); a class-specific relevance map (GAE) beside rollout, and
the deletion test that checks whether a map found what the model uses.

``inside_head`` runs inside the attention view's fragment (its block, head and query are the
attention view's); ``draw`` is a fragment of its own (class and deletion-test controls).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from page import compute, screen, ui
from page import state as S
from page.compute import Computed
from vizlib import analysis, model
from vizlib.figures import encoder as encoder_fig
from vizlib.i18n import Translator

TOP_K = 5  # classes in the lens chart and the class choice
METHODS = ("gae", "rollout", "last_cls", "random")  # the deletion test's orders
# GAE is one forward and one backward pass with every attention map kept, ~3-4× a forward pass:
# drawn with the view up to this depth·T·D (ViT-S/16 at 224 px: 0.9 M), on request above (ViT-B/16),
# so that opening the Attention view costs a class server no more than it must.
GAE_AUTO_MAX = 1_000_000


def inside_head_on_request(t: Translator, c: Computed, block: int, head, query: int) -> None:
    """``inside_head`` behind a toggle (the explore view): each block, head or query change would
    otherwise build its two figures too."""
    st.subheader(t("enc_head_header"))
    st.toggle(t("enc_head_toggle"), **S.bind("head_step"))
    if S.get("head_step"):
        inside_head(t, c, block, head, query, heading=False)


def inside_head(t: Translator, c: Computed, block: int, head, query: int, heading: bool = True) -> None:
    """The arithmetic of one head (``head`` 0-based; "mean" shows head 1) for one query token:
    x, q, each key's score and softmax weight, and the weighted sum of the values."""
    cfg = c.cfg
    h = 0 if head == "mean" else int(head)
    step = analysis.attention_step(c.vit, c.trace, block - 1, h, query)
    hs = cfg.embed_dim // cfg.num_heads
    if heading:
        st.subheader(t("enc_head_header"))
    who = t("query_cls") if query == 0 else ui.token_name(t, cfg, query)
    st.markdown(t("enc_head_explain", b=block, h=h + 1, q=who, hs=hs, D=cfg.embed_dim, T=cfg.num_tokens)
                + (" " + t("enc_head_mean") if head == "mean" else ""))  # fmt: skip
    key = (c.run, t.lang, block, h, query)
    titles = [t("enc_vec_x", D=cfg.embed_dim), t("enc_vec_q", hs=hs), t("enc_vec_out", hs=hs)]
    ui.cached_chart("head_vectors", key, lambda: encoder_fig.head_vectors_figure(
        step.x[query].numpy(), step.q.numpy(), step.out.numpy(), titles))  # fmt: skip
    map_titles = [t("enc_scores", hs=hs), t("enc_weights")]
    narrow = screen.narrow()
    ui.cached_chart("head_maps", (*key, narrow), lambda: encoder_fig.head_maps_figure(
        step.scores.numpy(), step.weights.numpy(), cfg.grid, map_titles, query, cfg.prefix_names(),
        narrow))  # fmt: skip
    rows = c.trace.attentions[block - 1][0, h] if c.full else None  # (T, T)
    if rows is not None:
        diff = float((rows[query] - step.weights).abs().max())
    else:
        kept = c.trace.rows.index(query)
        diff = float((c.trace.attention_rows[block - 1][0, h, kept] - step.weights).abs().max())
    st.caption(t("enc_head_check", diff=f"{diff:.1e}", total=f"{float(step.weights.sum()):.6f}"))


def token_norms(t: Translator, c: Computed) -> None:
    """‖h‖ of every token block by block, and the patches' norms on the grid for a chosen block."""
    cfg = c.cfg
    st.subheader(t("enc_norms_header"))
    st.markdown(t("enc_norms_explain"))
    norms = compute.token_norms(c).numpy()  # (depth + 1, T)
    last = cfg.depth
    shown = min(int(S.get("norm_block") if S.get("norm_block") is not None else last), last)
    slider = S.bind("norm_block")
    st.session_state[slider["key"]] = shown
    st.slider(t("enc_norms_block"), 0, max(last, 1), help=t("enc_norms_block_help"), **slider)
    x_labels = [t("enc_lens_embed")] + [t("block_short", b=b + 1) for b in range(cfg.depth)]
    where = x_labels[shown]
    first = cfg.num_prefix_tokens
    names = {**{f"prefix{i}": name for i, name in enumerate(cfg.prefix_names())}, "median": t("enc_norms_median"),
             "max": t("enc_norms_max"), "map": t("enc_norms_map", where=where)}  # fmt: skip
    narrow = screen.narrow()
    ui.cached_chart("token_norms", (c.run, t.lang, shown, narrow), lambda: encoder_fig.token_norms_figure(
        norms, first, cfg.grid, shown, names, x_labels, narrow))  # fmt: skip
    ratio = float(norms[shown, first:].max() / max(np.median(norms[shown, first:]), 1e-12))
    st.caption(t("enc_norms_ratio", where=where, ratio=f"{ratio:.1f}"))


@st.fragment
def draw(t: Translator, c: Computed) -> None:
    """On request (its toggle): the token norms, the logit lens, then GAE beside rollout with the
    deletion test (both need a head). Drawn with the view they would make opening it and every
    new run cost several figures more."""
    st.subheader(t("enc_more_header"))
    st.toggle(t("enc_more_toggle"), help=t("enc_more_help"), **S.bind("encoder"))
    if not S.get("encoder"):
        return
    token_norms(t, c)
    cfg = c.cfg
    labels = compute.get_loaded(c.weights).labels if c.weights.trained else None
    st.subheader(t("enc_lens_header"))
    if cfg.num_classes == 0:
        st.info(t("enc_no_head"))
        return
    probs = compute.lens(c).numpy()  # (depth + 1, K)
    top = [int(k) for k in np.argsort(-probs[-1])[:TOP_K]]
    names = [ui.class_label(t, c.weights, labels, k) for k in top]
    st.markdown(t("enc_lens_explain", depth=cfg.depth))
    x_labels = [t("enc_lens_embed")] + [t("block_short", b=b + 1) for b in range(cfg.depth)]
    ui.cached_chart("logit_lens", (c.run, t.lang), lambda: encoder_fig.lens_figure(
        probs, top, names, x_labels, t("enc_lens_title", k=len(top)), top[0]))  # fmt: skip
    if not c.weights.trained:
        st.caption(t("enc_mechanism_only"))

    st.subheader(t("enc_gae_header"))
    st.markdown(t("enc_gae_explain"))
    if not c.full:
        st.info(t("needs_full", T=cfg.num_tokens, max=model.FULL_ATTENTION_MAX))
        return
    if cfg.depth * (cfg.num_tokens) * cfg.embed_dim > GAE_AUTO_MAX:
        st.toggle(t("enc_gae_toggle"), help=t("enc_gae_toggle_help", depth=cfg.depth), **S.bind("gae_on"))
        if not S.get("gae_on"):
            return
    if S.get("gae_class") not in top:
        S.put("gae_class", top[0])
    st.selectbox(t("enc_gae_class"), top, format_func=lambda k: names[top.index(k)],
                 **S.bind("gae_class", options=top))  # fmt: skip
    target = int(S.get("gae_class"))
    relevance = compute.gae(c, target).numpy()  # (Gh, Gw)
    roll = analysis.rollout_map(compute.rollout(c, "mean", 0.0), 0, cfg.grid).numpy()  # (Gh, Gw)
    titles = [t("enc_gae_title", cls=names[top.index(target)]), t("enc_rollout_title")]
    narrow = screen.narrow()
    ui.cached_chart("gae_map", (c.run, t.lang, target, narrow), lambda: encoder_fig.relevance_pair_figure(
        c.pixels, [relevance, roll], cfg.patch_size, titles, narrow=narrow))  # fmt: skip

    st.toggle(t("enc_del_toggle"), help=t("enc_del_help"), **S.bind("deletion"))
    if not S.get("deletion"):
        return
    with st.spinner(t("computing")):
        result = compute.deletion(c)
    curves = {t(f"enc_m_{m}"): result[m][0].numpy() for m in METHODS}
    aucs = {t(f"enc_m_{m}"): result[m][1] for m in METHODS}
    fractions = compute.DELETION_FRACTIONS.numpy()
    ui.cached_chart("deletion", (c.run, t.lang), lambda: encoder_fig.deletion_figure(
        fractions, curves, aucs, t("enc_del_title"), t("enc_del_x"), t("enc_del_y")))  # fmt: skip
    st.caption(t("enc_del_explain"))
