"""Peak memory of one forward pass in a fresh process: `python -m scripts.bench_memory P [--size 224]`.

ViT-S/16 widths (D = 384, depth 12, 6 heads) at patch size P; prints tokens, whether full
attention matrices were kept, forward time and the process's peak resident memory: VmHWM from
/proc/self/status, which starts afresh at exec (ru_maxrss does not: it keeps the parent's peak
across fork + exec), with ru_maxrss as the fallback off Linux.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import torch

from vizlib.config import ViTConfig
from vizlib.model import FULL_ATTENTION_MAX, VisionTransformer


def peak_mib() -> float:
    """Peak resident memory of this process so far, in MiB."""
    try:
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024  # kB → MiB
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux → MiB


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("patch_size", type=int)
    ap.add_argument("--size", type=int, default=224)
    args = ap.parse_args()
    cfg = ViTConfig(img_size=(args.size, args.size), patch_size=args.patch_size, embed_dim=384, depth=12, num_heads=6)
    vit = VisionTransformer(cfg).eval()
    x = torch.randn(1, 3, args.size, args.size)  # (1, 3, H, W)
    before = peak_mib()
    start = time.perf_counter()
    with torch.inference_mode():
        trace = vit.forward_trace(x, rows=[0])
    seconds = time.perf_counter() - start
    peak = peak_mib()
    print(json.dumps({
        "P": args.patch_size, "tokens": cfg.num_patches + 1, "full": trace.attentions is not None,
        "full_max": FULL_ATTENTION_MAX, "seconds": round(seconds, 2), "peak_mib": round(peak),
        "before_forward_mib": round(before),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
