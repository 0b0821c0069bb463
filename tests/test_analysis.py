"""Maths on a trace, each checked against a computation done another way."""

from __future__ import annotations

import numpy as np
import torch

from vizlib import analysis


def test_top_k_matches_softmax():
    logits = torch.tensor([[0.1, 2.0, -1.0, 0.5]])
    best = analysis.top_k(logits, 2)
    probs = np.exp([0.1, 2.0, -1.0, 0.5]) / np.exp([0.1, 2.0, -1.0, 0.5]).sum()
    assert [i for i, _, _ in best] == [1, 3]
    assert np.isclose(best[0][1], probs[1]) and best[1][2] == 0.5


def test_pca_rgb_orders_by_the_principal_direction():
    """Vectors spread mostly along one direction: red follows the position along it."""
    gen = torch.Generator().manual_seed(0)
    direction = torch.randn(32, generator=gen)
    t = torch.linspace(-1, 1, 12)
    vectors = t[:, None] * direction * 5 + 0.01 * torch.randn(12, 32, generator=gen)  # (N, D)
    grid = vectors.T.reshape(1, 32, 3, 4)  # (1, D, Gh, Gw) row-major
    rgb = analysis.pca_rgb(grid)
    assert rgb.shape == (3, 4, 3) and rgb.min() >= 0 and rgb.max() <= 1
    red = rgb[..., 0].reshape(-1)
    # Same order as the projection onto the true direction, up to the sign of the component.
    ranks = np.argsort(np.argsort(red.numpy()))
    assert (np.abs(np.corrcoef(ranks, np.arange(12))[0, 1])) > 0.98


def test_pca_rgb_equals_numpy_eigendecomposition_order():
    gen = torch.Generator().manual_seed(1)
    grid = torch.randn(1, 10, 4, 5, generator=gen) * torch.linspace(3, 0.1, 10)[None, :, None, None]
    X = grid[0].flatten(1).T.double().numpy()  # (N, D)
    Xc = X - X.mean(0)
    _, vecs = np.linalg.eigh(Xc.T @ Xc)
    scores = Xc @ vecs[:, ::-1][:, :3]  # (N, 3) by decreasing variance
    rgb = analysis.pca_rgb(grid).reshape(-1, 3).double().numpy()
    for k in range(3):
        corr = np.corrcoef(rgb[:, k], scores[:, k])[0, 1]
        assert abs(corr) > 0.95  # the same component (clipping at the percentiles aside)


def test_pca_rgb_with_fewer_than_three_dims():
    rgb = analysis.pca_rgb(torch.randn(1, 2, 3, 3))
    assert rgb.shape == (3, 3, 3) and torch.all(rgb[..., 2] == 0.5)


def test_cls_attention_maps_reads_the_cls_row():
    attn = torch.rand(1, 2, 7, 7)  # (B, nh, T, T), grid 2×3
    maps = analysis.cls_attention_maps(attn, (2, 3))
    assert maps.shape == (2, 2, 3)
    assert maps[1, 1, 2] == attn[0, 1, 0, 1 + 1 * 3 + 2]  # head 1, cell (1, 2) = token 1 + r·Gw + c
    assert torch.allclose(analysis.with_mean(maps)[-1], maps.mean(0))


def test_display_downsample_block_means():
    m = torch.arange(24.0).reshape(4, 6)
    same, r, c = analysis.display_downsample(m, 4, 6)
    assert (r, c) == (1, 1) and torch.equal(same, m)
    small, r, c = analysis.display_downsample(m, 2, 3)
    assert (r, c) == (2, 2) and small.shape == (2, 3)
    assert small[0, 0] == m[:2, :2].mean() and small[1, 2] == m[2:, 4:].mean()
