"""Attention maps laid over the picture: the block × head grid, one map enlarged, the raw matrix."""

from __future__ import annotations

import numpy as np
import plotly.colors
import plotly.graph_objects as go

from .common import data_uri, image_trace, title_columns, wrap_words
from .theme import GREEN, INFERNO


def colourise(values: np.ndarray, scale: str = "Inferno") -> np.ndarray:
    """Values in [0, 1] → RGB in [0, 1] through a plotly colour scale: ``(...,)`` → ``(..., 3)``."""
    stops = np.array([plotly.colors.hex_to_rgb(c) for c in getattr(plotly.colors.sequential, scale)]) / 255.0
    positions = np.linspace(0, 1, len(stops))
    return np.stack([np.interp(values, positions, stops[:, ch]) for ch in range(3)], axis=-1)


SATURATE_AT = 0.99  # a map's colours top out at this quantile of its values …
SATURATE_MIN_CELLS = 100  # … once it has this many patches (a 3 × 3 map keeps its own max)
OUTLIER_FACTOR = 2.0  # a map whose max is this many times its colour top has outliers worth a word


def colour_range(attention_map: np.ndarray) -> tuple[float, float]:
    """(low, high) of a map's colour scale: its min, and its max — or, from ``SATURATE_MIN_CELLS``
    patches up, its 99th percentile, so that a few outlier patches do not turn the rest black. Trained
    ViTs without registers put a large share of the CLS attention on a few background tokens (Darcet
    et al. 2024, "Vision Transformers Need Registers", arXiv 2309.16588): min–max colours then show
    those few cells and nothing else. The colour bar and the hover give the true values."""
    values = np.asarray(attention_map, dtype=np.float64)
    lo, hi = float(values.min()), float(values.max())
    if values.size >= SATURATE_MIN_CELLS:
        hi = float(np.quantile(values, SATURATE_AT))
    return lo, hi if hi > lo else lo + 1.0


def outliers(attention_map: np.ndarray) -> tuple[int, float] | None:
    """The patches over ``OUTLIER_FACTOR`` × the map's colour top (see :func:`colour_range`): how many,
    and the share of the map's sum they hold (0–1); None when there are none."""
    values = np.asarray(attention_map, dtype=np.float64)
    lo, hi = colour_range(values)
    over = values - lo > OUTLIER_FACTOR * (hi - lo)
    if not over.any():
        return None
    return int(over.sum()), float(values[over].sum() / values.sum())


def has_outliers(attention_map: np.ndarray) -> bool:
    """Whether some patches are over ``OUTLIER_FACTOR`` × the map's colour top (:func:`outliers`)."""
    return outliers(attention_map) is not None


def blend(pixels: np.ndarray, attention_map: np.ndarray, opacity: float) -> np.ndarray:
    """A ``(Gh, Gw)`` map (scaled by :func:`colour_range`) laid over ``(H, W, 3)`` pixels, as uint8 RGB."""
    H, W = pixels.shape[:2]
    Gh, Gw = attention_map.shape
    lo, hi = colour_range(attention_map)
    cells = colourise(np.clip((attention_map - lo) / (hi - lo), 0, 1))  # (Gh, Gw, 3)
    upsampled = cells.repeat(H // Gh, axis=0).repeat(W // Gw, axis=1)  # (H, W, 3) nearest, as patches
    mixed = (1 - opacity) * pixels / 255.0 + opacity * upsampled  # (H, W, 3)
    return (mixed * 255 + 0.5).astype(np.uint8)


def layer_head_figure(
    pixels: np.ndarray, maps: np.ndarray, row_labels: list[str], col_labels: list[str], opacity: float = 0.6,
    narrow: bool = False,
) -> go.Figure:
    """Every block × head map of one query, each laid over the picture, as one picture of tiles.

    The tiles are blended on the server and sent as one compressed image, so a 12 × 13 grid costs
    about as much as one photo. Each tile is scaled to its own range (:func:`colour_range`).

    Args:
        pixels: the picture ``(H, W, 3)`` uint8, H and W multiples of the grid (e.g. a thumbnail).
        maps: ``(depth, K, Gh, Gw)``, e.g. K = heads and their mean.
        row_labels: one per block; col_labels: one per column.
        opacity: of the maps over the picture.
        narrow: for a phone's column: each column's label wrapped to its tile's width.
    """
    depth, K = maps.shape[:2]
    if narrow:
        col_labels = [wrap_words(label, title_columns(K + 1, 12)) for label in col_labels]  # + the rows' labels
    lines = max(label.count("<br>") for label in col_labels) + 1
    H, W = pixels.shape[:2]
    gap = max(2, W // 32)
    canvas = np.full((depth * (H + gap) - gap, K * (W + gap) - gap, 3), 255, dtype=np.uint8)
    for i in range(depth):
        for j in range(K):
            canvas[i * (H + gap) : i * (H + gap) + H, j * (W + gap) : j * (W + gap) + W] = blend(
                pixels, maps[i, j], opacity
            )
    fig = go.Figure(go.Image(source=data_uri(canvas), x0=0.5, y0=0.5, dx=1, dy=1, hoverinfo="skip"))
    fig.update_xaxes(tickvals=[j * (W + gap) + W / 2 for j in range(K)], ticktext=col_labels, side="top",
                     showgrid=False, zeroline=False, fixedrange=True)  # fmt: skip
    fig.update_yaxes(tickvals=[i * (H + gap) + H / 2 for i in range(depth)], ticktext=row_labels, showgrid=False,
                     zeroline=False, fixedrange=True)  # fmt: skip
    fig.update_layout(margin=dict(l=0, r=0, t=16 + 14 * lines, b=0), height=min(1400, max(260, 90 * depth)),
                      plot_bgcolor="white")  # fmt: skip
    return fig


def overlay_figure(
    pixels: np.ndarray,
    attention_map: np.ndarray,
    patch_size: int,
    opacity: float = 0.6,
    query: tuple[int, int] | None = None,
    clickable: bool = False,
    title: str = "",
    height: int = 380,
) -> go.Figure:
    """One ``(Gh, Gw)`` map over the picture, coloured over :func:`colour_range` (its min to its max,
    or its 99th percentile on large grids; the colour bar and hover give the true values); the query
    patch outlined; optionally clickable patches; ``height`` px tall."""
    from .embedding import click_targets

    H, W = pixels.shape[:2]
    P = patch_size
    Gh, Gw = attention_map.shape
    lo, hi = colour_range(attention_map)
    fig = go.Figure(
        [
            image_trace(pixels),
            go.Heatmap(
                z=attention_map.astype(np.float32), x0=P / 2, dx=P, y0=P / 2, dy=P, colorscale=INFERNO,
                opacity=opacity, zmin=lo, zmax=hi,
                colorbar=dict(thickness=10),
                hovertemplate="%{z:.4f}<extra></extra>",
            ),
        ]
    )  # fmt: skip
    if clickable:
        fig.add_trace(click_targets(Gh, Gw, P, 0))
    if query is not None:
        r, c = query
        fig.add_shape(
            type="rect", x0=c * P, x1=(c + 1) * P, y0=r * P, y1=(r + 1) * P, line=dict(color=GREEN, width=3)
        )
    fig.update_xaxes(
        range=[0, W],
        showticklabels=False,
        ticks="",
        showgrid=False,
        zeroline=False,
        fixedrange=True,
        constrain="domain",
        constraintoward="right",  # the picture against its colour bar, not in the middle of the width
    )
    fig.update_yaxes(range=[H, 0], showticklabels=False, ticks="", showgrid=False, zeroline=False, fixedrange=True,
                     scaleanchor="x", constrain="domain")  # fmt: skip
    fig.update_layout(title=title, margin=dict(l=0, r=0, t=30 if title else 0, b=0), height=height, showlegend=False,
                      clickmode="event+select", plot_bgcolor="white")  # fmt: skip
    return fig


def matrix_figure(matrix: np.ndarray, step: int, title: str, axis_titles: tuple[str, str],
                  narrow: bool = False) -> go.Figure:  # fmt: skip
    """A raw (T×T) attention matrix (block-averaged by ``step`` for display), queries down, keys across;
    ``narrow`` (a phone's column): the title wrapped to its width."""
    if narrow:
        title = wrap_words(title, title_columns(1, 17))
    extra = 20 * title.count("<br>")  # px for each further line of the title
    fig = go.Figure(
        go.Heatmap(
            z=matrix.astype(np.float32), x0=0, dx=step, y0=0, dy=step, colorscale="Viridis",
            colorbar=dict(thickness=10),
            hovertemplate="query %{y} → key %{x}: %{z:.4f}<extra></extra>",
        )
    )  # fmt: skip
    T = matrix.shape[0] * step
    fig.update_yaxes(range=[T - 0.5 * step, -0.5 * step], title=axis_titles[0], scaleanchor="x", constrain="domain")
    fig.update_xaxes(range=[-0.5 * step, T - 0.5 * step], title=axis_titles[1], side="top", constrain="domain",
                     constraintoward="right")  # the matrix against its colour bar  # fmt: skip
    # The title in one line at the figure's top, over the keys' axis title (the keys' axis is on top).
    # plotly puts a title's first line at the anchor whatever ``yanchor`` says: the pad makes room for the rest
    fig.update_layout(title=dict(text=title, y=1, yanchor="top", yref="container", pad=dict(t=6 + extra)),
                      margin=dict(l=0, r=0, t=96 + extra, b=0), height=460 + extra)  # fmt: skip
    return fig
