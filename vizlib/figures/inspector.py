"""The step inspector: one stride step of the Conv2d opened up, y = W · x + b.

For step k: the P×P window itself (and its three channels), a few of the D kernels drawn as
pictures with the dot product each gives, and all D output values as a strip — the 1×1×D
vector the step writes.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .common import colorbar_beside, panel_place, title_columns, wrap_at_colon, wrap_words
from .theme import GREEN, axes_off

CHANNEL_SCALES = ("Reds", "Greens", "Blues")


def _clean(fig: go.Figure, height: int, top: int = 30) -> go.Figure:
    axes_off(fig, flip_y=True)
    fig.update_layout(margin=dict(l=0, r=0, t=top, b=0), height=height, showlegend=False)
    return fig


def window_figure(
    patch_pixels: np.ndarray, window: np.ndarray, titles: list[str], value_range: tuple[float, float],
    narrow: bool = False,
) -> go.Figure:
    """The window as a picture and as its three normalised channels, enlarged.

    The three channels share one fixed colour scale, ``value_range``, with its numbers on a colour
    bar beside each: a flat patch of sky looks flat, not stretched to its own min–max.

    Args:
        patch_pixels: ``(P, P, 3)`` uint8, the window as shown.
        window: ``(3, P, P)`` the normalised values the kernel multiplies, ``(x / 255 − mean) / std``.
        titles: four titles: the picture, then channels R, G, B.
        value_range: (lo, hi) the normalised values a pixel can take, black to white over the
            three channels: ``min((0 − mean) / std)``, ``max((1 − mean) / std)``.
        narrow: for a phone's column: two panels a row, in two rows.
    """
    lo, hi = value_range
    cols = 2 if narrow else 4
    if narrow:
        titles = [wrap_words(title, title_columns(cols, 13, 0.14)) for title in titles]
    fig = make_subplots(rows=4 // cols, cols=cols, subplot_titles=titles, horizontal_spacing=0.14 if narrow else 0.06,
                        vertical_spacing=0.16)  # fmt: skip
    fig.add_trace(go.Image(z=patch_pixels, hovertemplate="(%{y}, %{x})<extra></extra>"), row=1, col=1)
    for ch in range(3):
        row, col = panel_place(ch + 1, cols)
        fig.add_trace(
            go.Heatmap(
                z=window[ch].astype(np.float32), colorscale=CHANNEL_SCALES[ch], zmin=lo, zmax=hi,
                colorbar=colorbar_beside(fig, ch + 2, thickness=8, tickfont=dict(size=10), nticks=4),
                hovertemplate="(%{y}, %{x}): %{z:.3f}<extra></extra>",
            ),
            row=row, col=col,
        )  # fmt: skip
    for i in range(4):
        row, col = panel_place(i, cols)
        fig.update_yaxes(scaleanchor=f"x{'' if i == 0 else i + 1}", row=row, col=col)
    return _clean(fig, 400 if narrow else 220)


def kernels_figure(
    kernels: np.ndarray, titles: list[str], window: np.ndarray | None = None, height: int = 184,
    narrow: bool = False,
) -> go.Figure:
    """Some of the D kernels ``(K, 3, P, P)``, each scaled to its own min–max and drawn as RGB; with
    ``window`` ``(P, P, 3)`` uint8 the window's pixels come first, in the same row (the lesson's
    compact form: the window and what each kernel makes of it side by side). ``titles``: one per
    panel, the window's first when it is given. ``narrow`` (a phone's column): four panels a row,
    in as many rows as it takes, each row ``height`` high."""
    images = ([window] if window is not None else []) + [_as_rgb(kernel) for kernel in kernels]
    cols = min(4, len(images)) if narrow else len(images)
    rows = -(-len(images) // cols)
    titles = [wrap_at_colon(title) for title in titles]
    if narrow:
        titles = [wrap_words(title, title_columns(cols, 12, 0.02)) for title in titles]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.02,
                        vertical_spacing=0.3 / rows if rows > 1 else 0)  # fmt: skip
    for i, pixels in enumerate(images):
        row, col = panel_place(i, cols)
        fig.add_trace(go.Image(z=pixels, hoverinfo="skip"), row=row, col=col)
    return _clean(fig, height * rows, top=44)  # the titles' two lines


def _as_rgb(kernel: np.ndarray) -> np.ndarray:
    """A kernel ``(3, P, P)`` scaled to its own min–max as ``(P, P, 3)`` uint8."""
    lo, hi = float(kernel.min()), float(kernel.max())
    rgb = ((kernel - lo) / (hi - lo or 1.0)).transpose(1, 2, 0)  # (P, P, 3) in [0, 1]
    return (rgb * 255 + 0.5).astype(np.uint8)


def output_strip_figure(
    values: np.ndarray, title: str, marked: list[int] | None = None, height: int = 130
) -> go.Figure:
    """The D output values as one strip of colour, optionally marking some dimensions. The strip is
    short: its colour bar is labelled at its two ends only (±max), which cannot overlap at any font size."""
    D = values.shape[0]
    limit = float(np.abs(values).max()) or 1.0
    ends = dict(tickvals=[-limit, limit], ticktext=[f"{-limit:.2g}", f"{limit:.2g}"])
    fig = go.Figure(
        go.Heatmap(
            z=values[None, :].astype(np.float32), x0=0, dx=1, colorscale="RdBu_r", zmin=-limit, zmax=limit,
            colorbar=dict(thickness=10, len=1.0, **ends), hovertemplate="dim %{x}: %{z:.4f}<extra></extra>",
        )
    )  # fmt: skip
    for d in marked or []:
        fig.add_shape(type="rect", x0=d - 0.5, x1=d + 0.5, y0=-0.5, y1=0.5, line=dict(color=GREEN, width=2))
    fig.update_xaxes(range=[-0.5, D - 0.5], fixedrange=True, showgrid=False)
    fig.update_yaxes(showticklabels=False, ticks="", fixedrange=True, showgrid=False)
    fig.update_layout(title=dict(text=title, font=dict(size=13), y=1, yanchor="top", pad=dict(t=4)),
                      margin=dict(l=0, r=0, t=34, b=0), height=height)  # fmt: skip
    return fig
