"""The grid of 1×1×D vectors: PCA colours beside the picture, and the N×D token matrix."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .common import fix_axes, grid_lines, image_trace, title_columns, wrap_words
from .theme import RED, TRANSPARENT


def pca_grid_figure(
    pixels: np.ndarray,
    patch_size: int,
    cell_colours: np.ndarray,
    titles: tuple[str, str],
    selected: tuple[int, int] | None = None,
) -> go.Figure:
    """The picture with its patch grid, and beside it each patch's vector as one colour cell.

    A transparent marker sits on every patch and every cell (``customdata`` = ``[r, c]``) so
    that a click on either can select that token: browsers report clicks on markers only.

    Args:
        pixels: the model's input ``(H, W, 3)`` uint8.
        patch_size: P.
        cell_colours: ``(Gh, Gw, 3)`` in [0, 1] (``analysis.pca_rgb``).
        titles: captions of the picture and of the vector grid.
        selected: ``(r, c)`` of the token to outline on both sides.
    """
    H, W = pixels.shape[:2]
    P = patch_size
    Gh, Gw = cell_colours.shape[:2]
    x_out = W + max(P, W // 10)
    cells = (np.asarray(cell_colours) * 255 + 0.5).astype(np.uint8)  # (Gh, Gw, 3)
    fig = go.Figure(
        [
            image_trace(pixels),
            grid_lines(H, W, P, color="rgba(255,255,255,0.6)"),
            go.Image(z=cells, x0=x_out + P / 2, y0=P / 2, dx=P, dy=P, hoverinfo="skip"),
            go.Scatter(
                x=[W / 2, x_out + Gw * P / 2], y=[-0.04 * H] * 2, mode="text", text=list(titles),
                textposition="top center", hoverinfo="skip",
            ),
            click_targets(Gh, Gw, P, 0),
            click_targets(Gh, Gw, P, x_out),
        ]
    )  # fmt: skip
    if selected is not None:
        r, c = selected
        for x0 in (0, x_out):
            fig.add_shape(type="rect", x0=x0 + c * P, x1=x0 + (c + 1) * P, y0=r * P, y1=(r + 1) * P,
                          line=dict(color=RED, width=3))  # fmt: skip
    fix_axes(fig, (-1, x_out + Gw * P + 1), (-0.12 * H, H + 1))
    fig.update_layout(
        margin=dict(l=0, r=0, t=10, b=0), height=420, showlegend=False, plot_bgcolor="white", clickmode="event+select"
    )
    return fig


def click_targets(Gh: int, Gw: int, P: int, x_offset: float) -> go.Scatter:
    """An invisible marker on each cell centre, row-major, carrying ``[r, c]``: what makes cells clickable.

    ``customdata`` is a plain list: a numpy array would travel as a typed array that the page's
    selection event reads back wrongly.
    """
    rows, cols = np.divmod(np.arange(Gh * Gw), Gw)  # (N,), (N,) row-major
    return go.Scatter(
        x=x_offset + (cols + 0.5) * P, y=(rows + 0.5) * P, mode="markers",
        marker=dict(size=max(6, min(40, P)), color=TRANSPARENT, symbol="square"),
        customdata=np.stack([rows, cols], axis=1).tolist(),
        hovertemplate="(%{customdata[0]}, %{customdata[1]})<extra></extra>",
        showlegend=False,
    )  # fmt: skip


def token_heatmap(
    matrix: np.ndarray,
    row_step: int = 1,
    col_step: int = 1,
    title: str = "",
    axis_titles: tuple[str, str] = ("", ""),
    selected_row: int | None = None,
    narrow: bool = False,
) -> go.Figure:
    """The N×D patch-token matrix (possibly block-averaged for display) as a diverging heatmap.

    Args:
        matrix: ``(rows, cols)`` values; rows are tokens in flatten order, columns embedding dims.
        row_step, col_step: how many tokens / dims each displayed cell averages (1 = exact).
        title: the figure title.
        axis_titles: (x title, y title).
        selected_row: a token index (in the full matrix) to outline.
        narrow: for a phone's column: the title wrapped to its width.
    """
    rows, cols = matrix.shape
    limit = float(np.abs(matrix).max()) or 1.0
    fig = go.Figure(
        go.Heatmap(
            z=matrix.astype(np.float32), x0=0, dx=col_step, y0=0, dy=row_step, colorscale="RdBu_r",
            zmin=-limit, zmax=limit, colorbar=dict(thickness=12),
            hovertemplate="token %{y} · dim %{x}: %{z:.3f}<extra></extra>",
        )
    )  # fmt: skip
    if selected_row is not None:
        top = selected_row // row_step * row_step
        fig.add_shape(type="rect", x0=-0.5 * col_step, x1=cols * col_step - 0.5 * col_step, y0=top - 0.5 * row_step,
                      y1=top + 0.5 * row_step, line=dict(color=RED, width=2))  # fmt: skip
    fig.update_yaxes(autorange="reversed", title=axis_titles[1])
    fig.update_xaxes(title=axis_titles[0])
    if narrow:
        title = wrap_words(title, title_columns(1, 16))
    lines = title.count("<br>") + 1
    fig.update_layout(title=dict(text=title, y=1, yanchor="top", yref="container", pad=dict(t=8 + 20 * (lines - 1))),
                      margin=dict(l=0, r=0, t=20 + 20 * lines, b=0), height=400 + 20 * lines)  # fmt: skip
    return fig
