"""Maths on a trace, each checked against a computation done another way."""

from __future__ import annotations

import numpy as np
import pytest
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


def test_with_mean_heads_appends_each_blocks_mean():
    maps = torch.rand(3, 4, 2, 5)  # (depth, nh, Gh, Gw)
    out = analysis.with_mean_heads(maps)
    assert out.shape == (3, 5, 2, 5)
    assert torch.equal(out[:, :4], maps) and torch.allclose(out[1, 4], maps[1].mean(0))


def test_display_downsample_block_means():
    m = torch.arange(24.0).reshape(4, 6)
    same, r, c = analysis.display_downsample(m, 4, 6)
    assert (r, c) == (1, 1) and torch.equal(same, m)
    small, r, c = analysis.display_downsample(m, 2, 3)
    assert (r, c) == (2, 2) and small.shape == (2, 3)
    assert small[0, 0] == m[:2, :2].mean() and small[1, 2] == m[2:, 4:].mean()


def test_each_step_is_w_dot_x_plus_b_of_its_window(photo_bytes):
    from vizlib.config import ViTConfig
    from vizlib.image import fit_image, load_image, to_tensor
    from vizlib.model import VisionTransformer

    cfg = ViTConfig(img_size=(48, 80), patch_size=16, embed_dim=24, depth=1, num_heads=2, seed=4)
    vit = VisionTransformer(cfg).eval()
    x = to_tensor(fit_image(load_image(photo_bytes), cfg.img_size, "center_crop"))
    with torch.no_grad():
        trace = vit.forward_trace(x)
        W = vit.patch_embed.proj.weight.reshape(24, -1)  # (D, 3·P·P)
        b = vit.patch_embed.proj.bias
    for k in range(15):
        step = analysis.patch_step(trace.inputs, vit.patch_embed.proj, k)
        r, c = divmod(k, 5)
        assert (step.r, step.c) == (r, c)
        pixels = x[0, :, r * 16 : (r + 1) * 16, c * 16 : (c + 1) * 16].reshape(-1)  # the window, by hand
        assert torch.equal(step.flat, pixels) and step.flat.numel() == 3 * 16 * 16
        assert torch.allclose(W @ pixels + b, trace.patch_grid[0, :, r, c], atol=1e-5)
        assert torch.allclose(step.output, trace.patch_grid[0, :, r, c], atol=1e-5)
        assert analysis.step_difference(step, trace.patch_grid) <= 1e-5


def test_proof_compares_every_value():
    conv = torch.nn.Conv2d(3, 20, kernel_size=8, stride=8)
    x = torch.randn(2, 3, 32, 48)
    proof = analysis.conv_vs_linear(x, conv, min_run_time=0.01)
    assert proof.values == 2 * 20 * 4 * 6
    assert 0 <= proof.max_abs_diff <= 1e-5 and proof.conv_ms > 0 and proof.linear_ms > 0
    with torch.no_grad():
        conv.weight[0, 0, 0, 0] += 1.0
        broken = torch.nn.Conv2d(3, 20, kernel_size=8, stride=8)
    broken.load_state_dict(conv.state_dict())
    assert analysis.conv_vs_linear(x, broken).max_abs_diff <= 1e-5  # still the same weights both ways


def test_sequence_for_display_keeps_rows_aligned():
    tokens = torch.arange(8.0)[:, None].repeat(1, 6)  # (N=8, D=6): row i holds i
    cls = torch.full((6,), -1.0)
    pos = torch.arange(9.0)[:, None].repeat(1, 6) * 10  # (N+1, D): row j holds 10 j
    small_tokens, small_cls, small_pos = analysis.sequence_for_display(tokens, cls, pos, 4, 3)
    assert small_tokens.shape == (4, 3) and small_cls.shape == (1, 3) and small_pos.shape == (5, 3)
    assert small_tokens[1, 0] == 2.5 and small_cls[0, 0] == -1  # rows 2-3 averaged; CLS alone
    assert small_pos[0, 0] == 0 and small_pos[2, 0] == 35  # CLS's position; patches 2-3 (positions 3, 4)


def test_sequence_for_display_lays_out_cls_dist_and_registers():
    """DeiT-like CLS and DIST carry position rows 0 and 1; two registers carry none (NaN rows)."""
    tokens = torch.arange(8.0)[:, None].repeat(1, 6)  # (N=8, D=6)
    prefix = torch.stack([torch.full((6,), -1.0), torch.full((6,), -2.0), torch.full((6,), -3.0),
                          torch.full((6,), -4.0)])  # CLS, DIST, REG1, REG2  # fmt: skip
    pos = torch.arange(10.0)[:, None].repeat(1, 6) * 10  # (E = 2 + 8, D): CLS, DIST, then the patches
    small_tokens, small_prefix, small_pos = analysis.sequence_for_display(tokens, prefix, pos, 4, 3, num_prefix=2)
    assert small_prefix.shape == (4, 3) and small_pos.shape == (8, 3)
    assert small_prefix[:, 0].tolist() == [-1, -2, -3, -4]
    assert small_pos[:2, 0].tolist() == [0, 10] and torch.isnan(small_pos[2:4]).all()
    assert small_pos[4, 0] == 25  # patches 0-1 (positions 2, 3) under token rows 0-1


def test_pick_head_rollout_map_and_token_patch():
    per_head = torch.rand(3, 4, 5)
    assert torch.equal(analysis.pick_head(per_head, 1), per_head[1])
    assert torch.allclose(analysis.pick_head(per_head, "mean"), per_head.mean(0))
    rollout = torch.rand(1, 7, 7)  # grid 2×3
    assert torch.equal(analysis.rollout_map(rollout, 4, (2, 3))[1, 0], rollout[0, 4, 4])
    inputs = torch.rand(1, 3, 16, 24)  # P = 8, grid 2×3
    grid = torch.rand(1, 5, 2, 3)
    window, vector = analysis.token_patch(inputs, grid, 1, 2)
    assert torch.equal(window, inputs[0, :, 8:16, 16:24]) and torch.equal(vector, grid[0, :, 1, 2])


@pytest.mark.parametrize("n, d", [(196, 384), (384, 196), (9, 128), (16384, 8), (3, 3)])
def test_principal_directions_equal_the_svd_up_to_sign(n, d):
    x = torch.randn(n, d, generator=torch.Generator().manual_seed(n + d), dtype=torch.float64)
    x = x * torch.linspace(3, 0.5, d, dtype=torch.float64)  # distinct singular values
    centred = x - x.mean(dim=0, keepdim=True)
    expected = torch.linalg.svd(centred, full_matrices=False).Vh[:28]  # (k, d)
    got = analysis.principal_directions(centred, 28)
    assert got.shape == expected.shape
    signs = torch.sign((got * expected).sum(dim=1, keepdim=True))  # (k, 1)
    k = min(28, n - 1, d)  # centring removes one rank: beyond it the directions are arbitrary
    assert torch.allclose(got[:k] * signs[:k], expected[:k], atol=1e-4)
    assert torch.allclose(got @ got.T, torch.eye(got.shape[0], dtype=torch.float64), atol=1e-8)  # orthonormal


def test_principal_directions_of_a_rank_one_matrix_are_orthonormal():
    u, v = torch.randn(50, 1, dtype=torch.float64), torch.randn(1, 80, dtype=torch.float64)
    got = analysis.principal_directions(u @ v, 3)  # one real direction, two completed
    assert torch.allclose(got[0].abs(), (v[0] / v.norm()).abs(), atol=1e-8)
    assert torch.allclose(got @ got.T, torch.eye(3, dtype=torch.float64), atol=1e-8)
