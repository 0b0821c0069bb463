"""The patch grid and the stride animation: a P×P window visits each of the Gh×Gw positions.

Layout, as the article draws it: the input picture on the left, the output grid of 1×1×D
vectors (each cell coloured by its vector, see ``analysis.pca_rgb``) on the right, in one pair
of pixel axes. The picture is sent once; each frame moves only layout shapes (the window, the
dimmed visited area, the cover over unwritten cells, the dashed arrow), a constant number per
frame, so the figure grows by well under a kilobyte per stride step. The output's cell lines are
one shape drawn over the covers and left alone by every frame (an empty ``{}`` in its place), so
the empty Gh×Gw grid shows from the first step and fills in the Conv2d's row-major order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from .common import (
    CONTROLS_HEIGHT,
    fix_axes,
    frame_slider,
    grid_lines,
    image_trace,
    play_pause_menu,
    step_label,
    wrap_at_colon,
)  # fmt: skip
from .theme import GREEN, RED, TRANSPARENT

DIM = "rgba(0, 0, 0, 0.45)"  # over windows already visited
COVER = "rgba(245, 245, 245, 1)"  # over output cells not yet written
SHADE = "rgba(229, 57, 53, 0.45)"  # over pixels a crop drops or a pad adds
EMPTY_LINE = "rgba(120, 120, 120, 0.8)"  # the output's cell lines, written or not
FAST = 4  # the fast play button's speed-up
MAX_FRAMES = 1024  # beyond this many stride steps the animation shows every k-th row of windows


@dataclass(frozen=True)
class StrideText:
    """Every word the animation shows, already translated; ``step`` is a format template."""

    step: str = "step {k} / {N} — rows {r0}…{r1}, cols {c0}…{c1} → vector ({r}, {c})"
    input_title: str = "input {C}×{H}×{W}"
    output_title: str = "output {D}×{Gh}×{Gw}: one 1×1×D vector per window"
    play: str = "▶ Play"
    fast: str = "▶▶ ×4"
    pause: str = "❚❚ Pause"


def patch_grid_figure(
    pixels: np.ndarray,
    patch_size: int,
    grid_size: tuple[int, int] | None = None,
    shaded: list[tuple[int, int, int, int]] = (),
    height: int = 420,
) -> go.Figure:
    """The picture with every P×P patch boundary drawn on it, ``height`` px tall.

    Args:
        pixels: ``(H, W, 3)`` uint8.
        patch_size: P.
        grid_size: ``(H′, W′)`` the area the grid covers (default: the whole picture).
        shaded: ``(x0, y0, x1, y1)`` rectangles to shade red: pixels cropped away or padded in.
    """
    H, W = pixels.shape[:2]
    grid_h, grid_w = grid_size or (H, W)
    fig = go.Figure([image_trace(pixels), grid_lines(grid_h, grid_w, patch_size)])
    for x0, y0, x1, y1 in shaded:
        fig.add_shape(type="rect", x0=x0, y0=y0, x1=x1, y1=y1, fillcolor=SHADE,
                      line=dict(color=RED, width=1, dash="dot"))  # fmt: skip
    fix_axes(fig, (0, max(W, grid_w)), (0, max(H, grid_h)))
    fig.update_layout(margin=dict(l=0, r=0, t=0, b=0), height=height, showlegend=False, plot_bgcolor="white")
    return fig


def stride_steps(grid: tuple[int, int], row_step: int = 1) -> list[tuple[int, int]]:
    """(r, c) of each stride step in the order the Conv2d visits them: row-major, every
    ``row_step``-th row (1 = every step)."""
    Gh, Gw = grid
    return [(r, c) for r in range(0, Gh, row_step) for c in range(Gw)]


def frame_row_step(grid: tuple[int, int], max_frames: int = MAX_FRAMES) -> int:
    """The smallest k such that showing every k-th row of windows stays within ``max_frames``."""
    Gh, Gw = grid
    return next(k for k in range(1, Gh + 1) if -(-Gh // k) * Gw <= max_frames or k == Gh)


def stride_animation(
    pixels: np.ndarray,
    patch_size: int,
    cell_colours: np.ndarray,
    embed_dim: int,
    text: StrideText = StrideText(),
    frame_ms: int | None = None,
    row_step: int = 1,
    height: int = 540,
) -> go.Figure:
    """The Conv2d's kernel window visiting every position, and the vector each visit writes.

    Args:
        pixels: the model's input picture ``(H, W, 3)`` uint8.
        patch_size: P, the kernel size and stride.
        cell_colours: ``(Gh, Gw, 3)`` in [0, 1], the colour of each output vector.
        embed_dim: D, for the output block's title.
        text: the words to show.
        frame_ms: milliseconds per frame while playing (default: about 10 s for the whole pass).
        row_step: show the windows of every ``row_step``-th row only (see :func:`frame_row_step`).
        height: of the whole figure in px, the play buttons and slider included.

    Returns:
        A figure with one named frame per stride step (``"0"`` … ``"N-1"``), play/pause buttons
        and a slider.
    """
    H, W = pixels.shape[:2]
    P = patch_size
    Gh, Gw = cell_colours.shape[:2]
    assert (Gh, Gw) == (H // P, W // P), "one colour per window"
    x_out = W + max(P, W // 5)  # left edge of the output block
    steps = stride_steps((Gh, Gw), row_step)
    frame_ms = frame_ms or int(np.clip(10_000 / len(steps), 40, 700))

    cells = (np.asarray(cell_colours) * 255 + 0.5).astype(np.uint8)  # (Gh, Gw, 3)
    output = go.Image(z=cells, x0=x_out + P / 2, y0=P / 2, dx=P, dy=P, name="output", hoverinfo="skip")
    traces = [image_trace(pixels), output, grid_lines(H, W, P, color="rgba(255,255,255,0.5)")]
    fig = go.Figure(traces)

    fig.frames = [go.Frame(name=str(k), layout=_step_layout(r, c, P, Gh, Gw, x_out)) for k, (r, c) in enumerate(steps)]
    labels = [step_label(text.step, r * Gw + c, Gh * Gw, r, c, P) for r, c in steps]  # the true step numbers

    # The panels' titles, over each panel in the top margin, after the frames' one annotation (the
    # arrow head, index 0), which frames replace by index: the titles stay. A long title wraps
    # at its first colon (the output's); the input's starts at the left edge and the output's ends
    # at the right edge, so neither runs off the figure nor into the other.
    titles = [text.input_title.format(C=3, H=H, W=W), text.output_title.format(D=embed_dim, Gh=Gh, Gw=Gw)]
    title_notes = [
        dict(x=x, y=0, xref="x", yref="y", xanchor=side, yanchor="bottom", yshift=4, showarrow=False,
             text=wrap_at_colon(title), font=dict(size=13, color="#444"), align=side)
        for x, side, title in zip((0, x_out + Gw * P), ("left", "right"), titles, strict=True)
    ]  # fmt: skip
    first = _step_layout(0, 0, P, Gh, Gw, x_out)
    shapes = [_output_grid(P, Gh, Gw, x_out) if shape == {} else shape for shape in first["shapes"]]
    fig.update_layout(
        shapes=shapes,
        annotations=first["annotations"] + title_notes,
        margin=dict(l=0, r=0, t=44, b=CONTROLS_HEIGHT),
        height=height,
        plot_bgcolor="white",
        showlegend=False,
        updatemenus=[play_pause_menu([(text.play, frame_ms), (text.fast, max(10, frame_ms // FAST))], text.pause)],
        sliders=[frame_slider(labels)],
    )
    fix_axes(fig, (-1, x_out + Gw * P + 1), (-1, H + 1))
    return fig


def _step_layout(r: int, c: int, P: int, Gh: int, Gw: int, x_out: float) -> dict:
    """Shapes and the arrow of step (r, c): a constant number, whatever the grid size."""
    W = Gw * P
    shapes = [
        _rect(0, 0, W, r * P, fill=DIM),  # rows already visited
        _rect(0, r * P, c * P, (r + 1) * P, fill=DIM),  # this row, left of the window
        _rect(x_out + (c + 1) * P, r * P, x_out + W, (r + 1) * P, fill=COVER),  # cells not yet written
        _rect(x_out, (r + 1) * P, x_out + W, Gh * P, fill=COVER),
        {},  # the output grid's place (``_output_grid``): a frame leaves that shape as it is
        _rect(c * P, r * P, (c + 1) * P, (r + 1) * P, line=GREEN, width=3),  # the kernel window
        _rect(x_out + c * P, r * P, x_out + (c + 1) * P, (r + 1) * P, line=RED, width=3),  # the vector it writes
    ]
    start = ((c + 1) * P, (r + 0.5) * P)  # right edge of the window
    end = (x_out + c * P, (r + 0.5) * P)  # left edge of the output cell
    shapes.append(
        dict(type="line", x0=start[0], y0=start[1], x1=end[0], y1=end[1], line=dict(color=RED, width=2, dash="dash"))
    )
    arrow_head = dict(
        x=end[0], y=end[1], ax=-16, ay=0, xref="x", yref="y", showarrow=True, arrowhead=2, arrowsize=1.4,
        arrowwidth=2, arrowcolor=RED, text="",
    )  # fmt: skip
    return {"shapes": shapes, "annotations": [arrow_head]}


def _output_grid(P: int, Gh: int, Gw: int, x_out: float) -> dict:
    """The output's Gh×Gw cell lines as one path shape, drawn over the covers: the empty grid the
    window writes into shows from the first step, and the cells fill in the Conv2d's order."""
    xs = [f"M{x_out + j * P:g},0V{Gh * P:g}" for j in range(Gw + 1)]
    ys = [f"M{x_out:g},{i * P:g}H{x_out + Gw * P:g}" for i in range(Gh + 1)]
    return dict(type="path", path="".join(xs + ys), line=dict(color=EMPTY_LINE, width=1))


def _rect(x0, y0, x1, y1, fill=None, line=None, width=0) -> dict:
    return dict(
        type="rect", x0=x0, y0=y0, x1=x1, y1=y1, fillcolor=fill or TRANSPARENT,
        line=dict(color=line or TRANSPARENT, width=width),
    )  # fmt: skip
