"""The 3D Conv2d view: one frame per stride step, what each frame moves, colours, payload size."""

from __future__ import annotations

import numpy as np
import pytest

from vizlib.figures.cube3d import CubeText, block_average, conv_cube_figure

WINDOW, OUTLINE, COLUMNS, PHOTO, GRID, COVER = 3, 4, 2, 0, 5, 6  # trace indices, as conv_cube_figure documents them


def pixels(H: int, W: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)


def colours(Gh: int, Gw: int) -> np.ndarray:
    return np.random.default_rng(1).random((Gh, Gw, 3))


def extent(values) -> tuple[float, float]:
    finite = [v for v in values if v is not None]
    return min(finite), max(finite)


def rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255


@pytest.mark.parametrize("H, W, P", [(81, 81, 27), (48, 80, 16), (64, 32, 16)])
def test_one_named_frame_per_stride_step_with_its_window(H, W, P):
    Gh, Gw = H // P, W // P
    fig = conv_cube_figure(pixels(H, W), P, colours(Gh, Gw), embed_dim=32)
    assert len(fig.frames) == Gh * Gw == len(fig.layout.sliders[0].steps)
    assert [f.name for f in fig.frames] == [str(k) for k in range(Gh * Gw)]
    assert [list(s.args[0]) for s in fig.layout.sliders[0].steps] == [[str(k)] for k in range(Gh * Gw)]
    for k, frame in enumerate(fig.frames):
        r, c = divmod(k, Gw)  # row-major, as the Conv2d visits the windows
        window = frame.data[0]
        assert extent(window.x) == (c * P, (c + 1) * P)
        assert extent(window.z) == (H - (r + 1) * P, H - r * P)  # z up: image row 0 is at the top, z = H


def test_first_frame_is_also_the_initial_state():
    fig = conv_cube_figure(pixels(48, 80), 16, colours(3, 5), embed_dim=32)
    for initial, first in zip([fig.data[WINDOW], fig.data[OUTLINE], fig.data[COVER]], fig.frames[0].data, strict=True):
        assert list(initial.x) == list(first.x) and list(initial.z) == list(first.z)


def test_frames_move_only_the_window_the_outline_and_the_cover():
    fig = conv_cube_figure(pixels(48, 80), 16, colours(3, 5), embed_dim=32)
    assert [t.type for t in fig.data] == ["mesh3d", "scatter3d", "mesh3d", "scatter3d", "scatter3d", "scatter3d",
                                          "mesh3d"]  # fmt: skip
    for frame in fig.frames:
        assert list(frame.traces) == [WINDOW, OUTLINE, COVER]
        assert [t.type for t in frame.data] == ["scatter3d", "scatter3d", "mesh3d"]
        assert [t.line.color for t in frame.data[:2]] == [fig.data[WINDOW].line.color, fig.data[OUTLINE].line.color]
        assert len(frame.data[2].x) == 16  # two cuboids, however far the stride has gone
    assert all(s.args[1]["frame"]["redraw"] for s in fig.layout.sliders[0].steps)  # 3D needs a redraw


@pytest.mark.parametrize("H, W, P", [(48, 80, 16), (81, 81, 27)])
def test_columns_are_hidden_until_written_in_the_same_order_as_the_2d_view(H, W, P):
    from vizlib.figures.patches import stride_steps

    Gh, Gw = H // P, W // P
    fig = conv_cube_figure(pixels(H, W), P, colours(Gh, Gw), embed_dim=32)
    columns = fig.data[COLUMNS]
    centres = np.stack([np.asarray(columns.x), np.asarray(columns.y), np.asarray(columns.z)], 1)  # (8N, 3)
    centres = centres.reshape(Gh * Gw, 8, 3).mean(1)  # (N, 3), row-major like the mesh
    for k, frame in enumerate(fig.frames):
        cover = np.stack([np.asarray(frame.data[2].x), np.asarray(frame.data[2].y), np.asarray(frame.data[2].z)], 1)
        boxes = [(cover[8 * b : 8 * b + 8].min(0), cover[8 * b : 8 * b + 8].max(0)) for b in range(2)]
        hidden = {n for n, p in enumerate(centres) if any(((lo < p) & (p < hi)).all() for lo, hi in boxes)}
        assert hidden == set(range(k + 1, Gh * Gw)), k  # everything after step k, as the 2D covers
    assert [divmod(n, Gw) for n in range(Gh * Gw)] == stride_steps((Gh, Gw))
    grid = fig.data[GRID]
    assert sum(x is None for x in grid.x) == (Gw + 1) + (Gh + 1)  # the empty grid, drawn once


def test_outline_surrounds_the_column_its_window_writes():
    H, W, P = 48, 80, 16
    fig = conv_cube_figure(pixels(H, W), P, colours(3, 5), embed_dim=32)
    columns = fig.data[COLUMNS]
    x, z = np.asarray(columns.x), np.asarray(columns.z)
    for k, frame in enumerate(fig.frames):
        corners = slice(8 * k, 8 * k + 8)  # the column mesh holds 8 corners per column, row-major
        (ox0, ox1), (oz0, oz1) = extent(frame.data[1].x), extent(frame.data[1].z)
        assert ox0 <= x[corners].min() < x[corners].max() <= ox1 and ox1 - ox0 == P
        assert oz0 <= z[corners].min() < z[corners].max() <= oz1 and oz1 - oz0 == P
        r = k // 5
        assert (oz0, oz1) == (H - (r + 1) * P, H - r * P)  # level with the window's rows


def test_column_faces_have_their_vectors_colour():
    cells = colours(3, 5)
    fig = conv_cube_figure(pixels(48, 80), 16, cells, embed_dim=32)
    faces = np.array([rgb(h) for h in fig.data[COLUMNS].facecolor]).reshape(3, 5, 12, 3)  # 12 triangles a column
    assert np.abs(faces - cells[:, :, None]).max() <= 0.5 / 255 + 1e-9
    assert len(np.asarray(fig.data[COLUMNS].i)) == 3 * 5 * 12


def test_columns_are_as_deep_as_d_up_to_a_cap():
    y_shallow = conv_cube_figure(pixels(48, 80), 16, colours(3, 5), embed_dim=8).data[COLUMNS].y
    y_deep = conv_cube_figure(pixels(48, 80), 16, colours(3, 5), embed_dim=4096).data[COLUMNS].y
    assert extent(y_shallow) == (0, 8)
    assert 8 < max(y_deep) < 80  # capped: never longer than the picture is wide


@pytest.mark.parametrize("H, W, P, max_cells", [(224, 224, 16, 48), (48, 80, 16, 48), (81, 81, 27, 10)])
def test_photo_face_has_at_most_max_cells_squared_quads(H, W, P, max_cells):
    fig = conv_cube_figure(pixels(H, W), P, colours(H // P, W // P), embed_dim=32, max_face_cells=max_cells)
    photo = fig.data[PHOTO]
    quads = len(np.asarray(photo.i)) // 2
    assert quads == min(H, max_cells) * min(W, max_cells) <= max_cells**2
    assert len(photo.facecolor) == 2 * quads
    assert extent(photo.x) == (0, W) and extent(photo.z) == (0, H) and extent(photo.y) == (0, 0)


def test_photo_face_is_upright():
    picture = np.zeros((32, 32, 3), dtype=np.uint8)
    picture[:16] = (255, 0, 0)  # top half red, bottom half blue
    picture[16:] = (0, 0, 255)
    photo = conv_cube_figure(picture, 16, colours(2, 2), embed_dim=8, max_face_cells=4).data[PHOTO]
    z = np.asarray(photo.z)
    triangle_top = z[np.asarray(photo.i)] + z[np.asarray(photo.j)] + z[np.asarray(photo.k)]  # 3 × mean height
    assert {c for c, t in zip(photo.facecolor, triangle_top, strict=True) if t > 3 * 16} == {"#ff0000"}
    assert {c for c, t in zip(photo.facecolor, triangle_top, strict=True) if t < 3 * 16} == {"#0000ff"}


def test_block_average_matches_reshape_mean():
    picture = np.random.default_rng(2).integers(0, 256, (12, 18, 3), dtype=np.uint8)
    cells, rows, cols = block_average(picture, 6)
    expected = picture.reshape(6, 2, 6, 3, 3).astype(float).mean(axis=(1, 3))  # (6, 6, 3)
    assert np.abs(cells.astype(float) - expected).max() <= 0.5
    assert list(rows) == list(range(0, 13, 2)) and list(cols) == list(range(0, 19, 3))
    uneven, rows, _ = block_average(picture, 5)  # 12 rows into 5 blocks: sizes 2 or 3
    assert uneven.shape == (5, 5, 3) and set(np.diff(rows)) == {2, 3}


def test_every_word_comes_from_the_text():
    text = CubeText(
        input_title="入力 3×{H}×{W}", output_title="出力 {D}×{Gh}×{Gw}", conv="畳み込み {D} {P}",
        depth_label="深さ {D}", step="ステップ {k}/{N}: ({r}, {c})", play="再生", pause="停止",
    )  # fmt: skip
    fig = conv_cube_figure(pixels(48, 80), 16, colours(3, 5), embed_dim=24, text=text)
    assert [a.text for a in fig.layout.scene.annotations] == ["入力 3×48×80", "出力 24×3×5", "深さ 24"]
    assert fig.layout.title.text == "畳み込み 24 16"
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["再生", "停止"]
    assert fig.layout.sliders[0].steps[6].label == "ステップ 7/15: (1, 1)"


def test_scene_ranges_are_fixed_and_hold_every_frame():
    fig = conv_cube_figure(pixels(48, 80), 16, colours(3, 5), embed_dim=32)
    scene = fig.layout.scene
    traces = list(fig.data) + [t for f in fig.frames for t in f.data]
    for axis in "xyz":
        lo, hi = scene[f"{axis}axis"].range
        for trace in traces:
            t_lo, t_hi = extent(trace[axis])
            assert lo < t_lo and t_hi < hi, (axis, trace.type)
        assert scene[f"{axis}axis"].showticklabels is False
    assert scene.aspectmode == "manual"


def test_payload_budget():
    fig = conv_cube_figure(pixels(224, 224), 16, colours(14, 14), embed_dim=384)
    assert len(fig.frames) == 196
    assert len(fig.to_json()) < 1_500_000
    small = conv_cube_figure(pixels(81, 81), 27, colours(3, 3), embed_dim=32)
    assert len(small.to_json()) < 200_000


def test_a_large_grid_shows_every_kth_row_with_true_step_numbers():
    """32 × 32 windows (the real model at 448 px) are over MAX_FRAMES: every 4th row, 8 × 32 frames,
    ~3 kB each instead of 1,024 of them; the slider says which true step each frame is."""
    from vizlib.figures.cube3d import MAX_FRAMES

    fig = conv_cube_figure(pixels(448, 448), 14, colours(32, 32), embed_dim=384)
    assert len(fig.frames) == 8 * 32 <= MAX_FRAMES
    labels = [step.label for step in fig.layout.sliders[0].steps]
    assert labels[32] == "step 129 / 1024 → vector (4, 0)"  # frame 32 is row 4's first window
    assert len(fig.to_json()) < 1_500_000
