"""Inside the encoder: one head's arithmetic for one query, the prediction block by block, and the
deletion test of a relevance map.

``head_vectors_figure``: the query token's input row x (D), its query q (hs) and the head's
output (hs) as strips. ``head_maps_figure``: each key's score q·k/√hs and its softmax weight,
the prefix tokens (CLS, DIST, registers) in cells of their own beside the patch grid.
``lens_figure``: the logit lens (the CLS token read out after the embedding and after each block).
``deletion_figure``: the probability of the predicted class as the most relevant patches are
replaced by the mean colour, one curve per map. ``token_pca_figure``: the patch tokens after one
block in the colours of their principal components, beside the picture (DINOv2's Fig. 1).

Shape legend: T = S + N tokens (S prefix tokens, CLS first), Gh × Gw = N patches, D embedding dim,
hs head size, K classes, L = depth + 1 read-outs.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .common import PHONE_PX, colorbar_beside, image_trace, title_columns, wrap_at_colon, wrap_words
from .theme import GREEN, INFERNO, OKABE_ITO, TRANSPARENT, axes_off

LENS_COLOURS = tuple(OKABE_ITO[name] for name in ("blue", "orange", "green", "purple", "sky_blue"))  # one a class
DELETION_COLOURS = (OKABE_ITO["vermillion"], OKABE_ITO["blue"], OKABE_ITO["green"], "#777777")  # GAE, rollout,
# the last block's CLS attention, a random order


def head_vectors_figure(x_row: np.ndarray, q: np.ndarray, out: np.ndarray, titles: list[str]) -> go.Figure:
    """Three strips, each on its own symmetric scale with hover values: x (D,), q (hs,), out (hs,)."""
    fig = make_subplots(rows=3, cols=1, subplot_titles=titles, vertical_spacing=0.2)
    for row, values in enumerate((x_row, q, out), start=1):
        limit = float(np.abs(values).max()) or 1.0
        fig.add_trace(
            go.Heatmap(
                z=values[None, :].astype(np.float32), colorscale="RdBu_r", zmin=-limit, zmax=limit, showscale=False,
                hovertemplate="dim %{x}: %{z:.4f}<extra></extra>",
            ),
            row=row, col=1,
        )  # fmt: skip
    axes_off(fig)
    fig.update_annotations(font_size=13)
    fig.update_layout(margin=dict(l=0, r=0, t=26, b=0), height=200)
    return fig


HEAD_MAP_DOMAINS = ((0.0, 0.06), (0.075, 0.43), (0.53, 0.59), (0.605, 0.96))  # x: prefix, scores, prefix, weights
# On a phone a colour bar and its numbers take an eighth of the width: more room before the second pair.
HEAD_MAP_DOMAINS_NARROW = ((0.0, 0.07), (0.085, 0.40), (0.56, 0.63), (0.645, 0.96))


def head_maps_figure(scores: np.ndarray, weights: np.ndarray, grid: tuple[int, int], titles: list[str],
                     query: int | None = None, prefix_names: list[str] | None = None,
                     narrow: bool = False) -> go.Figure:  # fmt: skip
    """Scores (T,) and weights (T,) over the keys: the S prefix tokens (``prefix_names``, default
    CLS alone) in a column of cells of their own at the left of each, named in them, the patches
    (the last Gh·Gw keys) on the Gh×Gw grid. The ``query`` token is outlined: a patch on the grid,
    a prefix token in its cell (CLS alone is not). Each map has its own colour bar, which on a
    phone's column (``narrow``) keeps to the wider gap between the pairs."""
    Gh, Gw = grid
    names = prefix_names or ["CLS"]
    S = len(names)
    cell = divmod(query - S, Gw) if query is not None and query >= S else None
    label = "CLS" if S == 1 else " "  # a blank title keeps its annotation (the cells carry the names)
    fig = make_subplots(rows=1, cols=4, subplot_titles=[label, titles[0], label, titles[1]])
    # Prefix column, grid, then room for the grid's colour bar before the next pair.
    domains = HEAD_MAP_DOMAINS_NARROW if narrow else HEAD_MAP_DOMAINS
    for axis, domain, title in zip((1, 2, 3, 4), domains, fig.layout.annotations, strict=True):
        fig.layout[f"xaxis{axis}"].domain = domain
        title.x = sum(domain) / 2
    outline = dict(color=GREEN, width=3)
    for i, (values, scale) in enumerate(((scores, "RdBu_r"), (weights, "Viridis"))):
        lo, hi = (float(values.min()), float(values.max()))
        if scale == "RdBu_r":
            lo, hi = -max(abs(lo), abs(hi)), max(abs(lo), abs(hi))
        prefix_col, grid_col = 2 * i + 1, 2 * i + 2
        common = dict(colorscale=scale, zmin=lo, zmax=hi)
        fig.add_trace(
            go.Heatmap(
                z=values[:S, None].astype(np.float32), showscale=False, text=[[n] for n in names],
                texttemplate="%{text}" if S > 1 else None, textfont=dict(size=9),
                hovertemplate="%{text}: %{z:.4f}<extra></extra>", **common,
            ),
            row=1, col=prefix_col,
        )  # fmt: skip
        right = fig.layout[f"xaxis{grid_col}"].domain[1]
        fig.add_trace(
            go.Heatmap(
                z=values[S:].reshape(Gh, Gw).astype(np.float32), hovertemplate="(%{y}, %{x}): %{z:.4f}<extra></extra>",
                colorbar=dict(x=right + 0.005, xanchor="left", xpad=2, thickness=8, len=0.8, tickfont=dict(size=10)),
                **common,
            ),
            row=1, col=grid_col,
        )  # fmt: skip
        if cell is not None:
            r, c = cell
            fig.add_shape(
                type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5, line=outline, row=1, col=grid_col
            )
        elif query is not None and S > 1:
            fig.add_shape(type="rect", x0=-0.5, x1=0.5, y0=query - 0.5, y1=query + 0.5, line=outline,
                          row=1, col=prefix_col)  # fmt: skip
        fig.update_yaxes(autorange="reversed", scaleanchor=f"x{grid_col}", row=1, col=grid_col)
        fig.update_yaxes(autorange="reversed", row=1, col=prefix_col)
        if S == 1:
            fig.update_yaxes(scaleanchor=f"x{prefix_col}", row=1, col=prefix_col)  # CLS: one square cell
    axes_off(fig)
    fig.update_annotations(font_size=13)
    fig.update_layout(margin=dict(l=0, r=40, t=30, b=0), height=300)
    return fig


def lens_figure(probs: np.ndarray, classes: list[int], names: list[str], x_labels: list[str], title: str,
                predicted: int) -> go.Figure:  # fmt: skip
    """The probability (L, K) of each class in ``classes`` after each read-out, one line each;
    the predicted class's last point ringed."""
    fig = go.Figure()
    for colour, k, name in zip(LENS_COLOURS, classes, names, strict=False):
        hover = "%{x}: %{y:.3f}<extra>" + name + "</extra>"
        fig.add_trace(go.Scatter(x=x_labels, y=probs[:, k], mode="lines+markers", name=name,
                                 line=dict(color=colour, width=2), hovertemplate=hover))  # fmt: skip
    fig.add_trace(go.Scatter(x=[x_labels[-1]], y=[probs[-1, predicted]], mode="markers", showlegend=False,
                             marker=dict(size=16, color=TRANSPARENT, line=dict(color="#000", width=2)),
                             hoverinfo="skip"))  # fmt: skip
    fig.update_yaxes(range=[0, 1.02], fixedrange=True, title=None)
    fig.update_xaxes(fixedrange=True)
    fig.update_layout(title=dict(text=title, font=dict(size=13)), margin=dict(l=0, r=0, t=36, b=0), height=320,
                      legend=dict(orientation="h", y=-0.18), plot_bgcolor="white")  # fmt: skip
    return fig


def deletion_figure(fractions: np.ndarray, curves: dict[str, np.ndarray], aucs: dict[str, float], title: str,
                    x_title: str, y_title: str) -> go.Figure:  # fmt: skip
    """One curve per map (its AUC in the legend): probability of the predicted class against the
    share of patches deleted, most relevant first."""
    fig = go.Figure()
    for colour, (name, curve) in zip(DELETION_COLOURS, curves.items(), strict=False):
        line = dict(color=colour, width=2, dash="dot" if colour == DELETION_COLOURS[-1] else None)
        fig.add_trace(go.Scatter(x=fractions, y=curve, mode="lines+markers", name=f"{name} · AUC {aucs[name]:.3f}",
                                 line=line))  # fmt: skip
    fig.update_xaxes(range=[0, 1], title=x_title, fixedrange=True, tickformat=".0%")
    fig.update_yaxes(range=[0, 1.02], title=y_title, fixedrange=True)
    fig.update_layout(title=dict(text=wrap_at_colon(title), font=dict(size=13)), margin=dict(l=0, r=0, t=50, b=0),
                      height=340, legend=dict(x=1, xanchor="right", y=1), plot_bgcolor="white")  # fmt: skip
    return fig


def relevance_pair_figure(pixels: np.ndarray, maps: list[np.ndarray], patch_size: int, titles: list[str],
                          opacity: float = 0.6, narrow: bool = False) -> go.Figure:  # fmt: skip
    """Two (Gh, Gw) maps over the picture (H, W, 3) side by side, each from its own min to max with
    its own colour bar (their scales differ: GAE's relevance and rollout's weights); on a phone's
    column (``narrow``) one above the other, each bar beside its own map."""
    H, W = pixels.shape[:2]
    P = patch_size
    rows, cols = (2, 1) if narrow else (1, 2)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.12, vertical_spacing=0.1)
    for i, values in enumerate(maps, start=1):
        row, col = (i, 1) if narrow else (1, i)
        fig.add_trace(go.Image(z=pixels, hoverinfo="skip"), row=row, col=col)
        fig.add_trace(
            go.Heatmap(
                z=values.astype(np.float32), x0=P / 2, dx=P, y0=P / 2, dy=P, colorscale=INFERNO, opacity=opacity,
                zmin=float(values.min()), zmax=float(values.max()), hovertemplate="%{z:.4f}<extra></extra>",
                colorbar=colorbar_beside(fig, i, thickness=10),
            ),
            row=row, col=col,
        )  # fmt: skip
        axis = "x" if i == 1 else f"x{i}"
        fig.update_xaxes(range=[0, W], constrain="domain", constraintoward="right", row=row, col=col)
        fig.update_yaxes(range=[H, 0], scaleanchor=axis, constrain="domain", row=row, col=col)
    axes_off(fig)
    fig.update_annotations(font_size=13)
    fig.update_layout(margin=dict(l=0, r=40 if narrow else 0, t=30, b=0), height=640 if narrow else 380,
                      plot_bgcolor="white")  # fmt: skip
    return fig


def token_norms_figure(norms: np.ndarray, prefix: int, grid: tuple[int, int], block: int, names: dict[str, str],
                       x_labels: list[str], narrow: bool = False) -> go.Figure:  # fmt: skip
    """Left: the norm (L, T) of the prefix tokens and the patches' median and largest after each
    read-out. Right: the patches' norms after read-out ``block`` on the Gh×Gw grid, on their own
    scale with a colour bar. ``names``: ``prefix`` names (one per prefix token, in order) and the
    keys "median", "max", "map" (the map's title). ``narrow`` (a phone's column): the map under the
    lines, with the legend between them."""
    Gh, Gw = grid
    if narrow:
        fig = make_subplots(rows=2, cols=1, row_heights=[0.5, 0.5], vertical_spacing=0.28,
                            subplot_titles=["", names["map"]])  # fmt: skip
    else:
        fig = make_subplots(rows=1, cols=2, column_widths=[0.55, 0.45], horizontal_spacing=0.08,
                            subplot_titles=["", names["map"]])  # fmt: skip
    where = dict(row=2, col=1) if narrow else dict(row=1, col=2)
    patches = norms[:, prefix:]  # (L, N)
    lines = [(names[f"prefix{i}"], norms[:, i], LENS_COLOURS[i % len(LENS_COLOURS)], None) for i in range(prefix)]
    lines += [(names["median"], np.median(patches, axis=1), "#555555", None),
              (names["max"], patches.max(axis=1), OKABE_ITO["vermillion"], "dot")]  # fmt: skip
    for name, values, colour, dash in lines:
        fig.add_trace(go.Scatter(x=x_labels, y=values, mode="lines+markers", name=name,
                                 line=dict(color=colour, width=2, dash=dash)), row=1, col=1)  # fmt: skip
    fig.add_trace(
        go.Heatmap(
            z=patches[block].reshape(Gh, Gw).astype(np.float32), colorscale="Viridis",
            hovertemplate="(%{y}, %{x}): ‖h‖ = %{z:.2f}<extra></extra>",
            colorbar=colorbar_beside(fig, 2, thickness=10),
        ),
        **where,
    )  # fmt: skip
    fig.update_xaxes(showticklabels=False, ticks="", showgrid=False, zeroline=False, **where)
    fig.update_yaxes(showticklabels=False, ticks="", showgrid=False, zeroline=False, autorange="reversed",
                     scaleanchor="x2", **where)  # fmt: skip
    fig.update_xaxes(fixedrange=True)
    fig.update_yaxes(fixedrange=True, rangemode="tozero", row=1, col=1)
    fig.update_annotations(font_size=13)
    # the legend under the lines: under the figure, or on a phone in the gap above the map
    legend = dict(orientation="h", x=0, y=fig.layout.yaxis.domain[0] - 0.1 if narrow else -0.15, yanchor="top")
    fig.update_layout(margin=dict(l=0, r=0, t=30, b=0), height=640 if narrow else 340, plot_bgcolor="white",
                      legend=legend)  # fmt: skip
    return fig


def token_pca_figure(rgb: np.ndarray, titles: list[str], pixels: np.ndarray | None = None,
                     first: np.ndarray | None = None, threshold: float = 0.0,
                     narrow: bool = False) -> go.Figure:  # fmt: skip
    """Panels left to right, each its own subplot, one title each in ``titles``: the picture
    (``pixels`` (H, W, 3) uint8, when given), the first principal component on the Gh×Gw grid
    (``first`` in standard deviations, when given: red above ``threshold``, the cut that hides the
    background, blue below, white at it) and the tokens in PCA colours (``rgb`` (Gh, Gw, 3) in
    [0, 1], ``analysis.token_pca``). Hovering a cell names it (r, c). ``narrow`` (a phone's column):
    the titles wrapped to their panels' width."""
    Gh, Gw = rgb.shape[:2]
    panels = [name for name, given in (("picture", pixels), ("first", first), ("rgb", rgb)) if given is not None]
    assert len(titles) == len(panels), f"{len(titles)} titles for {len(panels)} panels"
    titles = [wrap_at_colon(t) for t in titles]
    spacing = 0.14 if narrow else 0.1  # room for the colour bar and its numbers between two panels
    if narrow:  # the figure's right margin is 30 px
        titles = [wrap_words(t, title_columns(len(panels), 13, spacing, PHONE_PX - 30)) for t in titles]
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=titles, horizontal_spacing=spacing)
    for col, panel in enumerate(panels, start=1):
        if panel == "picture":
            fig.add_trace(image_trace(pixels), row=1, col=col)
            height, width = pixels.shape[:2]  # one unit per pixel; the grids: one unit per patch
        elif panel == "first":
            limit = max(float(np.abs(first - threshold).max()), 1e-6)
            right = fig.layout[f"xaxis{col}"].domain[1]
            fig.add_trace(
                go.Heatmap(
                    z=first.astype(np.float32), colorscale="RdBu_r", zmin=threshold - limit,
                    zmax=threshold + limit, hovertemplate="(%{y}, %{x}): %{z:.2f} σ<extra></extra>",
                    colorbar=dict(x=right + 0.005, xanchor="left", thickness=8, len=0.8, tickfont=dict(size=10)),
                ),
                row=1, col=col,
            )  # fmt: skip
        else:
            cells = (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)  # (Gh, Gw, 3)
            fig.add_trace(go.Image(z=cells, hovertemplate="(%{y}, %{x})<extra></extra>"), row=1, col=col)
        x_range, y_range = ((0, width), (height, 0)) if panel == "picture" else ((-0.5, Gw - 0.5), (Gh - 0.5, -0.5))
        fig.update_xaxes(range=list(x_range), constrain="domain", row=1, col=col)
        fig.update_yaxes(range=list(y_range), scaleanchor=f"x{col}", constrain="domain", row=1, col=col)
    axes_off(fig)
    fig.update_annotations(font_size=13)
    lines = max(t.count("<br>") for t in titles) + 1
    fig.update_layout(margin=dict(l=0, r=30, t=16 + 16 * lines, b=0), height=310 + 16 * lines, plot_bgcolor="white")
    return fig
