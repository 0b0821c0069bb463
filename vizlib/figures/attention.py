"""Attention maps laid over the picture: one small panel per head, plus their mean."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .common import image_trace

MAX_COLS = 4


def head_maps_figure(pixels: np.ndarray, maps: np.ndarray, patch_size: int, titles: list[str], opacity: float = 0.6):
    """Each map ``(Gh, Gw)`` as a heatmap over the picture, in a grid of small panels.

    Args:
        pixels: the model's input ``(H, W, 3)`` uint8.
        maps: ``(K, Gh, Gw)``, e.g. each head's CLS→patch attention then their mean.
        patch_size: P: each map cell covers P×P pixels.
        titles: one per map.
        opacity: of the heatmaps over the picture.
    """
    K = maps.shape[0]
    H, W = pixels.shape[:2]
    P = patch_size
    cols = min(K, MAX_COLS)
    rows = math.ceil(K / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.02, vertical_spacing=0.06)
    for k in range(K):
        row, col = k // cols + 1, k % cols + 1
        fig.add_trace(image_trace(pixels), row=row, col=col)
        fig.add_trace(
            go.Heatmap(
                z=maps[k].astype(np.float32), x0=P / 2, dx=P, y0=P / 2, dy=P, colorscale="Inferno", opacity=opacity,
                zmin=0, zmax=float(maps[k].max()) or 1.0, showscale=False,
                hovertemplate="(%{y:.0f}, %{x:.0f}) px: %{z:.4f}<extra></extra>",
            ),
            row=row, col=col,
        )  # fmt: skip
    fig.update_xaxes(range=[0, W], showticklabels=False, showgrid=False, zeroline=False, fixedrange=True)
    fig.update_yaxes(
        range=[H, 0], showticklabels=False, showgrid=False, zeroline=False, fixedrange=True, scaleanchor="x"
    )
    for k in range(1, rows * cols + 1):
        suffix = "" if k == 1 else str(k)
        fig.layout[f"yaxis{suffix}"].scaleanchor = f"x{suffix}"
    fig.update_layout(margin=dict(l=0, r=0, t=30, b=0), height=max(260, 240 * rows), showlegend=False)
    return fig
