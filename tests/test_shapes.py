"""The generated picture set, the training code, and the shipped shapes checkpoint."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from vizlib import shapes, train
from vizlib.config import ViTConfig
from vizlib.paths import ASSETS_DIR
from vizlib.weights import load_checkpoint, snapshot_steps

CHECKPOINT = ASSETS_DIR / "shapes"


def test_a_picture_is_a_function_of_its_seed():
    a, b, c = shapes.generate(7), shapes.generate(7), shapes.generate(8)
    assert np.array_equal(a.image, b.image) and a.label == b.label and a.box == b.box
    assert not np.array_equal(a.image, c.image)
    assert a.image.shape == (64, 64, 3) and a.image.dtype == np.uint8


def test_boxes_fit_the_sizes_and_every_class_appears():
    pixels, labels, boxes = shapes.generate_batch(range(600))
    assert pixels.shape == (600, 64, 64, 3)
    widths, heights = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 2:] <= 64).all()
    assert widths.min() >= 8 and max(widths.max(), heights.max()) <= shapes.SIZE_RANGE[1] + 4  # rounding, exclusive end
    counts = np.bincount(labels, minlength=len(shapes.CLASSES))
    assert counts.min() > 600 / len(shapes.CLASSES) / 2  # every class, roughly evenly


def test_the_shape_is_inside_its_box():
    """The box holds the shape: the picture differs most from a blurred copy inside the box."""
    from PIL import Image, ImageFilter

    inside, outside = [], []
    for seed in range(40):
        s = shapes.generate(seed)
        blurred = np.asarray(Image.fromarray(s.image).filter(ImageFilter.GaussianBlur(3)), float)
        edges = np.abs(s.image.astype(float) - blurred).sum(-1)  # (S, S) sharp detail
        x0, y0, x1, y1 = s.box
        mask = np.zeros((64, 64), bool)
        mask[y0:y1, x0:x1] = True
        inside.append(edges[mask].mean())
        outside.append(edges[~mask].mean())
    assert np.mean(inside) > 1.5 * np.mean(outside)


def test_patch_box_mask():
    mask = shapes.patch_box_mask((10, 3, 17, 9), (8, 8), 8)
    assert mask.shape == (8, 8) and mask.sum() == 4  # x 10..16 → columns 1, 2; y 3..8 → rows 0, 1
    assert mask[0, 1] and mask[1, 2] and not mask[0, 0] and not mask[2, 1]


def test_sincos_position_embeddings_are_distinct():
    emb = train.sincos_pos_embed((8, 8), 96)
    assert emb.shape == (64, 96)
    assert torch.cdist(emb, emb).add(torch.eye(64) * 1e9).min() > 0.1
    model = train.new_model()
    assert torch.allclose(model.pos_embed[0, 1:], emb * 0.1)


def test_training_overfits_one_fixed_batch():
    cfg = ViTConfig(img_size=(64, 64), patch_size=8, embed_dim=48, depth=2, num_heads=4, mlp_ratio=2.0,
                    num_classes=len(shapes.CLASSES), seed=1)  # fmt: skip
    model = train.new_model(cfg)
    settings = train.TrainSettings(lr=1e-3)
    optimiser = train.make_optimiser(model, settings)
    pixels, labels, _ = shapes.generate_batch(range(16))
    x, y = train.to_batch(pixels), torch.from_numpy(labels)
    losses = [train.train_step(model, optimiser, x, y, settings.grad_clip)[0] for _ in range(30)]
    assert losses[-1] <= 0.7 * losses[0], losses


def test_learning_rate_schedule():
    s = train.TrainSettings(steps=1000, warmup=100, lr=1.0)
    assert train.learning_rate(0, s) == pytest.approx(0.01)
    assert train.learning_rate(99, s) == pytest.approx(1.0)
    assert train.learning_rate(550, s) == pytest.approx(0.5)
    assert train.learning_rate(999, s) < 1e-4


needs_checkpoint = pytest.mark.skipif(
    not (CHECKPOINT / "model.safetensors").exists(), reason="no shipped checkpoint (run scripts/train_shapes.py)"
)


@needs_checkpoint
def test_the_shipped_checkpoint_reaches_its_stated_accuracy():
    meta = json.loads((CHECKPOINT / "config.json").read_text())
    stated = meta["held_out"]["accuracy"]
    loaded = load_checkpoint(CHECKPOINT)
    assert loaded.labels == list(shapes.CLASSES)
    seeds = range(shapes.HELD_OUT_SEED + 500_000, shapes.HELD_OUT_SEED + 500_300)  # regenerated here, never trained on
    measured = train.accuracy(loaded.model, seeds)
    assert measured >= stated - 0.05, (measured, stated)
    assert stated >= 0.85


@needs_checkpoint
def test_snapshots_form_a_timeline():
    steps = snapshot_steps(CHECKPOINT)
    assert steps[0] == 0 and len(steps) >= 5 and steps == sorted(steps)
    first = load_checkpoint(CHECKPOINT, snapshot=0).model
    last = load_checkpoint(CHECKPOINT, snapshot=steps[-1]).model
    final = load_checkpoint(CHECKPOINT).model
    assert not torch.equal(first.pos_embed, last.pos_embed)
    torch.testing.assert_close(last.pos_embed, final.pos_embed, atol=1e-2, rtol=1e-2)  # fp16 of the final weights


@pytest.mark.skipif(not (ASSETS_DIR / "shapes" / "config.json").exists(), reason="no shipped shapes checkpoint")
@pytest.mark.parametrize("as_type", [str, Path, os.path.relpath], ids=["str", "Path", "relative str"])
def test_folders_may_be_given_as_str_or_pathlike(as_type):
    folder = as_type(str(ASSETS_DIR / "shapes"))
    assert load_checkpoint(folder).model.cfg.patch_size == 8
    assert snapshot_steps(folder) == snapshot_steps(ASSETS_DIR / "shapes") != []
