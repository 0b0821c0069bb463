"""Helpers shared by the figure builders: the photo as an image trace, grid lines, fixed axes."""

from __future__ import annotations

import base64
import io
import math
import unicodedata

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from .theme import GRID

PNG_MAX_PIXELS = 160 * 160  # small pictures go as lossless PNG, larger ones as JPEG


def data_uri(pixels: np.ndarray) -> str:
    """``(H, W, 3)`` uint8 → a ``data:`` URI, so the figure carries the picture once, compressed."""
    img = Image.fromarray(pixels)
    buf = io.BytesIO()
    if pixels.shape[0] * pixels.shape[1] <= PNG_MAX_PIXELS:
        img.save(buf, format="PNG", optimize=True)
        kind = "png"
    else:
        img.save(buf, format="JPEG", quality=90)
        kind = "jpeg"
    return f"data:image/{kind};base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def image_trace(pixels: np.ndarray, x_offset: float = 0.0, name: str = "image") -> go.Image:
    """The photo with its top-left pixel corner at (x_offset, 0), one unit per pixel."""
    return go.Image(source=data_uri(pixels), x0=x_offset + 0.5, y0=0.5, dx=1, dy=1, name=name, hoverinfo="skip")


def grid_lines(height: int, width: int, step: int, x_offset: float = 0.0, color: str = GRID) -> go.Scatter:
    """Every patch boundary as one line trace (segments separated by None)."""
    xs, ys = [], []
    for x in range(0, width + 1, step):
        xs += [x_offset + x, x_offset + x, None]
        ys += [0, height, None]
    for y in range(0, height + 1, step):
        xs += [x_offset, x_offset + width, None]
        ys += [y, y, None]
    return go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=color, width=1), hoverinfo="skip", showlegend=False)


def fix_axes(fig: go.Figure, x_range: tuple[float, float], y_range: tuple[float, float], **axis) -> None:
    """Pixel axes that never move: y downwards, equal scale, no ticks."""
    common = dict(showgrid=False, zeroline=False, showticklabels=False, ticks="", fixedrange=True, **axis)
    fig.update_xaxes(range=list(x_range), constrain="domain", **common)
    fig.update_yaxes(range=[y_range[1], y_range[0]], scaleanchor="x", scaleratio=1, constrain="domain", **common)



def wrap_at_colon(title: str) -> str:
    """A title on two lines at its first colon (``": "`` or Japanese ``"："``), if it has one:
    narrow panels' titles then fit over their panel instead of running into the next one."""
    for colon in (": ", "："):
        if colon in title:
            head, tail = title.split(colon, 1)
            return f"{head}<br>{tail}"
    return title


# A phone held upright: its main column, and the px a character of 13 px text takes on average
# (Latin; a Japanese character takes two of these). Builders given ``narrow=True`` lay their panels
# out for this width (issue 26): the page decides ``narrow`` from the width the browser reports.
PHONE_PX = 358
CHAR_PX = 7.0


def text_columns(text: str) -> int:
    """How many half-width columns ``text`` takes: 2 for a wide (CJK) character, 1 for any other."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrap_words(text: str, columns: int) -> str:
    """``text`` with ``<br>`` between words so that no line is wider than ``columns`` half-width
    columns (``text_columns``); existing ``<br>`` are kept. A word (or a run of Japanese, which has
    no spaces) longer than a line is cut at the line's width."""
    lines = []
    for part in text.split("<br>"):
        line = ""
        for word in part.split(" "):
            candidate = f"{line} {word}" if line else word
            if text_columns(candidate) <= columns:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = ""
            for ch in word:  # a word wider than the line: cut it
                if text_columns(line + ch) > columns:
                    lines.append(line)
                    line = ""
                line += ch
        lines.append(line)
    return "<br>".join(lines)


def title_columns(panels: int, font_px: float = 13, spacing: float = 0.0, width_px: float = PHONE_PX) -> int:
    """The half-width columns a title over one of ``panels`` panels side by side may take on a
    phone: the panel's width (``spacing``: the gap between two panels, as a share of the width, as
    make_subplots' ``horizontal_spacing``) over a character's (``CHAR_PX`` at 13 px, scaled)."""
    panel = width_px * (1 - spacing * (panels - 1)) / panels
    return max(6, math.floor(panel / (CHAR_PX * font_px / 13)))


def panel_place(i: int, cols: int) -> tuple[int, int]:
    """Where panel ``i`` (0-based, reading order) goes in a grid ``cols`` wide: (row, col), 1-based."""
    return i // cols + 1, i % cols + 1


def colorbar_beside(fig: go.Figure, axis: int, **colorbar) -> dict:
    """A colour bar just right of subplot ``axis`` (1-based), as tall as 85 % of it: the place a
    stacked layout needs (a bar at the figure's full height would lie over the panels below)."""
    x = fig.layout[f"xaxis{'' if axis == 1 else axis}"].domain
    y = fig.layout[f"yaxis{'' if axis == 1 else axis}"].domain
    return dict(x=x[1] + 0.004, xanchor="left", xpad=2, y=(y[0] + y[1]) / 2, yanchor="middle",
                len=(y[1] - y[0]) * 0.85, **colorbar)  # fmt: skip


def frame_args(duration: int, redraw: bool = True) -> dict:
    """Animation arguments for plotly's ``animate`` (from plotly's own animation docs)."""
    return {
        "frame": {"duration": duration, "redraw": redraw},
        "mode": "immediate",
        "fromcurrent": True,
        "transition": {"duration": 0},
    }


# The play buttons and the step slider go under the plot, one above the other and each as wide as it
# needs: side by side, a fixed split of the width let long or translated labels run over the slider
# at some widths. A figure with both keeps this many px of bottom margin for them.
CONTROLS_HEIGHT = 96
SLIDER_TOP = 44  # px from the plot's bottom edge to the slider's current-value label, under the buttons


def play_pause_menu(plays: list[tuple[str, int]], pause: str) -> dict:
    """Play buttons (label, milliseconds per frame) and a pause button, in a row under the plot
    (``CONTROLS_HEIGHT`` px of bottom margin hold them and the slider under them)."""
    buttons = [{"label": label, "method": "animate", "args": [None, frame_args(ms)]} for label, ms in plays]
    buttons.append({"label": pause, "method": "animate", "args": [[None], frame_args(0, redraw=False)]})
    return {
        "type": "buttons", "direction": "left", "x": 0.0, "y": 0, "xanchor": "left", "yanchor": "top",
        "pad": {"t": 6, "r": 0}, "buttons": buttons,
    }  # fmt: skip


TOUCH_BUTTON_FONT = 16  # px: two lines of it make a play button 45 px tall (plotly: 1.3 × font × lines + 3)


def for_touch(fig: go.Figure) -> go.Figure:
    """A copy whose play buttons take a finger: each label on two lines at its first space ("▶" over
    "Play") in ``TOUCH_BUTTON_FONT``, so that every button is at least 44 px tall (plotly sizes a
    button by its text: max(1.3 × font size × lines, 30) + 3 px); the slider, the bottom margin and
    the figure grow by what the buttons grew. The input is not changed; a figure without play
    buttons comes back as an equal copy."""
    out = go.Figure(fig)
    menus = out.layout.updatemenus
    if not menus:
        return out
    grow = math.ceil(1.3 * TOUCH_BUTTON_FONT * 2 + 3) - 33  # px over the 33 px of a one-line button at 14 px
    for menu in menus:
        for button in menu.buttons:
            button.label = button.label.replace(" ", "<br>", 1)
        menu.font = dict(size=TOUCH_BUTTON_FONT)
    for slider in out.layout.sliders:
        slider.pad.t = (slider.pad.t or 0) + grow
    out.layout.margin.b = (out.layout.margin.b or 0) + grow
    if out.layout.height:
        out.layout.height += grow
    return out


SLIDER_TICKS_MAX = 100  # most slider steps drawn with a tick each


def frame_slider(labels: list[str]) -> dict:
    """One slider step per frame ``"0"`` … ``"N-1"``, the whole width, under the play buttons; the
    long labels show only as the current value (the step labels are hidden and take no room). Past
    ``SLIDER_TICKS_MAX`` steps the ticks are left out: a thousand of them draw one black bar."""
    ticks = 4 if len(labels) <= SLIDER_TICKS_MAX else 0
    steps = [{"args": [[str(k)], frame_args(0)], "label": label, "method": "animate"} for k, label in enumerate(labels)]
    return {
        "active": 0,
        "steps": steps,
        "x": 0, "len": 1, "y": 0, "yanchor": "top", "pad": {"t": SLIDER_TOP, "b": 0, "l": 8, "r": 8},
        "currentvalue": {"prefix": "", "visible": True, "xanchor": "left", "offset": 6,
                         "font": {"color": "#222", "size": 14}},
        "font": {"color": "rgba(0,0,0,0)", "size": 1}, "ticklen": ticks, "minorticklen": ticks // 2,
        "transition": {"duration": 0},
    }  # fmt: skip


def step_label(template: str, k: int, n: int, r: int, c: int, P: int) -> str:
    """Fill a step template: ``{k} {N}`` (1-based step), ``{r} {c}`` (cell), ``{r0} {r1} {c0} {c1}`` (pixels)."""
    return template.format(k=k + 1, N=n, r=r, c=c, r0=r * P, r1=(r + 1) * P - 1, c0=c * P, c1=(c + 1) * P - 1)


def mosaic(tiles: np.ndarray, gap: int = 1) -> np.ndarray:
    """``(R, C, h, w)`` tiles → one ``(R·(h+gap)−gap, C·(w+gap)−gap)`` matrix, NaN between tiles."""
    R, C, h, w = tiles.shape
    out = np.full((R * (h + gap) - gap, C * (w + gap) - gap), np.nan, dtype=np.float32)
    for i in range(R):
        for j in range(C):
            out[i * (h + gap) : i * (h + gap) + h, j * (w + gap) : j * (w + gap) + w] = tiles[i, j]
    return out
