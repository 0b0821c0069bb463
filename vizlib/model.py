"""A Vision Transformer whose patch embedding is one Conv2d, returning every tensor it makes.

Follows Dosovitskiy et al. 2020 (arXiv 2010.11929) with timm's parameter names and pre-norm
blocks. Attention is computed by hand, ``softmax(q @ kᵀ · scale)``, so its weights can be
returned; :meth:`VisionTransformer.forward_trace` hands them back in a :class:`Trace`.

Shape legend: B batch, C input channels, H, W image size, P patch size, Gh, Gw = H/P, W/P
patch grid, N = Gh·Gw patch tokens, S = ``num_prefix_tokens`` (CLS, then DeiT's DIST, then
registers), T = S + N tokens, E = ``embed_len`` position embeddings (CLS, DIST and patches; registers
have none), D embedding dim, nh heads, hs = D/nh head size, K classes.

Token order follows ``transformers``: DeiT ``[CLS, DIST, patches]`` (Touvron et al. 2021), DINOv2 with
registers ``[CLS, REG×r, patches]`` (Darcet et al. 2024), the registers inserted after the position
embeddings are added.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from .config import ViTConfig
from .errors import CodedError

FULL_ATTENTION_MAX = 1025  # largest T whose full T×T attention matrices a trace keeps (1,024 patches and CLS)
ATTENTION_CHUNK = 256  # queries per chunk when only some attention rows are kept


@dataclass
class Trace:
    """Every intermediate tensor of one forward pass; along the token axis the prefix tokens come
    first (CLS at 0), then the patches row-major."""

    inputs: torch.Tensor  # (B, C, H, W) the normalised images the model was given
    patch_grid: torch.Tensor  # (B, D, Gh, Gw) the Conv2d output: the grid of 1×1×D vectors
    patch_tokens: torch.Tensor  # (B, N, D) the grid flattened row-major
    tokens: torch.Tensor  # (B, T, D) after prepending the prefix tokens and adding position embeddings
    attentions: list[torch.Tensor] | None  # per block (B, nh, T, T), rows are queries, sum to 1; None when T is
    # over FULL_ATTENTION_MAX
    hidden_states: list[torch.Tensor]  # per block output (B, T, D)
    features: torch.Tensor  # (B, T, D) after the final LayerNorm
    logits: torch.Tensor  # (B, K), or (B, D) CLS features when the model has no head
    rows: list[int]  # the query indices of attention_rows (0 = CLS, S + r·Gw + c = patch (r, c))
    attention_rows: list[torch.Tensor]  # per block (B, nh, len(rows), T): those rows of each attention matrix
    num_prefix_tokens: int = 1  # S: tokens before the patches (CLS, DIST, registers)

    @property
    def nbytes(self) -> int:
        """Bytes held by the trace's tensors (a cache sizes itself by this)."""
        total = 0
        for value in self.__dict__.values():
            for tensor in value if isinstance(value, list) else [value]:
                if isinstance(tensor, torch.Tensor):
                    total += tensor.numel() * tensor.element_size()
        return total

    def to(self, device: str | torch.device) -> Trace:
        """The same trace with every tensor moved to ``device``."""

        def move(value):
            if isinstance(value, list):
                return [t.to(device) if isinstance(t, torch.Tensor) else t for t in value]
            return value.to(device) if isinstance(value, torch.Tensor) else value

        return Trace(**{f.name: move(getattr(self, f.name)) for f in fields(self)})


class PatchEmbed(nn.Module):
    """Split into P×P patches, flatten, project to D — as one Conv2d with kernel = stride = P."""

    def __init__(self, cfg: ViTConfig):
        super().__init__()
        P = cfg.patch_size
        self.proj = nn.Conv2d(cfg.in_chans, cfg.embed_dim, kernel_size=P, stride=P)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)  # (B, C, H, W) -> (B, D, Gh, Gw)


class Attention(nn.Module):
    """Multi-head self-attention with one fused qkv projection and explicit weights."""

    def __init__(self, cfg: ViTConfig):
        super().__init__()
        self.num_heads = cfg.num_heads
        self.scale = cfg.head_dim**-0.5
        self.qkv = nn.Linear(cfg.embed_dim, 3 * cfg.embed_dim)
        self.proj = nn.Linear(cfg.embed_dim, cfg.embed_dim)

    def forward(self, x: torch.Tensor, rows: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Self-attention of ``x`` (B, T, D).

        Returns:
            The output (B, T, D) and, when ``rows`` is None, every weight (B, nh, T, T); else only
            the weights of those query rows (B, nh, len(rows), T), computed chunk by chunk so
            that no T×T matrix is ever held.
        """
        B, T, D = x.shape  # batch, tokens, embedding dim
        nh = self.num_heads
        qkv = self.qkv(x).reshape(B, T, 3, nh, D // nh).permute(2, 0, 3, 1, 4)  # (3, B, nh, T, hs)
        q, k, v = qkv.unbind(0)  # each (B, nh, T, hs)
        if rows is not None:
            out, attn = self._chunked(q, k, v, rows)  # (B, nh, T, hs), (B, nh, R, T)
        else:
            attn = (q @ k.transpose(-2, -1)) * self.scale  # (B, nh, T, T)
            attn = attn.softmax(dim=-1)  # (B, nh, T, T) each query row sums to 1
            out = attn @ v  # (B, nh, T, hs)
        out = out.transpose(1, 2).reshape(B, T, D)  # (B, T, D) heads concatenated
        return self.proj(out), attn

    def _chunked(self, q, k, v, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Attention ATTENTION_CHUNK queries at a time, keeping the weights of ``rows`` only."""
        B, nh, T, hs = q.shape
        out = torch.empty_like(q)  # (B, nh, T, hs)
        kept = q.new_empty(B, nh, len(rows), T)  # (B, nh, R, T)
        for start in range(0, T, ATTENTION_CHUNK):
            stop = min(start + ATTENTION_CHUNK, T)
            weights = (q[:, :, start:stop] @ k.transpose(-2, -1)) * self.scale  # (B, nh, chunk, T)
            weights = weights.softmax(dim=-1)  # (B, nh, chunk, T)
            out[:, :, start:stop] = weights @ v  # (B, nh, chunk, hs)
            here = ((rows >= start) & (rows < stop)).nonzero().flatten()  # which requested rows are in this chunk
            kept[:, :, here] = weights[:, :, rows[here] - start]  # (B, nh, len(here), T)
        return out, kept


class Mlp(nn.Module):
    """Two Linear layers with an exact GELU between them."""

    def __init__(self, cfg: ViTConfig):
        super().__init__()
        self.fc1 = nn.Linear(cfg.embed_dim, cfg.mlp_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(cfg.mlp_dim, cfg.embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))  # (B, T, D) -> (B, T, 4D) -> (B, T, D)


class LayerScale(nn.Module):
    """A learned per-channel scale of a residual branch (Touvron et al. 2021, CaiT; timm's ``gamma``)."""

    def __init__(self, dim: int, init_values: float):
        super().__init__()
        self.gamma = nn.Parameter(torch.full((dim,), float(init_values)))  # (D,)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma  # (B, T, D)


class Block(nn.Module):
    """Pre-norm encoder block: x + Attn(LN(x)), then x + MLP(LN(x)); with LayerScale (DINOv2)
    each branch is scaled by ``ls1`` / ``ls2`` before it is added."""

    def __init__(self, cfg: ViTConfig):
        super().__init__()
        D, scale = cfg.embed_dim, cfg.init_values
        self.norm1 = nn.LayerNorm(D, eps=cfg.layer_norm_eps)
        self.attn = Attention(cfg)
        self.ls1 = LayerScale(D, scale) if scale is not None else nn.Identity()
        self.norm2 = nn.LayerNorm(D, eps=cfg.layer_norm_eps)
        self.mlp = Mlp(cfg)
        self.ls2 = LayerScale(D, scale) if scale is not None else nn.Identity()

    def forward(self, x: torch.Tensor, rows: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        attn_out, attn = self.attn(self.norm1(x), rows)  # (B, T, D), (B, nh, T or R, T)
        x = x + self.ls1(attn_out)  # (B, T, D)
        x = x + self.ls2(self.mlp(self.norm2(x)))  # (B, T, D)
        return x, attn


class VisionTransformer(nn.Module):
    """ViT: Conv2d patch embedding, prefix tokens (CLS; DeiT's DIST; registers), learned position
    embeddings, encoder, head (two heads for DeiT, averaged)."""

    def __init__(self, cfg: ViTConfig):
        super().__init__()
        self.cfg = cfg
        D = cfg.embed_dim
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.patch_embed = PatchEmbed(cfg)
            self.cls_token = nn.Parameter(torch.zeros(1, 1, D))  # (1, 1, D)
            if cfg.dist_token:
                self.dist_token = nn.Parameter(torch.zeros(1, 1, D))  # (1, 1, D)
            if cfg.reg_tokens:
                self.reg_token = nn.Parameter(torch.zeros(1, cfg.reg_tokens, D))  # (1, r, D)
            self.pos_embed = nn.Parameter(torch.zeros(1, cfg.embed_len, D))  # (1, E, D)
            self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.depth))
            self.norm = nn.LayerNorm(D, eps=cfg.layer_norm_eps)
            self.head = nn.Linear(D, cfg.num_classes) if cfg.num_classes else nn.Identity()
            if cfg.head_dist:
                self.head_dist = nn.Linear(D, cfg.num_classes)
            self._init_weights()

    def _init_weights(self) -> None:
        """timm's default ViT init: truncated-normal Linear weights and position embeddings."""
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.normal_(self.cls_token, std=1e-6)
        for name in ("dist_token", "reg_token"):
            if hasattr(self, name):
                nn.init.trunc_normal_(getattr(self, name), std=0.02)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)

    def embed(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Image → (patch_grid, patch_tokens, tokens): the patch embedding step by step.

        CLS (and DIST) are prepended and the position embeddings added; registers, which have no
        position embedding, then go in after them (as ``transformers``' DINOv2 with registers)."""
        self._check_input(x)
        B = x.shape[0]
        patch_grid = self.patch_embed(x)  # (B, D, Gh, Gw)
        patch_tokens = patch_grid.flatten(2).transpose(1, 2)  # (B, N, D) row-major over the grid
        prefix = [self.cls_token] + ([self.dist_token] if self.cfg.dist_token else [])  # each (1, 1, D)
        prefix = torch.cat(prefix, dim=1).expand(B, -1, -1)  # (B, 1 or 2, D)
        tokens = torch.cat([prefix, patch_tokens], dim=1) + self.pos_embed  # (B, E, D)
        if self.cfg.reg_tokens:
            S = prefix.shape[1]
            reg = self.reg_token.expand(B, -1, -1)  # (B, r, D)
            tokens = torch.cat([tokens[:, :S], reg, tokens[:, S:]], dim=1)  # (B, T, D)
        return patch_grid, patch_tokens, tokens

    def prefix_tokens(self) -> torch.Tensor:
        """The learned prefix tokens in sequence order, CLS, DIST, registers: ``(S, D)``."""
        parts = [self.cls_token] + [getattr(self, n) for n in ("dist_token", "reg_token") if hasattr(self, n)]
        return torch.cat(parts, dim=1)[0]  # (S, D)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, K)`` from the final-normed tokens ``(B, T, D)`` (timm's name): the head on CLS,
        for DeiT the mean of ``head`` on CLS and ``head_dist`` on DIST (as ``transformers``'
        ``DeiTForImageClassificationWithTeacher`` at inference). Without a head, CLS features ``(B, D)``."""
        logits = self.head(features[:, 0])  # (B, K)
        if self.cfg.head_dist:
            logits = (logits + self.head_dist(features[:, 1])) / 2  # (B, K)
        return logits

    def forward_trace(
        self, x: torch.Tensor, rows: list[int] | None = None, full_attention_max: int = FULL_ATTENTION_MAX
    ) -> Trace:
        """Run the model on ``x`` (B, C, H, W) and return every intermediate tensor.

        Args:
            x: normalised images.
            rows: query indices whose attention rows to keep in ``attention_rows`` (default
                ``[0]``, CLS).
            full_attention_max: up to this many tokens T every full attention matrix is
                kept in ``attentions``; above, attention is computed in chunks, ``attentions`` is
                None and only ``attention_rows`` is filled.
        """
        patch_grid, patch_tokens, tokens = self.embed(x)
        T = tokens.shape[1]
        rows = sorted({int(r) for r in (rows if rows is not None else [0])})
        if not all(0 <= r < T for r in rows):
            raise ValueError(f"attention rows {rows} must lie between 0 and {T - 1}")
        index = torch.tensor(rows, device=x.device)  # (R,)
        full = T <= full_attention_max
        hidden, attentions, attention_rows, hidden_states = tokens, [], [], []
        for block in self.blocks:
            hidden, attn = block(hidden, None if full else index)  # (B, T, D), (B, nh, T or R, T)
            if full:
                attentions.append(attn)
            attention_rows.append(attn[:, :, index] if full else attn)  # (B, nh, R, T)
            hidden_states.append(hidden)
        features = self.norm(hidden)  # (B, T, D)
        logits = self.forward_head(features)  # (B, K) from the CLS token (and DIST)
        return Trace(x, patch_grid, patch_tokens, tokens, attentions if full else None, hidden_states, features,
                     logits, rows, attention_rows, self.cfg.num_prefix_tokens)  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, K)`` (CLS features ``(B, D)`` without a head)."""
        _, _, hidden = self.embed(x)
        for block in self.blocks:
            hidden, _ = block(hidden)  # (B, T, D)
        return self.forward_head(self.norm(hidden))  # (B, K)

    def _check_input(self, x: torch.Tensor) -> None:
        expected = (self.cfg.in_chans, *self.cfg.img_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"input of shape {tuple(x.shape)} does not match (B, {', '.join(map(str, expected))})")


def split_flatten_linear(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """The patch embedding done the long way: split into patches, flatten, one Linear.

    The same weights as ``conv`` (kernel = stride = P) reshaped into a ``Linear(C·P·P, D)``;
    each patch is flattened in (channel, row, column) order, the order of the kernel's weights.

    Args:
        x: images ``(B, C, H, W)`` with H and W multiples of P.
        conv: the patch-embedding Conv2d.

    Returns:
        The patch grid ``(B, D, Gh, Gw)``, equal to ``conv(x)`` up to float rounding.
    """
    B, C, H, W = x.shape
    P = conv.kernel_size[0]
    D = conv.out_channels
    Gh, Gw = H // P, W // P
    patches = x.reshape(B, C, Gh, P, Gw, P).permute(0, 2, 4, 1, 3, 5)  # (B, Gh, Gw, C, P, P)
    flat = patches.reshape(B, Gh * Gw, C * P * P)  # (B, N, C·P·P)
    out = F.linear(flat, conv.weight.reshape(D, C * P * P), conv.bias)  # (B, N, D)
    return out.transpose(1, 2).reshape(B, D, Gh, Gw)  # (B, D, Gh, Gw)


def timed_trace(model: VisionTransformer, x: torch.Tensor, rows: list[int] | None = None) -> tuple[Trace, float]:
    """Run :meth:`VisionTransformer.forward_trace` without autograd on the model's device.

    Returns:
        The trace with every tensor on the CPU, and the forward pass's wall time in seconds.
    """
    from .device import synchronize  # local: keeps model.py importable on its own

    device = next(model.parameters()).device
    x = x.to(device)  # (B, C, H, W)
    synchronize(device.type)
    start = time.perf_counter()
    with torch.inference_mode():
        trace = model.forward_trace(x, rows)
    synchronize(device.type)
    seconds = time.perf_counter() - start
    return trace.to("cpu"), seconds


class NotFiniteError(CodedError):
    """A forward pass that produced NaN or ∞ (an overflow): no figure may receive it."""

    def __init__(self, count: int, where: str):
        super().__init__("not_finite", f"the forward pass gave {count:,} values that are not finite (NaN or ∞) in "
                         f"{where}", n=f"{count:,}", where=where)  # fmt: skip


def check_finite(trace: Trace) -> None:
    """Raise NotFiniteError naming the first tensor of ``trace`` with a NaN or ∞: the patch grid
    ``(B, D, Gh, Gw)``, the tokens ``(B, T, D)``, the features ``(B, T, D)`` or the logits ``(B, K)``."""
    for where, tensor in (("patch_grid", trace.patch_grid), ("tokens", trace.tokens), ("features", trace.features),
                          ("logits", trace.logits)):  # fmt: skip
        if bad := int((~torch.isfinite(tensor)).sum()):
            raise NotFiniteError(bad, where)
