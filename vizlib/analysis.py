"""Maths on a forward :class:`~vizlib.model.Trace`: predictions, PCA colours, attention maps.

Shape legend: B batch, N patch tokens, S prefix tokens (CLS, DeiT's DIST, registers), T = S + N,
D embedding dim, nh heads, K classes. The patches are always the last N tokens, so a map over the grid
is ``[..., -N:]`` whatever the prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from . import timing
from .device import synchronize
from .model import split_flatten_linear
from .timing import Timing


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
    scores, _ = pca_scores(vectors, 3)  # (N, k)
    scores = scores * _sign_fix(scores)  # (N, k) a deterministic sign per component
    return unit_colours(scores).reshape(Gh, Gw, 3).float()  # (Gh, Gw, 3)


def pca_scores(vectors: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Each vector's coordinates on the top ``k`` principal directions of the set, and how much
    of the set's variance each direction carries.

    Args:
        vectors: ``(n, d)`` float64, one row per sample (they are centred here).
        k: how many components.

    Returns:
        ``(n, k′)`` scores (``(x − mean) · v_j``; each column's sign is arbitrary) and ``(k′,)`` the
        share of the total variance of each component, k′ = min(k, n, d).
    """
    centred = vectors - vectors.mean(dim=0, keepdim=True)  # (n, d)
    scores = centred @ principal_directions(centred, k).T  # (n, k′)
    total = centred.square().sum().clamp(min=1e-300)
    return scores, scores.square().sum(dim=0) / total  # (n, k′), (k′,)


def unit_colours(scores: torch.Tensor) -> torch.Tensor:
    """``(n, k′)`` component scores → ``(n, 3)`` colours in [0, 1]: column j is channel j, scaled
    by its 2nd–98th percentile range (values beyond it clipped); channels past k′ are 0.5."""
    k = scores.shape[1]
    lo, hi = torch.quantile(scores, 0.02, dim=0), torch.quantile(scores, 0.98, dim=0)  # (k′,)
    span = torch.where(hi - lo > 1e-12, hi - lo, torch.ones_like(hi))  # (k′,)
    colours = torch.full((scores.shape[0], 3), 0.5, dtype=scores.dtype)  # (n, 3)
    colours[:, :k] = ((scores - lo) / span).clamp(0, 1)
    return colours  # (n, 3)


def principal_directions(centred: torch.Tensor, k: int) -> torch.Tensor:
    """The top ``k`` right singular vectors of a centred data matrix, from the smaller Gram matrix.

    Equal (up to sign) to ``torch.linalg.svd(centred).Vh[:k]`` but an eigendecomposition of the
    ``min(n, d)``-sided Gram matrix: ``XᵀX`` (d × d) when d ≤ n, else ``XXᵀ`` (n × n) with
    ``v = Xᵀu / σ``. For a 196 × 384 grid of vectors that is a 196 × 196 ``eigh`` instead of an SVD.

    Args:
        centred: ``(n, d)`` float64, columns centred.
        k: how many directions.

    Returns:
        ``(k′, d)`` orthonormal rows by decreasing singular value, k′ = min(k, n, d). Directions
        of a (numerically) zero singular value (σ ≤ 1e-6·σmax) come from an orthonormal completion.
    """
    n, d = centred.shape
    k = min(k, n, d)
    if d <= n:
        _, vectors = torch.linalg.eigh(centred.T @ centred)  # (d, d) ascending eigenvalues
        return vectors[:, -k:].flip(1).T.contiguous() if k else vectors[:, :0].T  # (k, d)
    values, left = torch.linalg.eigh(centred @ centred.T)  # (n,), (n, n) ascending
    values, left = values.flip(0)[:k], left.flip(1)[:, :k]  # (k,), (n, k)
    sigma = values.clamp(min=0).sqrt()  # (k,)
    tiny = sigma <= sigma.max().clamp(min=1e-300) * 1e-6  # (k,) a Gram matrix squares the noise: σ below 1e-6·σmax is 0
    right = (centred.T @ left) / torch.where(tiny, torch.ones_like(sigma), sigma)  # (d, k)
    if tiny.any():  # no direction to read off a zero singular value: complete the basis
        basis, _ = torch.linalg.qr(torch.cat([right[:, ~tiny], torch.eye(d, dtype=centred.dtype)], dim=1))  # (d, d)
        right[:, tiny] = basis[:, int((~tiny).sum()) : int((~tiny).sum()) + int(tiny.sum())]
    return right.T.contiguous()  # (k, d)


def _sign_fix(scores: torch.Tensor) -> torch.Tensor:
    """+1 or −1 per column so that the largest-magnitude score is positive (SVD signs are arbitrary)."""
    idx = scores.abs().argmax(dim=0)  # (k,)
    return torch.sign(scores[idx, torch.arange(scores.shape[1])]).clamp(min=0) * 2 - 1  # (k,)


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


def with_mean_heads(maps: torch.Tensor) -> torch.Tensor:
    """``(depth, nh, Gh, Gw)`` maps → ``(depth, nh + 1, Gh, Gw)`` with each block's mean over heads appended."""
    return torch.cat([maps, maps.mean(dim=1, keepdim=True)], dim=1)  # (depth, nh + 1, Gh, Gw)


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
    values: int  # how many output values were compared
    conv: Timing  # warm Conv2d calls: median and middle half, ms
    linear: Timing  # warm split + flatten + Linear calls, likewise

    @property
    def conv_ms(self) -> float:
        return self.conv.median_ms

    @property
    def linear_ms(self) -> float:
        return self.linear.median_ms

    @property
    def runs(self) -> int:
        """How many timed calls each median is taken over (after warm-up calls, not timed)."""
        return min(self.conv.runs, self.linear.runs)


def conv_vs_linear(inputs: torch.Tensor, conv: nn.Conv2d, min_run_time: float = 0.05, min_runs: int = 25,
                   warmup: int = 3, threads: int | None = 1) -> Proof:  # fmt: skip
    """Run the patch embedding both ways and compare (the same code the tests use).

    ``inputs`` (B, 3, H, W). Each way is timed by :func:`timing.warm_median`: ``warmup`` calls first
    (the first call of a shape pays for its kernels' set-up, often many times a warm call), then at
    least ``min_runs`` timed calls and more for up to ``min_run_time`` seconds, the device
    synchronised after each; the medians and middle halves are in milliseconds. On the CPU both
    run on ``threads`` threads (None: torch's setting): with more, a busy machine made the Conv2d
    wait for its second thread (15 ms instead of 0.1 here) while the Linear did not.
    """
    sync = partial(synchronize, inputs.device.type)
    with torch.inference_mode(), timing.cpu_threads(threads if inputs.device.type == "cpu" else None):
        by_conv = conv(inputs)  # (B, D, Gh, Gw)
        by_linear = split_flatten_linear(inputs, conv)  # (B, D, Gh, Gw)
        times = {
            name: timing.warm_median(call, warmup, min_runs, max(min_runs, 200), min_run_time, sync)
            for name, call in (("conv", lambda: conv(inputs)), ("linear", lambda: split_flatten_linear(inputs, conv)))
        }
    diff = float((by_conv - by_linear).abs().max())
    return Proof(diff, by_conv.numel(), times["conv"], times["linear"])


def sequence_for_display(
    patch_tokens: torch.Tensor,
    prefix_tokens: torch.Tensor,
    pos_embed: torch.Tensor,
    max_rows: int,
    max_cols: int,
    num_prefix: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Patch tokens ``(N, D)``, prefix tokens ``(S, D)`` (or CLS alone ``(D,)``) and position
    embeddings ``(E, D)`` reduced alike, with the position rows laid out as the sequence's.

    ``num_prefix`` (default S) of the prefix tokens carry a position embedding (CLS, DeiT's DIST);
    the others (registers) get a row of NaN. Patch rows (of the tokens and of the position
    embeddings) are block-averaged with the same step and the prefix rows are kept apart, so that
    row S + i of the position matrix still belongs to row i of the tokens.

    Returns:
        ``(n, d)``, ``(S, d)``, ``(S + n, d)`` with n ≤ max_rows and d ≤ max_cols.
    """
    prefix = prefix_tokens.reshape(-1, prefix_tokens.shape[-1])  # (S, D)
    S = prefix.shape[0]
    carried = S if num_prefix is None else num_prefix
    tokens, _, _ = display_downsample(patch_tokens, max_rows, max_cols)  # (n, d)
    pos_patches, _, _ = display_downsample(pos_embed[carried:], max_rows, max_cols)  # (n, d)
    rows, _, _ = display_downsample(torch.cat([prefix, pos_embed[:carried]]), S + carried, max_cols)  # (S + s, d)
    pos_prefix = torch.full((S, rows.shape[1]), float("nan"))  # (S, d) registers: no position embedding
    pos_prefix[:carried] = rows[S:]
    return tokens, rows[:S], torch.cat([pos_prefix, pos_patches])  # (n, d), (S, d), (S + n, d)


# ---------------------------------------------------------------- attention analysis (ViT paper, Fig. 6 and 7)


def attention_rollout(
    attentions: list[torch.Tensor], head_fusion: str = "mean", discard_ratio: float = 0.0
) -> torch.Tensor:
    """Attention rollout (Abnar & Zuidema 2020): how much each token draws on each input token.

    Each block's heads are fused (mean, max or min); optionally the lowest ``discard_ratio`` of
    the fused weights are set to 0 (CLS's own column kept, as jacobgil/vit-explain does); then
    ``Ã = 0.5·A + 0.5·I`` accounts for the residual connection, its rows are renormalised, and the
    blocks are multiplied through: ``Ã_L ··· Ã_1``.

    Args:
        attentions: per block ``(B, nh, T, T)``, CLS first (``Trace.attentions``).
        head_fusion: ``mean``, ``max`` or ``min`` over heads.
        discard_ratio: share in [0, 1) of the smallest fused weights per row set to zero.

    Returns:
        ``(B, T, T)``: row i is how much token i at the output draws on each input token.
    """
    if head_fusion not in ("mean", "max", "min"):
        raise ValueError(f"head fusion {head_fusion!r} must be mean, max or min")
    if not 0.0 <= discard_ratio < 1.0:
        raise ValueError(f"discard ratio {discard_ratio} must be in [0, 1)")
    B, _, T, _ = attentions[0].shape
    eye = torch.eye(T, dtype=attentions[0].dtype, device=attentions[0].device)  # (T, T)
    result = eye.expand(B, T, T)  # (B, T, T)
    for attn in attentions:
        fused = getattr(attn, head_fusion)(dim=1)  # (B, T, T)
        fused = fused if head_fusion == "mean" else fused.values
        if discard_ratio > 0:
            fused = _discard_lowest(fused, discard_ratio)  # (B, T, T)
        a = 0.5 * fused + 0.5 * eye  # (B, T, T)
        a = a / a.sum(dim=-1, keepdim=True)  # (B, T, T) rows sum to 1
        result = a @ result  # (B, T, T)
    return result


def _discard_lowest(fused: torch.Tensor, ratio: float) -> torch.Tensor:
    """Zero the ``ratio`` smallest weights of each row, never the CLS column."""
    T = fused.shape[-1]
    k = int(T * ratio)
    if k == 0:
        return fused
    lowest = fused.topk(k, dim=-1, largest=False).indices  # (B, T, k)
    mask = torch.zeros_like(fused, dtype=torch.bool).scatter_(-1, lowest, True)  # (B, T, T)
    mask[..., 0] = False  # keep CLS
    return fused.masked_fill(mask, 0.0)


def patch_centres(grid: tuple[int, int], patch_size: int) -> torch.Tensor:
    """Pixel centre (y, x) of every patch, row-major: ``(N, 2)``."""
    Gh, Gw = grid
    rows, cols = torch.meshgrid(torch.arange(Gh), torch.arange(Gw), indexing="ij")  # (Gh, Gw) each
    return (torch.stack([rows, cols], dim=-1).reshape(-1, 2).double() + 0.5) * patch_size  # (N, 2)


def mean_attention_distance(attentions: list[torch.Tensor], grid: tuple[int, int], patch_size: int) -> torch.Tensor:
    """Mean attention distance per block and head (the ViT paper's Fig. 7 right, in pixels).

    The authors' definition (google-research/vision_transformer#162): drop the CLS row and column
    (here every prefix token's: CLS, DIST, registers), weight the pixel distance between patch
    centres by the attention, sum over the patch keys and average over the patch queries (and
    images). The weights are *not* renormalised after the prefix is dropped, so a head that sends
    most of its attention to CLS (or to a register) has a short distance.

    Args:
        attentions: per block ``(B, nh, T, T)``, prefix tokens first, then the Gh·Gw patches.
        grid: ``(Gh, Gw)``.
        patch_size: P in pixels.

    Returns:
        ``(depth, heads)`` in pixels.
    """
    centres = patch_centres(grid, patch_size)  # (N, 2)
    distance = torch.cdist(centres, centres)  # (N, N) pixels
    per_block = []
    for attn in attentions:
        patches = attn[:, :, -len(centres) :, -len(centres) :].double()  # (B, nh, N, N) patch queries × keys
        per_query = (patches * distance).sum(dim=-1)  # (B, nh, N)
        per_block.append(per_query.mean(dim=(0, 2)))  # (nh,)
    return torch.stack(per_block).float()  # (depth, nh)


def pos_embed_similarity(pos_embed: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """Cosine similarity of every patch's position embedding with every other (Fig. 7 centre).

    Args:
        pos_embed: ``(1, E, D)`` as the model holds it: CLS (and DIST) first, the N patches last.
        grid: ``(Gh, Gw)``.

    Returns:
        ``(Gh, Gw, Gh, Gw)``: entry ``[i, j, k, l]`` compares patch (i, j) with patch (k, l).
    """
    Gh, Gw = grid
    patches = torch.nn.functional.normalize(pos_embed[0, -Gh * Gw :].double(), dim=-1)  # (N, D) unit rows
    return (patches @ patches.T).reshape(Gh, Gw, Gh, Gw).float()  # (Gh, Gw, Gh, Gw)


def filter_components(weight: torch.Tensor, k: int = 28) -> torch.Tensor:
    """Top principal components of the patch-embedding filters (Fig. 7 left).

    Args:
        weight: the Conv2d weight ``(D, C, P, P)``: D filters of C·P·P numbers.
        k: how many components.

    Returns:
        ``(k′, C, P, P)``, k′ = min(k, D, C·P·P), each component scaled to [0, 1] for display.
    """
    D, C, P, _ = weight.shape
    filters = weight.reshape(D, -1).double()  # (D, C·P·P)
    centred = filters - filters.mean(dim=0, keepdim=True)  # (D, C·P·P)
    comps = principal_directions(centred, k)  # (k′, C·P·P)
    comps = comps * _sign_fix(comps.T)[:, None]  # (k′, C·P·P) deterministic signs
    lo, hi = comps.min(dim=1, keepdim=True).values, comps.max(dim=1, keepdim=True).values  # (k′, 1)
    return ((comps - lo) / (hi - lo).clamp(min=1e-12)).reshape(-1, C, P, P).float()  # (k′, C, P, P)


def query_maps(attention_rows: list[torch.Tensor], rows: list[int], query: int, grid: tuple[int, int]) -> torch.Tensor:
    """Attention of one query (0 = CLS, S + r·Gw + c = patch (r, c)) to every patch, per block and head.

    Args:
        attention_rows: ``Trace.attention_rows``, per block ``(B, nh, R, T)``.
        rows: ``Trace.rows``, the query index of each of the R rows.
        query: which query.
        grid: ``(Gh, Gw)``.

    Returns:
        ``(depth, nh, Gh, Gw)`` for the first image (the query's weight on the prefix tokens left out).
    """
    if query not in rows:
        raise ValueError(f"query {query} was not traced: the trace holds rows {rows}")
    i = rows.index(query)
    Gh, Gw = grid
    return torch.stack([a[0, :, i, -Gh * Gw :].reshape(-1, Gh, Gw) for a in attention_rows])  # (depth, nh, Gh, Gw)


def pick_head(per_head: torch.Tensor, head: int | str) -> torch.Tensor:
    """One head of a ``(nh, ...)`` tensor, or their mean when ``head == "mean"``."""
    return per_head.mean(dim=0) if head == "mean" else per_head[head]


def rollout_map(rollout: torch.Tensor, query: int, grid: tuple[int, int]) -> torch.Tensor:
    """Row ``query`` of a ``(B, T, T)`` rollout (first image) over the patches (the last Gh·Gw
    tokens), as ``(Gh, Gw)``."""
    return rollout[0, query, -grid[0] * grid[1] :].reshape(grid)  # (Gh, Gw)


def token_patch(
    trace_inputs: torch.Tensor, patch_grid: torch.Tensor, r: int, c: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Patch (r, c) of the first image: its normalised pixels ``(C, P, P)`` and its vector ``(D,)``."""
    P = trace_inputs.shape[-1] // patch_grid.shape[-1]
    window = trace_inputs[0, :, r * P : (r + 1) * P, c * P : (c + 1) * P]  # (C, P, P)
    return window, patch_grid[0, :, r, c]  # (C, P, P), (D,)


# ---------------------------------------------------------------- inside the encoder


@dataclass(frozen=True)
class AttentionStep:
    """One head's attention for one query token, every number of it (hs = D / nh, the head size).

    ``weights`` equals row ``query`` of that head's attention matrix; ``out`` is that head's slice
    of the attention output before ``proj`` (Vaswani et al. 2017, eq. 1; the ViT's MSA, eq. 2–3 of
    Dosovitskiy et al. 2020)."""

    block: int  # 0-based
    head: int  # 0-based
    query: int  # token index: 0 = CLS, S + r·Gw + c = patch (r, c)
    x: torch.Tensor  # (T, D) the block's input after norm1, one row per token
    q: torch.Tensor  # (hs,) the query token's query vector
    k: torch.Tensor  # (T, hs) every token's key
    v: torch.Tensor  # (T, hs) every token's value
    scores: torch.Tensor  # (T,) q·k / √hs
    weights: torch.Tensor  # (T,) softmax(scores), sums to 1
    out: torch.Tensor  # (hs,) weights @ v


def block_input(trace, block: int) -> torch.Tensor:
    """The tokens that enter ``block`` (0-based), first image: ``trace.tokens`` for the first
    block, else the previous block's output. Shape (T, D)."""
    return (trace.tokens if block == 0 else trace.hidden_states[block - 1])[0]


def attention_step(model, trace, block: int, head: int, query: int) -> AttentionStep:
    """The arithmetic of one head for one query, recomputed from the block's input in ``trace``.

    Needs no T×T matrix, so it works beyond ``FULL_ATTENTION_MAX`` tokens too. Indices are
    0-based; an index out of range raises IndexError. Runs on the model's device, returns CPU
    tensors.
    """
    depth, nh = len(model.blocks), model.cfg.num_heads
    T = trace.tokens.shape[1]
    if not (0 <= block < depth and 0 <= head < nh and 0 <= query < T):
        raise IndexError(f"block {block}, head {head}, query {query} outside {depth} blocks, {nh} heads, {T} tokens")
    blk = model.blocks[block]
    device = next(model.parameters()).device
    with torch.inference_mode():
        x = blk.norm1(block_input(trace, block).to(device))  # (T, D)
        D = x.shape[1]
        hs = D // nh
        qkv = blk.attn.qkv(x).reshape(T, 3, nh, hs)  # (T, 3, nh, hs): query, key, value of every head
        q, k, v = qkv[query, 0, head], qkv[:, 1, head], qkv[:, 2, head]  # (hs,), (T, hs), (T, hs)
        scores = (k @ q) * hs**-0.5  # (T,)
        weights = scores.softmax(dim=-1)  # (T,)
        out = weights @ v  # (hs,)
    cpu = [t.cpu() for t in (x, q, k, v, scores, weights, out)]
    return AttentionStep(block, head, query, *cpu)


def logit_lens(model, trace) -> torch.Tensor:
    """The CLS token (DeiT: CLS and DIST, both heads averaged) after the embedding and after each
    block, read through the final LayerNorm and the head, as class probabilities: (depth + 1, K),
    first image. The last row equals ``softmax(trace.logits)``. (nostalgebraist 2020, "interpreting
    GPT: the logit lens"; the same read-out applied to ViT by ViT-Explainer.) Raises ValueError for
    a model without a head."""
    if model.cfg.num_classes == 0:
        raise ValueError("the logit lens needs a classification head; this model has none")
    device = next(model.parameters()).device
    S = model.cfg.num_prefix_tokens
    prefix = torch.stack([trace.tokens[0, :S], *(h[0, :S] for h in trace.hidden_states)])  # (depth + 1, S, D)
    with torch.inference_mode():
        logits = model.forward_head(model.norm(prefix.to(device)))  # (depth + 1, K)
    return logits.softmax(dim=-1).cpu()  # (depth + 1, K)


def gae_relevance(model, x: torch.Tensor, target: int | None = None) -> torch.Tensor:
    """Class-specific relevance of each patch, (Gh, Gw), first image of ``x`` (B, C, H, W).

    Chefer, Gur & Wolf, ICCV 2021, "Generic Attention-model Explainability for Interpreting
    Bi-Modal and Encoder-Decoder Transformers" (arXiv 2103.15679), rule 5–6 for self-attention:
    ``R = I`` (T × T); for each block in order ``Ā = mean_heads((∂y_t/∂A ⊙ A).clamp(min=0))`` and
    ``R = R + Ā @ R``; the map is ``R[0, -N:]`` (CLS's row, the patches) on the grid. ``target`` is
    a class index (default: the predicted class). The gradients flow through the attention
    tensors ``forward_trace`` returns (no hooks); autograd is on only inside this function.
    Needs the full T×T attention (T ≤ ``FULL_ATTENTION_MAX``), else ValueError.
    """
    Gh, Gw = model.cfg.grid
    device = next(model.parameters()).device
    with torch.enable_grad():
        trace = model.forward_trace(x[:1].to(device))
        if trace.attentions is None:
            raise ValueError(f"relevance needs every attention matrix; {model.cfg.num_tokens} tokens are too many")
        for attention in trace.attentions:
            attention.retain_grad()
        logits = trace.logits[0]  # (K,)
        cls = int(logits.argmax()) if target is None else int(target)
        logits[cls].backward()
        T = trace.tokens.shape[1]
        relevance = torch.eye(T, device=device)  # (T, T)
        for attention in trace.attentions:
            weighted = (attention.grad * attention)[0].clamp(min=0).mean(dim=0)  # (T, T) Ā
            relevance = relevance + weighted @ relevance  # (T, T)
    model.zero_grad(set_to_none=True)
    return relevance[0, -Gh * Gw :].detach().reshape(Gh, Gw).cpu()  # (Gh, Gw)


def deletion_curve(model, x: torch.Tensor, order: torch.Tensor, fractions: torch.Tensor) -> torch.Tensor:
    """The probability of the class predicted on the whole picture as patches are deleted.

    Chefer, Gur & Wolf, CVPR 2021 ("Transformer Interpretability Beyond Attention Visualization",
    the positive perturbation test), in patches: for each fraction f, the first ⌊f·N⌋ patches of
    ``order`` (flat indices r·Gw + c, most relevant first) are set to 0 in the normalised input —
    the dataset's mean colour — and the model runs again. ``x`` (1, C, H, W); returns
    (len(fractions),). A good map's curve falls fast: its area (``deletion_auc``) is small.
    """
    P = model.cfg.patch_size
    Gh, Gw = model.cfg.grid
    N = Gh * Gw
    device = next(model.parameters()).device
    x = x[:1].to(device)  # (1, C, H, W)
    keep = torch.ones(len(fractions), N, device=device)  # (F, N) 1 = patch kept
    for i, fraction in enumerate(fractions.tolist()):
        keep[i, order[: int(fraction * N)]] = 0.0
    mask = keep.reshape(-1, 1, Gh, Gw).repeat_interleave(P, dim=2).repeat_interleave(P, dim=3)  # (F, 1, H, W)
    with torch.inference_mode():
        predicted = int(model(x)[0].argmax())
        probs = model(x * mask).softmax(dim=-1)[:, predicted]  # (F,)
    return probs.cpu()


def deletion_orders(trace, relevance: torch.Tensor, seed: int = 0) -> dict[str, torch.Tensor]:
    """The patch orders the deletion test compares, most relevant first, flat indices (N,):
    ``gae`` (``relevance`` (Gh, Gw), from ``gae_relevance``), ``rollout`` (mean of heads, CLS's
    row), ``last_cls`` (the last block's CLS attention, heads averaged) and ``random`` (``seed``).
    Needs the full attention matrices of ``trace``."""
    N = relevance.numel()
    maps = {
        "gae": relevance.flatten(),  # (N,)
        "rollout": attention_rollout(trace.attentions, "mean", 0.0)[0, 0, -N:],  # (N,)
        "last_cls": trace.attentions[-1][0, :, 0, -N:].mean(0),  # (N,)
    }
    orders = {name: values.argsort(descending=True) for name, values in maps.items()}
    orders["random"] = torch.randperm(len(maps["gae"]), generator=torch.Generator().manual_seed(seed))
    return orders


def deletion_auc(fractions: torch.Tensor, curve: torch.Tensor) -> float:
    """Area under a deletion curve over fractions 0 … 1 (trapezoids)."""
    return float(torch.trapezoid(curve, fractions))


def token_norms(trace) -> torch.Tensor:
    """‖h‖ (L2) of every token after the embedding and after each block, first image:
    (depth + 1, T), prefix tokens first (CLS at 0). Darcet et al. 2024 ("Vision Transformers Need
    Registers", ICLR) found that large ViTs turn a few background patches into tokens with about
    ten times the others' norm; this is where they show."""
    states = torch.stack([trace.tokens[0], *(h[0] for h in trace.hidden_states)])  # (depth + 1, T, D)
    return states.float().norm(dim=-1)  # (depth + 1, T)


# ---------------------------------------------------------------- what the tokens become (DINOv2, Fig. 1)


def patch_tokens_after(trace, block: int) -> torch.Tensor:
    """The N patch tokens of the first image after ``block``: 0 = the embedding (``trace.tokens``),
    k = block k's output (``trace.hidden_states[k − 1]``); the prefix tokens (CLS, DIST, registers)
    dropped. Shape (N, D). Raises IndexError for a block outside 0 … depth."""
    depth = len(trace.hidden_states)
    if not 0 <= block <= depth:
        raise IndexError(f"block {block} outside 0 (the embedding) … {depth} (the last block)")
    return block_input(trace, block)[trace.num_prefix_tokens :]  # (N, D)


@dataclass(frozen=True)
class TokenPCA:
    """Patch tokens in the colours of their principal components, the background optionally hidden
    (Oquab et al. 2023, "DINOv2", arXiv 2304.07193, Fig. 1 and Sec. 7.4)."""

    rgb: torch.Tensor  # (Gh, Gw, 3) in [0, 1]: components 1, 2, 3 as red, green, blue; hidden patches black
    first: torch.Tensor  # (Gh, Gw) the first component of all N patches in standard deviations, foreground side > 0
    foreground: torch.Tensor  # (Gh, Gw) bool: the patches coloured (every patch unless the background is hidden)
    explained: torch.Tensor  # (k′,) share of the coloured patches' variance on each colour's component


def token_pca(trace, block: int, hide_background: bool = False, threshold: float = 0.0,
              flip: bool = False) -> TokenPCA:  # fmt: skip
    """:func:`token_pca_rgb` of the patch tokens after ``block`` (0 = the embedding … depth), first
    image, on the grid ``trace.patch_grid.shape[-2:]``. Works at any T: every block's output is kept."""
    grid = tuple(trace.patch_grid.shape[-2:])
    return token_pca_rgb(patch_tokens_after(trace, block), grid, hide_background, threshold, flip)


def token_pca_rgb(tokens: torch.Tensor, grid: tuple[int, int], hide_background: bool = False,
                  threshold: float = 0.0, flip: bool = False) -> TokenPCA:  # fmt: skip
    """Colour N tokens by their first three principal components, as DINOv2's Fig. 1 does.

    Without ``hide_background``: one PCA of the N tokens (centred), components 1–3 as red, green,
    blue, each scaled by its 2nd–98th percentile range (``unit_colours``).

    With ``hide_background``, the paper's recipe (Sec. 7.4, Fig. 1 and 9): the first component z (in
    standard deviations of the N scores) separates foreground from background; patches with
    z ≤ ``threshold`` are hidden (black), and a second PCA of the kept patches alone gives their
    three colours. The paper removes the patches with a negative score (``threshold`` 0: at or
    below the mean token).

    The sign of a principal component is arbitrary (``v`` and ``−v`` are both eigenvectors), and the
    mask depends on it: DINOv2's own users met the foreground coming out reversed (dinov2 issue
    #292). The sign is fixed by where a photograph's background is: along its top and its sides.
    The first component is turned so that the patches of the grid's top row and its left and right
    columns score lower on average than all the others: the subject is then the side kept,
    whatever its size. The bottom row is not taken for background because subjects stand on it or
    are cut by it (a table, the ground, a body cut at the chest). Two other rules fail on the
    sample photos with DINOv2 ViT-S/14 at 448 px (blocks 10–12), where this one keeps the subject
    of all four: "the foreground is the smaller side" keeps the background of the astronaut and
    of the cat, whose subjects fill over half the frame; the whole outer ring keeps the sky around
    the rocket, whose launch pad fills the bottom row. A grid with fewer than 2 rows or 3 columns
    has no inner patches and falls back to "the largest score is positive". A subject that fills
    the frame, or a picture with no subject, can still defeat the rule: ``flip`` turns the sign by
    hand.
    Components 2 and 3 (and all three of the second PCA) take the largest-score-positive sign.

    Args:
        tokens: ``(N, D)`` patch tokens, row-major over the grid.
        grid: ``(Gh, Gw)`` with Gh·Gw = N.
        hide_background: hide the patches on the background side of the first component.
        threshold: the cut on the first component, in standard deviations.
        flip: turn the first component's sign after the rule above.

    Returns:
        A :class:`TokenPCA`.
    """
    Gh, Gw = grid
    vectors = tokens.detach().cpu().double()  # (N, D)
    assert vectors.shape[0] == Gh * Gw, f"{vectors.shape[0]} tokens for a {Gh}×{Gw} grid"
    scores, explained = pca_scores(vectors, 3)  # (N, k), (k,)
    sign = _foreground_sign(scores[:, 0], grid) * (-1 if flip else 1)
    scores[:, 0] *= sign
    scores[:, 1:] *= _sign_fix(scores[:, 1:])  # (N, k − 1)
    first = scores[:, 0] / scores[:, 0].std(correction=0).clamp(min=1e-12)  # (N,) in standard deviations
    keep = first > threshold if hide_background else torch.ones_like(first, dtype=torch.bool)  # (N,)
    colours = torch.zeros(Gh * Gw, 3, dtype=torch.float64)  # (N, 3) hidden patches stay black
    if hide_background and int(keep.sum()) < 2:  # no second PCA of one patch: it is grey
        colours[keep], explained = 0.5, explained[:0]
    elif hide_background:
        kept_scores, explained = pca_scores(vectors[keep], 3)  # (n, k′), (k′,)
        colours[keep] = unit_colours(kept_scores * _sign_fix(kept_scores))  # (n, 3)
    else:
        colours = unit_colours(scores)  # (N, 3)
    return TokenPCA(colours.reshape(Gh, Gw, 3).float(), first.reshape(Gh, Gw).float(), keep.reshape(Gh, Gw),
                    explained.float())  # fmt: skip


def _foreground_sign(first: torch.Tensor, grid: tuple[int, int]) -> int:
    """+1 or −1: the sign that makes the grid's top row and left and right columns (the
    background's usual place) score lower on average than the other patches (``first`` (N,)
    row-major); with no other patches (Gh < 2 or Gw < 3), the largest score positive."""
    Gh, Gw = grid
    if Gh < 2 or Gw < 3:
        return int(_sign_fix(first[:, None])[0])
    edge = background_edge(grid)  # (Gh, Gw)
    values = first.reshape(Gh, Gw)  # (Gh, Gw)
    return 1 if float(values[~edge].mean()) >= float(values[edge].mean()) else -1


def background_edge(grid: tuple[int, int]) -> torch.Tensor:
    """``(Gh, Gw)`` bool: the top row and the left and right columns of the grid, where
    ``token_pca_rgb`` expects the background."""
    edge = torch.zeros(grid, dtype=torch.bool)  # (Gh, Gw)
    edge[0], edge[:, 0], edge[:, -1] = True, True, True
    return edge
