"""How well each map finds what the model uses: the deletion test over held-out shapes pictures.

For each of ``--pictures`` generated pictures (seeds from ``shapes.HELD_OUT_SEED`` upwards, never
seen in training), the shipped shapes model's predicted class is explained by four orders of the
patches — GAE (Chefer et al. 2021), attention rollout (mean of heads), the last block's CLS
attention (mean of heads) and a random order — and ``analysis.deletion_curve`` replaces the
first 0 %, 10 %, … 100 % of them by the mean colour. The area under each curve (lower = the map
found the patches the model uses) is printed as a Markdown table, mean ± std, for README.md; so
are the times of ``gae_relevance`` on three models. ``python -m scripts.deletion_test``;
``make bench`` runs it too. Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from PIL import Image

from vizlib import analysis, shapes
from vizlib.config import ViTConfig
from vizlib.image import to_tensor
from vizlib.model import VisionTransformer
from vizlib.paths import ASSETS_DIR
from vizlib.weights import load_checkpoint

FRACTIONS = torch.linspace(0, 1, 11)
METHODS = ("GAE", "rollout", "last-block CLS attention", "random")


def orders(vit: VisionTransformer, x: torch.Tensor, seed: int) -> dict[str, torch.Tensor]:
    """Each method's patch order, most relevant first, by the table's names."""
    with torch.inference_mode():
        trace = vit.forward_trace(x)
    found = analysis.deletion_orders(trace, analysis.gae_relevance(vit, x), seed)
    return dict(zip(METHODS, found.values(), strict=True))


def deletion_table(pictures: int) -> None:
    loaded = load_checkpoint(ASSETS_DIR / "shapes")
    vit = loaded.model.eval()
    aucs: dict[str, list[float]] = {name: [] for name in METHODS}
    start = time.perf_counter()
    correct = 0
    for seed in range(shapes.HELD_OUT_SEED, shapes.HELD_OUT_SEED + pictures):
        sample = shapes.generate(seed)
        x = to_tensor(Image.fromarray(np.asarray(sample.image)), loaded.mean, loaded.std)  # (1, 3, H, W)
        with torch.inference_mode():
            correct += int(vit(x)[0].argmax()) == sample.label
        for name, order in orders(vit, x, seed).items():
            curve = analysis.deletion_curve(vit, x, order, FRACTIONS)
            aucs[name].append(analysis.deletion_auc(FRACTIONS, curve))
    seconds = time.perf_counter() - start
    print(f"\nDeletion test, shapes model, {pictures} held-out pictures (seeds {shapes.HELD_OUT_SEED:,} …), "
          f"{correct / pictures:.1%} classified correctly; {seconds:.0f} s\n")  # fmt: skip
    print("| order of deletion | AUC mean | ± std | wins against random |")
    print("|---|---:|---:|---:|")
    for name in METHODS:
        wins = sum(a < r for a, r in zip(aucs[name], aucs["random"], strict=True))
        wins_text = "—" if name == "random" else f"{wins / pictures:.0%}"
        print(f"| {name} | {statistics.mean(aucs[name]):.3f} | {statistics.stdev(aucs[name]):.3f} | {wins_text} |")


def gae_times(repeats: int) -> None:
    models = {
        "Article (81 px, P=27, D=128, 4×4)": VisionTransformer(
            ViTConfig(img_size=(81, 81), patch_size=27, embed_dim=128, depth=4, num_heads=4)),
        "shapes model (64 px, P=8, D=96, 6×4)": load_checkpoint(ASSETS_DIR / "shapes").model,
        "ViT-S/16 (224 px, D=384, 12×6)": VisionTransformer(
            ViTConfig(img_size=(224, 224), patch_size=16, embed_dim=384, depth=12, num_heads=6)),
    }  # fmt: skip
    print("\n`gae_relevance` (one backward pass through every attention map), CPU, median of", repeats, "\n")
    print("| model | tokens T | GAE (ms) | forward pass (ms) | ratio |")
    print("|---|---:|---:|---:|---:|")
    for name, vit in models.items():
        vit.eval()
        cfg = vit.cfg
        x = torch.randn(1, 3, *cfg.img_size)
        analysis.gae_relevance(vit, x)  # warm-up
        gae, forward = [], []
        for _ in range(repeats):  # side by side, so that both see the same machine
            t0 = time.perf_counter()
            analysis.gae_relevance(vit, x)
            t1 = time.perf_counter()
            with torch.inference_mode():
                vit.forward_trace(x)
            forward.append(time.perf_counter() - t1)
            gae.append(t1 - t0)
        g, f = statistics.median(gae) * 1e3, statistics.median(forward) * 1e3
        print(f"| {name} | {cfg.num_patches + 1} | {g:.1f} | {f:.1f} | {g / f:.1f}× |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pictures", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()
    torch.set_grad_enabled(False)  # gae_relevance turns autograd on for itself
    gae_times(args.repeats)
    deletion_table(args.pictures)


if __name__ == "__main__":
    main()
