"""DeiT (distillation token, two heads), DINOv2 (LayerScale, patch 14, interpolated position
embeddings) and DINOv2 with registers against ``transformers`` (eager attention) on the same weights.

Offline: a Hugging Face cache filled here with ``save_pretrained`` copies of the real models'
configs (depth 2, every tensor filled with distinct random values), loaded by hub id with the hub
switched off. Also at non-square inputs, and a family we do not read is refused by name.
"""

from __future__ import annotations

import json

import pytest
import torch

from tests.conftest import randomise_
from vizlib import analysis
from vizlib.config import ViTConfig, count_parameters
from vizlib.model import VisionTransformer
from vizlib.weights import WeightsError, load_folder, load_pretrained, with_patch_size

transformers = pytest.importorskip("transformers")
huggingface_hub = pytest.importorskip("huggingface_hub")

COMMIT = "89abcdef0123456789abcdef0123456789abcdef"
IMAGENET = dict(image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225])
# The real models' configs (from their hub pages), depth reduced to 2.
FAMILIES = {
    "facebook/deit-small-distilled-patch16-224": dict(
        cls="DeiTForImageClassificationWithTeacher", config="DeiTConfig", hidden_size=384, num_attention_heads=6,
        intermediate_size=1536, patch_size=16, image_size=224, layer_norm_eps=1e-12, num_labels=1000,
        preprocessor=dict(crop_size={"height": 224, "width": 224}, **IMAGENET),
    ),
    "facebook/dinov2-small": dict(
        cls="Dinov2Model", config="Dinov2Config", hidden_size=384, num_attention_heads=6, mlp_ratio=4,
        patch_size=14, image_size=518, layer_norm_eps=1e-6, layerscale_value=1.0,
        preprocessor=dict(crop_size={"height": 224, "width": 224}, **IMAGENET),
    ),
    "facebook/dinov2-with-registers-small": dict(
        cls="Dinov2WithRegistersModel", config="Dinov2WithRegistersConfig", hidden_size=384, num_attention_heads=6,
        mlp_ratio=4, patch_size=14, image_size=518, layer_norm_eps=1e-6, layerscale_value=1.0, num_register_tokens=4,
        preprocessor=dict(crop_size={"height": 224, "width": 224}, **IMAGENET),
    ),
}  # fmt: skip
# What each family's sequence starts with, and what the model must be.
PREFIX = {
    "facebook/deit-small-distilled-patch16-224": (["CLS", "DIST"], 16, (14, 14)),
    "facebook/dinov2-small": (["CLS"], 14, (16, 16)),
    "facebook/dinov2-with-registers-small": (["CLS", "REG1", "REG2", "REG3", "REG4"], 14, (16, 16)),
}


def save_family(repo_id: str, folder, seed: int, **changes):
    """``save_pretrained`` of a randomised copy of ``repo_id``'s config; the reference reloaded in eager mode."""
    spec = {**FAMILIES[repo_id], **changes}
    cls, config = getattr(transformers, spec.pop("cls")), getattr(transformers, spec.pop("config"))
    pre = spec.pop("preprocessor")
    labels = spec.pop("num_labels", None)
    extra = dict(id2label={i: f"class {i}" for i in range(labels)}) if labels else {}
    model = cls(config(num_hidden_layers=2, **spec, **extra))
    randomise_(model, seed)
    model.save_pretrained(folder)
    (folder / "preprocessor_config.json").write_text(json.dumps(pre))
    return cls.from_pretrained(folder, attn_implementation="eager").eval()


def fill_cache(cache, repo_id: str, seed: int):
    """One repository in a Hugging Face cache layout; returns the reference model."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    return save_family(repo_id, repo / "snapshots" / COMMIT, seed)


@pytest.fixture(scope="module")
def offline(tmp_path_factory):
    """The three families in an offline cache, with their references."""
    cache = tmp_path_factory.mktemp("hub")
    return cache, {repo_id: fill_cache(cache, repo_id, seed) for seed, repo_id in enumerate(FAMILIES)}


@pytest.fixture(autouse=True)
def hub_off(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


def assert_equal_to_reference(loaded, reference, x: torch.Tensor) -> None:
    """Last hidden state, every block's output and attention map, and the logits, to 1e-5."""
    with torch.no_grad():
        ref = reference(pixel_values=x, output_attentions=True, output_hidden_states=True)
        trace = loaded.model.forward_trace(x)
    torch.testing.assert_close(trace.tokens, ref.hidden_states[0], atol=1e-5, rtol=1e-5)
    for ours, theirs in zip(trace.hidden_states, ref.hidden_states[1:], strict=True):
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)
    assert len(trace.attentions) == len(ref.attentions) == 2
    for ours, theirs in zip(trace.attentions, ref.attentions, strict=True):
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)
    if hasattr(ref, "logits"):
        torch.testing.assert_close(trace.logits, ref.logits, atol=1e-5, rtol=1e-5)
    else:
        torch.testing.assert_close(trace.features, ref.last_hidden_state, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("repo_id", list(FAMILIES))
def test_each_family_by_hub_id_equals_transformers(offline, repo_id):
    cache, references = offline
    loaded = load_pretrained(repo_id, cache_dir=str(cache))
    names, P, grid = PREFIX[repo_id]
    cfg = loaded.model.cfg
    assert (cfg.prefix_names(), cfg.patch_size, cfg.grid) == (names, P, grid)
    assert cfg.num_tokens == len(names) + grid[0] * grid[1]
    assert loaded.mean == tuple(IMAGENET["image_mean"]) and loaded.source == repo_id
    assert (loaded.labels is not None) == repo_id.startswith("facebook/deit")
    assert count_parameters(cfg) == sum(p.numel() for p in loaded.model.parameters())
    assert_equal_to_reference(loaded, references[repo_id], torch.randn(2, 3, *cfg.img_size))


@pytest.mark.parametrize("repo_id", ["facebook/dinov2-small", "facebook/dinov2-with-registers-small"])
def test_dinov2_at_a_non_square_size_interpolates_as_transformers(offline, repo_id):
    cache, references = offline
    loaded = load_pretrained(repo_id, cache_dir=str(cache), img_size=(168, 252))
    assert loaded.model.cfg.grid == (12, 18)
    assert_equal_to_reference(loaded, references[repo_id], torch.randn(1, 3, 168, 252))
    with pytest.raises(WeightsError, match="multiples of its patch size 14"):
        load_pretrained(repo_id, cache_dir=str(cache), img_size=(168, 250))


def test_dinov2_at_its_trained_grid_keeps_its_position_embeddings(tmp_path):
    reference = save_family("facebook/dinov2-small", tmp_path, seed=4, image_size=98)  # 7 × 7 stored
    loaded = load_folder(tmp_path, img_size=(98, 98))
    stored = reference.embeddings.position_embeddings
    assert torch.equal(loaded.model.pos_embed.detach(), stored.detach())
    assert_equal_to_reference(loaded, reference, torch.randn(1, 3, 98, 98))


@pytest.mark.parametrize("cls", ["DeiTForImageClassification", "DeiTModel", "DeiTForImageClassificationWithTeacher"])
def test_every_deit_class_at_a_non_square_size(tmp_path, cls):
    repo_id = "facebook/deit-small-distilled-patch16-224"
    labels = {} if cls == "DeiTModel" else dict(num_labels=5)
    reference = save_family(repo_id, tmp_path, seed=7, cls=cls, image_size=[160, 224], **labels)
    loaded = load_folder(tmp_path)
    cfg = loaded.model.cfg
    assert cfg.grid == (10, 14) and cfg.dist_token and cfg.head_dist == cls.endswith("WithTeacher")
    assert cfg.num_classes == (0 if cls == "DeiTModel" else 5)
    assert_equal_to_reference(loaded, reference, torch.randn(1, 3, 160, 224))
    with pytest.raises(WeightsError, match="trained for, 160×224"):
        load_folder(tmp_path, img_size=(224, 224))


def test_the_distilled_logits_are_the_mean_of_both_heads(offline):
    cache, references = offline
    vit = load_pretrained("facebook/deit-small-distilled-patch16-224", cache_dir=str(cache)).model
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        ref = references["facebook/deit-small-distilled-patch16-224"](pixel_values=x)
        features = vit.forward_trace(x).features
    torch.testing.assert_close(vit.head(features[:, 0]), ref.cls_logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(vit.head_dist(features[:, 1]), ref.distillation_logits, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "config, words",
    [
        (dict(model_type="swin", architectures=["SwinForImageClassification"]), "SwinForImageClassification"),
        (dict(model_type="beit", architectures=["BeitForImageClassification"]), "BeitForImageClassification"),
        (dict(model_type="clip_vision_model"), "'clip_vision_model'"),
    ],
)
def test_a_family_we_do_not_read_is_named(tmp_path, config, words):
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "model.safetensors").write_bytes(b"never read")
    with pytest.raises(WeightsError, match=words) as err:
        load_folder(tmp_path)
    assert "ViT, DeiT, DINOv2, DINOv2 with registers" in str(err.value)


def test_real_swin_and_beit_checkpoints_are_refused_by_family(tmp_path):
    swin = dict(image_size=32, patch_size=4, embed_dim=8, depths=[1], num_heads=[1])
    beit = dict(image_size=32, patch_size=4, hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
                intermediate_size=8)  # fmt: skip
    cases = [("swin", "SwinConfig", "SwinModel", swin), ("beit", "BeitConfig", "BeitModel", beit)]
    for name, config, cls, kwargs in cases:
        getattr(transformers, cls)(getattr(transformers, config)(**kwargs)).save_pretrained(tmp_path / name)
        with pytest.raises(WeightsError, match=f"{cls} \\(model_type '{name}'\\)"):
            load_folder(tmp_path / name)


def test_dinov2_with_an_image_head_or_swiglu_is_refused_clearly(tmp_path):
    small = dict(num_hidden_layers=1, hidden_size=32, num_attention_heads=2, patch_size=14, image_size=56)
    hf = transformers.Dinov2ForImageClassification(transformers.Dinov2Config(num_labels=3, **small))
    hf.save_pretrained(tmp_path / "head")
    with pytest.raises(WeightsError, match="Dinov2ForImageClassification's head reads CLS and the patches' mean"):
        load_folder(tmp_path / "head")
    swiglu = transformers.Dinov2Model(transformers.Dinov2Config(use_swiglu_ffn=True, **small))
    swiglu.save_pretrained(tmp_path / "swiglu")
    with pytest.raises(WeightsError, match="SwiGLU True"):
        load_folder(tmp_path / "swiglu")


@pytest.mark.parametrize("repo_id", list(FAMILIES))
def test_flexivit_resampling_keeps_the_prefix_aside(offline, repo_id):
    cache, _ = offline
    vit = load_pretrained(repo_id, cache_dir=str(cache)).model
    P = 28 if vit.cfg.patch_size == 14 else 32
    resampled = with_patch_size(vit, P)
    S = vit.cfg.embed_len - vit.cfg.num_patches  # CLS (and DIST) carry position embeddings
    assert resampled.cfg.num_prefix_tokens == vit.cfg.num_prefix_tokens
    assert torch.equal(resampled.pos_embed[:, :S], vit.pos_embed[:, :S])
    for name in ("cls_token", "dist_token", "reg_token"):
        if hasattr(vit, name):
            assert torch.equal(getattr(resampled, name), getattr(vit, name))
    trace = resampled.forward_trace(torch.randn(1, 3, *vit.cfg.img_size))
    assert trace.tokens.shape[1] == resampled.cfg.num_tokens and trace.num_prefix_tokens == S + vit.cfg.reg_tokens


def test_the_default_vit_is_unchanged_by_prefix_tokens():
    cfg = ViTConfig(img_size=(81, 81), patch_size=27, embed_dim=128, depth=2, num_heads=4)
    vit = VisionTransformer(cfg)
    assert (cfg.num_prefix_tokens, cfg.embed_len, cfg.num_tokens, cfg.prefix_names()) == (1, 10, 10, ["CLS"])
    assert not any("dist" in n or "reg_token" in n or "ls1" in n for n, _ in vit.named_parameters())
    assert cfg.token_index(1, 2) == 1 + 1 * 3 + 2


def test_prefix_tokens_in_our_own_model_keep_their_order():
    """Independently of transformers: registers sit between CLS/DIST and the patches, and carry no
    position embedding; CLS, DIST and each patch carry theirs."""
    cfg = ViTConfig(img_size=(28, 42), patch_size=14, embed_dim=8, depth=1, num_heads=2, dist_token=True,
                    reg_tokens=3, init_values=0.1, num_classes=4, head_dist=True)  # fmt: skip
    vit = VisionTransformer(cfg).eval()
    x = torch.randn(1, 3, 28, 42)
    with torch.no_grad():
        tokens = vit.embed(x)[2][0]  # (T, D)
        patches = vit.patch_embed(x).flatten(2).transpose(1, 2)[0]  # (N, D)
    pos = vit.pos_embed[0].detach()  # (E, D)
    torch.testing.assert_close(tokens[0], vit.cls_token[0, 0] + pos[0])
    torch.testing.assert_close(tokens[1], vit.dist_token[0, 0] + pos[1])
    torch.testing.assert_close(tokens[2:5], vit.reg_token[0])
    torch.testing.assert_close(tokens[5:], patches + pos[2:])
    assert cfg.token_index(1, 2) == 5 + 1 * 3 + 2 and cfg.num_tokens == 11
    assert cfg.token_cell(cfg.token_index(1, 2)) == (1, 2) and [cfg.token_cell(i) for i in range(5)] == [None] * 5
    assert count_parameters(cfg) == sum(p.numel() for p in vit.parameters())
    norms = analysis.token_norms(vit.forward_trace(x))
    assert norms.shape == (2, 11)


def test_maps_over_the_grid_leave_every_prefix_token_out():
    """Mean attention distance, query maps, rollout and GAE over patches only, against formulas
    written here on a model with CLS, DIST and 3 registers (S = 5)."""
    cfg = ViTConfig(img_size=(42, 56), patch_size=14, embed_dim=16, depth=2, num_heads=2, dist_token=True,
                    reg_tokens=3, init_values=0.5, num_classes=3, head_dist=True, seed=3)  # fmt: skip
    vit = VisionTransformer(cfg).eval()
    randomise_(vit, 11)
    x = torch.randn(1, 3, 42, 56)
    with torch.no_grad():
        trace = vit.forward_trace(x)
    S, (Gh, Gw) = cfg.num_prefix_tokens, cfg.grid
    assert S == 5 and trace.num_prefix_tokens == 5
    # mean attention distance: patch queries × patch keys, pixel distances between patch centres
    expected = torch.zeros(2, 2, dtype=torch.float64)
    for b, attn in enumerate(trace.attentions):
        for h in range(2):
            total = 0.0
            for q in range(Gh * Gw):
                for k in range(Gh * Gw):
                    (qr, qc), (kr, kc) = divmod(q, Gw), divmod(k, Gw)
                    dist = 14 * ((qr - kr) ** 2 + (qc - kc) ** 2) ** 0.5
                    total += float(attn[0, h, S + q, S + k]) * dist
            expected[b, h] = total / (Gh * Gw)
    torch.testing.assert_close(analysis.mean_attention_distance(trace.attentions, cfg.grid, 14).double(), expected,
                               atol=1e-4, rtol=1e-5)  # fmt: skip
    # a register's query map: its row, patch keys only, on the grid
    maps = analysis.query_maps(trace.attentions, list(range(cfg.num_tokens)), 3, cfg.grid)  # REG2
    assert torch.equal(maps[1, 0, 1, 2], trace.attentions[1][0, 0, 3, S + 1 * Gw + 2])
    rollout = analysis.attention_rollout(trace.attentions)
    assert torch.equal(analysis.rollout_map(rollout, 0, cfg.grid)[2, 3], rollout[0, 0, S + 2 * Gw + 3])
    relevance = analysis.gae_relevance(vit, x)
    assert relevance.shape == (Gh, Gw)
    # logit lens's last read-out is the prediction, both heads averaged
    lens = analysis.logit_lens(vit, trace)
    torch.testing.assert_close(lens[-1], trace.logits[0].softmax(-1))


def test_gae_on_distilled_deit_equals_an_implementation_on_transformers(tmp_path):
    """GAE from CLS's row, patches only (keys 2 …), through both averaged heads, against the same
    rule written on transformers' DeiT with teacher (its returned attention maps, retain_grad)."""
    reference = save_family("facebook/deit-small-distilled-patch16-224", tmp_path, seed=9, num_labels=4,
                            image_size=[64, 96])  # fmt: skip
    vit = load_folder(tmp_path).model
    x = torch.randn(1, 3, 64, 96)
    target = 2
    out = reference(pixel_values=x, output_attentions=True)
    for attention in out.attentions:
        attention.retain_grad()
    out.logits[0, target].backward()
    R = torch.eye(out.attentions[0].shape[-1])
    for attention in out.attentions:
        R = R + (attention.grad[0] * attention[0]).clamp(min=0).mean(0) @ R
    want = R[0, 2:].detach().reshape(4, 6)  # CLS's row; keys CLS, DIST left out
    got = analysis.gae_relevance(vit, x, target)
    assert want.abs().max() > 1e-4
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


def test_a_lone_deit_safetensors_file_loads_like_its_folder(tmp_path):
    from vizlib.weights import load_safetensors_bytes

    reference = save_family("facebook/deit-small-distilled-patch16-224", tmp_path, seed=2, num_labels=3,
                            image_size=[160, 224])  # fmt: skip
    data = (tmp_path / "model.safetensors").read_bytes()
    loaded = load_safetensors_bytes(data, num_heads=6, img_size=(160, 224))
    cfg = loaded.model.cfg
    assert cfg.dist_token and cfg.head_dist and cfg.grid == (10, 14) and cfg.num_classes == 3
    x = torch.randn(1, 3, 160, 224)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), reference(pixel_values=x).logits, atol=1e-5, rtol=1e-5)
