"""FlexiViT's pseudo-inverse resize of the patch embedding, and position-embedding resampling."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vizlib.config import ViTConfig
from vizlib.model import VisionTransformer
from vizlib.weights import resample_patch_embed, resample_pos_embed, resize_matrix, with_patch_size


def resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """The resize FlexiViT's identity is about, applied to pictures (n, C, P, P)."""
    return F.interpolate(x.double(), size=(size, size), mode="bicubic", antialias=True)


def test_resize_matrix_is_the_resize():
    x = torch.randn(5, 1, 8, 8, dtype=torch.float64)
    B = resize_matrix(8, 12)
    assert torch.allclose((x.reshape(5, 64) @ B.T).reshape(5, 1, 12, 12), resize(x, 12), atol=1e-10)


@pytest.mark.parametrize("old, new", [(8, 8), (8, 12), (16, 16), (16, 24), (4, 9)])
def test_upsizing_keeps_every_dot_product(old, new):
    """P′ ≥ P: ⟨resize(x), ŵ⟩ = ⟨x, w⟩ exactly (to 1e-4) for random pictures x."""
    gen = torch.Generator().manual_seed(old * 100 + new)
    w = torch.randn(6, 3, old, old, generator=gen)
    w_new = resample_patch_embed(w, new)
    assert w_new.shape == (6, 3, new, new)
    x = torch.randn(100, 3, old, old, generator=gen, dtype=torch.float64)
    before = x.reshape(100, -1) @ w.double().reshape(6, -1).T  # (100, 6)
    after = resize(x, new).reshape(100, -1) @ w_new.double().reshape(6, -1).T  # (100, 6)
    assert (after - before).abs().max() < 1e-4


@pytest.mark.parametrize("old, new", [(16, 8), (16, 12), (8, 4), (16, 2)])
def test_downsizing_beats_plain_interpolation_of_the_kernel(old, new):
    gen = torch.Generator().manual_seed(old * 10 + new)
    w = torch.randn(4, 3, old, old, generator=gen)
    x = torch.randn(1000, 3, old, old, generator=gen, dtype=torch.float64)  # x ~ N(0, I)
    target = x.reshape(1000, -1) @ w.double().reshape(4, -1).T  # (1000, 4)
    resized = resize(x, new).reshape(1000, -1)  # (1000, 3·P′²)
    ours = resample_patch_embed(w, new).double().reshape(4, -1)
    plain = resize(w, new).reshape(4, -1)  # interpolating the kernel itself
    mse_ours = ((resized @ ours.T - target) ** 2).mean()
    mse_plain = ((resized @ plain.T - target) ** 2).mean()
    assert mse_ours < mse_plain, (float(mse_ours), float(mse_plain))


def test_pos_embed_resampling_keeps_cls_and_smooth_grids():
    pos = torch.randn(1, 1 + 4 * 6, 8)
    out = resample_pos_embed(pos, (4, 6), (8, 12))
    assert out.shape == (1, 1 + 96, 8) and torch.equal(out[:, 0], pos[:, 0])
    linear = torch.arange(4.0)[:, None, None] * torch.ones(4, 6, 8)  # varies along rows only
    out = resample_pos_embed(torch.cat([torch.zeros(1, 1, 8), linear.reshape(1, 24, 8)], 1), (4, 6), (4, 3))
    assert torch.allclose(out[0, 1:].reshape(4, 3, 8)[:, 0, 0], torch.arange(4.0), atol=1e-5)
    assert resample_pos_embed(pos, (4, 6), (4, 6)) is pos


def test_with_patch_size_gives_a_working_model():
    cfg = ViTConfig(img_size=(64, 64), patch_size=8, embed_dim=32, depth=2, num_heads=4, num_classes=5)
    vit = VisionTransformer(cfg).eval()
    small = with_patch_size(vit, 16)
    assert small.cfg.grid == (4, 4) and small.pos_embed.shape == (1, 17, 32)
    assert torch.equal(small.blocks[1].attn.qkv.weight, vit.blocks[1].attn.qkv.weight)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert small(x).shape == (2, 5)
    with pytest.raises(ValueError, match="not a multiple"):
        with_patch_size(vit, 7)
