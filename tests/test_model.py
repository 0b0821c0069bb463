"""The ViT itself: the Conv2d patch embedding is split + flatten + Linear, and the Trace is whole."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vizlib.config import ViTConfig
from vizlib.image import fit_image, load_image, to_tensor
from vizlib.model import VisionTransformer, split_flatten_linear, timed_trace

ARTICLE = dict(img_size=(81, 81), patch_size=27, embed_dim=128, depth=2, num_heads=4)


def photo_tensor(photo_bytes: bytes, size: tuple[int, int]) -> torch.Tensor:
    return to_tensor(fit_image(load_image(photo_bytes), size, "center_crop"))  # (1, 3, H, W)


@pytest.mark.parametrize(
    "size, P, D", [((81, 81), 27, 128), ((224, 224), 16, 384), ((48, 80), 8, 40), ((30, 30), 1, 7)]
)
def test_conv_equals_split_flatten_linear_on_a_photo(photo_bytes, size, P, D):
    cfg = ViTConfig(img_size=size, patch_size=P, embed_dim=D, depth=1, num_heads=1, seed=3)
    conv = VisionTransformer(cfg).patch_embed.proj
    x = photo_tensor(photo_bytes, size)  # (1, 3, H, W)
    with torch.no_grad():
        by_conv = conv(x)  # (1, D, Gh, Gw)
        by_split = split_flatten_linear(x, conv)  # (1, D, Gh, Gw)
        # A third way, independent of our reshape: F.unfold's columns (C·P·P, N) + Linear.
        cols = F.unfold(x, kernel_size=P, stride=P)  # (1, C·P·P, N)
        by_unfold = (conv.weight.reshape(D, -1) @ cols + conv.bias[:, None]).reshape(by_conv.shape)
    assert by_conv.shape == (1, D, size[0] // P, size[1] // P)
    assert (by_conv - by_split).abs().max() <= 1e-5
    assert (by_conv - by_unfold).abs().max() <= 1e-5


def test_one_patch_is_one_dot_product(photo_bytes):
    """Vector (r, c) of the grid is W·x + b for the pixels of window (r, c) alone."""
    cfg = ViTConfig(**ARTICLE)
    vit = VisionTransformer(cfg)
    x = photo_tensor(photo_bytes, cfg.img_size)
    with torch.no_grad():
        grid = vit.patch_embed(x)  # (1, D, 3, 3)
        W = vit.patch_embed.proj.weight.reshape(cfg.embed_dim, -1)  # (D, 3·P·P)
        b = vit.patch_embed.proj.bias  # (D,)
        for r, c in [(0, 0), (1, 2), (2, 1)]:
            window = x[0, :, r * 27 : (r + 1) * 27, c * 27 : (c + 1) * 27].reshape(-1)  # (3·P·P,)
            assert torch.allclose(W @ window + b, grid[0, :, r, c], atol=1e-5)


def test_trace_shapes_and_consistency(photo_bytes):
    cfg = ViTConfig(img_size=(48, 80), patch_size=16, embed_dim=36, depth=3, num_heads=3, num_classes=7)
    vit = VisionTransformer(cfg).eval()
    x = photo_tensor(photo_bytes, cfg.img_size)
    with torch.no_grad():
        trace = vit.forward_trace(x)
        logits = vit(x)
    Gh, Gw = cfg.grid
    N, D = Gh * Gw, 36
    assert (Gh, Gw) == (3, 5)
    assert trace.patch_grid.shape == (1, D, Gh, Gw)
    assert trace.patch_tokens.shape == (1, N, D)
    assert trace.tokens.shape == (1, N + 1, D)
    assert len(trace.attentions) == len(trace.hidden_states) == 3
    assert all(a.shape == (1, 3, N + 1, N + 1) for a in trace.attentions)
    assert all(h.shape == (1, N + 1, D) for h in trace.hidden_states)
    assert trace.logits.shape == (1, 7)
    torch.testing.assert_close(trace.logits, logits)
    # The tokens are the grid read row-major: token 1 + r·Gw + c is cell (r, c).
    torch.testing.assert_close(trace.patch_tokens[0, 1 * Gw + 4], trace.patch_grid[0, :, 1, 4])
    expected = trace.patch_tokens[0, 0] + vit.pos_embed[0, 1]
    torch.testing.assert_close(trace.tokens[0, 1], expected)
    torch.testing.assert_close(trace.tokens[0, 0], (vit.cls_token + vit.pos_embed[:, :1])[0, 0])
    for attn in trace.attentions:
        assert (attn >= 0).all()
        torch.testing.assert_close(attn.sum(-1), torch.ones(1, 3, N + 1))


def test_no_head_returns_cls_features(photo_bytes):
    cfg = ViTConfig(img_size=(32, 32), patch_size=8, embed_dim=24, depth=1, num_heads=2, num_classes=0)
    vit = VisionTransformer(cfg).eval()
    with torch.no_grad():
        trace = vit.forward_trace(photo_tensor(photo_bytes, cfg.img_size))
    torch.testing.assert_close(trace.logits, trace.features[:, 0])


def test_seed_fixes_the_weights_and_leaves_global_rng_alone():
    cfg = ViTConfig(img_size=(32, 32), patch_size=8, embed_dim=24, depth=2, num_heads=2, seed=5)
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    a, b = VisionTransformer(cfg), VisionTransformer(cfg)
    assert torch.equal(torch.rand(3), before)  # building models drew nothing from the global RNG
    other = VisionTransformer(ViTConfig(**{**cfg.__dict__, "seed": 6}))
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb), name
    assert not torch.equal(a.pos_embed, other.pos_embed)


def test_parameter_names_follow_timm():
    cfg = ViTConfig(img_size=(32, 32), patch_size=8, embed_dim=24, depth=2, num_heads=2)
    names = set(VisionTransformer(cfg).state_dict())
    for name in [
        "patch_embed.proj.weight",
        "cls_token",
        "pos_embed",
        "blocks.1.attn.qkv.weight",
        "blocks.1.attn.proj.bias",
        "blocks.0.mlp.fc1.weight",
        "blocks.0.mlp.fc2.bias",
        "blocks.0.norm1.weight",
        "blocks.0.norm2.bias",
        "norm.weight",
        "head.weight",
    ]:
        assert name in names


def test_wrong_input_shape_is_refused():
    vit = VisionTransformer(ViTConfig(img_size=(32, 32), patch_size=8, embed_dim=24, depth=1, num_heads=2))
    with pytest.raises(ValueError, match=r"\(1, 3, 32, 48\)"):
        vit.forward_trace(torch.zeros(1, 3, 32, 48))


def test_timed_trace_returns_cpu_tensors_and_a_time(photo_bytes):
    cfg = ViTConfig(**ARTICLE)
    vit = VisionTransformer(cfg).eval()
    trace, seconds = timed_trace(vit, photo_tensor(photo_bytes, cfg.img_size))
    assert seconds > 0
    assert trace.attentions[0].device.type == "cpu"
    assert not trace.logits.requires_grad


@pytest.mark.parametrize("where", ["patch_grid", "tokens", "features", "logits"])
def test_a_trace_with_nan_or_inf_is_refused_by_name(where):
    """``check_finite`` names the first tensor that overflowed, in a message every page language has."""
    import dataclasses

    from vizlib import errors
    from vizlib.i18n import Translator
    from vizlib.model import NotFiniteError, check_finite

    vit = VisionTransformer(ViTConfig(img_size=(32, 32), patch_size=8, embed_dim=16, depth=1, num_heads=2)).eval()
    with torch.no_grad():
        trace = vit.forward_trace(torch.rand(1, 3, 32, 32))
    check_finite(trace)  # a clean pass goes through
    bad = getattr(trace, where).clone()
    bad.view(-1)[:3] = torch.tensor([float("nan"), float("inf"), -float("inf")])
    with pytest.raises(NotFiniteError) as err:
        check_finite(dataclasses.replace(trace, **{where: bad}))
    assert isinstance(err.value, errors.CodedError) and err.value.code == "not_finite"
    assert err.value.fields == {"n": "3", "where": where} and where in str(err.value)
    assert "有限でない" in Translator("ja")("err_not_finite", **err.value.fields)


def test_every_error_a_user_may_cause_has_one_base():
    from vizlib import classroom, config, errors, image, model, weights

    for kind in (image.ImageError, config.ConfigError, weights.WeightsError, weights.HubError, model.NotFiniteError,
                 classroom.ClassError):  # fmt: skip
        assert issubclass(kind, errors.CodedError), kind
        assert "__init__" not in vars(kind) or kind is model.NotFiniteError  # one constructor: the base's
