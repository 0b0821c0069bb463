"""Inside the encoder: one head's arithmetic, the logit lens, GAE relevance and the deletion test.

References computed another way: Hugging Face transformers' ViT (eager attention) on the same
weights for the head's output and for GAE (its own attention tensors and their gradients), the
trace's attention matrices for the weights, the logits for the lens, and the model itself on the
whole and on the all-mean picture for the deletion curve.
"""

from __future__ import annotations

import pytest
import torch

from tests.test_hf_reference import CONFIGS, hf_pair
from vizlib import analysis
from vizlib.config import ViTConfig
from vizlib.image import fit_image, load_image, to_tensor
from vizlib.model import VisionTransformer

transformers = pytest.importorskip("transformers")
TOL = dict(atol=1e-5, rtol=1e-5)


def picture(cfg: ViTConfig, photo_bytes: bytes) -> torch.Tensor:
    return to_tensor(fit_image(load_image(photo_bytes), cfg.img_size, "center_crop"))  # (1, 3, H, W)


@pytest.mark.parametrize("kwargs", CONFIGS)
def test_one_heads_arithmetic_equals_the_attention_and_transformers_context(kwargs, tmp_path, photo_bytes):
    cfg = ViTConfig(**kwargs, num_classes=4)
    hf, ours = hf_pair(cfg, tmp_path)
    x = picture(cfg, photo_bytes)
    contexts = {}  # block -> HF's attention output before its output Linear (1, T, D), taken by a hook
    layers = hf.vit.layers if hasattr(hf.vit, "layers") else hf.vit.encoder.layer  # transformers 5 / 4
    for b, layer in enumerate(layers):
        dense = layer.attention.o_proj if hasattr(layer.attention, "o_proj") else layer.attention.output.dense
        dense.register_forward_hook(lambda m, args, out, b=b: contexts.__setitem__(b, args[0]))
    with torch.no_grad():
        hf(pixel_values=x)
        trace = ours.forward_trace(x)
    T, hs = cfg.num_patches + 1, cfg.embed_dim // cfg.num_heads
    for block in range(cfg.depth):
        for head in {0, cfg.num_heads - 1}:
            for query in {0, 1, T - 1}:
                step = analysis.attention_step(ours, trace, block, head, query)
                assert step.x.shape == (T, cfg.embed_dim) and step.k.shape == step.v.shape == (T, hs)
                torch.testing.assert_close(step.weights, trace.attentions[block][0, head, query], **TOL)
                torch.testing.assert_close(step.out, contexts[block][0, query, head * hs : (head + 1) * hs], **TOL)
                torch.testing.assert_close(step.weights, step.scores.softmax(-1), **TOL)
    with pytest.raises(IndexError):
        analysis.attention_step(ours, trace, cfg.depth, 0, 0)


def test_one_heads_arithmetic_beyond_the_full_attention_limit():
    cfg = ViTConfig(img_size=(48, 64), patch_size=8, embed_dim=24, depth=2, num_heads=3)
    vit = VisionTransformer(cfg).eval()
    x = torch.randn(1, 3, 48, 64)
    with torch.no_grad():
        full = vit.forward_trace(x)
        chunked = vit.forward_trace(x, rows=[0, 17], full_attention_max=1)  # no T×T matrix kept
    assert chunked.attentions is None
    step = analysis.attention_step(vit, chunked, 1, 2, 17)
    torch.testing.assert_close(step.weights, full.attentions[1][0, 2, 17], **TOL)
    torch.testing.assert_close(step.weights, chunked.attention_rows[1][0, 2, 1], **TOL)


def test_the_logit_lens_ends_at_the_prediction():
    cfg = ViTConfig(img_size=(32, 32), patch_size=8, embed_dim=32, depth=3, num_heads=4, num_classes=7)
    vit = VisionTransformer(cfg).eval()
    with torch.no_grad():
        trace = vit.forward_trace(torch.randn(1, 3, 32, 32))
    lens = analysis.logit_lens(vit, trace)
    assert lens.shape == (cfg.depth + 1, 7)
    torch.testing.assert_close(lens.sum(-1), torch.ones(cfg.depth + 1), **TOL)
    torch.testing.assert_close(lens[-1], trace.logits[0].softmax(-1), **TOL)
    first = vit.head(vit.norm(trace.tokens[0, 0])).softmax(-1)  # the embedding's CLS, read out directly
    torch.testing.assert_close(lens[0], first.detach(), **TOL)


def hf_gae(hf, x: torch.Tensor, target: int, grid: tuple[int, int]) -> torch.Tensor:
    """GAE written separately on transformers' ViT: its returned attention maps, retain_grad()."""
    out = hf(pixel_values=x, output_attentions=True)
    for attention in out.attentions:
        attention.retain_grad()
    out.logits[0, target].backward()
    T = out.attentions[0].shape[-1]
    R = torch.eye(T)
    for attention in out.attentions:
        cam = (attention.grad[0] * attention[0]).clamp(min=0).mean(0)  # heads averaged after the ReLU
        R = R + cam @ R
    return R[0, 1:].detach().reshape(grid)


@pytest.mark.parametrize("kwargs", CONFIGS[:3])
def test_gae_relevance_equals_an_implementation_on_transformers(kwargs, tmp_path, photo_bytes):
    cfg = ViTConfig(**kwargs, num_classes=5)
    hf, ours = hf_pair(cfg, tmp_path, seed=3)
    x = picture(cfg, photo_bytes)
    predicted = int(ours(x)[0].argmax())
    for target in (None, (predicted + 1) % 5):
        got = analysis.gae_relevance(ours, x, target)
        want = hf_gae(hf, x, predicted if target is None else target, cfg.grid)
        assert got.shape == cfg.grid and want.abs().max() > 1e-4
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)
    assert all(p.grad is None for p in ours.parameters())  # no gradient left behind


def test_the_deletion_curve_runs_from_the_whole_picture_to_the_mean_picture():
    cfg = ViTConfig(img_size=(32, 48), patch_size=8, embed_dim=32, depth=2, num_heads=4, num_classes=6, seed=2)
    vit = VisionTransformer(cfg).eval()
    x = torch.randn(1, 3, 32, 48)
    fractions = torch.linspace(0, 1, 5)
    order = torch.randperm(cfg.num_patches, generator=torch.Generator().manual_seed(0))
    curve = analysis.deletion_curve(vit, x, order, fractions)
    with torch.no_grad():
        whole = vit(x).softmax(-1)[0]
        predicted = int(whole.argmax())
        blank = vit(torch.zeros_like(x)).softmax(-1)[0, predicted]  # every patch at the mean colour
        half = x.clone()
        for n in order[: int(0.5 * cfg.num_patches)].tolist():
            r, c = divmod(n, 6)
            half[..., r * 8 : (r + 1) * 8, c * 8 : (c + 1) * 8] = 0
        middle = vit(half).softmax(-1)[0, predicted]
    torch.testing.assert_close(curve[0], whole[predicted], **TOL)
    torch.testing.assert_close(curve[-1], blank, **TOL)
    torch.testing.assert_close(curve[2], middle, **TOL)
    assert analysis.deletion_auc(fractions, torch.ones(5)) == pytest.approx(1.0)


def test_token_norms_are_the_length_of_every_token_after_each_block():
    cfg = ViTConfig(img_size=(32, 48), patch_size=8, embed_dim=24, depth=3, num_heads=3)
    vit = VisionTransformer(cfg).eval()
    with torch.no_grad():
        trace = vit.forward_trace(torch.randn(1, 3, 32, 48))
    norms = analysis.token_norms(trace)
    assert norms.shape == (cfg.depth + 1, cfg.num_patches + 1)
    by_hand = [sum(float(v) ** 2 for v in trace.hidden_states[1][0, 5]) ** 0.5, float(trace.tokens[0, 0].norm())]
    assert norms[2, 5].item() == pytest.approx(by_hand[0], rel=1e-5)  # after block 2, token 5
    assert norms[0, 0].item() == pytest.approx(by_hand[1], rel=1e-5)  # CLS entering the encoder
