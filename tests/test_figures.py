"""Figure builders: structure, what each frame moves, and payload size."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from vizlib import analysis
from vizlib.figures.attention import blend, layer_head_figure, matrix_figure, overlay_figure
from vizlib.figures.common import mosaic
from vizlib.figures.embedding import pca_grid_figure, token_heatmap
from vizlib.figures.patches import patch_grid_figure, stride_animation, stride_steps


def pixels(H: int, W: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)


def colours(Gh: int, Gw: int) -> np.ndarray:
    return analysis.pca_rgb(torch.randn(1, 16, Gh, Gw)).numpy()


def window(frame) -> tuple[float, float, float, float]:
    """The green kernel window of a frame: (x0, y0, x1, y1)."""
    (rect,) = [s for s in frame.layout.shapes if s.line.color == "#00c853"]
    return rect.x0, rect.y0, rect.x1, rect.y1


@pytest.mark.parametrize("H, W, P", [(81, 81, 27), (48, 80, 16), (224, 224, 16)])
def test_one_frame_per_stride_step_at_its_window(H, W, P):
    Gh, Gw = H // P, W // P
    fig = stride_animation(pixels(H, W), P, colours(Gh, Gw), embed_dim=32)
    assert len(fig.frames) == Gh * Gw == len(fig.layout.sliders[0].steps)
    assert [f.name for f in fig.frames] == [str(k) for k in range(Gh * Gw)]
    for k, (r, c) in enumerate(stride_steps((Gh, Gw))):
        assert window(fig.frames[k]) == (c * P, r * P, (c + 1) * P, (r + 1) * P)
    assert fig.layout.sliders[0].steps[Gw + 1].label == (
        f"step {Gw + 2} / {Gh * Gw} — rows {P}…{2 * P - 1}, cols {P}…{2 * P - 1} → vector (1, 1)"
    )


def test_frames_move_only_shapes_and_a_constant_number_of_them():
    fig = stride_animation(pixels(96, 64), 8, colours(12, 8), embed_dim=32)
    counts = {len(f.layout.shapes) for f in fig.frames}
    assert counts == {len(fig.frames[0].layout.shapes)}  # constant, however far the stride has gone
    assert all(not f.data for f in fig.frames)  # the image is never resent
    images = [t for t in fig.data if t.type == "image"]
    assert len(images) == 2  # the photo and the output grid, once each


@pytest.mark.parametrize("H, W, P", [(81, 81, 27), (48, 80, 16)])
def test_the_empty_output_grid_shows_from_the_first_step_and_fills_in_stride_order(H, W, P):
    from vizlib.figures.patches import COVER

    Gh, Gw = H // P, W // P
    fig = stride_animation(pixels(H, W), P, colours(Gh, Gw), embed_dim=32)
    ((i, grid),) = [(i, s) for i, s in enumerate(fig.layout.shapes) if s.type == "path"]
    x_out = min(float(x) for x in re.findall(r"M([\d.]+),", grid.path))
    vertical = {float(x) for x in re.findall(r"M([\d.]+),0V", grid.path)}
    horizontal = {float(y) for y in re.findall(r"M[\d.]+,([\d.]+)H", grid.path)}
    assert vertical == {x_out + j * P for j in range(Gw + 1)} and horizontal == {r * P for r in range(Gh + 1)}
    for k, frame in enumerate(fig.frames):
        assert frame.layout.shapes[i].to_plotly_json() == {}  # no frame moves or hides the grid
        covers = [s for s in frame.layout.shapes if s.fillcolor == COVER]
        covered = {
            (r, c)
            for r in range(Gh)
            for c in range(Gw)
            if any(s.x0 <= x_out + (c + 0.5) * P <= s.x1 and s.y0 <= (r + 0.5) * P <= s.y1 for s in covers)
        }
        assert covered == {divmod(n, Gw) for n in range(k + 1, Gh * Gw)}, k  # written in row-major order


def test_animation_payload_budget():
    fig = stride_animation(pixels(224, 224), 16, colours(14, 14), embed_dim=384)
    assert len(fig.frames) == 196
    assert len(fig.to_json()) < 1_000_000


def test_patch_grid_has_every_boundary():
    fig = patch_grid_figure(pixels(48, 80), 16)
    lines = fig.data[1]
    n_segments = sum(1 for x in lines.x if x is None)
    assert n_segments == (80 // 16 + 1) + (48 // 16 + 1)


def test_pca_grid_and_token_heatmap():
    fig = pca_grid_figure(pixels(64, 32), 16, colours(4, 2), ("a", "b"))
    grid = [t for t in fig.data if t.type == "image" and t.z is not None][0]
    assert np.asarray(grid.z).shape == (4, 2, 3) and grid.dx == 16
    heat = token_heatmap(np.ones((8, 5)), row_step=2, col_step=1, title="t").data[0]
    assert np.asarray(heat.z).shape == (8, 5) and heat.dy == 2


def test_layer_head_grid_is_one_picture_of_blended_tiles():
    maps = np.random.default_rng(1).random((4, 3, 2, 4))  # (depth, K, Gh, Gw)
    fig = layer_head_figure(pixels(8, 16), maps, ["b1", "b2", "b3", "b4"], ["h1", "h2", "mean"])
    assert [t.type for t in fig.data] == ["image"]  # one compressed picture, whatever depth × heads
    assert list(fig.layout.xaxis.ticktext) == ["h1", "h2", "mean"] and len(fig.layout.yaxis.tickvals) == 4


def test_blend_puts_each_cell_on_its_patch():
    attention_map = np.zeros((2, 2))
    attention_map[1, 0] = 1.0  # bottom-left patch only
    out = blend(np.zeros((8, 8, 3), dtype=np.uint8), attention_map, opacity=1.0)
    assert out[6, 1].sum() > out[1, 6].sum()  # the hot cell is bright, the others dark
    assert (out[:4, :4] == out[0, 0]).all()  # a patch is uniform


def test_mosaic_places_tiles_with_gaps():
    tiles = np.arange(2 * 3 * 2 * 2, dtype=float).reshape(2, 3, 2, 2)
    out = mosaic(tiles)
    assert out.shape == (5, 8)
    assert out[3, 3] == tiles[1, 1, 0, 0] and np.isnan(out[2, 0]) and np.isnan(out[0, 2])


def test_overlay_and_matrix():
    fig = overlay_figure(pixels(32, 48), np.random.default_rng(0).random((2, 3)), 16, 0.5, query=(1, 2), clickable=True)
    assert [t.type for t in fig.data] == ["image", "heatmap", "scatter"]
    assert fig.layout.shapes[0].x0 == 32 and fig.layout.shapes[0].y0 == 16
    assert np.asarray(matrix_figure(np.eye(5), 1, "t", ("q", "k")).data[0].z).shape == (5, 5)


def test_pca_grid_cells_are_clickable_and_selection_is_outlined():
    from vizlib.figures.embedding import pca_grid_figure

    fig = pca_grid_figure(pixels(48, 80), 16, colours(3, 5), ("a", "b"), selected=(2, 4))
    targets = [t for t in fig.data if t.type == "scatter" and t.mode == "markers"]
    assert len(targets) == 2  # on the patches and on the cells
    for target in targets:
        assert len(target.x) == 15
        assert list(target.customdata[7]) == [1, 2]  # point 7 is cell (1, 2), row-major
    outlines = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(outlines) == 2 and outlines[0].x0 == 4 * 16 and outlines[0].y0 == 2 * 16


def test_token_heatmap_outlines_the_selected_row():
    fig = token_heatmap(np.ones((10, 4)), selected_row=7)
    (rect,) = fig.layout.shapes
    assert (rect.y0, rect.y1) == (6.5, 7.5)


def test_patch_grid_hatches_the_snapped_pixels():
    fig = patch_grid_figure(pixels(50, 41), 8, grid_size=(48, 40), shaded=[(40, 0, 41, 50), (0, 48, 40, 50)])
    assert len(fig.layout.shapes) == 2
    assert max(x for x in fig.data[1].x if x is not None) == 40  # the grid stops at the kept area


def test_sequence_and_inspector_figures():
    from vizlib.figures.inspector import kernels_figure, output_strip_figure, window_figure
    from vizlib.figures.sequence import sequence_figure

    rng = np.random.default_rng(2)
    fig = sequence_figure(rng.normal(size=(6, 8)), rng.normal(size=8), rng.normal(size=(7, 8)), (2, 3), list("abcde"))
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert [np.asarray(h.z).shape for h in heatmaps] == [(2, 3), (6, 8), (7, 8), (7, 8), (7, 8)]
    assert np.asarray(heatmaps[0].z)[1, 2] == 6  # the last cell is token 6 (CLS is 0)
    assert heatmaps[1].y0 == 1 and heatmaps[2].y0 == 0  # patch rows line up under CLS
    assert np.allclose(np.asarray(heatmaps[4].z), np.asarray(heatmaps[2].z) + np.asarray(heatmaps[3].z), atol=1e-6)
    window = window_figure(pixels(4, 4), rng.normal(size=(3, 4, 4)), list("abcd"), (-2.0, 2.5))
    assert [t.type for t in window.data] == ["image", "heatmap", "heatmap", "heatmap"]
    assert len(kernels_figure(rng.normal(size=(5, 3, 4, 4)), list("abcde")).data) == 5
    strip = output_strip_figure(rng.normal(size=12), "y", marked=[0, 3])
    assert np.asarray(strip.data[0].z).shape == (1, 12) and len(strip.layout.shapes) == 2


def test_each_panel_has_a_colour_scale_that_shows_its_numbers():
    from PIL import Image

    from vizlib.figures.inspector import window_figure
    from vizlib.figures.sequence import sequence_figure
    from vizlib.image import IMAGENET_MEAN, IMAGENET_STD, normalised_range, to_tensor

    rng = np.random.default_rng(3)
    tokens, cls, pos = rng.normal(size=(6, 8)), 1e-6 * rng.normal(size=8), 0.02 * rng.normal(size=(7, 8))
    fig = sequence_figure(tokens, cls, pos, (2, 3), list("abcde"))
    heatmaps = [t for t in fig.data if t.type == "heatmap"][1:]
    limits = [fig.layout[h.coloraxis].cmax for h in heatmaps]
    with_cls = np.concatenate([cls[None], tokens])
    expected = [np.abs(with_cls).max()] * 2 + [np.abs(pos).max(), np.abs(with_cls + pos).max()]
    assert np.allclose(limits, expected)  # position embeddings on their own scale, ~50× smaller
    assert all(fig.layout[h.coloraxis].cmin == -fig.layout[h.coloraxis].cmax for h in heatmaps)
    bars = {h.coloraxis: fig.layout[h.coloraxis].colorbar.x for h in heatmaps}
    assert len(bars) == 3 and len(set(bars.values())) == 3  # one bar per scale, each beside its panel

    black_white = np.zeros((1, 2, 3), np.uint8)
    black_white[0, 1] = 255
    x = to_tensor(Image.fromarray(black_white), IMAGENET_MEAN, IMAGENET_STD)  # (1, 3, 1, 2)
    lo, hi = normalised_range(IMAGENET_MEAN, IMAGENET_STD)
    assert np.isclose(lo, float(x.min())) and np.isclose(hi, float(x.max()))
    flat = np.full((3, 4, 4), 0.5) + 1e-3 * rng.normal(size=(3, 4, 4))  # an almost flat sky
    window = window_figure(pixels(4, 4), flat, list("abcd"), (lo, hi))
    for h in window.data[1:]:
        assert (h.zmin, h.zmax) == (lo, hi) and h.showscale is not False  # not stretched to its own min–max


def test_every_kth_row_past_the_frame_budget():
    from vizlib.figures.patches import MAX_FRAMES, frame_row_step

    assert frame_row_step((32, 32)) == 1 and frame_row_step((112, 112)) == 13
    k = frame_row_step((40, 40))
    fig = stride_animation(pixels(80, 80), 2, colours(40, 40), embed_dim=8, row_step=k)
    assert len(fig.frames) <= MAX_FRAMES and len(fig.frames) == -(-40 // k) * 40
    assert window(fig.frames[40]) == (0, 2 * k, 2, 2 * k + 2)  # frame 40 is the first window of row k
    assert fig.layout.sliders[0].steps[40].label.startswith(f"step {k * 40 + 1} / 1600")


def test_paper_figures():
    from vizlib.figures.paper import distance_figure, filter_tiles_figure, pos_similarity_figure

    fig = filter_tiles_figure(np.random.default_rng(0).random((10, 3, 4, 4)), "t", cols=7)
    assert np.asarray(fig.data[0].z).shape[:2] == (2 * 4 + 1, 7 * 4 + 6)
    sim = np.random.default_rng(1).random((2, 3, 2, 3))
    assert np.asarray(pos_similarity_figure(sim, "t", ("a", "b")).data[0].z).shape == (2 * 3 - 1, 3 * 4 - 1)
    dist = distance_figure(np.arange(12.0).reshape(4, 3), "t", ("x", "y"), "head")
    assert list(dist.data[0].x) == [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4] and list(dist.data[0].y) == list(range(12))


def test_position_similarity_of_a_large_grid_keeps_whole_tiles_at_a_stride():
    """A 6 × 4 grid at stride 2: 3 × 2 tiles, tile (i, j) is patch (2i, 2j) against all 6 × 4 patches."""
    import base64
    import io

    from PIL import Image

    from vizlib.figures.paper import pos_similarity_strided_figure

    sim = np.random.default_rng(2).uniform(-1, 1, (6, 4, 6, 4))
    fig = pos_similarity_strided_figure(sim, 2, "t", ("a", "b"))
    png = base64.b64decode(fig.data[0].source.split(",", 1)[1])
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert pixels.shape[:2] == (3 * 7 - 1, 2 * 5 - 1)  # 3 × 2 tiles of 6 × 4 cells, 1-cell gaps
    assert (pixels[6] == 255).all() and (pixels[:, 4] == 255).all()  # the gaps are white
    tile = pixels[7:13, 5:9].astype(int).sum(axis=-1)  # tile (1, 1): patch (2, 2) against all
    order = np.argsort(sim[2, 2].reshape(-1))
    assert np.all(np.diff(tile.reshape(-1)[order]) >= -40)  # brighter where more similar (Viridis gets lighter)
    assert fig.data[1].zmin == -1 and fig.data[1].zmax == 1  # the colour bar's scale


def test_the_frame_slider_drops_its_ticks_past_a_hundred_steps():
    from vizlib.figures.common import frame_slider

    assert frame_slider([str(k) for k in range(100)])["ticklen"] == 4
    assert frame_slider([str(k) for k in range(1024)])["ticklen"] == 0

