"""The patch embedding in 3D: Conv2d(3, D, kernel_size=P, stride=P) as blocks in space.

After the figure in the ViT article ("An Image is Worth 16x16 Words", Dosovitskiy et al.,
2021, and its popular illustrated explanations): on the left the input as a 3×H×W block with
the photo on its front face, on the right the output as a D×Gh×Gw block of Gh×Gw columns, each
one 1×1×D vector. Each named frame moves only two line traces: the green P×P×3 kernel window
on the input and the red outline of the column that window writes. The photo and the columns
are sent once.

Shape legend: H, W (input picture), P (patch size = kernel = stride), Gh = H // P, Gw = W // P,
N = Gh * Gw (stride steps), D (embedding dim), F (faces of a mesh).

Scene axes: x to the right, z up (image row 0 at the top, z = H - row), y = depth into the screen;
the front faces of both blocks lie in the plane y = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from .common import CONTROLS_HEIGHT, frame_slider, play_pause_menu, step_label
from .patches import frame_row_step, stride_steps
from .theme import GREEN, RED

MAX_FRAMES = 256  # beyond this many stride steps the 3D scene shows every k-th row of windows (~3 kB a frame)

EDGE = "#555555"  # outline of the input block
COVER = "#f2f2f2"  # over the columns not yet written
GRID_LINE = "#8a8a8a"  # the output's cell lines
CAMERA_EYE = dict(x=0.3, y=-1.0, z=0.4)  # in front (y < 0), a little right and above
ZOOM = 3.0  # an orthographic camera draws the scene at a size set by the aspect ratio, not the eye distance
# The six faces of a cuboid as quads over its corners, corner index = bx + 2 * by + 4 * bz.
CUBOID_QUADS = np.array([[0, 1, 5, 4], [2, 3, 7, 6], [0, 1, 3, 2], [4, 5, 7, 6], [0, 2, 6, 4], [1, 3, 7, 5]])
CUBOID_TRIANGLES = np.concatenate([CUBOID_QUADS[:, [0, 1, 2]], CUBOID_QUADS[:, [0, 2, 3]]])  # (12, 3)
CUBOID_CORNERS = np.array([[b & 1, (b >> 1) & 1, (b >> 2) & 1] for b in range(8)])  # (8, 3) of 0/1


@dataclass(frozen=True)
class CubeText:
    """Every word the 3D view shows, already translated; each field is a format template."""

    input_title: str = "input 3×{H}×{W}"
    output_title: str = "output {D}×{Gh}×{Gw} (D = {D})"
    conv: str = "Conv2d(3, {D}, kernel_size={P}, stride={P})"
    depth_label: str = "D = {D}"
    step: str = "step {k} / {N} → vector ({r}, {c})"
    play: str = "▶ Play"
    pause: str = "❚❚ Pause"


@dataclass(frozen=True)
class _Geometry:
    """Where everything sits in scene units (one unit = one input pixel)."""

    H: int
    W: int
    P: int
    channel_depth: float  # drawn thickness of the 3 input channels
    vector_depth: float  # drawn length of a 1×1×D column (proportional to D, capped)
    x_out: float  # left edge of the output block
    gap: float  # space between neighbouring columns

    @property
    def grid(self) -> tuple[int, int]:
        return self.H // self.P, self.W // self.P

    def cell_z(self, r: int) -> tuple[float, float]:
        """Bottom and top z of image rows r·P … (r+1)·P (z up, row 0 at the top)."""
        return self.H - (r + 1) * self.P, self.H - r * self.P


def conv_cube_figure(
    pixels: np.ndarray,
    patch_size: int,
    cell_colours: np.ndarray,
    embed_dim: int,
    text: CubeText = CubeText(),
    max_face_cells: int = 48,
    max_frames: int = MAX_FRAMES,
) -> go.Figure:
    """The Conv2d patch embedding as a 3D scene, with one frame per stride step (every k-th row of
    windows past ``max_frames`` steps, as :func:`vizlib.figures.patches.frame_row_step` picks k; the
    labels keep the true step numbers).

    Args:
        pixels: the model's input picture ``(H, W, 3)`` uint8, H and W multiples of P.
        patch_size: P, the kernel size and stride.
        cell_colours: ``(Gh, Gw, 3)`` in [0, 1], the colour of each output vector.
        embed_dim: D, the depth of the output block.
        text: the words to show.
        max_face_cells: the photo on the input's front face is block-averaged to at most this
            many cells per side, to keep the figure small.

    Returns:
        A figure whose traces are [photo, input block edges, columns, window, column outline,
        output grid, cover]; frames ``"0"`` … ``"N-1"`` (row-major) move only the window, the
        outline and the cover, a grey block over the columns not yet written (as in the 2D
        animation: the grid fills in the Conv2d's order). Play/pause and a slider.
    """
    H, W = pixels.shape[:2]
    P = patch_size
    Gh, Gw = cell_colours.shape[:2]
    assert (Gh, Gw) == (H // P, W // P) and H % P == 0 and W % P == 0, "one colour per P×P window"
    geo = _geometry(H, W, P, embed_dim)
    steps = stride_steps((Gh, Gw), frame_row_step((Gh, Gw), max_frames))  # the Conv2d's visiting order

    fig = go.Figure(
        [
            _photo_face(pixels, max_face_cells),
            _input_block(geo),
            _column_mesh(geo, cell_colours),
            _window(geo, 0, 0),
            _column_outline(geo, 0, 0),
            _front_grid(geo),
            _cover(geo, 0, 0),
        ]
    )
    moving = [3, 4, 6]  # the window, the outline and the cover: the only traces a frame carries
    fig.frames = [
        go.Frame(data=[_window(geo, r, c), _column_outline(geo, r, c), _cover(geo, r, c)], traces=moving, name=str(k))
        for k, (r, c) in enumerate(steps)
    ]
    frame_ms = int(np.clip(10_000 / len(steps), 60, 700))
    fig.update_layout(
        scene=_scene(geo, text, embed_dim),
        title=dict(text=text.conv.format(D=embed_dim, P=P), x=0.5, y=0.97, font=dict(size=14)),
        margin=dict(l=0, r=0, t=30, b=CONTROLS_HEIGHT),
        height=600,
        showlegend=False,
        updatemenus=[play_pause_menu([(text.play, frame_ms)], text.pause)],
        sliders=[frame_slider([step_label(text.step, r * Gw + c, Gh * Gw, r, c, P) for r, c in steps])],
    )
    return fig


def _geometry(H: int, W: int, P: int, D: int) -> _Geometry:
    """Block sizes: thin channels, columns as long as D pixels but at most 0.6 of the picture."""
    size = max(H, W)
    return _Geometry(
        H=H,
        W=W,
        P=P,
        channel_depth=max(3.0, 0.05 * size),
        vector_depth=float(min(D, 0.6 * size)),
        x_out=W + max(P, 0.35 * W),
        gap=0.12 * P,
    )


def block_average(pixels: np.ndarray, max_cells: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The picture averaged over at most ``max_cells`` × ``max_cells`` blocks (uneven if need be).

    Args:
        pixels: ``(H, W, 3)`` uint8.
        max_cells: the most cells along either side.

    Returns:
        ``(cells, row_edges, col_edges)``: cells ``(h, w, 3)`` uint8, and the pixel edges of the
        blocks, ``(h + 1,)`` and ``(w + 1,)`` ints from 0 to H and 0 to W.
    """
    H, W = pixels.shape[:2]
    row_edges = np.linspace(0, H, min(H, max_cells) + 1).round().astype(int)  # (h+1,)
    col_edges = np.linspace(0, W, min(W, max_cells) + 1).round().astype(int)  # (w+1,)
    sums = np.add.reduceat(pixels.astype(np.float64), row_edges[:-1], axis=0)  # (h, W, 3)
    sums = np.add.reduceat(sums, col_edges[:-1], axis=1)  # (h, w, 3)
    counts = np.diff(row_edges)[:, None] * np.diff(col_edges)[None, :]  # (h, w)
    cells = (sums / counts[..., None] + 0.5).astype(np.uint8)  # (h, w, 3)
    return cells, row_edges, col_edges


def _photo_face(pixels: np.ndarray, max_cells: int) -> go.Mesh3d:
    """The photo on the plane y = 0 as a grid of flat-coloured quads, two triangles each."""
    H = pixels.shape[0]
    cells, row_edges, col_edges = block_average(pixels, max_cells)
    h, w = cells.shape[:2]
    zz, xx = np.meshgrid(H - row_edges, col_edges, indexing="ij")  # (h+1, w+1) each
    corner = np.arange((h + 1) * (w + 1)).reshape(h + 1, w + 1)  # vertex index of each grid point
    tl, tr = corner[:-1, :-1].ravel(), corner[:-1, 1:].ravel()  # (h*w,) top-left, top-right
    bl, br = corner[1:, :-1].ravel(), corner[1:, 1:].ravel()  # (h*w,) bottom-left, bottom-right
    colours = np.repeat(_hex(cells.reshape(-1, 3) / 255), 2)  # (F = 2*h*w,) one per triangle
    return go.Mesh3d(
        x=xx.ravel(),
        y=np.zeros(xx.size, dtype=int),  # ints travel as one byte each
        z=zz.ravel(),
        i=np.stack([tl, tl], axis=1).ravel(),  # triangles (tl, tr, br) and (tl, br, bl), interleaved
        j=np.stack([tr, br], axis=1).ravel(),
        k=np.stack([br, bl], axis=1).ravel(),
        facecolor=colours,
        flatshading=True,
        lighting=dict(ambient=1.0, diffuse=0.0, specular=0.0, fresnel=0.0),  # true colours
        hoverinfo="skip",
        name="input",
    )


def _input_block(geo: _Geometry) -> go.Scatter3d:
    """The edges of the 3×H×W block, with the two planes between its channels on top and side."""
    d = geo.channel_depth
    xs, ys, zs = _box_edges((0, geo.W), (0, d), (0, geo.H))
    for y in (d / 3, 2 * d / 3):  # channel boundaries: along the top and down the right side
        xs += [0, geo.W, geo.W, None]
        ys += [y, y, y, None]
        zs += [geo.H, geo.H, 0, None]
    return _lines(xs, ys, zs, EDGE, width=2)


def _column_mesh(geo: _Geometry, cell_colours: np.ndarray) -> go.Mesh3d:
    """All Gh×Gw columns (1×1×D cuboids) in one mesh, every face in its vector's colour."""
    Gh, Gw = geo.grid
    boxes = [_column_box(geo, r, c, inset=geo.gap / 2) for r in range(Gh) for c in range(Gw)]
    lows = np.array([[b[0][0], b[1][0], b[2][0]] for b in boxes])  # (N, 3) min corner
    highs = np.array([[b[0][1], b[1][1], b[2][1]] for b in boxes])  # (N, 3) max corner
    vertices = lows[:, None] + CUBOID_CORNERS[None] * (highs - lows)[:, None]  # (N, 8, 3)
    triangles = CUBOID_TRIANGLES[None] + 8 * np.arange(len(boxes))[:, None, None]  # (N, 12, 3)
    colours = np.repeat(_hex(np.asarray(cell_colours).reshape(-1, 3)), 12)  # (F = 12*N,)
    x, y, z = vertices.reshape(-1, 3).T  # (8*N,) each
    i, j, k = triangles.reshape(-1, 3).T  # (F,) each
    return go.Mesh3d(
        x=x, y=y, z=z, i=i, j=j, k=k, facecolor=colours, flatshading=True,
        lighting=dict(ambient=0.6, diffuse=0.6, specular=0.05, roughness=0.9, fresnel=0.0),
        lightposition=dict(x=0, y=-1e5, z=0), hoverinfo="skip", name="output",
    )  # fmt: skip


def _cover(geo: _Geometry, r: int, c: int) -> go.Mesh3d:
    """Two grey cuboids over the columns not yet written at step (r, c): the rest of row r and the
    rows below (flat, so unseen, where there are none), a constant 16 vertices in every frame."""
    Gh, Gw = geo.grid
    pad = 0.01 * geo.vector_depth + 0.5 * geo.gap  # just in front of and behind the columns it hides
    x_end = geo.x_out + Gw * geo.P
    row_bottom, row_top = geo.cell_z(r)
    rest_of_row = (geo.x_out + (c + 1) * geo.P, x_end), (row_bottom, row_top)  # x0 = x1 at the row's end
    rows_below = (geo.x_out, x_end), (geo.cell_z(Gh - 1)[0], row_bottom)  # z0 = z1 in the last row
    corners = [
        np.array([x0, -pad, z0]) + CUBOID_CORNERS * np.array([x1 - x0, geo.vector_depth + 2 * pad, z1 - z0])
        for (x0, x1), (z0, z1) in (rest_of_row, rows_below)
    ]  # 2 × (8, 3)
    vertices = np.concatenate(corners)  # (16, 3)
    triangles = np.concatenate([CUBOID_TRIANGLES, CUBOID_TRIANGLES + 8])  # (24, 3)
    return go.Mesh3d(
        x=vertices[:, 0], y=vertices[:, 1], z=vertices[:, 2], i=triangles[:, 0], j=triangles[:, 1],
        k=triangles[:, 2], color=COVER, flatshading=True, lighting=dict(ambient=0.9, diffuse=0.1, specular=0.0),
        hoverinfo="skip", name="not yet written",
    )  # fmt: skip


def _front_grid(geo: _Geometry) -> go.Scatter3d:
    """The output's Gh×Gw cell lines on its front face (just in front of the cover): the empty
    grid the window writes into, from the first step on."""
    Gh, Gw = geo.grid
    y = -0.02 * geo.vector_depth - geo.gap  # in front of the cover's front face
    top, bottom = geo.cell_z(0)[1], geo.cell_z(Gh - 1)[0]
    xs, ys, zs = [], [], []
    for j in range(Gw + 1):
        xs += [geo.x_out + j * geo.P] * 2 + [None]
        zs += [bottom, top, None]
    for r in range(Gh + 1):
        z = geo.H - r * geo.P
        xs += [geo.x_out, geo.x_out + Gw * geo.P, None]
        zs += [z, z, None]
    ys = [None if x is None else y for x in xs]
    return _lines(xs, ys, zs, GRID_LINE, width=2)


def _column_box(geo: _Geometry, r: int, c: int, inset: float = 0.0) -> tuple[tuple[float, float], ...]:
    """x, y and z extents of column (r, c), shrunk by ``inset`` on the four long sides."""
    z0, z1 = geo.cell_z(r)
    x0 = geo.x_out + c * geo.P
    return (x0 + inset, x0 + geo.P - inset), (0.0, geo.vector_depth), (z0 + inset, z1 - inset)


def _window(geo: _Geometry, r: int, c: int) -> go.Scatter3d:
    """The green P×P×3 kernel window over image rows r·P … (r+1)·P and cols c·P … (c+1)·P."""
    lift = 0.02 * geo.channel_depth  # just off the faces, so the lines are not hidden in them
    xyz = _box_edges((c * geo.P, (c + 1) * geo.P), (-lift, geo.channel_depth + lift), geo.cell_z(r))
    return _lines(*xyz, GREEN, width=7)


def _column_outline(geo: _Geometry, r: int, c: int) -> go.Scatter3d:
    """The red outline around column (r, c), the vector written by window (r, c)."""
    (x0, x1), (_, y1), (z0, z1) = _column_box(geo, r, c)
    lift = 0.02 * geo.channel_depth
    return _lines(*_box_edges((x0, x1), (-lift, y1 + lift), (z0, z1)), RED, width=7)


def _box_edges(xr, yr, zr) -> tuple[list, list, list]:
    """The 12 edges of an axis-aligned box as one polyline, broken by None between pieces."""
    (x0, x1), (y0, y1), (z0, z1) = xr, yr, zr
    front = [(x0, y0, z0), (x1, y0, z0), (x1, y0, z1), (x0, y0, z1), (x0, y0, z0)]
    back = [(x, y1, z) for x, _, z in front]
    points = front + [None] + back + [None]
    for x, _, z in front[:4]:  # the four edges along the depth
        points += [(x, y0, z), (x, y1, z), None]
    xs, ys, zs = ([None if p is None else p[a] for p in points] for a in range(3))
    return xs, ys, zs


def _lines(xs: list, ys: list, zs: list, colour: str, width: float) -> go.Scatter3d:
    return go.Scatter3d(
        x=xs, y=ys, z=zs, mode="lines", line=dict(color=colour, width=width), hoverinfo="skip", showlegend=False
    )


def _hex(rgb: np.ndarray) -> np.ndarray:
    """``(n, 3)`` floats in [0, 1] → ``(n,)`` ``"#rrggbb"`` strings."""
    levels = (np.clip(rgb, 0.0, 1.0) * 255 + 0.5).astype(int)  # (n, 3)
    return np.array([f"#{a:02x}{b:02x}{c:02x}" for a, b, c in levels])


def _scene(geo: _Geometry, text: CubeText, D: int) -> dict:
    """Fixed ranges, no axes, the titles as scene annotations, an orthographic camera on the fronts."""
    pad = 0.08 * max(geo.H, geo.W)
    x_end = geo.x_out + geo.grid[1] * geo.P
    depth = max(geo.channel_depth, geo.vector_depth)
    ranges = {"x": (-pad, x_end + pad), "y": (-pad, depth + pad), "z": (-pad, geo.H + 2 * pad)}
    hidden = dict(
        showgrid=False, zeroline=False, showticklabels=False, ticks="", showbackground=False, showspikes=False
    )
    axes = {f"{a}axis": dict(range=list(lo_hi), title=dict(text=""), **hidden) for a, lo_hi in ranges.items()}
    span = max(hi - lo for lo, hi in ranges.values())
    return dict(
        **axes,
        aspectmode="manual",
        aspectratio={a: ZOOM * (hi - lo) / span for a, (lo, hi) in ranges.items()},
        camera=dict(eye=CAMERA_EYE, up=dict(x=0, y=0, z=1), projection=dict(type="orthographic")),
        annotations=_labels(geo, text, D, pad),
        dragmode="orbit",
        domain=dict(x=[0, 1], y=[0.1, 1]),  # clear of the slider
    )


def _labels(geo: _Geometry, text: CubeText, D: int, pad: float) -> list[dict]:
    """The two titles above the back top edges of the blocks, and D right of the output block."""
    Gh, Gw = geo.grid
    x_end = geo.x_out + Gw * geo.P
    return [
        _label(geo.W / 2, geo.channel_depth, geo.H + pad, text.input_title.format(H=geo.H, W=geo.W)),
        _label(geo.x_out + Gw * geo.P / 2, geo.vector_depth, geo.H + pad, text.output_title.format(D=D, Gh=Gh, Gw=Gw)),
        _label(x_end + 0.3 * pad, geo.vector_depth, geo.H / 2, text.depth_label.format(D=D), xanchor="left"),
    ]


def _label(x: float, y: float, z: float, words: str, xanchor: str = "center") -> dict:
    return dict(x=x, y=y, z=z, text=words, showarrow=False, font=dict(size=13, color="#222"), xanchor=xanchor)
