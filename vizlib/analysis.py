"""Maths on a forward :class:`~vizlib.model.Trace`: predictions, PCA colours, attention maps.

Shape legend: B batch, N patch tokens, T = N + 1 with CLS, D embedding dim, nh heads, K classes.
"""

from __future__ import annotations

import torch


def top_k(logits: torch.Tensor, k: int = 5) -> list[tuple[int, float, float]]:
    """The ``k`` best classes of the first image as ``(index, probability, logit)``, best first."""
    row = logits[0].float()  # (K,)
    probs = row.softmax(dim=-1)  # (K,)
    best = probs.topk(min(k, row.numel()))
    return [(int(i), float(p), float(row[i])) for p, i in zip(best.values, best.indices, strict=True)]
