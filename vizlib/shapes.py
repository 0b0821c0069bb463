"""A synthetic picture set the app's small trained ViT learns from: one shape on a cluttered background.

Every picture is a pure function of its seed (``numpy.random.default_rng(seed)``): a random
gradient, soft blotches, thin lines and pixel noise — clutter that carries no label information —
and one filled shape of a random class, size, colour, position and rotation. The shape's bounding
box comes with it, so tests can check where the model's attention goes.
Training uses seeds below ``HELD_OUT_SEED``; evaluation uses seeds from it upwards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CLASSES = ("circle", "ring", "triangle", "cross", "star")  # squares were left out: at 8-px patches a small
# rotated square looks like a circle, and a first run never learned them (0 % at step 2,500)
IMAGE_SIZE = 64  # pixels, square
HELD_OUT_SEED = 1_000_000_000  # seeds from here on are never used in training
SIZE_RANGE = (16, 30)  # the shape's outer diameter in pixels


@dataclass(frozen=True)
class Sample:
    """One generated picture."""

    image: np.ndarray  # (S, S, 3) uint8
    label: int  # index into CLASSES
    box: tuple[int, int, int, int]  # the shape's (x0, y0, x1, y1), x1/y1 exclusive


def generate(seed: int, size: int = IMAGE_SIZE, clutter: float = 1.0) -> Sample:
    """The picture of this seed: background clutter, then one shape on top.

    ``clutter`` in [0, 1] scales the blotches, lines and noise (1 = the full set every evaluation
    uses; training ramps it up as a curriculum). The random draws do not depend on it.
    """
    rng = np.random.default_rng(seed)
    img = _background(rng, size, clutter)
    label = int(rng.integers(len(CLASSES)))
    box = _draw_shape(img, rng, CLASSES[label], size)
    pixels = np.asarray(img, dtype=np.float32)  # (S, S, 3)
    pixels = pixels + clutter * rng.normal(0, 6, pixels.shape)  # sensor-like noise everywhere
    return Sample(np.clip(pixels, 0, 255).astype(np.uint8), label, box)


def generate_batch(
    seeds: range | list[int], size: int = IMAGE_SIZE, clutter: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pictures ``(B, S, S, 3)`` uint8, labels ``(B,)`` and boxes ``(B, 4)`` for these seeds."""
    samples = [generate(int(s), size, clutter) for s in seeds]
    return (
        np.stack([s.image for s in samples]),
        np.array([s.label for s in samples]),
        np.array([s.box for s in samples]),
    )


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(0, 256, 3))


def _background(rng: np.random.Generator, size: int, clutter: float = 1.0) -> Image.Image:
    """A two-colour gradient at a random angle, soft blotches and thin lines (their opacity × clutter)."""
    a, b = np.array(_colour(rng), float), np.array(_colour(rng), float)
    angle = rng.uniform(0, 2 * math.pi)
    ys, xs = np.mgrid[0:size, 0:size] / (size - 1)  # (S, S) each
    t = np.clip(0.5 + (xs - 0.5) * math.cos(angle) + (ys - 0.5) * math.sin(angle), 0, 1)[..., None]  # (S, S, 1)
    img = Image.fromarray(((1 - t) * a + t * b).astype(np.uint8))
    blotches = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(blotches)
    for _ in range(int(rng.integers(3, 7))):
        cx, cy = rng.uniform(0, size, 2)
        rx, ry = rng.uniform(4, size / 3, 2)
        alpha = int(rng.integers(60, 150) * clutter)
        draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=(*_colour(rng), alpha))
    img = Image.alpha_composite(img.convert("RGBA"), blotches.filter(ImageFilter.GaussianBlur(3))).convert("RGB")
    lines = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(lines)
    for _ in range(int(rng.integers(2, 6))):
        x0, y0, x1, y1 = rng.uniform(0, size, 4)
        draw.line([x0, y0, x1, y1], fill=(*_colour(rng), int(255 * clutter)), width=1)
    return Image.alpha_composite(img.convert("RGBA"), lines).convert("RGB")


def _outline(name: str, rng: np.random.Generator) -> list[list[tuple[float, float]]]:
    """The shape as polygons in a unit frame centred on 0 (radius 1), before rotation."""
    if name == "square":
        return [[(-0.75, -0.75), (0.75, -0.75), (0.75, 0.75), (-0.75, 0.75)]]
    if name == "triangle":
        return [[(math.cos(a), math.sin(a)) for a in np.deg2rad([-90, 30, 150])]]
    if name == "cross":
        w = 0.32
        return [[(-1, -w), (1, -w), (1, w), (-1, w)], [(-w, -1), (w, -1), (w, 1), (-w, 1)]]
    if name == "star":
        angles = np.deg2rad(np.arange(10) * 36 - 90)
        radii = np.where(np.arange(10) % 2 == 0, 1.0, 0.42)
        return [[(r * math.cos(a), r * math.sin(a)) for r, a in zip(radii, angles, strict=True)]]
    raise ValueError(f"no outline for {name!r}")


def _draw_shape(img: Image.Image, rng: np.random.Generator, name: str, size: int) -> tuple[int, int, int, int]:
    """Draw one shape in a colour far from the background under it; return its bounding box."""
    diameter = rng.uniform(*SIZE_RANGE)
    radius = diameter / 2
    cx, cy = rng.uniform(radius + 1, size - radius - 1, 2)
    under = np.asarray(img.crop((int(cx - radius), int(cy - radius), int(cx + radius), int(cy + radius))), float)
    colour = _contrasting(rng, under.reshape(-1, 3).mean(axis=0))
    draw = ImageDraw.Draw(img)
    if name in ("circle", "ring"):
        bbox = [cx - radius, cy - radius, cx + radius, cy + radius]
        draw.ellipse(bbox, fill=None if name == "ring" else colour, outline=colour, width=max(3, int(radius / 3)))
        points = np.array([[bbox[0], bbox[1]], [bbox[2], bbox[3]]])
    else:
        theta = rng.uniform(0, 2 * math.pi)
        rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
        polygons = [np.array(poly) @ rot.T * radius + (cx, cy) for poly in _outline(name, rng)]
        for poly in polygons:
            draw.polygon([tuple(p) for p in poly], fill=colour)
        points = np.concatenate(polygons)
    x0, y0 = np.floor(points.min(axis=0)).astype(int)
    x1, y1 = np.ceil(points.max(axis=0)).astype(int)
    return max(0, int(x0)), max(0, int(y0)), min(size, int(x1) + 1), min(size, int(y1) + 1)


def _contrasting(rng: np.random.Generator, background: np.ndarray) -> tuple[int, int, int]:
    """A random colour at least 120 (of 441) away from the background's mean colour."""
    for _ in range(50):
        colour = np.array(_colour(rng), float)
        if np.linalg.norm(colour - background) >= 120:
            break
    return tuple(int(v) for v in colour)


def patch_box_mask(box: tuple[int, int, int, int], grid: tuple[int, int], patch_size: int) -> np.ndarray:
    """``(Gh, Gw)`` bool: the patches that overlap the box (the "area" the evidence uses)."""
    Gh, Gw = grid
    x0, y0, x1, y1 = box
    rows = (np.arange(Gh) * patch_size < y1) & ((np.arange(Gh) + 1) * patch_size > y0)  # (Gh,)
    cols = (np.arange(Gw) * patch_size < x1) & ((np.arange(Gw) + 1) * patch_size > x0)  # (Gw,)
    return rows[:, None] & cols[None, :]
