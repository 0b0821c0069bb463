"""Where parameters come from: random init (see model.py) or a Hugging Face ViT checkpoint.

Hugging Face names its ViT tensors differently from timm and from this package, and keeps
query, key and value as three Linears where we use one fused ``qkv``. :func:`from_hf_state_dict`
translates, refusing anything it does not recognise so that a dropped or misplaced tensor can
never go unnoticed.
"""

from __future__ import annotations

import re

import torch

# Hugging Face name (after the optional "vit." prefix) -> our name. Both spellings are
# accepted: the one ``save_pretrained`` writes and hub checkpoints use ("encoder.layer.N...")
# and transformers 5's in-memory one ("layers.N...").
_RENAMES = [
    (r"embeddings\.cls_token", "cls_token"),
    (r"embeddings\.position_embeddings", "pos_embed"),
    (r"embeddings\.patch_embeddings\.projection\.(weight|bias)", r"patch_embed.proj.\1"),
    (r"(?:encoder\.layer|layers)\.(\d+)\.attention\.output\.dense\.(weight|bias)", r"blocks.\1.attn.proj.\2"),
    (r"layers\.(\d+)\.attention\.o_proj\.(weight|bias)", r"blocks.\1.attn.proj.\2"),
    (r"encoder\.layer\.(\d+)\.intermediate\.dense\.(weight|bias)", r"blocks.\1.mlp.fc1.\2"),
    (r"encoder\.layer\.(\d+)\.output\.dense\.(weight|bias)", r"blocks.\1.mlp.fc2.\2"),
    (r"layers\.(\d+)\.mlp\.(fc1|fc2)\.(weight|bias)", r"blocks.\1.mlp.\2.\3"),
    (r"(?:encoder\.layer|layers)\.(\d+)\.layernorm_before\.(weight|bias)", r"blocks.\1.norm1.\2"),
    (r"(?:encoder\.layer|layers)\.(\d+)\.layernorm_after\.(weight|bias)", r"blocks.\1.norm2.\2"),
    (r"layernorm\.(weight|bias)", r"norm.\1"),
    (r"classifier\.(weight|bias)", r"head.\1"),
]
# Query, key and value of block N, in the order they are stacked into our fused qkv.
_QKV = [
    r"encoder\.layer\.(\d+)\.attention\.attention\.(query|key|value)\.(weight|bias)",
    r"layers\.(\d+)\.attention\.(q_proj|k_proj|v_proj)\.(weight|bias)",
]
# Dropped on purpose: ViTModel's pooler (a tanh Linear on CLS that ViT's attention maps never
# use) and the mask token that only masked-image-modelling uses.
_DROPPED = [r"pooler\.dense\.(weight|bias)", r"embeddings\.mask_token"]


def from_hf_state_dict(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Hugging Face ViT tensors → this package's names, query/key/value fused into ``qkv``.

    Args:
        sd: a state dict of ``ViTForImageClassification`` (``vit.`` prefix and ``classifier.*``)
            or of ``ViTModel`` (no prefix, as DINO; its ``pooler.*`` is dropped on purpose).

    Returns:
        A state dict for :class:`vizlib.model.VisionTransformer`.

    Raises:
        KeyError: a key that is not part of a ViT, or a block missing its query, key or value.
    """
    out: dict[str, torch.Tensor] = {}
    qkv_parts: dict[tuple[str, str], dict[str, torch.Tensor]] = {}
    unknown = []
    for full_key, tensor in sd.items():
        key = full_key.removeprefix("vit.")
        if any(re.fullmatch(p, key) for p in _DROPPED):
            continue
        if (renamed := _rename(key)) is not None:
            out[renamed] = tensor
        elif (part := _qkv_part(key)) is not None:
            block, role, kind = part
            qkv_parts.setdefault((block, kind), {})[role] = tensor
        else:
            unknown.append(full_key)
    if unknown:
        raise KeyError(f"not a ViT tensor, refusing to guess: {', '.join(sorted(unknown))}")
    for (block, kind), parts in sorted(qkv_parts.items()):
        if len(parts) != 3:
            missing = {"q", "k", "v"} - {role[0] for role in parts}
            raise KeyError(f"block {block} {kind}: missing {', '.join(sorted(missing))} of query/key/value")
        out[f"blocks.{block}.attn.qkv.{kind}"] = torch.cat([parts[r] for r in sorted(parts, key=_qkv_order)])
    return out


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
