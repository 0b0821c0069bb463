"""Maths on a forward :class:`~vizlib.model.Trace`: predictions, PCA colours, attention maps.

Shape legend: B batch, N patch tokens, T = N + 1 with CLS, D embedding dim, nh heads, K classes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import nn

from .model import split_flatten_linear


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


@dataclass(frozen=True)
class PatchStep:
    """One stride step of the patch-embedding Conv2d, computed as a plain matrix product."""

    r: int  # grid row of the window
    c: int  # grid column of the window
    window: torch.Tensor  # (C, P, P) the normalised pixels under the kernel
    flat: torch.Tensor  # (C·P·P,) the window flattened in (channel, row, column) order
    output: torch.Tensor  # (D,) y = W · flat + b, the 1×1×D vector this step writes


def patch_step(inputs: torch.Tensor, conv: nn.Conv2d, k: int) -> PatchStep:
    """Step ``k`` (row-major) of the Conv2d with kernel = stride = P on the first image.

    Args:
        inputs: the normalised images ``(B, C, H, W)`` the model was given.
        conv: the patch-embedding Conv2d.
        k: the step, 0-based, in the order the kernel visits the windows.

    Returns:
        The window, its flattened pixels and ``W.reshape(D, -1) @ flat + b``.
    """
    P = conv.kernel_size[0]
    Gw = inputs.shape[-1] // P
    r, c = divmod(k, Gw)
    window = inputs[0, :, r * P : (r + 1) * P, c * P : (c + 1) * P]  # (C, P, P)
    flat = window.reshape(-1)  # (C·P·P,)
    weight = conv.weight.detach().to(inputs.device).reshape(conv.out_channels, -1)  # (D, C·P·P)
    output = weight @ flat + conv.bias.detach().to(inputs.device)  # (D,)
    return PatchStep(r, c, window, flat, output)


def step_difference(step: PatchStep, patch_grid: torch.Tensor) -> float:
    """max |y − patch_grid[0, :, r, c]|: the step's dot products against the Conv2d's output."""
    return float((step.output - patch_grid[0, :, step.r, step.c].to(step.output.device)).abs().max())


@dataclass(frozen=True)
class Proof:
    """Conv2d against split + flatten + Linear on the same images and weights."""

    max_abs_diff: float  # max |conv(x) − linear(split(x))| over every output value
    conv_ms: float  # median time of the Conv2d
    linear_ms: float  # median time of split + flatten + Linear
    values: int  # how many output values were compared


def conv_vs_linear(inputs: torch.Tensor, conv: nn.Conv2d, repeats: int = 5) -> Proof:
    """Run the patch embedding both ways and compare (the same code the tests use)."""
    conv_times, linear_times = [], []
    with torch.inference_mode():
        for _ in range(repeats):
            start = time.perf_counter()
            by_conv = conv(inputs)  # (B, D, Gh, Gw)
            conv_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            by_linear = split_flatten_linear(inputs, conv)  # (B, D, Gh, Gw)
            linear_times.append(time.perf_counter() - start)
    diff = float((by_conv - by_linear).abs().max())
    return Proof(diff, _median(conv_times) * 1e3, _median(linear_times) * 1e3, by_conv.numel())


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def sequence_for_display(
    patch_tokens: torch.Tensor, cls_token: torch.Tensor, pos_embed: torch.Tensor, max_rows: int, max_cols: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Patch tokens ``(N, D)``, CLS ``(D,)`` and position embeddings ``(N+1, D)`` reduced alike.

    Patch rows (of the tokens and of the position embeddings) are block-averaged with the same
    step and the CLS row is kept apart, so that row i + 1 of the position matrix still belongs
    to row i of the tokens.

    Returns:
        ``(n, d)``, ``(d,)``, ``(n + 1, d)`` with n ≤ max_rows and d ≤ max_cols.
    """
    tokens, _, _ = display_downsample(patch_tokens, max_rows, max_cols)  # (n, d)
    pos_patches, _, _ = display_downsample(pos_embed[1:], max_rows, max_cols)  # (n, d)
    cls_rows, _, _ = display_downsample(torch.stack([cls_token, pos_embed[0]]), 2, max_cols)  # (2, d)
    return tokens, cls_rows[0], torch.cat([cls_rows[1:], pos_patches])  # (n, d), (d,), (n + 1, d)
