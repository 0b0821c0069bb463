"""A transformers ViT, DeiT or DINOv2 read back out of an ONNX graph that ``torch.onnx`` exported.

The graph is only read, never run: its initializers are the model's tensors and its nodes say
where the anonymous ones belong. What ``torch.onnx`` (the TorchScript exporter) does to a
``transformers`` model, and how each part is undone here:

- Parameters it left alone keep their module names under the exporting model's prefix
  (``backbone.encoder.layer.0.norm1.weight`` in a model that held the ViT as ``backbone``).
  The prefix is whatever stands before ``embeddings.patch_embeddings.projection.weight``; tensors
  outside it (a decoder, a head of another task) are ignored and nothing of them is run.
- Each ``nn.Linear`` on a 3-D input becomes ``MatMul(x, Wᵀ)`` then ``Add(bias)``; the exporter
  stores ``Wᵀ`` (in, out) as an anonymous initializer (``onnx::MatMul_1966``). The ``Add`` it
  feeds names the bias, hence the weight: ``….key.bias`` → ``….key.weight`` = the stored
  matrix transposed to ``nn.Linear``'s (out, in).
- Position embeddings that the forward pass split (DINOv2 interpolates its patch rows) are
  constant-folded into two anonymous tensors, ``(1, S, D)`` for the prefix rows and ``(1, g², D)``
  for the patch grid: they are joined back into ``embeddings.position_embeddings``.
- The number of heads is a constant of the ``Reshape`` that splits the query into ``(…, nh, hs)``;
  LayerNorm's epsilon is the constant added to the variance before its ``Sqrt`` (or the
  ``epsilon`` of a ``LayerNormalization`` node); exact GELU shows as one ``Erf`` per block.

A graph where any of this cannot be found is refused with :class:`GraphError` naming what is
missing. Reading needs the ``onnx`` package (imported here only).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

import numpy as np
import torch

_PATCH_WEIGHT = "embeddings.patch_embeddings.projection.weight"
_POSITION = "embeddings.position_embeddings"


class GraphError(ValueError):
    """An ONNX graph that is not a transformers ViT, DeiT or DINOv2 exported whole."""


@dataclass(frozen=True)
class GraphModel:
    """What the graph holds: the tensors under transformers' names (prefix removed) and the
    numbers of the config that are not in any tensor's shape."""

    tensors: dict[str, torch.Tensor]  # transformers' names, nn.Linear layout, float32
    prefix: str  # the exporting model's name for the ViT ("backbone.", or "" at the top)
    num_heads: int  # nh, read from the query's Reshape
    layer_norm_eps: float  # read from the LayerNorms
    input_size: tuple[int, int] | None  # (H, W) of the graph's image input when static
    depth: int  # encoder blocks found among the tensors
    exact_gelu: bool  # one Erf per block: GELU as erf, not the tanh approximation


def read_graph(path: str | os.PathLike) -> GraphModel:
    """Read the ViT out of the ONNX file at ``path`` (see the module docstring for how).

    Returns:
        A :class:`GraphModel`; its ``tensors`` go through ``weights.from_hf_state_dict``.

    Raises:
        GraphError: not an ONNX file, or a graph whose ViT cannot be mapped completely.
    """
    import onnx
    from onnx import numpy_helper

    try:
        model = onnx.load(os.fspath(path))
    except Exception as err:  # protobuf's decode errors have no common public type
        raise GraphError(f"not a readable ONNX file ({type(err).__name__})") from err
    graph = model.graph
    arrays = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    prefix = _prefix(arrays)
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    constants = _constants(graph, arrays)
    tensors = {k.removeprefix(prefix): _tensor(v) for k, v in arrays.items() if k.startswith(prefix)}
    linear = _linear_weights(graph, arrays, consumers, prefix)
    tensors.update(linear)
    if _POSITION not in tensors:
        tensors[_POSITION] = _position_rows(arrays, consumers, set(linear), tensors)
    return GraphModel(
        tensors=tensors,
        prefix=prefix,
        num_heads=_num_heads(graph, consumers, constants, prefix, tensors),
        layer_norm_eps=float(f"{_layer_norm_eps(graph, constants):.6g}"),  # the float32 constant, as written
        input_size=_input_size(graph),
        depth=_depth(tensors),
        exact_gelu=sum(node.op_type == "Erf" for node in graph.node) >= _depth(tensors),
    )


def _tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(array, dtype=np.float32, copy=True))


def _prefix(arrays: dict[str, np.ndarray]) -> str:
    found = [name.removesuffix(_PATCH_WEIGHT) for name in arrays if name.endswith(_PATCH_WEIGHT)]
    if len(found) != 1:
        raise GraphError(f"{len(found)} patch embeddings ({_PATCH_WEIGHT}) in the graph; a ViT has one")
    return found[0]


def _constants(graph, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every constant value by name: initializers and the outputs of ``Constant`` nodes."""
    from onnx import numpy_helper

    values = dict(arrays)
    for node in graph.node:
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value":
                    values[node.output[0]] = numpy_helper.to_array(attr.t)
    return values


def _linear_weights(graph, arrays, consumers, prefix: str) -> dict[str, torch.Tensor]:
    """``MatMul(x, anonymous Wᵀ) → Add(named bias)``: each weight named after its bias, as (out, in)."""
    out = {}
    for node in graph.node:
        weight = node.input[1] if node.op_type == "MatMul" else ""
        if weight not in arrays or not weight.startswith("onnx::"):
            continue  # not a constant matrix, or a named one (read by its name)
        adds = [n for n in consumers.get(node.output[0], []) if n.op_type == "Add"]
        biases = [i for n in adds for i in n.input if i.endswith(".bias") and i in arrays]
        if len(biases) != 1 or not biases[0].startswith(prefix):
            continue  # not one of the ViT's Linears (a decoder's, say): ignored
        name = biases[0].removeprefix(prefix).removesuffix(".bias") + ".weight"
        out[name] = _tensor(arrays[weight].T)  # (in, out) → nn.Linear's (out, in)
    return out


def _position_rows(arrays, consumers, used: set, tensors: dict[str, torch.Tensor]) -> torch.Tensor:
    """The position embeddings the exporter split into a prefix part ``(1, S, D)`` and a patch
    grid ``(1, g², D)``, joined back as ``(1, S + g², D)``."""
    D = tensors[_PATCH_WEIGHT].shape[0]
    parts = [
        name for name, a in arrays.items()
        if name.startswith("onnx::") and a.ndim == 3 and a.shape[0] == 1 and a.shape[2] == D
        and not any(n.op_type == "MatMul" for n in consumers.get(name, []))
    ]  # fmt: skip
    prefix_rows = [n for n in parts if arrays[n].shape[1] <= 2]  # CLS (and DeiT's DIST)
    grids = [n for n in parts if math.isqrt(arrays[n].shape[1]) ** 2 == arrays[n].shape[1] > 2]
    if len(prefix_rows) != 1 or len(grids) != 1:
        raise GraphError(
            f"the position embeddings are missing: no {_POSITION} and {len(prefix_rows)} prefix rows, "
            f"{len(grids)} square grids of {D}-wide rows among the graph's constants"
        )
    return torch.cat([_tensor(arrays[prefix_rows[0]]), _tensor(arrays[grids[0]])], dim=1)  # (1, S + g², D)


def _depth(tensors: dict[str, torch.Tensor]) -> int:
    return len({m.group(1) for k in tensors if (m := re.match(r"(?:encoder\.layer|layers)\.(\d+)\.", k))})


def _num_heads(graph, consumers, constants, prefix: str, tensors) -> int:
    """nh from the ``Reshape`` of the first block's query into ``(B, T, nh, hs)`` (or ``(B, T, -1, hs)``)."""
    D = tensors[_PATCH_WEIGHT].shape[0]
    query_bias = [n for n in tensors if re.fullmatch(r"(?:encoder\.layer|layers)\.0\.attention\.(?:attention\.query|q_proj)\.bias", n)]  # noqa: E501
    for node in graph.node:
        if node.op_type != "Add" or not any(i == prefix + b for b in query_bias for i in node.input):
            continue
        for reshape in consumers.get(node.output[0], []):
            if reshape.op_type != "Reshape":
                continue
            *_, nh, hs = [0, 0, *_shape_constants(graph, reshape.input[1], constants)]
            if nh > 0 and nh * hs == D:
                return nh  # (…, nh, hs)
            if nh == -1 and hs > 0 and D % hs == 0:
                return D // hs  # (…, -1, hs): transformers 5 leaves nh to the reshape
    raise GraphError("the number of attention heads was not found (no Reshape of the query into heads)")


def _shape_constants(graph, name: str, constants) -> list[int]:
    """The constant entries of a shape tensor: the whole of a constant, or a ``Concat``'s constant parts."""
    if name in constants:
        return [int(v) for v in np.ravel(constants[name])]
    producer = next((n for n in graph.node if name in n.output), None)
    if producer is None or producer.op_type != "Concat":
        return []
    return [int(v) for part in producer.input if part in constants for v in np.ravel(constants[part])]


def _layer_norm_eps(graph, constants) -> float:
    """LayerNorm's epsilon: a ``LayerNormalization`` node's attribute, or the constant added before ``Sqrt``."""
    from onnx import helper

    for node in graph.node:
        if node.op_type == "LayerNormalization":
            return float(next((helper.get_attribute_value(a) for a in node.attribute if a.name == "epsilon"), 1e-5))
    producers = {out: n for n in graph.node for out in n.output}
    for node in graph.node:
        add = producers.get(node.input[0]) if node.op_type == "Sqrt" else None
        if add is not None and add.op_type == "Add":
            eps = [constants[i] for i in add.input if i in constants and np.size(constants[i]) == 1]
            if eps:
                return float(np.ravel(eps[0])[0])
    raise GraphError("LayerNorm's epsilon was not found (no LayerNormalization node and no Add before a Sqrt)")


def _input_size(graph) -> tuple[int, int] | None:
    """(H, W) of the first 4-D graph input when both are fixed numbers."""
    for value in graph.input:
        dims = value.type.tensor_type.shape.dim
        if len(dims) == 4 and dims[2].dim_value and dims[3].dim_value:
            return int(dims[2].dim_value), int(dims[3].dim_value)
    return None
