"""The guided lesson: the article's story in seven steps, its code panel and its cost table.

Pure data and arithmetic; the page translates the texts (keys ``lesson_{id}_title`` and
``lesson_{id}_body`` in ``assets/i18n.json``) and draws the views.

Shapes: H, W the (snapped) input size, P the patch size, D the embedding dim,
Gh, Gw = H/P, W/P the grid, N = Gh·Gw patch tokens, T = N + 1 with CLS, L = 3·P² numbers per patch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vizlib.config import MAX_TOKENS, ViTConfig, count_parameters


@dataclass(frozen=True)
class Step:
    """One lesson step: its id (i18n key part) and the overview boxes it is about."""

    id: str
    boxes: tuple[int, ...]  # indices into OVERVIEW_BOXES


OVERVIEW_BOXES = ("ov_patches", "ov_linear", "ov_position", "ov_encoder", "ov_head")  # i18n keys, left to right
STEPS = (
    Step("grid", (0,)),
    Step("window", (1,)),
    Step("stride", (1,)),
    Step("proof", (0, 1)),
    Step("sequence", (2,)),
    Step("attention", (3,)),
    Step("scaling", (0, 3)),
)


def numbers(cfg: ViTConfig) -> dict[str, int]:
    """The numbers every lesson text and the code panel are written with."""
    (H, W), P = cfg.img_size, cfg.patch_size
    Gh, Gw = cfg.grid
    return dict(H=H, W=W, P=P, D=cfg.embed_dim, Gh=Gh, Gw=Gw, N=Gh * Gw, T=cfg.num_tokens, L=3 * P * P,
                depth=cfg.depth, heads=cfg.num_heads)  # fmt: skip


CODE_NOTES = {  # the code's three remarks; the page passes them translated
    "grid": "{Gh}×{Gw} vectors of length {D}",
    "rows": "one row per patch",
    "same": "the same tokens: split, flatten, Linear",
}


def code_lines(cfg: ViTConfig, notes: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """The patch embedding as PyTorch code with the user's numbers, and the shape each line makes.

    Runs as written given ``image`` (1, 3, H, W), ``cls_token`` (1, 1, D), ``pos_embed`` (1, E, D)
    and ``encoder`` (a test executes it); for DeiT also ``dist_token`` (1, 1, D), for registers
    ``reg_token`` (1, r, D), inserted after the position embeddings as ``transformers`` does.
    Returns (code, comment) pairs; comment may be empty.
    ``notes`` replaces the remarks of ``CODE_NOTES`` (same keys and fields), e.g. in Japanese.
    """
    n = numbers(cfg)
    note = {key: text.format(**n) for key, text in (notes or CODE_NOTES).items()}
    H, W, P, D, Gh, Gw, N, T, L = (n[k] for k in ("H", "W", "P", "D", "Gh", "Gw", "N", "T", "L"))
    return [
        ("import torch", ""),
        ("from torch import nn", ""),
        ("", ""),
        ("x = image", f"(1, 3, {H}, {W})"),
        (
            f"proj = nn.Conv2d(in_channels=3, out_channels={D}, kernel_size={P}, stride={P})",
            f"weight ({D}, 3, {P}, {P})",
        ),  # fmt: skip
        ("grid = proj(x)", f"(1, {D}, {Gh}, {Gw})  {note['grid']}"),
        ("tokens = grid.flatten(2)", f"(1, {D}, {N})"),
        ("tokens = tokens.transpose(1, 2)", f"(1, {N}, {D})  {note['rows']}"),
        ("", ""),
        (f"# {note['same']}", ""),
        (f"patches = x.unfold(2, {P}, {P}).unfold(3, {P}, {P})", f"(1, 3, {Gh}, {Gw}, {P}, {P})"),
        (f"patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(1, {N}, {L})", f"(1, {N}, {L})"),
        (f"linear = nn.Linear({L}, {D})", f"weight ({D}, {L})"),
        (f"linear.weight.data = proj.weight.data.reshape({D}, {L})", ""),
        ("linear.bias.data = proj.bias.data", ""),
        ("same = torch.allclose(linear(patches), tokens, atol=1e-4)", "True"),
        ("", ""),
        ("cls = cls_token.expand(1, -1, -1)", f"(1, 1, {D})"),
        *prefix_lines(cfg),
        ("out = encoder(seq)", f"(1, {T}, {D})"),
    ]


def prefix_lines(cfg: ViTConfig) -> list[tuple[str, str]]:
    """The code panel's lines that put the prefix tokens in front: CLS (and DeiT's DIST) with their
    position embeddings, then the registers, which have none (DINOv2 with registers)."""
    D, E = cfg.embed_dim, cfg.embed_len
    lines = [("dist = dist_token.expand(1, -1, -1)", f"(1, 1, {D})")] if cfg.dist_token else []
    front = "cls, dist" if cfg.dist_token else "cls"
    lines.append((f"seq = torch.cat([{front}, tokens], dim=1) + pos_embed", f"(1, {E}, {D})"))
    if cfg.reg_tokens:
        S = E - cfg.num_patches
        T = cfg.num_tokens
        lines += [("regs = reg_token.expand(1, -1, -1)", f"(1, {cfg.reg_tokens}, {D})"),
                  (f"seq = torch.cat([seq[:, :{S}], regs, seq[:, {S}:]], dim=1)", f"(1, {T}, {D})")]  # fmt: skip
    return lines


CODE_ALIGN = 44  # comments of lines up to this long line up; longer lines keep theirs two spaces after


def code_text(cfg: ViTConfig, notes: dict[str, str] | None = None) -> str:
    """``code_lines`` as one block; shape comments aligned where the code allows."""
    out = []
    for code, comment in code_lines(cfg, notes):
        out.append(f"{code:<{CODE_ALIGN}}  # {comment}" if comment else code)
    return "\n".join(line.rstrip() for line in out)


@dataclass(frozen=True)
class CostRow:
    P: int
    grid: tuple[int, int]  # (Gh, Gw) = (⌊H/P⌋, ⌊W/P⌋)
    N: int
    L: int  # numbers per patch, 3·P²
    attention: int  # attention weights per block: nh·T²
    params: int
    over_cap: bool  # more than MAX_TOKENS patches: the page refuses it
    dropped: float  # share of the image's pixels a crop to whole patches leaves out, 0 when P divides H and W


SIZE_RATIOS = (1 / 4, 1 / 2, 1, 2, 4)  # the table's patch sizes: those that divide the image nearest to these × P
MIN_ROWS = 4


def patch_sizes(img_size: tuple[int, int], P: int) -> list[int]:
    """Patch sizes to compare with P at this image size, ascending: P itself, and the common
    divisors of H and W nearest (on a log scale) to P/4, P/2, 2P and 4P, so that no row crops.

    When that gives fewer than ``MIN_ROWS`` sizes (81 px, P = 27: 9, 27, 81), the next divisors
    outside P/4 … 4P are added (3). Where H and W have almost no common divisor (a prime side), the
    sizes P/2 and 2P are shown anyway, and their rows say how much they crop (``CostRow.dropped``).
    """
    H, W = img_size
    divisors = sorted({p for p in range(2, min(H, W) + 1) if H % p == 0 and W % p == 0} | {P})
    chosen = {P}
    for ratio in SIZE_RATIOS:
        target = P * ratio
        near = min(divisors, key=lambda p: abs(math.log(p / target)))
        if abs(math.log(near / target)) < math.log(2) and P / 4 <= near <= 4 * P:
            chosen.add(near)
    others = sorted((p for p in divisors if p not in chosen), key=lambda p: abs(math.log(p / P)))
    while len(chosen) < MIN_ROWS and others:
        chosen.add(others.pop(0))
    if len(chosen) < 3:  # a prime side: compare with P/2 and 2P, which crop
        chosen |= {p for p in (P // 2, 2 * P) if 1 <= p <= min(H, W)}
    return sorted(chosen)


def patch_size_table(cfg: ViTConfig) -> list[CostRow]:
    """What P does at this image size, D, depth and heads, for ``patch_sizes(cfg.img_size, P)``.

    A P that does not divide the image is counted as the page does by default, cropped to whole
    patches: (⌊H/P⌋, ⌊W/P⌋) patches, and ``dropped`` says which share of the pixels is left out."""
    (H, W), P = cfg.img_size, cfg.patch_size
    rows = []
    for p in patch_sizes((H, W), P):
        Gh, Gw = H // p, W // p
        N = Gh * Gw
        rows.append(CostRow(
            P=p, grid=(Gh, Gw), N=N, L=3 * p * p, attention=cfg.num_heads * (N + 1) ** 2,
            params=_params(cfg, p), over_cap=N > MAX_TOKENS, dropped=1 - (Gh * p * Gw * p) / (H * W),
        ))  # fmt: skip
    return rows


def _params(cfg: ViTConfig, P: int) -> int:
    """Parameters of the same ViT with patch size P at the same image size (cropped to whole patches)."""
    (H, W) = cfg.img_size
    Gh, Gw = H // P, W // P
    if Gh * Gw > MAX_TOKENS:  # too many tokens for a ViTConfig; count by hand: only these two terms change
        delta_proj = cfg.embed_dim * 3 * (P * P - cfg.patch_size**2)
        delta_pos = cfg.embed_dim * (Gh * Gw - cfg.num_patches)
        return count_parameters(cfg) + delta_proj + delta_pos
    return count_parameters(
        ViTConfig(
            img_size=(Gh * P, Gw * P),
            patch_size=P,
            embed_dim=cfg.embed_dim,
            depth=cfg.depth,
            num_heads=cfg.num_heads,
            num_classes=cfg.num_classes,
        )  # fmt: skip
    )
