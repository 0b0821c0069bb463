"""ViTConfig: the grid formula, hashability, and a ValueError naming each bad value."""

from __future__ import annotations

import dataclasses

import pytest

from vizlib.config import MAX_TOKENS, ViTConfig, count_parameters, shape_strip
from vizlib.model import VisionTransformer

BASE = dict(img_size=(224, 224), patch_size=16, embed_dim=384, depth=12, num_heads=6)


def test_grid_and_derived_sizes():
    cfg = ViTConfig(**{**BASE, "img_size": (224, 160)})
    assert cfg.grid == (14, 10) and cfg.num_patches == 140 and cfg.head_dim == 64 and cfg.mlp_dim == 1536
    assert ViTConfig(img_size=(81, 81), patch_size=27, embed_dim=128, depth=1, num_heads=4).grid == (3, 3)


def test_frozen_hashable_and_keyword_only():
    cfg = ViTConfig(**BASE)
    assert hash(cfg) == hash(ViTConfig(**BASE)) and cfg == ViTConfig(**{**BASE, "img_size": [224, 224]})
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.patch_size = 8
    with pytest.raises(TypeError):
        ViTConfig((224, 224), 16, 384, 12, 6)


@pytest.mark.parametrize(
    "change, words",
    [
        (dict(img_size=(224, 220)), r"224×220 is not a multiple of the patch size 16"),
        (dict(embed_dim=100, num_heads=6), r"embedding dim 100 must be divisible by the number of heads 6"),
        (dict(patch_size=300), r"patch size 300 is larger than the image \(224×224\)"),
        (dict(patch_size=1), rf"224×224 = 50176 patches is more than the limit of {MAX_TOKENS}"),
        (dict(patch_size=0), r"patch size 0 must be at least 1"),
        (dict(depth=0), r"depth 0"),
        (dict(num_heads=0), r"number of heads 0"),
        (dict(embed_dim=0, num_heads=1), r"embedding dim 0"),
        (dict(img_size=(0, 224)), r"image size \(0, 224\)"),
        (dict(num_classes=-1), r"number of classes -1"),
        (dict(seed=-5), r"seed -5"),
    ],
)
def test_bad_values_are_named(change, words):
    with pytest.raises(ValueError, match=words):
        ViTConfig(**{**BASE, **change})


def test_token_limit_edge():
    assert ViTConfig(**{**BASE, "patch_size": 2}).num_patches == 12544  # P = 2 on 224 px is allowed
    assert ViTConfig(**{**BASE, "img_size": (256, 256), "patch_size": 2}).num_patches == MAX_TOKENS  # 128×128
    with pytest.raises(ValueError, match="patch size of at least 3"):
        ViTConfig(**{**BASE, "img_size": (256, 258), "patch_size": 2})  # 128×129 = 16512 tokens


@pytest.mark.parametrize(
    "cfg",
    [
        ViTConfig(img_size=(81, 81), patch_size=27, embed_dim=128, depth=4, num_heads=4),
        ViTConfig(img_size=(32, 48), patch_size=8, embed_dim=30, depth=2, num_heads=5, mlp_ratio=2.5, num_classes=0),
    ],
)
def test_count_parameters_matches_the_model(cfg):
    assert count_parameters(cfg) == sum(p.numel() for p in VisionTransformer(cfg).parameters())


def test_shape_strip_uses_the_numbers():
    cfg = ViTConfig(img_size=(81, 81), patch_size=27, embed_dim=128, depth=4, num_heads=4)
    shapes = [shape for _, shape, _ in shape_strip(cfg) if shape]
    assert shapes == [(3, 81, 81), (128, 3, 3), (9, 128), (10, 128), (4, 10, 10)]


def test_every_mlp_width_round_trips_exactly():
    for D in (8, 56, 64, 384):
        for width in range(1, 6 * D + 1):
            cfg = ViTConfig(img_size=(16, 16), patch_size=8, embed_dim=D, depth=1, num_heads=1, mlp_dim=width)
            assert cfg.mlp_dim == width, (D, width)
            again = ViTConfig(**cfg.__dict__)  # as the page rebuilds a checkpoint's config at another P
            assert again.mlp_dim == width and again == cfg, (D, width)
    ratio = ViTConfig(img_size=(16, 16), patch_size=8, embed_dim=384, depth=1, num_heads=1, mlp_ratio=4.0)
    assert ratio.mlp_dim == 1536 and ratio == ViTConfig(**{**ratio.__dict__, "mlp_ratio": 1.0})  # the width wins
