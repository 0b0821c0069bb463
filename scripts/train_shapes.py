"""Train the shapes ViT the app ships: `python -m scripts.train_shapes [--steps N] [--out DIR]`.

CPU only, deterministic from the seeds in vizlib.train (pictures) and the config (weights).
Writes to assets/shapes/: model.safetensors (fp32, our parameter names), config.json (the
ViTConfig, class names, mean/std, training settings, held-out accuracy), train_log.json,
snapshots/step_*.safetensors (fp16) for the training timeline, and samples/*.png. CI never runs it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch
from PIL import Image
from safetensors.torch import save_file

from vizlib import shapes, train
from vizlib.image import IMAGENET_MEAN, IMAGENET_STD
from vizlib.paths import ASSETS_DIR

HELD_OUT = range(shapes.HELD_OUT_SEED, shapes.HELD_OUT_SEED + 2000)
SAMPLE_SEEDS = range(shapes.HELD_OUT_SEED + 900_000, shapes.HELD_OUT_SEED + 900_012)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=train.TrainSettings.steps)
    ap.add_argument("--out", type=Path, default=ASSETS_DIR / "shapes")
    args = ap.parse_args()
    settings = dataclasses.replace(train.TrainSettings(), steps=args.steps)
    out: Path = args.out
    (out / "snapshots").mkdir(parents=True, exist_ok=True)
    (out / "samples").mkdir(exist_ok=True)
    cfg = train.SHAPES_CONFIG

    def snapshot(step: int, model) -> None:
        weights = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
        save_file(weights, out / "snapshots" / f"step_{step:05d}.safetensors")
        print(f"snapshot at step {step}", flush=True)

    def show(log: train.TrainLog) -> None:
        print(f"step {log.steps[-1]:5d}  loss {log.loss[-1]:.3f}  acc {log.accuracy[-1]:.3f}  "
              f"lr {log.lr[-1]:.2e}  {log.seconds[-1]:.0f} s", flush=True)  # fmt: skip
        (out / "train_log.json").write_text(json.dumps(dataclasses.asdict(log)))

    model = train.new_model(cfg)
    start = time.perf_counter()
    train.train(model, settings, on_snapshot=snapshot, on_log=show)
    minutes = (time.perf_counter() - start) / 60
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, out / "model.safetensors")
    held_out = train.accuracy(model, HELD_OUT)
    print(f"held-out accuracy {held_out:.4f} on {len(HELD_OUT)} pictures; trained in {minutes:.1f} min")
    config = {
        "config": {**dataclasses.asdict(cfg), "img_size": list(cfg.img_size)},
        "classes": list(shapes.CLASSES),
        "mean": list(IMAGENET_MEAN),
        "std": list(IMAGENET_STD),
        "train": {**dataclasses.asdict(settings), "snapshots": [*settings.snapshots, settings.steps],
                  "minutes": round(minutes, 1), "torch": torch.__version__, "threads": torch.get_num_threads()},
        "held_out": {"first_seed": HELD_OUT.start, "count": len(HELD_OUT), "accuracy": round(held_out, 4)},
    }  # fmt: skip
    (out / "config.json").write_text(json.dumps(config, indent=2))
    for seed in SAMPLE_SEEDS:
        sample = shapes.generate(seed)
        Image.fromarray(sample.image).save(out / "samples" / f"{shapes.CLASSES[sample.label]}_{seed}.png")


if __name__ == "__main__":
    main()
