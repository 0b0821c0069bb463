"""Hugging Face checkpoints: hub ids from an offline cache the test fills, local folders, errors.

Never reaches the network: HF_HUB_OFFLINE is set and the cache holds ``save_pretrained`` copies
(random, distinct weights, depth reduced) of the real models' configs.
"""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import save

from tests.conftest import randomise_
from vizlib.config import ViTConfig
from vizlib.model import VisionTransformer
from vizlib.weights import WeightsError, load_folder, load_pretrained, load_safetensors_bytes

transformers = pytest.importorskip("transformers")
huggingface_hub = pytest.importorskip("huggingface_hub")

COMMIT = "0123456789abcdef0123456789abcdef01234567"
# The real models' configs, depth reduced to 2 to keep the test fast.
MODELS = {
    "google/vit-base-patch16-224": dict(
        cls="ViTForImageClassification", hidden_size=768, num_attention_heads=12, intermediate_size=3072,
        patch_size=16, image_size=224, num_labels=1000, mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5],
    ),
    "facebook/dino-vits16": dict(
        cls="ViTModel", hidden_size=384, num_attention_heads=6, intermediate_size=1536, patch_size=16, image_size=224,
        mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225],
    ),
    "facebook/dino-vits8": dict(
        cls="ViTModel", hidden_size=384, num_attention_heads=6, intermediate_size=1536, patch_size=8, image_size=224,
        mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225],
    ),
}  # fmt: skip


def save_model(repo_id: str, folder, seed: int):
    spec = dict(MODELS[repo_id])
    cls = getattr(transformers, spec.pop("cls"))
    mean, std = spec.pop("mean"), spec.pop("std")
    labels = spec.pop("num_labels", None)
    extra = dict(id2label={i: f"class {i}" for i in range(labels)}) if labels else {}
    cfg = transformers.ViTConfig(num_hidden_layers=2, layer_norm_eps=1e-12, **spec, **extra)
    model = cls(cfg)
    randomise_(model, seed)
    model.save_pretrained(folder)
    (folder / "preprocessor_config.json").write_text(json.dumps({"image_mean": mean, "image_std": std}))
    return cls.from_pretrained(folder, attn_implementation="eager").eval()


@pytest.fixture
def offline_cache(tmp_path, monkeypatch):
    """A Hugging Face cache holding the three models, with the hub switched off."""
    cache = tmp_path / "hub"
    references = {}
    for seed, repo_id in enumerate(MODELS):
        repo = cache / f"models--{repo_id.replace('/', '--')}"
        snapshot = repo / "snapshots" / COMMIT
        snapshot.mkdir(parents=True)
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text(COMMIT)
        references[repo_id] = save_model(repo_id, snapshot, seed)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    return cache, references


@pytest.mark.parametrize("repo_id", list(MODELS))
def test_hub_ids_load_from_the_offline_cache_and_equal_transformers(offline_cache, repo_id):
    cache, references = offline_cache
    loaded = load_pretrained(repo_id, cache_dir=str(cache))
    spec = MODELS[repo_id]
    assert loaded.source == repo_id and loaded.model.cfg.patch_size == spec["patch_size"]
    assert loaded.mean == tuple(spec["mean"]) and loaded.std == tuple(spec["std"])
    assert (loaded.labels is None) == (spec["cls"] == "ViTModel")
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        ref = references[repo_id](pixel_values=x, output_attentions=True)
        trace = loaded.model.forward_trace(x)
    if loaded.labels:
        assert len(loaded.labels) == 1000 and loaded.labels[7] == "class 7"
        torch.testing.assert_close(trace.logits, ref.logits, atol=1e-5, rtol=1e-5)
    else:
        torch.testing.assert_close(trace.features, ref.last_hidden_state, atol=1e-5, rtol=1e-5)
    for ours, theirs in zip(trace.attentions, ref.attentions, strict=True):
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)


def test_a_local_folder_loads_too(tmp_path):
    save_model("facebook/dino-vits8", tmp_path, seed=5)
    loaded = load_pretrained(str(tmp_path))
    assert loaded.model.cfg.grid == (28, 28) and loaded.source == str(tmp_path)


def test_offline_and_not_cached_is_a_clear_error(offline_cache):
    cache, _ = offline_cache
    with pytest.raises(WeightsError, match="offline, only models already in the Hugging Face cache"):
        load_pretrained("google/vit-large-patch32-384", cache_dir=str(cache))
    with pytest.raises(WeightsError, match="not a hub id like google/vit-base-patch16-224"):
        load_pretrained("not a//valid id", cache_dir=str(cache))


def test_broken_folders_are_refused(tmp_path):
    with pytest.raises(WeightsError, match="needs config.json"):
        load_folder(tmp_path)
    save_model("facebook/dino-vits8", tmp_path, seed=1)
    hf = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**hf, "hidden_act": "relu"}))
    with pytest.raises(WeightsError, match="ViT variant \\(activation relu"):
        load_folder(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({**hf, "num_hidden_layers": 3}))
    with pytest.raises(WeightsError, match="do not fit"):
        load_folder(tmp_path)
    shutil.rmtree(tmp_path)


def test_a_lone_safetensors_file_in_either_naming(tmp_path):
    ours = VisionTransformer(ViTConfig(img_size=(32, 32), patch_size=8, embed_dim=48, depth=2, num_heads=3,
                                       num_classes=4, seed=9)).eval()  # fmt: skip
    loaded = load_safetensors_bytes(save(ours.state_dict()), num_heads=3, img_size=(32, 32))
    assert loaded.model.cfg.grid == (4, 4) and loaded.model.cfg.num_classes == 4 and loaded.model.cfg.depth == 2
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), ours(x))
    reference = save_model("facebook/dino-vits8", tmp_path, seed=4)
    hf_loaded = load_safetensors_bytes((tmp_path / "model.safetensors").read_bytes(), 6, img_size=(224, 224))
    assert hf_loaded.model.cfg.num_heads == 6 and hf_loaded.labels is None
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(hf_loaded.model.forward_trace(x).features,
                                   reference(pixel_values=x).last_hidden_state, atol=1e-5, rtol=1e-5)  # fmt: skip
    with pytest.raises(WeightsError, match="not a readable"):
        load_safetensors_bytes(b"not safetensors at all")
    with pytest.raises(WeightsError, match="divisible"):
        load_safetensors_bytes(save(ours.state_dict()), num_heads=5, img_size=(32, 32))


def test_a_grid_is_never_guessed_from_the_token_count():
    """A 32×72 px, P = 8 model has 4×9 = 36 patches, which also fit 6×6: the file alone cannot say."""
    vit = VisionTransformer(ViTConfig(img_size=(32, 72), patch_size=8, embed_dim=32, depth=1, num_heads=2, seed=5))
    data = save(vit.state_dict())
    with pytest.raises(WeightsError, match=r"does not say its image size.*48×48"):
        load_safetensors_bytes(data, num_heads=2)
    with pytest.raises(WeightsError, match=r"48×48 px at P = 8 gives 36 patches|40×40 px at P = 8 gives 25"):
        load_safetensors_bytes(data, num_heads=2, img_size=(40, 40))
    with pytest.raises(WeightsError, match="how many attention heads"):
        load_safetensors_bytes(data, img_size=(32, 72))
    loaded = load_safetensors_bytes(data, num_heads=2, img_size=(32, 72))
    assert loaded.model.cfg.grid == (4, 9)
    x = torch.randn(1, 3, 32, 72)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model.forward_trace(x).features, vit.eval().forward_trace(x).features)


@pytest.mark.parametrize("size, P, heads", [((32, 72), 8, 2), ((48, 48), 16, 4), ((30, 90), 15, 1)])
def test_our_export_carries_its_config_so_nothing_is_asked(size, P, heads):
    from vizlib import export

    vit = VisionTransformer(ViTConfig(img_size=size, patch_size=P, embed_dim=32, depth=2, num_heads=heads,
                                      num_classes=3, seed=2, mlp_dim=45)).eval()  # fmt: skip
    data = export.weights_safetensors(vit, ["cat", "dog", "fox"], (0.5, 0.4, 0.3), (0.2, 0.2, 0.25))
    loaded = load_safetensors_bytes(data)
    assert loaded.model.cfg == vit.cfg
    assert loaded.labels == ["cat", "dog", "fox"] and loaded.mean == (0.5, 0.4, 0.3) and loaded.std == (0.2, 0.2, 0.25)
    for name, tensor in vit.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[name], tensor), name


@pytest.mark.parametrize("hidden, intermediate", [(56, 230), (56, 57), (30, 121), (64, 255), (12, 1)])
def test_an_mlp_width_that_is_no_round_ratio_loads_exactly(tmp_path, hidden, intermediate):
    cfg = transformers.ViTConfig(
        hidden_size=hidden, num_hidden_layers=1, num_attention_heads=2, intermediate_size=intermediate, image_size=32,
        patch_size=8, layer_norm_eps=1e-12,
    )  # fmt: skip
    reference = transformers.ViTModel(cfg, add_pooling_layer=False)
    randomise_(reference, 7)
    reference.save_pretrained(tmp_path)
    reference = transformers.ViTModel.from_pretrained(tmp_path, attn_implementation="eager").eval()
    loaded = load_folder(tmp_path)
    assert loaded.model.cfg.mlp_dim == intermediate
    assert loaded.model.blocks[0].mlp.fc1.out_features == intermediate
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        ours = loaded.model.forward_trace(x).features  # (1, T, D) after the final norm
        theirs = reference(pixel_values=x).last_hidden_state
    assert torch.allclose(ours, theirs, atol=1e-5)


# ---------------------------------------------------------------- what the page cannot run is refused at load


def tiny_hf(folder, **overrides):
    """A small Hugging Face ViT saved with ``save_pretrained`` (32 px, P = 8, D = 32, depth 1, 2 heads)."""
    spec = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, image_size=32,
                patch_size=8, layer_norm_eps=1e-12)  # fmt: skip
    model = transformers.ViTModel(transformers.ViTConfig(**{**spec, **overrides}), add_pooling_layer=False)
    randomise_(model, 3)
    model.save_pretrained(folder)
    return folder


@pytest.mark.parametrize(
    "overrides, preprocessor, words",
    [
        (dict(num_channels=1), None, "takes 1 input channels"),
        (dict(num_channels=4), None, "takes 4 input channels"),
        ({}, {"image_mean": [0.5], "image_std": [0.5]}, "mean has 1 numbers"),
        ({}, {"image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.0, 0.5]}, "three positive numbers"),
        ({}, {"image_mean": [0.5, 0.5, 0.5, 0.5], "image_std": [1, 1, 1, 1]}, "mean has 4 numbers"),
    ],
)
def test_a_checkpoint_the_page_cannot_feed_is_refused_at_load(tmp_path, overrides, preprocessor, words):
    tiny_hf(tmp_path, **overrides)
    if preprocessor:
        (tmp_path / "preprocessor_config.json").write_text(json.dumps(preprocessor))
    with pytest.raises(WeightsError, match=words):
        load_folder(tmp_path)


def test_a_config_that_cannot_build_a_vit_is_a_weights_error(tmp_path):
    tiny_hf(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**cfg, "num_attention_heads": 3}))  # 32 is not divisible by 3
    with pytest.raises(WeightsError, match="divisible"):
        load_folder(tmp_path)


@pytest.mark.parametrize("bad, dtype", [(float("nan"), torch.float32), (float("inf"), torch.float16),
                                        (float("-inf"), torch.float32)])  # fmt: skip
def test_non_finite_weights_are_refused_naming_the_tensor(bad, dtype):
    vit = VisionTransformer(ViTConfig(img_size=(48, 48), patch_size=16, embed_dim=64, depth=2, num_heads=2, seed=1))
    sd = {k: v.to(dtype) for k, v in vit.state_dict().items()}  # fp16: a snapshot
    sd["blocks.1.mlp.fc1.weight"][3, 4] = bad
    with pytest.raises(WeightsError, match=r"1 values of blocks\.1\.mlp\.fc1\.weight are not finite"):
        load_safetensors_bytes(save(sd), num_heads=2, img_size=(48, 48))


def test_labels_and_position_embeddings_must_match_the_model():
    from vizlib.weights import Loaded, checked

    vit = VisionTransformer(ViTConfig(img_size=(32, 32), patch_size=8, embed_dim=32, depth=1, num_heads=2,
                                      num_classes=3, seed=1)).eval()  # fmt: skip
    mean, std = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)
    assert checked(Loaded(vit, ["a", "b", "c"], mean, std, "x")).labels == ["a", "b", "c"]
    with pytest.raises(WeightsError, match="2 labels for a head of 3 classes"):
        checked(Loaded(vit, ["a", "b"], mean, std, "x"))
    vit.pos_embed = torch.nn.Parameter(torch.zeros(1, 10, 32))  # a table for 9 patches + CLS
    vit.cfg = ViTConfig(img_size=(32, 64), patch_size=8, embed_dim=32, depth=1, num_heads=2, num_classes=3)  # 32
    with pytest.raises(WeightsError, match="10 position embeddings for 32 patches"):
        checked(Loaded(vit, ["a", "b", "c"], mean, std, "x"))
