"""The ViT overview for the lesson (the paper's Figure 1, as five boxes).

``overview_figure``: patches → linear projection → + CLS, + position → encoder → MLP head, with
the boxes the current lesson step talks about highlighted and the shapes between them written on
the arrows.
"""

from __future__ import annotations

import plotly.graph_objects as go

from .theme import EDGE, HIGHLIGHT, IDLE


def overview_figure(
    labels: list[str], shapes: list[str], highlight: tuple[int, ...], height: int | None = None, font_size: int = 14,
    narrow: bool = False,
) -> go.Figure:
    """Five boxes left to right; ``shapes[i]`` is written on the arrow from box i to box i + 1.

    ``font_size`` (px) of the box labels, the shapes 3 px smaller; ``height`` (px) grows with it by
    default. ``narrow`` (a phone's column): the boxes top to bottom, each label on one line inside
    its box and each shape beside its arrow, so that no word runs past a box."""
    if narrow:
        return _overview_down(labels, shapes, highlight, font_size)
    height = height or 8 * font_size + 58
    n = len(labels)
    assert len(shapes) == n - 1, "one shape per arrow"
    fig = go.Figure()
    w, gap = 1.0, 0.45
    for i, label in enumerate(labels):
        x0 = i * (w + gap)
        on = i in highlight
        fig.add_shape(type="rect", x0=x0, x1=x0 + w, y0=0, y1=1, fillcolor=HIGHLIGHT if on else IDLE,
                      line=dict(color=EDGE, width=3 if on else 1))  # fmt: skip
        fig.add_annotation(x=x0 + w / 2, y=0.5, text=f"<b>{label}</b>" if on else label, showarrow=False,
                           font=dict(size=font_size, color="#111"))  # fmt: skip
        if i < n - 1:
            fig.add_annotation(x=x0 + w + gap - 0.02, y=0.5, ax=x0 + w + 0.02, ay=0.5, xref="x", yref="y",
                               axref="x", ayref="y", showarrow=True, arrowhead=2, arrowwidth=2, arrowcolor=EDGE,
                               text="")  # fmt: skip
            fig.add_annotation(x=x0 + w + gap / 2, y=1.22, text=shapes[i], showarrow=False,
                               font=dict(size=font_size - 3, color="#444"))  # fmt: skip
    fig.update_xaxes(visible=False, range=[-0.05, n * (w + gap) - gap + 0.05], fixedrange=True)
    fig.update_yaxes(visible=False, range=[-0.1, 1.45], fixedrange=True)
    fig.update_layout(height=height, margin=dict(l=0, r=0, t=0, b=0), plot_bgcolor="white", showlegend=False)
    return fig


def _overview_down(labels: list[str], shapes: list[str], highlight: tuple[int, ...], font_size: int) -> go.Figure:
    """The overview top to bottom, in px units (y down): a box per row across 70 % of the width,
    the arrow under it and the shape it carries to the arrow's right."""
    n = len(labels)
    assert len(shapes) == n - 1, "one shape per arrow"
    box, gap = font_size + 20, font_size + 14  # px: one line of label; the arrow between two boxes
    fig = go.Figure()
    for i, label in enumerate(labels):
        y0 = i * (box + gap)
        on = i in highlight
        text = " ".join(label.replace("<br>", " ").split())
        fig.add_shape(type="rect", x0=0, x1=0.7, y0=y0, y1=y0 + box, fillcolor=HIGHLIGHT if on else IDLE,
                      line=dict(color=EDGE, width=3 if on else 1))  # fmt: skip
        fig.add_annotation(x=0.35, y=y0 + box / 2, text=f"<b>{text}</b>" if on else text, showarrow=False,
                           font=dict(size=font_size - 1, color="#111"))  # fmt: skip
        if i < n - 1:
            fig.add_annotation(x=0.35, y=y0 + box + gap - 2, ax=0.35, ay=y0 + box + 2, xref="x", yref="y", axref="x",
                               ayref="y", showarrow=True, arrowhead=2, arrowwidth=2, arrowcolor=EDGE,
                               text="")  # fmt: skip
            fig.add_annotation(x=0.38, y=y0 + box + gap / 2, text=shapes[i], showarrow=False, xanchor="left",
                               font=dict(size=font_size - 3, color="#444"))  # fmt: skip
    total = n * box + (n - 1) * gap
    fig.update_xaxes(visible=False, range=[-0.01, 1.0], fixedrange=True)
    fig.update_yaxes(visible=False, range=[total + 2, -2], fixedrange=True)
    fig.update_layout(height=total + 4, margin=dict(l=0, r=0, t=0, b=0), plot_bgcolor="white", showlegend=False)
    return fig
