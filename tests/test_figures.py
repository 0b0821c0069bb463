"""Figure builders: structure, what each frame moves, and payload size."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vizlib import analysis
from vizlib.figures.attention import head_maps_figure
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


def test_head_maps_one_heatmap_per_map_over_the_picture():
    maps = np.random.default_rng(1).random((7, 3, 5))
    fig = head_maps_figure(pixels(48, 80), maps, 16, [f"m{k}" for k in range(7)])
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert len(heatmaps) == 7 and len([t for t in fig.data if t.type == "image"]) == 7
    assert np.allclose(np.asarray(heatmaps[3].z), maps[3])
    assert [a.text for a in fig.layout.annotations] == [f"m{k}" for k in range(7)]
