"""From the grid of vectors to the encoder's input sequence, step by step with shapes.

grid (D, Gh, Gw) → flatten: cells numbered in the order they become tokens → (N, D) → prepend
CLS → (N+1, D) → add position embeddings → (N+1, D), the sequence that enters the encoder.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

MAX_NUMBERED = 400  # cells numbered up to this many; beyond, the colour alone shows the order


def _limit(matrix: np.ndarray) -> float:
    """The symmetric colour limit of a matrix: its largest magnitude (1 for an all-zero matrix)."""
    return float(np.abs(matrix).max()) or 1.0


def sequence_figure(
    patch_tokens: np.ndarray,
    cls_token: np.ndarray,
    pos_embed: np.ndarray,
    grid: tuple[int, int],
    titles: list[str],
    height: int = 380,
) -> go.Figure:
    """Five panels: the numbered grid, patch tokens, with CLS, position embeddings, the sum.

    Args:
        patch_tokens: ``(N, D)`` the flattened grid (rows may be block-averaged for display
            by the caller, as long as all matrices share the row count N or N + 1).
        cls_token: ``(D,)``.
        pos_embed: ``(N + 1, D)``.
        grid: ``(Gh, Gw)`` of the patches.
        titles: five panel titles (translated, with shapes).
        height: of the figure in px.
    """
    Gh, Gw = grid
    with_cls = np.concatenate([cls_token[None, :], patch_tokens])  # (N+1, D)
    total = with_cls + pos_embed  # (N+1, D)
    fig = make_subplots(rows=1, cols=5, subplot_titles=titles, horizontal_spacing=0.055,
                        column_widths=[0.2, 0.2, 0.2, 0.2, 0.2])  # fmt: skip
    order = np.arange(1, Gh * Gw + 1).reshape(Gh, Gw)  # (Gh, Gw) sequence position of each cell (CLS is 0)
    numbered = Gh * Gw <= MAX_NUMBERED
    fig.add_trace(
        go.Heatmap(
            z=order, colorscale="Viridis", showscale=False, text=order if numbered else None,
            texttemplate="%{text}" if numbered else None, hovertemplate="(%{y}, %{x}) → token %{z}<extra></extra>",
        ),
        row=1, col=1,
    )  # fmt: skip
    # Rows of panels 2–5 share one axis: CLS is row 0, patch token i is row i + 1 everywhere.
    # Each matrix has its own symmetric colour scale, with its numbers on a bar beside it: position
    # embeddings start about 50 times smaller than the tokens (timm: std 0.02), and would be white
    # on the tokens' scale. Panels 2 and 3 hold the same tokens and share one scale.
    tokens_axis = dict(limit=_limit(with_cls), panels=(2, 3))
    scales = {2: ("coloraxis", tokens_axis), 3: ("coloraxis", tokens_axis), 4: ("coloraxis2", dict(
        limit=_limit(pos_embed), panels=(4,))), 5: ("coloraxis3", dict(limit=_limit(total), panels=(5,)))}  # fmt: skip
    for col, matrix, first in [(2, patch_tokens, 1), (3, with_cls, 0), (4, pos_embed, 0), (5, total, 0)]:
        fig.add_trace(
            go.Heatmap(
                z=matrix.astype(np.float32), y0=first, dy=1, coloraxis=scales[col][0],
                hovertemplate="token %{y} · dim %{x}: %{z:.3f}<extra></extra>",
            ),
            row=1, col=col,
        )  # fmt: skip
    for name, scale in {name: scale for name, scale in scales.values()}.items():
        right = fig.layout[f"xaxis{scale['panels'][-1]}"].domain[1]
        fig.layout[name] = dict(
            colorscale="RdBu_r", cmin=-scale["limit"], cmax=scale["limit"],
            colorbar=dict(x=right + 0.004, xanchor="left", thickness=8, len=0.85, tickfont=dict(size=10),
                          nticks=5, tickformat=".2g"),
        )  # fmt: skip
    fig.update_xaxes(showticklabels=False, ticks="", showgrid=False, zeroline=False, fixedrange=True)
    fig.update_yaxes(showgrid=False, zeroline=False, fixedrange=True)
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False, ticks="", row=1, col=1)
    rows = patch_tokens.shape[0] + 1
    fig.update_yaxes(range=[rows - 0.5, -0.5], row=1, col=2)
    for col in (3, 4, 5):
        fig.update_yaxes(matches="y2", showticklabels=False, ticks="", row=1, col=col)
    fig.update_annotations(font_size=12)
    fig.update_layout(margin=dict(l=0, r=0, t=50, b=0), height=height, plot_bgcolor="white")
    return fig
