"""Attention analysis against references computed another way; chunked attention rows."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vizlib import analysis
from vizlib.config import ViTConfig
from vizlib.model import VisionTransformer


def random_attentions(depth=3, B=2, nh=3, T=7, seed=0) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(B, nh, T, T, generator=gen).mul(2).softmax(-1) for _ in range(depth)]


def rollout_reference(attentions, fusion, discard_ratio):
    """Hand-written, loop by loop, in numpy (after jacobgil/vit-explain and the paper)."""
    B, _, T, _ = attentions[0].shape
    out = np.zeros((B, T, T))
    for b in range(B):
        result = np.eye(T)
        for attn in attentions:
            heads = attn[b].double().numpy()  # (nh, T, T)
            fused = {"mean": heads.mean(0), "max": heads.max(0), "min": heads.min(0)}[fusion]
            k = int(T * discard_ratio)
            for i in range(T):
                if k:
                    lowest = np.argsort(fused[i], kind="stable")[:k]
                    fused[i, [j for j in lowest if j != 0]] = 0.0
            a = 0.5 * fused + 0.5 * np.eye(T)
            a = a / a.sum(axis=1, keepdims=True)
            result = a @ result
        out[b] = result
    return out


@pytest.mark.parametrize("fusion", ["mean", "max", "min"])
@pytest.mark.parametrize("discard_ratio", [0.0, 0.3])
def test_rollout_equals_a_hand_written_reference(fusion, discard_ratio):
    attentions = random_attentions()
    ours = analysis.attention_rollout(attentions, fusion, discard_ratio)
    assert ours.shape == (2, 7, 7)
    np.testing.assert_allclose(ours.double().numpy(), rollout_reference(attentions, fusion, discard_ratio), atol=1e-6)
    torch.testing.assert_close(ours.sum(-1), torch.ones(2, 7))


def test_rollout_of_identity_attention_is_identity_and_bad_options_raise():
    eye = [torch.eye(5).expand(1, 2, 5, 5)] * 4
    torch.testing.assert_close(analysis.attention_rollout(eye), torch.eye(5).expand(1, 5, 5))
    with pytest.raises(ValueError, match="median"):
        analysis.attention_rollout(eye, "median")
    with pytest.raises(ValueError, match="1.0"):
        analysis.attention_rollout(eye, discard_ratio=1.0)


def test_mean_distance_is_zero_for_identity_attention():
    grid, T = (3, 4), 13
    eye = [torch.eye(T).expand(2, 3, T, T)] * 2
    assert torch.equal(analysis.mean_attention_distance(eye, grid, 16), torch.zeros(2, 3))


def test_mean_distance_of_uniform_attention_is_the_mean_pairwise_distance():
    grid, P = (3, 4), 10
    T = 13
    uniform = [torch.full((1, 2, T, T), 1 / T)]
    expected = np.mean(
        [
            math.dist((a * P, b * P), (c * P, d * P))
            for a, b, c, d in itertools.product(range(3), range(4), range(3), range(4))
        ]
    )
    got = analysis.mean_attention_distance(uniform, grid, P)
    assert got.shape == (1, 2)
    N = 12  # the 1/T on CLS is dropped, not renormalised away: N/T of the mean pairwise distance
    assert torch.allclose(got, torch.full((1, 2), expected * N / T, dtype=torch.float32), atol=1e-5)


def test_mean_distance_of_nearest_neighbour_attention():
    """Every patch attends only to its right-hand neighbour (the last column to itself): distance P·(Gw-1)/Gw."""
    Gh, Gw, P = 2, 3, 8
    T = 1 + Gh * Gw
    attn = torch.zeros(1, 1, T, T)
    attn[0, 0, 0, 0] = 1
    for r, c in itertools.product(range(Gh), range(Gw)):
        target = (r, c + 1) if c + 1 < Gw else (r, c)
        attn[0, 0, 1 + r * Gw + c, 1 + target[0] * Gw + target[1]] = 1
    got = analysis.mean_attention_distance([attn], (Gh, Gw), P)
    assert torch.allclose(got, torch.tensor([[P * (Gw - 1) / Gw]]))


def test_pos_embed_similarity_matches_cosine_similarity_on_a_non_square_grid():
    Gh, Gw, D = 3, 5, 16
    pos = torch.randn(1, 1 + Gh * Gw, D)
    sim = analysis.pos_embed_similarity(pos, (Gh, Gw))
    assert sim.shape == (Gh, Gw, Gh, Gw)
    rng = np.random.default_rng(0)
    for _ in range(20):
        i, k = rng.integers(0, Gh, 2)
        j, l = rng.integers(0, Gw, 2)
        ref = F.cosine_similarity(pos[0, 1 + i * Gw + j], pos[0, 1 + k * Gw + l], dim=0)
        assert torch.allclose(sim[i, j, k, l], ref, atol=1e-6)
    assert torch.allclose(sim[1, 2, 1, 2], torch.tensor(1.0))


def test_filter_components_are_the_top_principal_directions():
    gen = torch.Generator().manual_seed(0)
    direction = torch.randn(3 * 4 * 4, generator=gen)
    weight = torch.randn(50, 1, generator=gen) * 5 * direction + 0.01 * torch.randn(50, 48, generator=gen)
    comps = analysis.filter_components(weight.reshape(50, 3, 4, 4), k=5)
    assert comps.shape == (5, 3, 4, 4) and comps.min() >= 0 and comps.max() <= 1
    first = comps[0].reshape(-1) - comps[0].mean()
    assert abs(F.cosine_similarity(first, direction - direction.mean(), dim=0)) > 0.99


def test_attention_rows_equal_the_rows_of_the_full_matrices():
    cfg = ViTConfig(img_size=(40, 56), patch_size=8, embed_dim=24, depth=3, num_heads=3, seed=2)
    vit = VisionTransformer(cfg).eval()
    x = torch.randn(2, 3, 40, 56)
    rows = [0, 5, 34, 35]  # CLS, a middle patch, the last two (T = 36)
    with torch.no_grad():
        full = vit.forward_trace(x, rows=rows)
        chunked = vit.forward_trace(x, rows=rows, full_attention_max=10)  # forces the chunked path
    assert full.attentions is not None and chunked.attentions is None
    assert chunked.rows == full.rows == rows
    for block_full, rows_full, rows_chunked in zip(
        full.attentions, full.attention_rows, chunked.attention_rows, strict=True
    ):
        assert rows_chunked.shape == (2, 3, 4, 36)
        torch.testing.assert_close(rows_chunked, block_full[:, :, rows], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(rows_full, block_full[:, :, rows])
    torch.testing.assert_close(chunked.logits, full.logits, atol=1e-5, rtol=1e-5)
    for h_full, h_chunked in zip(full.hidden_states, chunked.hidden_states, strict=True):
        torch.testing.assert_close(h_chunked, h_full, atol=1e-5, rtol=1e-5)


def test_chunks_smaller_than_the_sequence(monkeypatch):
    """More than one chunk: rows spread over chunks come back in order."""
    import vizlib.model as model_module

    monkeypatch.setattr(model_module, "ATTENTION_CHUNK", 7)
    cfg = ViTConfig(img_size=(32, 32), patch_size=8, embed_dim=16, depth=1, num_heads=2)
    vit = VisionTransformer(cfg).eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        full = vit.forward_trace(x, rows=[16, 3, 9])
        chunked = vit.forward_trace(x, rows=[16, 3, 9], full_attention_max=1)
    assert chunked.rows == [3, 9, 16]
    torch.testing.assert_close(chunked.attention_rows[0], full.attentions[0][:, :, [3, 9, 16]], atol=1e-6, rtol=1e-5)


def test_query_maps_reads_the_right_row():
    attn_rows = [torch.rand(1, 2, 3, 7) for _ in range(4)]  # rows [0, 2, 5], grid 2×3
    maps = analysis.query_maps(attn_rows, [0, 2, 5], 5, (2, 3))
    assert maps.shape == (4, 2, 2, 3)
    assert maps[3, 1, 1, 0] == attn_rows[3][0, 1, 2, 1 + 3]
    with pytest.raises(ValueError, match="not traced"):
        analysis.query_maps(attn_rows, [0, 2, 5], 4, (2, 3))


def test_bad_rows_are_refused():
    vit = VisionTransformer(ViTConfig(img_size=(16, 16), patch_size=8, embed_dim=8, depth=1, num_heads=1))
    with pytest.raises(ValueError, match="between 0 and 4"):
        vit.forward_trace(torch.zeros(1, 3, 16, 16), rows=[5])


def authors_mean_distance(patch_size: int, attention: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """google-research/vision_transformer#162, written again here with loops (any Gh × Gw grid)."""
    attention = attention[..., 1:, 1:]  # removing the CLS token
    Gh, Gw = grid
    n = Gh * Gw
    distance = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            (yi, xi), (yj, xj) = divmod(i, Gw), divmod(j, Gw)
            distance[i, j] = patch_size * np.linalg.norm([yi - yj, xi - xj])
    return (attention * distance).sum(axis=-1).mean(axis=-1)  # (..., heads)


@pytest.mark.parametrize("grid, P", [((3, 3), 27), ((2, 5), 8), ((4, 3), 16)])
def test_mean_distance_is_the_authors_formula(grid, P):
    T = 1 + grid[0] * grid[1]
    gen = torch.Generator().manual_seed(T)
    attentions = [torch.softmax(3 * torch.randn(2, 4, T, T, generator=gen), dim=-1) for _ in range(3)]
    attentions[1][:, 0, 1:, 0] += 4.0  # head 0 of block 1 looks mostly at CLS
    attentions[1] = attentions[1] / attentions[1].sum(dim=-1, keepdim=True)
    got = analysis.mean_attention_distance(attentions, grid, P)  # (depth, nh)
    expected = np.stack([authors_mean_distance(P, a.double().numpy(), grid).mean(axis=0) for a in attentions])
    assert np.allclose(got.numpy(), expected, atol=1e-4)
    assert got[1, 0] < 0.5 * got[1, 1]  # most attention on CLS: a short distance, as the authors count it


def test_a_few_outlier_patches_do_not_blacken_a_large_map():
    """Trained ViTs without registers give a few background tokens much of the CLS attention: the
    colours top out at the 99th percentile on large grids, so the other patches keep their contrast;
    a small grid keeps min-max colours."""
    from vizlib.figures import attention as attention_fig

    rng = np.random.default_rng(0)
    big = rng.uniform(1e-4, 1e-3, size=(32, 32))
    big[0, 31], big[1, 30] = 0.3, 0.25  # two outliers hold most of the map
    lo, hi = attention_fig.colour_range(big)
    assert lo == big.min() and hi < 1e-3 < 0.25
    assert attention_fig.has_outliers(big)
    n, share = attention_fig.outliers(big)
    assert n == 2 and share == pytest.approx(0.55 / big.sum())  # the two outliers and their share of the map
    rgb = attention_fig.blend(np.zeros((64, 64, 3), np.uint8), big, 1.0)  # (64, 64, 3), 2 px per patch
    plain = rgb[::2, ::2].reshape(-1, 3)[big.reshape(-1) < 1e-3]  # the ordinary patches' colours
    assert np.ptp(plain.astype(int).sum(axis=1)) > 300  # they span the colour scale, not one dark colour
    small = np.array([[0.1, 0.2, 0.05], [0.3, 0.1, 0.05], [0.1, 0.05, 0.05]])
    assert attention_fig.colour_range(small) == (0.05, 0.3)
    assert not attention_fig.has_outliers(small)
