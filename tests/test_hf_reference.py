"""Our ViT against Hugging Face transformers' ViT (eager attention) on the same weights.

The HF model is filled with distinct random values (biases and LayerNorms included), written
with ``save_pretrained``, read back from its safetensors file, translated by
``from_hf_state_dict`` and loaded with ``strict=True``.
"""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import randomise_
from vizlib.config import ViTConfig
from vizlib.image import fit_image, load_image, to_tensor
from vizlib.model import VisionTransformer
from vizlib.weights import from_hf_state_dict

transformers = pytest.importorskip("transformers")

CONFIGS = [
    pytest.param(dict(img_size=(81, 81), patch_size=27, embed_dim=128, depth=2, num_heads=4), id="article-81-27-128"),
    pytest.param(dict(img_size=(48, 48), patch_size=8, embed_dim=60, depth=3, num_heads=5), id="odd-heads-5"),
    pytest.param(dict(img_size=(32, 64), patch_size=8, embed_dim=48, depth=2, num_heads=3), id="non-square-32x64"),
    pytest.param(
        dict(img_size=(64, 48), patch_size=16, embed_dim=32, depth=4, num_heads=2, mlp_ratio=2.0), id="tall-mlp2"
    ),
]


def hf_config(cfg: ViTConfig, **extra):
    return transformers.ViTConfig(
        image_size=list(cfg.img_size),
        patch_size=cfg.patch_size,
        hidden_size=cfg.embed_dim,
        num_hidden_layers=cfg.depth,
        num_attention_heads=cfg.num_heads,
        intermediate_size=cfg.mlp_dim,
        layer_norm_eps=1e-6,
        hidden_act="gelu",
        num_labels=max(cfg.num_classes, 1),
        **extra,
    )


def hf_pair(cfg: ViTConfig, tmp_path, head: bool = True, seed: int = 0):
    """A randomised HF model reloaded with eager attention, and our model on its weights."""
    cls = transformers.ViTForImageClassification if head else transformers.ViTModel
    hf = cls(hf_config(cfg))
    randomise_(hf, seed)
    hf.save_pretrained(tmp_path)
    hf = cls.from_pretrained(tmp_path, attn_implementation="eager").eval()
    ours = VisionTransformer(cfg)
    ours.load_state_dict(from_hf_state_dict(load_file(tmp_path / "model.safetensors")), strict=True)
    return hf, ours.eval()


@pytest.mark.parametrize("kwargs", CONFIGS)
def test_forward_equals_transformers(kwargs, tmp_path, photo_bytes):
    cfg = ViTConfig(**kwargs, num_classes=6)
    hf, ours = hf_pair(cfg, tmp_path)
    x = to_tensor(fit_image(load_image(photo_bytes), cfg.img_size, "center_crop"))  # (1, 3, H, W)
    x = torch.cat([x, x.flip(-1)])  # (2, 3, H, W): a batch of two different images
    with torch.no_grad():
        ref = hf(pixel_values=x, output_attentions=True, output_hidden_states=True)
        trace = ours.forward_trace(x)
        logits = ours(x)
    tol = dict(atol=1e-5, rtol=1e-5)
    assert ref.logits.abs().max() > 0.1  # the comparison is not between near-zero numbers
    torch.testing.assert_close(trace.logits, ref.logits, **tol)
    torch.testing.assert_close(logits, ref.logits, **tol)
    torch.testing.assert_close(trace.tokens, ref.hidden_states[0], **tol)
    assert len(trace.attentions) == len(ref.attentions) == cfg.depth
    for ours_h, ref_h in zip(trace.hidden_states, ref.hidden_states[1:], strict=True):
        torch.testing.assert_close(ours_h, ref_h, **tol)
    for ours_a, ref_a in zip(trace.attentions, ref.attentions, strict=True):
        torch.testing.assert_close(ours_a, ref_a, **tol)
        torch.testing.assert_close(ours_a.sum(-1), torch.ones(ours_a.shape[:-1]), **tol)
    # Softmax weights that are nearly uniform would compare equal too easily.
    assert max(a.max() for a in trace.attentions) > 2 / (cfg.num_patches + 1)


def test_vitmodel_without_head_drops_pooler(tmp_path, photo_bytes):
    """DINO checkpoints are ViTModels: no prefix, no classifier, a pooler we drop on purpose."""
    cfg = ViTConfig(img_size=(32, 48), patch_size=8, embed_dim=32, depth=2, num_heads=4, num_classes=0)
    hf, ours = hf_pair(cfg, tmp_path, head=False, seed=1)
    keys = load_file(tmp_path / "model.safetensors").keys()
    assert "pooler.dense.weight" in keys and not any(k.startswith("vit.") for k in keys)
    x = to_tensor(fit_image(load_image(photo_bytes), cfg.img_size, "stretch"))
    with torch.no_grad():
        ref = hf(pixel_values=x, output_attentions=True)
        trace = ours.forward_trace(x)
    torch.testing.assert_close(trace.features, ref.last_hidden_state, atol=1e-5, rtol=1e-5)
    for ours_a, ref_a in zip(trace.attentions, ref.attentions, strict=True):
        torch.testing.assert_close(ours_a, ref_a, atol=1e-5, rtol=1e-5)


def test_in_memory_names_of_transformers_5_are_accepted(tmp_path):
    cfg = ViTConfig(img_size=(32, 32), patch_size=8, embed_dim=16, depth=2, num_heads=2, num_classes=3)
    hf = transformers.ViTForImageClassification(hf_config(cfg))
    randomise_(hf, 2)
    saved = tmp_path / "saved"
    hf.save_pretrained(saved)
    from_memory = from_hf_state_dict(hf.state_dict())
    from_file = from_hf_state_dict(load_file(saved / "model.safetensors"))
    assert from_memory.keys() == from_file.keys()
    for key in from_file:
        assert torch.equal(from_memory[key], from_file[key]), key


def test_unknown_and_missing_keys_raise(tmp_path):
    cfg = ViTConfig(img_size=(32, 32), patch_size=8, embed_dim=16, depth=1, num_heads=2, num_classes=3)
    transformers.ViTForImageClassification(hf_config(cfg)).save_pretrained(tmp_path)
    sd = load_file(tmp_path / "model.safetensors")
    with pytest.raises(KeyError, match="vit.encoder.layer.0.extra"):
        from_hf_state_dict({**sd, "vit.encoder.layer.0.extra": torch.zeros(1)})
    no_key = {k: v for k, v in sd.items() if "attention.attention.key.weight" not in k}
    with pytest.raises(KeyError, match="missing k"):
        from_hf_state_dict(no_key)
    no_norm = from_hf_state_dict({k: v for k, v in sd.items() if k != "vit.layernorm.bias"})
    with pytest.raises(RuntimeError, match="norm.bias"):
        VisionTransformer(cfg).load_state_dict(no_norm, strict=True)
