"""From the grid of vectors to the encoder's input sequence, step by step with shapes.

grid (D, Gh, Gw) → flatten: cells numbered in the order they become tokens → (N, D) → prepend
the S prefix tokens (CLS; DeiT's DIST; registers) → (T, D) → add position embeddings (registers have
none: blank rows) → (T, D), the sequence that enters the encoder (T = S + N).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .common import colorbar_beside, panel_place, title_columns, wrap_words

MAX_NUMBERED = 400  # cells numbered up to this many; beyond, the colour alone shows the order


def _limit(matrix: np.ndarray) -> float:
    """The symmetric colour limit of a matrix: its largest magnitude (1 for an all-zero matrix)."""
    return float(np.abs(matrix).max()) or 1.0


def sequence_figure(
    patch_tokens: np.ndarray,
    prefix_tokens: np.ndarray,
    pos_embed: np.ndarray,
    grid: tuple[int, int],
    titles: list[str],
    height: int = 380,
    prefix_names: list[str] | None = None,
    narrow: bool = False,
) -> go.Figure:
    """Five panels: the numbered grid, patch tokens, with the prefix tokens, position embeddings, the sum.

    Args:
        patch_tokens: ``(N, D)`` the flattened grid (rows may be block-averaged for display
            by the caller, as long as all matrices share the row count N or S + N).
        prefix_tokens: ``(S, D)`` CLS first (or CLS alone, ``(D,)``).
        pos_embed: ``(S + N, D)`` in sequence order; a NaN row is a token without one (a register).
        grid: ``(Gh, Gw)`` of the patches.
        titles: five panel titles (translated, with shapes).
        height: of the figure in px.
        prefix_names: the prefix rows' names for hover and labels (default ``CLS``, ``1``, …).
        narrow: for a phone's column: two panels a row, in three rows of ¾ ``height`` each, the
            titles wrapped to their panel (a colour bar keeps to the room between two panels).
    """
    Gh, Gw = grid
    prefix = prefix_tokens.reshape(-1, patch_tokens.shape[1])  # (S, D)
    S = prefix.shape[0]
    names = prefix_names or ["CLS", *map(str, range(1, S))]
    with_cls = np.concatenate([prefix, patch_tokens])  # (S+N, D)
    total = with_cls + np.nan_to_num(pos_embed)  # (S+N, D) a register gets no position embedding
    cols = 2 if narrow else 5
    if narrow:
        titles = [wrap_words(title, title_columns(cols, 12, 0.2)) for title in titles]
    panel_rows = -(-5 // cols)
    specs = [[{} if r * cols + c < 5 else None for c in range(cols)] for r in range(panel_rows)]  # no 6th panel
    fig = make_subplots(rows=panel_rows, cols=cols, subplot_titles=titles, specs=specs,
                        horizontal_spacing=0.2 if narrow else 0.065, vertical_spacing=0.1)  # fmt: skip
    place = {panel: panel_place(panel - 1, cols) for panel in range(1, 6)}  # panel -> (row, col)
    order = np.arange(S, S + Gh * Gw).reshape(Gh, Gw)  # (Gh, Gw) sequence position of each cell (CLS is 0)
    numbered = Gh * Gw <= MAX_NUMBERED
    fig.add_trace(
        go.Heatmap(
            z=order, colorscale="Viridis", showscale=False, text=order if numbered else None,
            texttemplate="%{text}" if numbered else None, hovertemplate="(%{y}, %{x}) → token %{z}<extra></extra>",
        ),
        row=place[1][0], col=place[1][1],
    )  # fmt: skip
    # Rows of panels 2–5 share one axis: CLS is row 0, patch token i is row S + i everywhere.
    # Each matrix has its own symmetric colour scale, with its numbers on a bar beside it: position
    # embeddings start about 50 times smaller than the tokens (timm: std 0.02), and would be white
    # on the tokens' scale. Panels 2 and 3 hold the same tokens and share one scale.
    tokens_axis = dict(limit=_limit(with_cls), panels=(2, 3))
    scales = {2: ("coloraxis", tokens_axis), 3: ("coloraxis", tokens_axis), 4: ("coloraxis2", dict(
        limit=_limit(np.nan_to_num(pos_embed)), panels=(4,))), 5: ("coloraxis3", dict(limit=_limit(total),
        panels=(5,)))}  # fmt: skip
    for col, matrix, first in [(2, patch_tokens, S), (3, with_cls, 0), (4, pos_embed, 0), (5, total, 0)]:
        fig.add_trace(
            go.Heatmap(
                z=matrix.astype(np.float32), y0=first, dy=1, coloraxis=scales[col][0],
                hovertemplate="token %{y} · dim %{x}: %{z:.3f}<extra></extra>",
            ),
            row=place[col][0], col=place[col][1],
        )  # fmt: skip
    for name, scale in {name: scale for name, scale in scales.values()}.items():
        fig.layout[name] = dict(
            colorscale="RdBu_r", cmin=-scale["limit"], cmax=scale["limit"],
            colorbar=colorbar_beside(fig, scale["panels"][-1], thickness=8, tickfont=dict(size=10), nticks=5,
                                     tickformat=".2g"),
        )  # fmt: skip
    fig.update_xaxes(showticklabels=False, ticks="", showgrid=False, zeroline=False, fixedrange=True)
    fig.update_yaxes(showgrid=False, zeroline=False, fixedrange=True)
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False, ticks="", row=1, col=1)
    rows = patch_tokens.shape[0] + S
    # The prefix rows are named on the shared axis; a line under them in panels 3–5 (x domain of
    # each panel, y in data units) parts them from the patches.
    label = names[0] if S == 1 else "·".join(names) if S == 2 else f"{names[0]}…{names[-1]}"  # rows may be 1 px
    fig.update_yaxes(range=[rows - 0.5, -0.5], tickvals=[(S - 1) / 2], ticktext=[label], tickfont_size=10,
                     ticks="", row=place[2][0], col=place[2][1])  # fmt: skip
    for col in (3, 4, 5):
        fig.add_shape(type="line", xref=f"x{col} domain", yref=f"y{col}", x0=0, x1=1, y0=S - 0.5, y1=S - 0.5,
                      line=dict(color="black", width=1))  # fmt: skip
    for col in (3, 4, 5):
        fig.update_yaxes(matches="y2", showticklabels=False, ticks="", row=place[col][0], col=place[col][1])
    fig.update_annotations(font_size=12)
    top = 50 + 14 * max(max(title.count("<br>") for title in titles) - 1, 0)  # px: the titles' lines
    height = int(0.75 * height) * panel_rows if narrow else height
    fig.update_layout(margin=dict(l=0, r=0, t=top, b=0), height=height, plot_bgcolor="white")
    return fig
