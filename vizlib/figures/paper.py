"""The ViT paper's Figure 7 (Dosovitskiy et al. 2020), computed on the model that is loaded.

Left: the top principal components of the patch-embedding filters as RGB tiles. Centre: each
position embedding's cosine similarity with all others, as a grid of grids. Right: mean attention
distance per head against depth.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from .attention import colourise
from .common import data_uri, mosaic, wrap_words

TITLE_COLUMNS = 22  # the paper view's three figures share a row: ~230 px each on a tablet, ~270 on a laptop


def _title(fig: go.Figure, title: str, top: int = 40, bottom: int = 8) -> None:
    """The figure's title, wrapped to ``TITLE_COLUMNS`` (a Japanese character counts two), over a
    top margin that grows with its lines, and a few px of margin left and ``bottom`` px below so that
    the title and the axis titles stay inside the figure."""
    text = wrap_words(title, TITLE_COLUMNS)
    extra = 20 * text.count("<br>")
    fig.update_layout(title=dict(text=text, y=1, yanchor="top", yref="container", pad=dict(t=8 + extra)),
                      margin=dict(l=4, r=0, t=top + extra, b=bottom))  # fmt: skip
    if fig.layout.height:
        fig.layout.height += extra


def filter_tiles_figure(components: np.ndarray, title: str, cols: int = 7) -> go.Figure:
    """``(k, 3, P, P)`` components in [0, 1] as RGB tiles in rows of ``cols`` (the paper shows 28)."""
    k, _, P, _ = components.shape
    rows = math.ceil(k / cols)
    tiles = np.ones((rows, cols, P, P, 3), dtype=np.float32)  # white where there is no component
    for i in range(k):
        tiles[i // cols, i % cols] = components[i].transpose(1, 2, 0)
    gap = max(1, P // 8)
    canvas = np.ones((rows * (P + gap) - gap, cols * (P + gap) - gap, 3), dtype=np.float32)
    for i in range(rows):
        for j in range(cols):
            canvas[i * (P + gap) : i * (P + gap) + P, j * (P + gap) : j * (P + gap) + P] = tiles[i, j]
    fig = go.Figure(go.Image(z=(canvas * 255 + 0.5).astype(np.uint8), hoverinfo="skip"))
    fig.update_xaxes(visible=False, fixedrange=True)
    fig.update_yaxes(visible=False, fixedrange=True)
    fig.update_layout(height=320)
    _title(fig, title)
    return fig


def pos_similarity_figure(similarity: np.ndarray, title: str, axis_titles: tuple[str, str]) -> go.Figure:
    """``(Gh, Gw, Gh, Gw)`` similarities as a grid of grids: tile (i, j) shows patch (i, j) against all."""
    Gh, Gw = similarity.shape[:2]
    fig = go.Figure(
        go.Heatmap(
            z=mosaic(similarity, gap=1), colorscale="Viridis", zmin=-1, zmax=1, hoverongaps=False,
            colorbar=dict(thickness=10), hovertemplate="%{z:.2f}<extra></extra>",
        )
    )  # fmt: skip
    fig.update_xaxes(
        title=axis_titles[0], showticklabels=False, ticks="", showgrid=False, zeroline=False, fixedrange=True
    )
    fig.update_yaxes(title=axis_titles[1], showticklabels=False, ticks="", showgrid=False, zeroline=False,
                     fixedrange=True, autorange="reversed", scaleanchor="x")  # fmt: skip
    fig.update_layout(height=420, plot_bgcolor="white")
    _title(fig, title)
    return fig


def pos_similarity_strided_figure(
    similarity: np.ndarray, stride: int, title: str, axis_titles: tuple[str, str]
) -> go.Figure:
    """The grid of grids for large grids: the tiles of every ``stride``-th patch row and column, each
    tile still the whole ``(Gh, Gw)`` map of that patch against all. Sent as one picture (a 32 × 32
    grid at stride 2 is 16 × 16 tiles of 32 × 32 cells: 280 k numbers as a heatmap, ~60 kB as a PNG);
    an invisible one-cell heatmap keeps the colour bar (−1 … 1, Viridis).

    Args:
        similarity: ``(Gh, Gw, Gh, Gw)`` cosine similarities in [−1, 1].
        stride: keep tiles ``[::stride, ::stride]``.
    """
    tiles = mosaic(similarity[::stride, ::stride], gap=1)  # (R·(Gh+1)−1, C·(Gw+1)−1), NaN between tiles
    rgb = colourise((np.nan_to_num(tiles, nan=-1.0) + 1) / 2, "Viridis")  # (h, w, 3) in [0, 1]
    rgb[np.isnan(tiles)] = 1.0  # white gaps
    h, w = tiles.shape
    fig = go.Figure(
        [
            go.Image(source=data_uri((rgb * 255 + 0.5).astype(np.uint8)), x0=0.5, y0=0.5, dx=1, dy=1,
                     hoverinfo="skip"),
            go.Heatmap(z=[[0.0]], x=[0], y=[0], colorscale="Viridis", zmin=-1, zmax=1, opacity=0,
                       colorbar=dict(thickness=10), hoverinfo="skip"),
        ]
    )  # fmt: skip
    fig.update_xaxes(title=axis_titles[0], range=[0, w], showticklabels=False, ticks="", showgrid=False,
                     zeroline=False, fixedrange=True)  # fmt: skip
    fig.update_yaxes(title=axis_titles[1], range=[h, 0], showticklabels=False, ticks="", showgrid=False,
                     zeroline=False, fixedrange=True, scaleanchor="x")  # fmt: skip
    fig.update_layout(height=420, plot_bgcolor="white")
    _title(fig, title)
    return fig


def distance_figure(distances: np.ndarray, title: str, axis_titles: tuple[str, str], head_label: str) -> go.Figure:
    """``(depth, heads)`` mean attention distance in pixels: one dot per head at each block."""
    depth, heads = distances.shape
    fig = go.Figure(
        go.Scatter(
            x=np.repeat(np.arange(1, depth + 1), heads), y=distances.reshape(-1), mode="markers",
            marker=dict(size=8, color=np.tile(np.arange(heads), depth), colorscale="Turbo", opacity=0.8),
            customdata=np.tile(np.arange(1, heads + 1), depth),
            hovertemplate=f"{head_label} %{{customdata}} · %{{x}}: %{{y:.1f}} px<extra></extra>",
        )
    )  # fmt: skip
    x_title = wrap_words(axis_titles[0], TITLE_COLUMNS)
    fig.update_xaxes(title=x_title, dtick=1, range=[0.5, depth + 0.5])
    fig.update_yaxes(title=axis_titles[1], rangemode="tozero")
    fig.update_layout(height=320, showlegend=False)
    # the tick labels and the axis title's lines under them (Japanese lines are taller)
    _title(fig, title, bottom=38 + 20 * (x_title.count("<br>") + 1))
    return fig
