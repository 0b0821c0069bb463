"""The loader's faults found by trying it (issue 25, items 5 and 7–12), each kind with inputs of its own.

Every refusal carries a translation key and its fields and reads in Japanese with no exception class
name and no server path; a file's metadata and a checkpoint's JSON are read as untrusted; the
pre-processing follows transformers' image processor (held against it on the same picture);
checkpoints without a CLS position row are refused as such; only floating-point tensors load; a
model pushed out of the shared cache is rebuilt from the file the session holds.
"""

from __future__ import annotations

import ast
import json
import re

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save
from streamlit.testing.v1 import AppTest

from page import compute
from page.ui import explain
from tests.conftest import ROOT, randomise_
from vizlib import export, image
from vizlib.config import ViTConfig
from vizlib.i18n import Translator, load_table
from vizlib.model import VisionTransformer
from vizlib.weights import METADATA_KEY, WeightsError, load_folder, load_safetensors_bytes, normalisation_from

transformers = pytest.importorskip("transformers")

APP = str(ROOT / "app.py")
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
EXCEPTION_NAME = re.compile(r"\b[A-Z]\w*(Error|Exception|Enabled)\b")  # KeyError, SafetensorError, …
FIELD = re.compile(r"\{(\w+)")
EN, JA = Translator("en"), Translator("ja")


def refused(call, *args, **kwargs) -> WeightsError:
    """The WeightsError ``call`` raises, after checking how a page shows it: the table's English is the
    library's text, the Japanese has Japanese in it and neither names an exception class."""
    with pytest.raises(WeightsError) as info:
        call(*args, **kwargs)
    err = info.value
    assert explain(EN, err) == str(err), err.code
    japanese = explain(JA, err)
    assert JAPANESE.search(japanese) and not EXCEPTION_NAME.search(japanese + str(err)), japanese
    return err


def tiny(seed: int = 1, **changes) -> VisionTransformer:
    """A small ViT of our (timm's) names: 24×24 px, P = 8, D = 16, depth 2, 2 heads, 3 classes."""
    spec = dict(img_size=(24, 24), patch_size=8, embed_dim=16, depth=2, num_heads=2, num_classes=3, seed=seed)
    return VisionTransformer(ViTConfig(**{**spec, **changes})).eval()


def with_metadata(text: str, vit: VisionTransformer | None = None) -> bytes:
    """A .safetensors file whose page entry holds ``text``."""
    return save((vit or tiny()).state_dict(), metadata={METADATA_KEY: text})


def hf_folder(folder, cls="ViTModel", **overrides):
    """A small transformers ViT saved with ``save_pretrained`` (32 px, P = 8, D = 32, depth 1, 2 heads);
    the reference reloaded in eager mode."""
    spec = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, image_size=32,
                patch_size=8, layer_norm_eps=1e-12)  # fmt: skip
    model = getattr(transformers, cls)(transformers.ViTConfig(**{**spec, **overrides}))
    randomise_(model, 3)
    model.save_pretrained(folder)
    return getattr(transformers, cls).from_pretrained(folder, attn_implementation="eager").eval()


def edit_json(path, **changes) -> None:
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


# ---------------------------------------------------------------- 5. every refusal in the page's language


def raise_sites() -> list[tuple[str, ast.Call]]:
    """Every ``WeightsError(…)`` and ``HubError(…)`` in the loader and the page modules that raise them."""
    sites = []
    for path in ("vizlib/weights.py", "page/compute.py", "page/serving.py"):
        for node in ast.walk(ast.parse((ROOT / path).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "WeightsError",
                "HubError",
            ):
                sites.append((f"{path}:{node.lineno}", node))
    return sites


def test_every_raise_site_has_a_translation_whose_placeholders_are_its_fields():
    table = load_table()
    sites = raise_sites()
    assert len(sites) > 50  # the loader's refusals, the hub's errors, compute's two
    for where, call in sites:
        code = call.args[0]
        assert isinstance(code, ast.Constant) and isinstance(code.value, str), f"{where}: the code is not a literal"
        fields = {k.arg for k in call.keywords}
        assert None not in fields, f"{where}: fields given as **dict cannot be checked"
        key = f"err_{code.value}"
        assert key in table, f"{where}: no {key}"
        assert JAPANESE.search(table[key]["ja"]), key
        for lang in ("en", "ja"):
            assert set(FIELD.findall(table[key][lang])) == fields, (where, key, lang)


def test_a_config_error_inside_a_weights_error_is_translated_too(tmp_path):
    hf_folder(tmp_path)
    edit_json(tmp_path / "config.json", num_attention_heads=3)  # 32 is not divisible by 3
    err = refused(load_folder, tmp_path)
    assert err.code == "weights_config" and err.fields["reason"].code == "heads_divide"
    assert "埋め込み次元 32 はヘッド数 3 で割り切れる必要があります" in explain(JA, err)


def catalogue(tmp_path) -> list[tuple[str, object]]:
    """Inputs of our own for each kind of refusal, as calls that raise."""
    good = tiny()
    sd = good.state_dict()
    folder = tmp_path / "folder"
    hf_folder(folder)
    config = json.loads((folder / "config.json").read_text())

    def folder_with(config_changes=None, pre=None, raw_config=None, drop=None, without=()):
        target = tmp_path / f"f{len(list(tmp_path.iterdir()))}"
        target.mkdir()
        (target / "model.safetensors").write_bytes((folder / "model.safetensors").read_bytes())
        kept = {k: v for k, v in config.items() if k not in without}
        text = raw_config if raw_config is not None else json.dumps({**kept, **(config_changes or {})})
        (target / "config.json").write_text(text)
        if pre is not None:
            (target / "preprocessor_config.json").write_text(pre if isinstance(pre, str) else json.dumps(pre))
        for name in drop or []:
            (target / name).unlink()
        return lambda: load_folder(target)

    def file(state, **kwargs):
        return lambda: load_safetensors_bytes(save(state), **kwargs)

    int8 = {**sd, "blocks.0.mlp.fc1.weight": sd["blocks.0.mlp.fc1.weight"].to(torch.int8)}
    no_cls = {**sd, "pos_embed": sd["pos_embed"][:, 1:]}  # 9 rows for a 3 × 3 grid: timm's no_embed_class
    return [
        ("weights_st_short", lambda: load_safetensors_bytes(b"abc")),
        ("weights_st_header", lambda: load_safetensors_bytes(b"\x10" + b"\x00" * 7 + b"not json" * 3)),
        ("weights_st_tensors", lambda: load_safetensors_bytes(save(sd)[:-40])),
        ("weights_json", lambda: load_safetensors_bytes(with_metadata("{'config': 1}"))),
        ("weights_file_object", lambda: load_safetensors_bytes(with_metadata("[1, 2]"))),
        ("weights_field_labels", lambda: load_safetensors_bytes(with_metadata('{"labels": {"0": "cat"}}'))),
        ("weights_field_numbers", lambda: load_safetensors_bytes(with_metadata('{"mean": "0.5, 0.5, 0.5"}'))),
        ("weights_field_object", lambda: load_safetensors_bytes(with_metadata('{"config": [24, 24]}'))),
        ("weights_dtype", file(int8, num_heads=2, img_size=(24, 24))),
        ("weights_no_size_timm", file(sd, num_heads=2)),
        ("weights_no_embed_class", file(no_cls, num_heads=2, img_size=(24, 24))),
        ("weights_size_patches", file(sd, num_heads=2, img_size=(32, 32))),
        ("weights_no_heads", file(sd, img_size=(24, 24))),
        (
            "weights_missing",
            file({k: v for k, v in sd.items() if k != "blocks.1.norm2.bias"}, num_heads=2, img_size=(24, 24)),
        ),  # fmt: skip
        ("weights_unexpected", file({**sd, "fc_norm.weight": torch.ones(16)}, num_heads=2, img_size=(24, 24))),
        ("weights_no_vit_tensors", file({"a": torch.zeros(2)})),
        ("weights_rank", file({**sd, "pos_embed": sd["pos_embed"][0]}, num_heads=2, img_size=(24, 24))),
        ("weights_config", file(sd, num_heads=3, img_size=(24, 24))),
        (
            "weights_not_finite",
            file({**sd, "head.bias": torch.full((3,), float("nan"))}, num_heads=2, img_size=(24, 24)),
        ),  # fmt: skip
        ("weights_folder_files", folder_with(drop=["model.safetensors"])),
        ("weights_json", folder_with(raw_config="{not json")),
        ("weights_file_object", folder_with(raw_config="[]")),
        ("weights_field_size", folder_with({"patch_size": "8"})),
        ("weights_patch_not_square", folder_with({"patch_size": [8, 4]})),
        ("weights_field_int", folder_with({"hidden_size": 32.5})),
        ("weights_field_missing", folder_with(without=["num_hidden_layers"])),
        ("weights_variant", folder_with({"hidden_act": "gelu_new"})),
        ("weights_family", folder_with({"model_type": ["vit"]})),
        ("weights_trained_size", lambda: load_folder(folder, img_size=(64, 64))),
        ("weights_field_flag", folder_with(pre={"do_normalize": "no"})),
        ("weights_field_positive", folder_with(pre={"rescale_factor": 0})),
        ("weights_field_number", folder_with(pre={"image_mean": [0.5, "a", 0.5]})),
        ("weights_json", folder_with(pre="{")),
        ("weights_std_positive", folder_with(pre={"image_std": [0.5, 0.0, 0.5]})),
        ("weights_mean_count", folder_with(pre={"image_mean": [0.5, 0.5]})),
    ]


def test_each_kind_of_refusal_reads_in_japanese_and_shows_no_server_path(tmp_path):
    seen = set()
    for code, call in catalogue(tmp_path):
        err = refused(call)
        assert err.code == code, (code, str(err))
        for text in (str(err), explain(JA, err)):
            assert str(tmp_path) not in text and "/tmp" not in text, text  # no server path in any refusal
        seen.add(code)
    assert len(seen) >= 30


# ---------------------------------------------------------------- 7. metadata read as untrusted


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"config": {"img_size": [24, 24]', "__metadata__.vit_patch_explorer"),  # cut short: not JSON
        ("[24, 24]", "__metadata__.vit_patch_explorer"),  # JSON, but a list
        ('"a string"', "__metadata__.vit_patch_explorer"),
        ('{"mean": ["0.5", "0.5", "0.5"]}', "mean"),
        ('{"std": "0.25"}', "std"),
        ('{"std": NaN}', "std"),
        ('{"mean": [0.5, true, 0.5]}', "mean"),
        ('{"labels": {"0": "cat", "1": "dog", "2": "fox"}}', "labels"),  # loaded, then KeyError 0 in Predictions
        ('{"labels": [0, 1, 2]}', "labels"),
        ('{"labels": "cat, dog, fox"}', "labels"),
        ('{"config": "24x24"}', "config"),
        ('{"config": {"img_size": "24x24"}}', "config.img_size"),
        ('{"config": {"img_size": [24, 24, 3]}}', "config.img_size"),
        ('{"config": {"img_size": [24.0, 24.0]}}', "config.img_size"),
        ('{"config": {"img_size": [24, 24], "num_heads": 2.5}}', "config.num_heads"),
        ('{"config": {"img_size": [24, 24], "num_heads": "2"}}', "config.num_heads"),
        ('{"config": {"img_size": [24, 24], "num_heads": 2, "layer_norm_eps": -1}}', "config.layer_norm_eps"),
        ('{"config": {"img_size": [24, 24], "num_heads": 2, "seed": false}}', "config.seed"),
    ],
)
def test_metadata_of_the_wrong_kind_is_refused_naming_the_field(text, field):
    err = refused(load_safetensors_bytes, with_metadata(text))
    assert field in str(err) and field in explain(JA, err)


def test_metadata_that_is_right_still_loads_and_labels_are_a_list():
    vit = tiny(seed=4)
    data = export.weights_safetensors(vit, ["cat", "dog", "fox"], (0.5, 0.4, 0.3), (0.2, 0.2, 0.25))
    loaded = load_safetensors_bytes(data)
    assert loaded.labels == ["cat", "dog", "fox"] and loaded.labels[0] == "cat"  # indexable by class number
    assert loaded.model.cfg == vit.cfg and loaded.mean == (0.5, 0.4, 0.3)
    mean_one = with_metadata('{"config": {"img_size": [24, 24], "num_heads": 2}, "mean": 0.5, "std": 0.25}')
    assert load_safetensors_bytes(mean_one).mean == (0.5, 0.5, 0.5)  # a number stands for every channel


# ---------------------------------------------------------------- 8. pre-processing by transformers' rules


def picture(size: int = 32, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8))


@pytest.mark.parametrize(
    "pre",
    [
        {"image_mean": 0.5, "image_std": 0.5},  # scalars: transformers broadcasts them over the channels
        {"image_mean": 0.3, "image_std": [0.2, 0.25, 0.3]},
        {"image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]},
        {"do_normalize": False, "image_mean": [0.485, 0.456, 0.406]},  # the mean is then not used
        {"do_rescale": False, "image_mean": [127.5, 120, 110], "image_std": 64.0},
        {"rescale_factor": 1 / 127.5, "image_mean": 1.0, "image_std": 1.0},  # [-1, 1] by the scale
        {"do_rescale": False, "do_normalize": False},  # raw 0…255
        {"rescale_factor": 0.002, "do_normalize": False},
        {},  # every value the processor's default (ViT: mean and std 0.5)
        {"image_processor_type": "ViTImageProcessor", "image_std": [0.1, 0.2, 0.3]},
    ],
)
def test_the_page_feeds_the_pixels_transformers_processor_gives(tmp_path, pre):
    reference = hf_folder(tmp_path, "ViTForImageClassification", num_labels=5,
                          id2label={i: f"c{i}" for i in range(5)})  # fmt: skip
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({**pre, "size": {"height": 32, "width": 32}}))
    loaded = load_folder(tmp_path)
    img = picture()  # already the model's size: only rescaling and normalising can differ
    processor = transformers.ViTImageProcessorPil.from_pretrained(tmp_path)
    theirs = processor(images=img, return_tensors="pt").pixel_values.float()  # uint8 when neither step runs
    ours = image.to_tensor(img, loaded.mean, loaded.std)  # (1, 3, 32, 32)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-4)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(ours), reference(pixel_values=theirs).logits, rtol=1e-4, atol=1e-4)


def test_dinov2_without_a_mean_takes_its_processors_default(tmp_path):
    small = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, patch_size=8, image_size=32)
    transformers.Dinov2Model(transformers.Dinov2Config(**small)).save_pretrained(tmp_path)
    size = {"size": {"shortest_edge": 32}, "crop_size": {"height": 32, "width": 32}}
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(size))  # no mean, no std: BitImageProcessor's
    loaded = load_folder(tmp_path, img_size=(32, 32))
    img = picture(seed=1)
    theirs = transformers.BitImageProcessorPil.from_pretrained(tmp_path)(images=img, return_tensors="pt").pixel_values
    torch.testing.assert_close(image.to_tensor(img, loaded.mean, loaded.std), theirs, rtol=1e-5, atol=1e-4)
    assert loaded.mean == pytest.approx((0.48145466, 0.4578275, 0.40821073))  # CLIP's, not ImageNet's


def test_the_effective_normalisation_is_written_down():
    assert normalisation_from({"do_normalize": False}) == ((0.0,) * 3, (1.0,) * 3)
    mean, std = normalisation_from({"do_rescale": False, "image_mean": 127.5, "image_std": 255.0})
    assert mean == pytest.approx((0.5,) * 3) and std == pytest.approx((1.0,) * 3)
    mean, std = normalisation_from({"rescale_factor": 1 / 127.5, "image_mean": 1.0, "image_std": 1.0})
    assert mean == pytest.approx((0.5,) * 3) and std == pytest.approx((0.5,) * 3)


# ---------------------------------------------------------------- 9. no position row for CLS (timm's no_embed_class)


def timm_no_embed_class(vit: VisionTransformer, x: torch.Tensor) -> torch.Tensor:
    """timm's ``_pos_embed`` with ``no_embed_class``: positions added to the patches only, CLS put in
    front without one (``x = x + pos_embed; x = cat([cls, x])``)."""
    patches = vit.patch_embed(x).flatten(2).transpose(1, 2)  # (B, N, D)
    patches = patches + vit.pos_embed[:, 1:]  # (B, N, D): a table of N rows, one per patch
    return torch.cat([vit.cls_token.expand(x.shape[0], -1, -1), patches], dim=1)  # (B, 1 + N, D)


def test_a_file_with_one_position_per_patch_is_refused_as_such_never_read_as_another_grid():
    vit = tiny(seed=7, init_values=1e-2)  # DeiT III: LayerScale and no position for CLS
    no_cls = {**vit.state_dict(), "pos_embed": vit.pos_embed.detach()[:, 1:]}  # 9 rows for a 3 × 3 grid
    data = save(no_cls)
    asked = refused(load_safetensors_bytes, data, num_heads=2)
    assert asked.code == "weights_no_size_timm" and "9 position embeddings, 1 for CLS and 8 for the patches" in str(
        asked
    )
    assert "no_embed_class" in str(asked) and "no_embed_class" in explain(JA, asked)
    at_its_size = refused(load_safetensors_bytes, data, num_heads=2, img_size=(24, 24))
    assert at_its_size.code == "weights_no_embed_class" and "none for CLS" in str(at_its_size)
    # The same rows read the standard way would put CLS at a patch's position: timm's formula differs.
    x = torch.randn(1, 3, 24, 24)
    with torch.no_grad():
        standard = vit.embed(x)[2]
        timm = timm_no_embed_class(vit, x)
    assert not torch.allclose(standard, timm)
    ours = load_safetensors_bytes(save(vit.state_dict()), num_heads=2, img_size=(24, 24))  # with a CLS row: loads
    assert ours.model.cfg.grid == (3, 3)


def test_hugging_face_files_always_have_a_cls_row_so_a_wrong_size_is_said_plainly(tmp_path):
    hf_folder(tmp_path)  # 32 px, P = 8: 1 + 16 rows
    data = (tmp_path / "model.safetensors").read_bytes()
    err = refused(load_safetensors_bytes, data, num_heads=2, img_size=(40, 24))  # 5 × 3 = 15 patches
    assert err.code == "weights_size_patches" and "17 position embeddings, 1 for CLS and 16 for the patches" in str(err)
    assert "32×32" in str(err)
    assert refused(load_safetensors_bytes, data, num_heads=2).code == "weights_no_size"


# ---------------------------------------------------------------- 10. dtypes


@pytest.mark.parametrize("dtype", [torch.int8, torch.uint8, torch.bool, torch.int32, torch.int64, torch.complex64])
def test_a_tensor_that_is_not_floating_point_is_refused_by_name(tmp_path, dtype):
    sd = tiny().state_dict()
    sd["blocks.1.attn.qkv.weight"] = sd["blocks.1.attn.qkv.weight"].to(dtype)
    err = refused(load_safetensors_bytes, save(sd), num_heads=2, img_size=(24, 24))
    name = str(dtype).removeprefix("torch.")
    assert err.fields == {"name": "blocks.1.attn.qkv.weight", "dtype": name} and name in explain(JA, err)
    hf_folder(tmp_path)
    from safetensors.torch import load_file, save_file

    raw = load_file(tmp_path / "model.safetensors")
    raw["encoder.layer.0.output.dense.weight"] = raw["encoder.layer.0.output.dense.weight"].to(dtype)
    save_file(raw, tmp_path / "model.safetensors")
    assert refused(load_folder, tmp_path).fields["name"] == "encoder.layer.0.output.dense.weight"


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float8_e4m3fn, torch.float8_e5m2])
def test_floating_point_dtypes_load_as_float32_of_their_values(dtype):
    sd = {k: v.to(dtype) for k, v in tiny(seed=5).state_dict().items()}
    loaded = load_safetensors_bytes(save(sd), num_heads=2, img_size=(24, 24))
    for name, tensor in loaded.model.state_dict().items():
        assert tensor.dtype == torch.float32 and torch.equal(tensor, sd[name].float()), name


# ---------------------------------------------------------------- 11. config.json as transformers reads it


@pytest.mark.parametrize(
    "changes",
    [
        dict(patch_size=[8, 8]),  # a square patch given as a pair
        dict(image_size=[32, 32], patch_size=[8, 8]),
        dict(hidden_act="gelu_python"),  # the same erf formula written out in Python
        dict(image_size=[32, 48]),  # a non-square picture (the patches stay square)
    ],
)
def test_what_transformers_runs_identically_loads_and_equals_it(tmp_path, changes):
    reference = hf_folder(tmp_path, **changes)
    loaded = load_folder(tmp_path)
    H, W = loaded.model.cfg.img_size
    x = torch.randn(1, 3, H, W)
    with torch.no_grad():
        ours = loaded.model.forward_trace(x).features
        theirs = reference(pixel_values=x).last_hidden_state
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)


def test_a_non_square_patch_and_an_approximate_gelu_are_refused_truthfully(tmp_path):
    hf_folder(tmp_path / "flat", patch_size=[8, 4])  # transformers runs 8 × 4 patches; the page cuts P × P
    err = refused(load_folder, tmp_path / "flat")
    assert err.code == "weights_patch_not_square" and "8×4 pixels" in str(err)
    for act in ("gelu_new", "gelu_pytorch_tanh", "quick_gelu", "gelu_10"):
        hf_folder(tmp_path / act, hidden_act=act)
        assert f"activation {act}" in str(refused(load_folder, tmp_path / act))


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        (dict(patch_size=[8]), "patch_size in config.json is [8]"),
        (dict(patch_size=True), "patch_size in config.json is true"),
        (dict(image_size="32"), 'image_size in config.json is "32"'),
        (dict(hidden_size="32"), 'hidden_size in config.json is "32"'),
        (dict(num_hidden_layers=0), "num_hidden_layers in config.json is 0"),
        (dict(layer_norm_eps="1e-12"), "layer_norm_eps in config.json"),
        (dict(model_type={"vit": 1}), "is not a family the page reads"),
        (dict(id2label=["a", "b"]), "id2label in config.json"),
    ],
)
def test_config_values_of_the_wrong_kind_are_refused_naming_the_field(tmp_path, changes, words):
    hf_folder(tmp_path / "m", "ViTForImageClassification", num_labels=2)
    edit_json(tmp_path / "m" / "config.json", **changes)
    err = refused(load_folder, tmp_path / "m")
    assert words in str(err) and str(tmp_path) not in str(err) + explain(JA, err)


def test_labels_that_do_not_name_every_class_are_refused(tmp_path):
    hf_folder(tmp_path, "ViTForImageClassification", num_labels=3)
    edit_json(tmp_path / "config.json", id2label={"0": "a", "1": "b", "5": "c"})
    assert refused(load_folder, tmp_path).code == "weights_id2label"


def test_a_folder_is_named_by_its_name_never_its_path(tmp_path):
    err = refused(load_folder, tmp_path / "somewhere" / "models" / "mine")
    assert "mine needs config.json" in str(err) and str(tmp_path) not in str(err)
    assert refused(load_folder, tmp_path, source="typed/name").fields["name"] == "typed/name"


# ---------------------------------------------------------------- the page, in Japanese


def page_in(lang: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.radio(key="w_lang").set_value(lang).run()
    return at.selectbox(key="w_weights").set_value("pretrained").run()


def upload_weights(at: AppTest, data: bytes, heads: int = 0, size: int = 0) -> AppTest:
    at.file_uploader(key="weights_file").set_value(("w.safetensors", data, "application/octet-stream"))
    at.number_input(key="w_upload_heads").set_value(heads).run()
    at.number_input(key="w_upload_h").set_value(size).run()
    at.number_input(key="w_upload_w").set_value(size).run()
    return at.button(key="load_hub").click().run()


def only_error(at: AppTest, tmp_path) -> str:
    """The one error the page shows, as a reader sees it, after checking it is Japanese and plain."""
    from tests.test_app import shown

    assert not at.exception
    (error,) = at.error
    text = shown(error.value)
    assert JAPANESE.search(text) and not EXCEPTION_NAME.search(text), text
    assert "Could not" not in text and str(tmp_path) not in text, text
    assert at.get("plotly_chart"), "the page goes on drawing"
    return text


def test_the_loaders_refusals_read_in_japanese_on_the_page(tmp_path, monkeypatch):
    sd = tiny().state_dict()
    monkeypatch.setenv("VIT_EXPLORER_MODELS_DIR", str(tmp_path))
    hf_folder(tmp_path / "pairs", patch_size=[8, 4])
    hf_folder(tmp_path / "broken")
    (tmp_path / "broken" / "config.json").write_text("{not json")
    hf_folder(tmp_path / "scalar")
    (tmp_path / "scalar" / "preprocessor_config.json").write_text('{"image_mean": "0.5"}')
    at = page_in("ja")
    uploads = [
        (b"not a safetensors file at all", 2, 24, "読める .safetensors ファイルではありません"),
        (with_metadata('{"config": '), 0, 0, "読める JSON ではありません"),
        (with_metadata('{"labels": {"0": "cat"}, "config": {"img_size": [24, 24], "num_heads": 2}}'), 0, 0,
         "クラス名のリスト"),
        (save({**sd, "head.weight": sd["head.weight"].to(torch.int8)}), 2, 24, "head.weight は int8 で保存"),
        (save({**sd, "pos_embed": sd["pos_embed"][:, 1:]}), 2, 24, "no_embed_class"),
        (save(sd), 2, 0, "画像サイズが書かれていません"),
    ]  # fmt: skip
    for data, heads, size, words in uploads:
        assert words in only_error(upload_weights(at, data, heads, size), tmp_path)
    at.file_uploader(key="weights_file").set_value(None).run()
    from tests.test_app import choose_hub

    for name, words in (("pairs", "正方形のパッチ"), ("broken", "config.json は読める JSON ではありません"),
                        ("scalar", "preprocessor_config.json の image_mean")):  # fmt: skip
        choose_hub(at, name)
        assert words in only_error(at.button(key="load_hub").click().run(), tmp_path)
    at.session_state["view"] = "predictions"  # the page still runs every view on its random weights
    assert not at.run().exception


# ---------------------------------------------------------------- 12. a model pushed out of the shared cache


def test_uploaded_weights_pushed_out_of_the_cache_are_rebuilt_from_the_sessions_file():
    vit = tiny(seed=8)
    data = export.weights_safetensors(vit, ["cat", "dog", "fox"], image.IMAGENET_MEAN, image.IMAGENET_STD)
    at = upload_weights(page_in("en"), data)
    assert not at.exception and not at.error
    name = at.session_state["pretrained"]
    at.session_state["view"] = "predictions"
    before = at.run().dataframe[0].value
    compute.clear()  # other sessions' models took the cache's room
    at.run()
    assert not at.exception and not at.error and at.session_state["pretrained"] == name
    assert at.dataframe[0].value.equals(before)
    rebuilt = compute.get_loaded(name).model.state_dict()
    assert all(torch.equal(rebuilt[k], v) for k, v in vit.state_dict().items())
    at.file_uploader(key="weights_file").set_value(None).run()  # the uploader emptied: the session keeps its file
    compute.clear()
    assert not at.run().exception and not at.error and at.dataframe[0].value.equals(before)


def test_weights_gone_for_good_are_said_and_the_page_runs_on(tmp_path):
    at = upload_weights(page_in("ja"), export.weights_safetensors(tiny(seed=9), None, (0.5,) * 3, (0.5,) * 3))
    assert not at.exception and not at.error
    del at.session_state[compute.UPLOADED_WEIGHTS]  # a session that holds no file (as before this fix)
    compute.clear()
    text = only_error(at.run(), tmp_path)
    assert "アップロードされた重みはもうメモリにありません" in text
    assert "pretrained" not in at.session_state and not at.run().exception


def test_a_cached_hub_header_that_lists_no_tensors_is_refused(tmp_path):
    from vizlib.weights import hub_checkpoint

    snapshot = tmp_path / "models--someone--odd" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (tmp_path / "models--someone--odd" / "refs").mkdir()
    (tmp_path / "models--someone--odd" / "refs" / "main").write_text("0" * 40)
    header = b'{"a": 1}'
    (snapshot / "model.safetensors").write_bytes(len(header).to_bytes(8, "little") + header)
    assert refused(hub_checkpoint, "someone/odd", cache_dir=str(tmp_path)).code == "weights_st_listing"
