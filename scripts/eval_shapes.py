"""Evidence that the shipped shapes ViT's attention is learned: `python -m scripts.eval_shapes`.

On held-out pictures (seeds never used in training) it measures, for the trained model and for
the same architecture with random weights:
- accuracy on every picture;
- on pictures whose object covers at most 15 % of the patches ("area" = the share of patches
  overlapping the object's box): the share of the last block's CLS attention (mean over heads)
  that falls inside the box, divided by the area share (1× = no preference), and how often
  attention rollout's highest patch lies inside the box (chance ≈ the area share).
Writes assets/shapes/evaluation.json and prints a Markdown table for README.md.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from vizlib import analysis, shapes, train
from vizlib.paths import ASSETS_DIR
from vizlib.weights import load_checkpoint

MAX_AREA = 0.15


@torch.no_grad()
def evidence(model, seeds: range, batch_size: int = 200) -> dict:
    model.eval()
    cfg = model.cfg
    correct, ratios, hits, areas = 0, [], [], []
    for start in range(seeds.start, seeds.stop, batch_size):
        pixels, labels, boxes = shapes.generate_batch(range(start, min(start + batch_size, seeds.stop)))
        trace = model.forward_trace(train.to_batch(pixels))
        correct += int((trace.logits.argmax(-1) == torch.from_numpy(labels)).sum())
        cls_last = trace.attentions[-1][:, :, 0, 1:].mean(dim=1)  # (B, N) mean over heads
        cls_last = cls_last / cls_last.sum(dim=-1, keepdim=True)  # (B, N) share of the patch attention
        rollout = analysis.attention_rollout(trace.attentions)[:, 0, 1:]  # (B, N) CLS row
        for b, box in enumerate(boxes):
            mask = torch.from_numpy(shapes.patch_box_mask(tuple(box), cfg.grid, cfg.patch_size).reshape(-1))  # (N,)
            area = float(mask.float().mean())
            if area > MAX_AREA:
                continue
            areas.append(area)
            ratios.append(float(cls_last[b][mask].sum()) / area)
            hits.append(bool(mask[int(rollout[b].argmax())]))
    return {
        "pictures": len(seeds), "accuracy": round(correct / len(seeds), 4), "small_objects": len(areas),
        "mean_area_share": round(float(np.mean(areas)), 4),
        "cls_inside_box_over_area": round(float(np.mean(ratios)), 2),
        "rollout_peak_in_box": round(float(np.mean(hits)), 4),
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--count", type=int, default=2000)
    args = ap.parse_args()
    seeds = range(shapes.HELD_OUT_SEED + 100_000, shapes.HELD_OUT_SEED + 100_000 + args.count)
    trained = load_checkpoint(ASSETS_DIR / "shapes").model
    random_init = train.new_model(trained.cfg)
    result = {"seeds": [seeds.start, seeds.stop], "max_area": MAX_AREA, "trained": evidence(trained, seeds),
              "random": evidence(random_init, seeds)}  # fmt: skip
    (ASSETS_DIR / "shapes" / "evaluation.json").write_text(json.dumps(result, indent=2))
    t, r = result["trained"], result["random"]
    print(f"held-out seeds {seeds.start}…{seeds.stop - 1}; {t['small_objects']} pictures with objects on ≤ 15 % "
          f"of the patches (mean {t['mean_area_share']:.1%})\n")  # fmt: skip
    print("| weights | accuracy | CLS attention inside the box ÷ area share | rollout peak inside the box |")
    print("|---|---:|---:|---:|")
    for name, row in (("trained", t), ("random init", r)):
        print(f"| {name} | {row['accuracy']:.1%} | {row['cls_inside_box_over_area']:.2f}× | "
              f"{row['rollout_peak_in_box']:.1%} |")  # fmt: skip


if __name__ == "__main__":
    main()
