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


def pca_rgb(patch_grid: torch.Tensor) -> torch.Tensor:
    """Colour each 1×1×D vector by its first three principal components across the grid.

    Args:
        patch_grid: ``(B, D, Gh, Gw)``; the first image is used.

    Returns:
        ``(Gh, Gw, 3)`` in [0, 1]: red, green, blue = principal components 1, 2, 3, each scaled
        by its 2nd–98th percentile range. Missing components (fewer than 3 tokens or dims) are 0.5.
    """
    D, Gh, Gw = patch_grid.shape[1:]
    vectors = patch_grid[0].flatten(1).T.double()  # (N, D)
    centred = vectors - vectors.mean(dim=0, keepdim=True)  # (N, D)
    _, _, Vh = torch.linalg.svd(centred, full_matrices=False)  # Vh (min(N, D), D)
    k = min(3, Vh.shape[0])
    scores = centred @ Vh[:k].T  # (N, k)
    scores = scores * _sign_fix(scores)  # (N, k) a deterministic sign per component
    lo, hi = torch.quantile(scores, 0.02, dim=0), torch.quantile(scores, 0.98, dim=0)  # (k,)
    span = torch.where(hi - lo > 1e-12, hi - lo, torch.ones_like(hi))  # (k,)
    colours = torch.full((vectors.shape[0], 3), 0.5, dtype=torch.float64)  # (N, 3)
    colours[:, :k] = ((scores - lo) / span).clamp(0, 1)
    return colours.reshape(Gh, Gw, 3).float()  # (Gh, Gw, 3)


def _sign_fix(scores: torch.Tensor) -> torch.Tensor:
    """+1 or −1 per column so that the largest-magnitude score is positive (SVD signs are arbitrary)."""
    idx = scores.abs().argmax(dim=0)  # (k,)
    return torch.sign(scores[idx, torch.arange(scores.shape[1])]).clamp(min=0) * 2 - 1  # (k,)


def cls_attention_maps(attn: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """How much the CLS token attends to each patch, per head, as maps over the grid.

    Args:
        attn: one block's attention ``(B, nh, T, T)``, CLS first.
        grid: ``(Gh, Gw)``.

    Returns:
        ``(nh, Gh, Gw)`` for the first image; each head's map sums to 1 − (CLS→CLS weight).
    """
    Gh, Gw = grid
    return attn[0, :, 0, 1:].reshape(-1, Gh, Gw)  # (nh, Gh, Gw)


def display_downsample(matrix: torch.Tensor, max_rows: int, max_cols: int) -> tuple[torch.Tensor, int, int]:
    """Average blocks of a 2-D matrix so it fits ``max_rows × max_cols`` for display.

    Returns:
        The (possibly) smaller matrix and the row and column block sizes (1 = untouched).
    """
    rows, cols = matrix.shape
    r_step, c_step = -(-rows // max_rows), -(-cols // max_cols)  # ceil division
    if r_step == c_step == 1:
        return matrix, 1, 1
    pooled = torch.nn.functional.avg_pool2d(
        matrix[None, None].float(), kernel_size=(r_step, c_step), stride=(r_step, c_step), ceil_mode=True
    )  # (1, 1, ⌈rows/r⌉, ⌈cols/c⌉)
    return pooled[0, 0], r_step, c_step


def with_mean(maps: torch.Tensor) -> torch.Tensor:
    """``(K, Gh, Gw)`` maps → ``(K + 1, Gh, Gw)`` with their mean appended."""
    return torch.cat([maps, maps.mean(dim=0, keepdim=True)])  # (K + 1, Gh, Gw)
