"""How the figures look, in one place: their colours, the axes of a picture panel, presenter view.

The page's two colours are the article's: a green kernel window and the red 1×1×D vector it writes.
``presenter`` restyles any figure for the back of a classroom — thicker lines, larger text, and the
green/red replaced by a colour-blind-safe pair (Okabe & Ito 2008: orange and sky blue). The page's
own CSS (Streamlit's widgets) is ``page/theme.py``.
"""

from __future__ import annotations

import plotly.colors
import plotly.graph_objects as go

GREEN, RED = "#00c853", "#e53935"  # the kernel window and the vector it writes
GRID = "rgba(255, 255, 255, 0.85)"  # patch borders over a picture
TRANSPARENT = "rgba(0,0,0,0)"
HIGHLIGHT, IDLE, EDGE = "#ffe082", "#f4f4f4", "#555555"  # the overview's boxes: this step's, the others, outlines
# Okabe–Ito colours, distinguishable with every common colour-vision deficiency.
OKABE_ITO = {"orange": "#E69F00", "sky_blue": "#56B4E9", "green": "#009E73", "blue": "#0072B2",
             "vermillion": "#D55E00", "purple": "#CC79A7"}  # fmt: skip
CB_WINDOW, CB_VECTOR = OKABE_ITO["orange"], OKABE_ITO["blue"]
PRESENTER_COLOURS = {GREEN: CB_WINDOW, RED: CB_VECTOR}
PRESENTER_FONT = 20  # px, the layout's base font in presenter view
PRESENTER_LINE = 2.0  # every line this many times thicker
# Plotly's Inferno with its first colour written rgb(0,0,4), not "#000004": Streamlit's chart theme
# replaces the strings "#000001" … "#000040" (its own placeholders) in a figure with theme colours,
# which drew the scale's black end pink.
INFERNO = [
    [stop, "rgb(0,0,4)" if colour == "#000004" else colour] for stop, colour in plotly.colors.get_colorscale("Inferno")
]


def axes_off(fig: go.Figure, flip_y: bool = False) -> go.Figure:
    """Every axis of ``fig`` without ticks, grid or zoom (panels of pictures and matrices); ``flip_y``
    puts row 0 at the top (a matrix drawn as ``go.Heatmap``)."""
    off = dict(showticklabels=False, ticks="", showgrid=False, zeroline=False, fixedrange=True)
    fig.update_xaxes(**off)
    fig.update_yaxes(**off, **({"autorange": "reversed"} if flip_y else {}))
    return fig


def presenter(fig: go.Figure | dict) -> go.Figure:
    """A copy of the figure restyled for a projector (the input is not changed)."""
    spec = fig.to_plotly_json() if isinstance(fig, go.Figure) else fig
    out = _restyle(spec)
    layout = out.setdefault("layout", {})
    font = dict(layout.get("font") or {})
    font["size"] = max(font.get("size", 12), PRESENTER_FONT)
    layout["font"] = font
    for name in [k for k in layout if k.startswith(("xaxis", "yaxis"))] or ["xaxis", "yaxis"]:
        axis = layout.setdefault(name, {})  # Streamlit's chart theme sets tick sizes of its own: set ours on each axis
        axis["tickfont"] = {**(axis.get("tickfont") or {}), "size": max((axis.get("tickfont") or {}).get("size", 0),
                                                                         PRESENTER_FONT - 4)}
    return go.Figure(out)


def _bigger_value(current: dict | None) -> dict | None:
    """A slider's ``currentvalue`` with its font at the presenter size (others' labels are hidden)."""
    if not current:
        return current
    font = dict(current.get("font") or {})
    font["size"] = max(font.get("size", 14), PRESENTER_FONT)
    return {**current, "font": font}


def _restyle(value, key: str = ""):
    """A deep copy with colours swapped and line widths scaled (``width`` inside any ``line``)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "width" and key in ("line", "marker_line") and isinstance(v, (int, float)):
                out[k] = max(2.0, v * PRESENTER_LINE)
            elif k in ("arrowwidth",) and isinstance(v, (int, float)):
                out[k] = v * PRESENTER_LINE
            elif k == "updatemenus":
                out[k] = v  # the play buttons keep their size: they are laid out for it
            elif k == "colorbar" and isinstance(v, dict) and (v.get("x") if v.get("x") is not None else 1.02) < 1:
                # a bar in the gap between two panels keeps its numbers' size: larger, they ran into the next panel
                out[k] = {name: part if name == "tickfont" else _restyle(part, name) for name, part in v.items()}
            elif k == "sliders":  # the slider keeps its layout; its current value (the frame label) grows
                out[k] = [{**slider, "currentvalue": _bigger_value(slider.get("currentvalue"))} for slider in v]
            elif k == "size" and key in ("font", "tickfont") and isinstance(v, (int, float)):
                out[k] = max(v, PRESENTER_FONT - 4)
            else:
                out[k] = _restyle(v, k)
        return out
    if isinstance(value, (list, tuple)):
        return [_restyle(v, key) for v in value]
    if isinstance(value, str):
        return PRESENTER_COLOURS.get(value.lower(), value)
    return value
