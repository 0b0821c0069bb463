"""View: the embedding grid. The grid of 1×1×D vectors in PCA colours, one token's patch and vector,
every token as a heatmap, the sequence assembly (flatten, CLS, position embeddings), and what the
patch tokens become block by block (their PCA colours after a chosen block, DINOv2's Fig. 1).

The token picker (a click on the grid, row and column) and the block and background controls rerun
only their part (``st.fragment``).
"""

from __future__ import annotations

from functools import partial

import streamlit as st

from page import compute, screen, ui
from page import state as S
from page.compute import Computed
from vizlib import analysis, image
from vizlib.figures import embedding as embedding_fig
from vizlib.figures import encoder as encoder_fig
from vizlib.figures import inspector as inspector_fig
from vizlib.figures import sequence as sequence_fig
from vizlib.i18n import Translator

HEATMAP_MAX = (256, 384)  # most rows × columns of the token heatmap sent to the browser
SEQUENCE_HEIGHT = {False: 380, True: 300}  # px, in the explore view and in the lesson (its first screen)


def draw(t: Translator, c: Computed) -> None:
    st.markdown(t("pca_explain", D=c.cfg.embed_dim))
    tokens(t, c)
    sequence(t, c)
    become(t, c)


def pick_token(grid_w: int) -> None:
    """Callback of a click on the PCA grid: the clicked cell becomes the selected token."""
    points = st.session_state["pca_grid"].selection.get("points", [])
    if points:
        r, col = divmod(int(points[0]["point_index"]), grid_w)  # markers are row-major
        S.update({"tok_r": r, "tok_c": col})
        S.write_url()  # the token travels in the share link


@st.fragment
def tokens(t: Translator, c: Computed) -> None:
    """The PCA grid with the selected token, its patch, its vector and the N × D token matrix."""
    cfg, trace = c.cfg, c.trace
    Gh, Gw = cfg.grid
    P, D = cfg.patch_size, cfg.embed_dim
    r, col = min(int(S.get("tok_r")), Gh - 1), min(int(S.get("tok_c")), Gw - 1)
    titles = (t("pca_title_input"), t("pca_title_grid", Gh=Gh, Gw=Gw))
    ui.cached_chart("pca_grid", (c.run, t.lang, r, col),
                    lambda: embedding_fig.pca_grid_figure(c.pixels, P, c.colours, titles, selected=(r, col)),
                    on_select=partial(pick_token, Gw), selection_mode="points")  # fmt: skip
    pick_r, pick_c, _ = st.columns([1, 1, 4])
    ui.number_input(pick_r, t("token_row"), "tok_r", 0, Gh - 1)
    ui.number_input(pick_c, t("token_col"), "tok_c", 0, Gw - 1)
    ui.refused(t, {"tok_r": t("token_row"), "tok_c": t("token_col")})
    token = r * Gw + col
    st.markdown(ui.touch_words(t, "token_explain", r=r, c=col, i=token + 1, D=D))
    window, vector = analysis.token_patch(trace.inputs, trace.patch_grid, r, col)  # (3, P, P), (D,)
    patch_pixels = c.pixels[r * P : (r + 1) * P, col * P : (col + 1) * P]  # (P, P, 3)
    window_titles = [t("window_rgb"), t("channel_r"), t("channel_g"), t("channel_b")]
    value_range = image.normalised_range(*compute.normalisation(c.weights))  # black … white, one scale for R, G, B
    narrow = screen.narrow()
    ui.cached_chart(
        "token_patch", (c.run, t.lang, r, col, narrow),
        lambda: inspector_fig.window_figure(patch_pixels, window.numpy(), window_titles, value_range, narrow),
    )  # fmt: skip
    strip_title = t("output_strip", D=D, r=r, c=col)
    ui.cached_chart("token_vector", (c.run, t.lang, r, col),
                    lambda: inspector_fig.output_strip_figure(vector.numpy(), strip_title))  # fmt: skip
    matrix = trace.patch_tokens[0]  # (N, D)
    shown, row_step, col_step = analysis.display_downsample(matrix, *HEATMAP_MAX)
    title = t("tokens_title", N=matrix.shape[0], D=D)
    axes = (t("tokens_x"), t("tokens_y"))
    ui.cached_chart("tokens", (c.run, t.lang, token, narrow),
                    lambda: embedding_fig.token_heatmap(shown.numpy(), row_step, col_step, title, axes,
                                                        selected_row=token, narrow=narrow))  # fmt: skip
    if row_step > 1 or col_step > 1:
        st.caption(t("tokens_downsampled", r=row_step, c=col_step))


def sequence(t: Translator, c: Computed, lesson: bool = False) -> None:
    """Flatten the grid, prepend CLS, add the position embeddings: the encoder's input. In the
    ``lesson`` the step's own text replaces the heading and the explanation."""
    cfg = c.cfg
    N, D, T = cfg.num_patches, cfg.embed_dim, cfg.num_tokens
    Gh, Gw = cfg.grid
    if not lesson:
        st.subheader(t("sequence_header"))
        st.markdown(t("sequence_explain", N=N, D=D, T=T))
    if cfg.num_prefix_tokens > 1:
        st.markdown(t("seq_prefix", names=", ".join(cfg.prefix_names()), S=cfg.num_prefix_tokens, N=N, T=T)
                    + (" " + t("seq_registers", r=cfg.reg_tokens) if cfg.reg_tokens else ""))  # fmt: skip

    def build():
        vit = c.vit
        patch_tokens, prefix, pos = analysis.sequence_for_display(
            c.trace.patch_tokens[0],
            vit.prefix_tokens().detach().cpu(),
            vit.pos_embed.detach().cpu()[0],
            *HEATMAP_MAX,
            num_prefix=cfg.embed_len - N,
        )  # (n, d), (S, d), (S + n, d)
        first = t("seq_cls", T=T, D=D) if cfg.num_prefix_tokens == 1 else t("seq_prefix_title", T=T, D=D)
        titles = [t("seq_grid", Gh=Gh, Gw=Gw), t("seq_flat", N=N, D=D), first,
                  t("seq_pos", T=T, D=D), t("seq_sum", T=T, D=D)]  # fmt: skip
        return sequence_fig.sequence_figure(patch_tokens.numpy(), prefix.numpy(), pos.numpy(), cfg.grid, titles,
                                            SEQUENCE_HEIGHT[lesson], cfg.prefix_names(), narrow)  # fmt: skip

    narrow = screen.narrow()
    ui.cached_chart("sequence", (c.run, t.lang, lesson, narrow), build)
    st.caption(t("seq_scales") + (" " + t("seq_scales_random") if not c.weights.trained else ""))


@st.cache_resource(max_entries=64, show_spinner=False)
def _token_pca(run: tuple, block: int, hide: bool, cut: float, flip: bool, _trace) -> analysis.TokenPCA:
    return analysis.token_pca(_trace, block, hide, cut, flip)


@st.fragment
def become(t: Translator, c: Computed) -> None:
    """The patch tokens after a chosen block (0 = the embedding) in the colours of their first three
    principal components; on request the background hidden by a cut on the first component and
    the kept patches coloured by a PCA of their own (Oquab et al. 2023, DINOv2, Fig. 1, Sec. 7.4).
    Every block's output is in the trace, so this works at any number of tokens."""
    cfg = c.cfg
    st.subheader(t("tp_header"))
    st.markdown(t("tp_explain"))
    block = min(int(S.get("tp_block") if S.get("tp_block") is not None else cfg.depth), cfg.depth)
    slider = S.bind("tp_block")
    st.session_state[slider["key"]] = block
    st.slider(t("tp_block"), 0, max(cfg.depth, 1), help=t("enc_norms_block_help"), **slider)
    hide_col, cut_col, flip_col = st.columns([2, 3, 2], vertical_alignment="bottom")
    hide_col.toggle(t("tp_hide"), help=t("tp_hide_help"), **S.bind("tp_hide"))
    hide = bool(S.get("tp_hide"))
    if hide:
        cut_col.slider(t("tp_cut"), -2.0, 2.0, step=0.1, help=t("tp_cut_help"), **S.bind("tp_cut"))
        flip_col.checkbox(t("tp_flip"), help=t("tp_flip_help"), **S.bind("tp_flip"))
    cut = round(float(S.get("tp_cut")), 2) if hide else 0.0
    flip = hide and bool(S.get("tp_flip"))
    result = _token_pca(c.run, block, hide, cut, flip, c.trace)
    where = t("enc_lens_embed") if block == 0 else t("block_short", b=block)
    titles = [t("tp_title_picture"), t("tp_title_first", where=where), t("tp_title_rgb", where=where)]
    narrow = screen.narrow()
    ui.cached_chart("token_pca", (c.run, t.lang, block, hide, cut, flip, narrow),
                    lambda: encoder_fig.token_pca_figure(result.rgb.numpy(), titles, c.pixels, result.first.numpy(),
                                                         cut, narrow))  # fmt: skip
    if result.explained.numel():  # none when fewer than 2 patches are kept
        shares = [f"{100 * float(e):.0f} %" for e in result.explained]
        st.caption(t("tp_explained", where=where, shares=" · ".join(shares)))
    if hide:
        kept, N = int(result.foreground.sum()), result.foreground.numel()
        st.caption(t("tp_kept", n=kept, N=N, share=f"{100 * kept / N:.0f} %"))
    if not c.weights.trained:
        st.caption(t("tp_random"))
