"""Benchmarks whose numbers go into README.md: `make bench` (or `python -m scripts.bench`).

Forward-pass time (median of repeated runs, with attention weights kept) for each preset.
Numbers are printed as a Markdown table; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from vizlib.config import ViTConfig
from vizlib.image import fit_image, load_image, to_tensor
from vizlib.model import VisionTransformer
from vizlib.paths import SAMPLES_DIR

PRESETS = {
    "Article (81 px, P=27, D=128, 4×4)": dict(img_size=(81, 81), patch_size=27, embed_dim=128, depth=4, num_heads=4),
    "ViT-S/16 (224 px, D=384, 12×6)": dict(img_size=(224, 224), patch_size=16, embed_dim=384, depth=12, num_heads=6),
    "ViT-B/16 (224 px, D=768, 12×12)": dict(img_size=(224, 224), patch_size=16, embed_dim=768, depth=12, num_heads=12),
}


def time_forward(cfg: ViTConfig, device: str, repeats: int) -> list[float]:
    vit = VisionTransformer(cfg).eval().to(device)
    img = load_image((SAMPLES_DIR / "chelsea.jpg").read_bytes())
    x = to_tensor(fit_image(img, cfg.img_size, "center_crop")).to(device)  # (1, 3, H, W)
    times = []
    with torch.inference_mode():
        for i in range(repeats + 2):
            start = time.perf_counter()
            vit.forward_trace(x)
            if device == "cuda":
                torch.cuda.synchronize()
            if i >= 2:  # the first two runs warm up
                times.append(time.perf_counter() - start)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}\n")
    print("| preset | forward_trace median (ms) | min (ms) |")
    print("|---|---:|---:|")
    for name, kwargs in PRESETS.items():
        times = time_forward(ViTConfig(**kwargs), args.device, args.repeats)
        print(f"| {name} | {statistics.median(times) * 1e3:.1f} | {min(times) * 1e3:.1f} |")


if __name__ == "__main__":
    main()
