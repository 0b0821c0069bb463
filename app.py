"""ViT Patch Explorer — the Streamlit page.

Order: sidebar widgets → cached loaders → compute → render in tabs. No tensor maths here:
vizlib does it; this file only wires widgets to vizlib and shows the results. Every word on the
page comes from the translation table (assets/i18n.json) through ``t``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

# plotly imports pandas lazily, from sys.modules: two sessions' first runs racing on that import
# crashed one with "partially initialized module 'pandas'" (load test). Importing it whole here,
# under Python's import lock, before any figure is built, closes the race.
import pandas  # noqa: F401
import streamlit as st

from vizlib import analysis, config, device, export, image, lesson, model, urlstate
from vizlib import weights as weights_lib
from vizlib.figures import attention as attention_fig
from vizlib.figures import cube3d as cube_fig
from vizlib.figures import embedding as embedding_fig
from vizlib.figures import inspector as inspector_fig
from vizlib.figures import overview as overview_fig
from vizlib.figures import paper as paper_fig
from vizlib.figures import patches as patches_fig
from vizlib.figures import sequence as sequence_fig
from vizlib.i18n import LANGUAGES, Translator
from vizlib.paths import ASSETS_DIR, SAMPLES_DIR

SHAPES_DIR = ASSETS_DIR / "shapes"
SAMPLES = {path.stem: path for path in sorted(SAMPLES_DIR.glob("*.jpg"))}
SHAPE_SAMPLES = {f"shape_{path.stem}": path for path in sorted((SHAPES_DIR / "samples").glob("*.png"))}
RANDOM, SHAPES, PRETRAINED = "random", "shapes", "pretrained"
DEFAULT_HUB_ID = "google/vit-base-patch16-224"
DEFAULT_SAMPLE = "chelsea"
PRESETS = {  # name -> the ViT it describes (depth and heads: the article leaves them open)
    "article": dict(img_size=(81, 81), patch_size=27, embed_dim=128, depth=4, num_heads=4),
    "vit_s16": dict(img_size=(224, 224), patch_size=16, embed_dim=384, depth=12, num_heads=6),
    "vit_b16": dict(img_size=(224, 224), patch_size=16, embed_dim=768, depth=12, num_heads=12),
}
CUSTOM = "custom"
# Sidebar number inputs: session-state key -> (config field, index into img_size or None).
NUMBER_KEYS = {
    "img_h": ("img_size", 0), "img_w": ("img_size", 1), "patch_size": ("patch_size", None),
    "embed_dim": ("embed_dim", None), "depth": ("depth", None), "num_heads": ("num_heads", None),
}  # fmt: skip
TOP_K = 5
KERNELS_SHOWN = 6  # how many of the D kernels the step inspector draws
MATRIX_MAX = 400  # most rows/columns of a raw attention matrix sent to the browser
POS_GRID_MAX = 256  # most patches for the position-similarity grid of grids (N² cells)
CUBE_MAX = 1024  # most stride steps for the 3D view
HEATMAP_MAX = (256, 384)  # most rows × columns of the token heatmap sent to the browser
PLOTLY_CONFIG = {"displaylogo": False, "scrollZoom": False}
# Presenter view: readable from the back of a room (the figures are restyled by overview_fig.presenter).
PRESENTER_CSS = """<style>
.stApp, .stApp p, .stApp li, .stApp label, .stApp input { color: #000 !important; }
.stApp [data-testid="stMarkdownContainer"] p, .stApp [data-testid="stMarkdownContainer"] li { font-size: 1.45rem;
  line-height: 1.55; }
.stApp [data-testid="stCaptionContainer"] { font-size: 1.15rem; color: #222 !important; }
.stApp h1 { font-size: 3rem !important; } .stApp h2 { font-size: 2.3rem !important; }
.stApp h3 { font-size: 1.9rem !important; }
.stApp button p, .stApp [data-baseweb="tab"] p { font-size: 1.3rem !important; font-weight: 600; }
.stApp code, .stApp pre { font-size: 1.15rem !important; }
.stApp [data-testid="stWidgetLabel"] p { font-size: 1.15rem !important; }
</style>"""
FIGURES: dict[str, object] = {}  # this run's figures by chart key, for the HTML download (each run starts afresh)


# ---------------------------------------------------------------- cached loaders


@st.cache_data(max_entries=32, show_spinner=False)
def decode(data: bytes):
    """Bytes → upright RGB picture (raises ImageError)."""
    return image.load_image(data)


@st.cache_resource(max_entries=8, show_spinner=False)
def get_model(cfg: config.ViTConfig, dev: str, weights: str = RANDOM) -> model.VisionTransformer:
    """One model per (config, device, weights), shared by every session.

    ``weights``: ``random`` (seeded init of ``cfg``), ``shapes@STEP`` / ``shapes@final`` (the shipped
    checkpoint) or ``hf:NAME`` (a Hugging Face ViT). Trained weights at another patch size than
    their own are resampled (FlexiViT); ``cfg`` is then the checkpoint's with that patch size.
    """
    if weights == RANDOM:
        return model.VisionTransformer(cfg).eval().to(dev)
    vit = get_loaded(weights).model
    if cfg.patch_size != vit.cfg.patch_size:
        vit = weights_lib.with_patch_size(vit, cfg.patch_size)
    assert vit.cfg == cfg, "the page asks for the checkpoint's own config, up to the patch size"
    return vit.to(dev)


@st.cache_resource(max_entries=8, show_spinner=False)
def get_loaded(weights: str, _data: bytes | None = None) -> weights_lib.Loaded:
    """Trained weights with their labels and normalisation (raises WeightsError).

    ``file:DIGEST:HEADS`` is an uploaded .safetensors file: its bytes come with the first call.
    """
    if weights.startswith("hf:"):
        return weights_lib.load_pretrained(weights.removeprefix("hf:"))
    if weights.startswith("file:"):
        if _data is None:
            raise weights_lib.WeightsError("the uploaded weights are no longer in memory: upload the file again")
        _, digest, heads = weights.split(":")
        return weights_lib.load_safetensors_bytes(_data, int(heads) or None, source=f"upload {digest[:8]}")
    step = weights.removeprefix(f"{SHAPES}@")
    return weights_lib.load_checkpoint(SHAPES_DIR, None if step == "final" else int(step))


@st.cache_resource(show_spinner=False)
def shapes_meta() -> dict | None:
    """The shipped shapes checkpoint's config.json (None when it is missing)."""
    path = SHAPES_DIR / "config.json"
    return json.loads(path.read_text()) if path.exists() else None


def normalisation(weights: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The input mean and std the weights expect (ImageNet's for random init)."""
    if weights == RANDOM:
        return image.IMAGENET_MEAN, image.IMAGENET_STD
    loaded = get_loaded(weights)
    return loaded.mean, loaded.std


@st.cache_data(max_entries=16, show_spinner=False)
def get_fitted(digest: str, size: tuple[int, int], policy: str, _img):
    """The picture fitted to the requested (H, W); keyed by picture digest, size and policy."""
    return image.fit_image(_img, size, policy)


@st.cache_data(max_entries=16, show_spinner=False)
def get_trace(
    cfg: config.ViTConfig, dev: str, weights: str, key: tuple, snap: str, rows: tuple[int, ...], _fitted
) -> tuple[model.Trace, float]:
    """Forward pass on the fitted picture snapped to whole patches; ``key`` = (digest, size, policy).

    ``rows`` are the attention rows to keep; they matter only beyond FULL_ATTENTION_MAX tokens
    (below it every full matrix is kept and ``rows`` is always ``(0,)``).
    """
    x = image.to_tensor(_fitted, *normalisation(weights))  # (1, 3, H, W)
    x = image.snap_to_patches(x, cfg.patch_size, snap)  # (1, 3, H′, W′)
    return model.timed_trace(get_model(cfg, dev, weights), x, list(rows))


@st.cache_data(max_entries=16, show_spinner=False)
def get_proof(cfg: config.ViTConfig, dev: str, weights: str, key: tuple, snap: str, _inputs) -> analysis.Proof:
    """Conv2d against split + flatten + Linear on this picture and these weights."""
    return analysis.conv_vs_linear(_inputs.to(dev), get_model(cfg, dev, weights).patch_embed.proj)


# The two animated figures are cached as resources, not data: re-validating a plotly Figure on
# every cache hit (what unpickling does) costs ~0.2 s each. They are shared and never mutated.
@st.cache_resource(max_entries=16, show_spinner=False)
def get_animation(cfg: config.ViTConfig, weights: str, key: tuple, snap: str, lang: str, presenter: bool, _pixels,
                  _colours):  # fmt: skip
    """The stride animation (the costliest figure), keyed like the trace plus the language.

    Beyond MAX_FRAMES stride steps it shows every k-th row of windows (the page says so)."""
    t = Translator(lang)
    text = patches_fig.StrideText(
        step=t("anim_step"), input_title=t("anim_input"), output_title=t("anim_output"),
        play=t("play"), fast=t("play_fast"), pause=t("pause"),
    )  # fmt: skip
    row_step = patches_fig.frame_row_step(cfg.grid)
    fig = patches_fig.stride_animation(_pixels, cfg.patch_size, _colours, cfg.embed_dim, text, row_step=row_step)
    return overview_fig.presenter(fig) if presenter else fig  # restyled once here, not on every rerun


@st.cache_resource(max_entries=16, show_spinner=False)
def get_cube(cfg: config.ViTConfig, weights: str, key: tuple, snap: str, lang: str, presenter: bool, _pixels,
             _colours):  # fmt: skip
    """The 3D view of the Conv2d, keyed like the animation."""
    t = Translator(lang)
    text = cube_fig.CubeText(
        input_title=t("cube_input"), output_title=t("cube_output"), conv=t("cube_conv"), depth_label=t("cube_depth"),
        step=t("anim_step"), play=t("play"), pause=t("pause"),
    )  # fmt: skip
    fig = cube_fig.conv_cube_figure(_pixels, cfg.patch_size, _colours, cfg.embed_dim, text)
    return overview_fig.presenter(fig) if presenter else fig


# ---------------------------------------------------------------- sidebar


def explain(t: Translator, err: Exception) -> str:
    """An ImageError or ConfigError in the page's language (its English text as a fallback)."""
    key = f"err_{getattr(err, 'code', '')}"
    return t(key, **err.fields) if key in t.table else str(err)


SELECTBOX_KEYS = ("sample", "weights", "preset", "fit_policy", "snap", "device", "head", "fusion")


def refresh_selectboxes() -> None:
    """Callback of the language switch: re-set each selectbox's value so that the browser redraws
    its selected text in the new language (Streamlit keeps the old formatted text otherwise,
    streamlit/streamlit#13788)."""
    for key in SELECTBOX_KEYS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def choose_language() -> Translator:
    label = Translator(st.session_state.get("lang", "en"))("language")
    lang = st.sidebar.radio(
        label, list(LANGUAGES), format_func=LANGUAGES.get, key="lang", horizontal=True, on_change=refresh_selectboxes
    )
    return Translator(lang)


def choose_image(t: Translator) -> tuple[bytes, str]:
    """The picture's bytes: an upload when it decodes, else the last good one, else a sample."""
    st.sidebar.header(t("image_section"))
    source = st.sidebar.radio(
        t("image_source"), ["sample", "upload"], format_func=lambda s: t(f"source_{s}"), key="source", horizontal=True
    )
    if source == "upload":
        upload = st.sidebar.file_uploader(t("upload_label"), key="upload")
        if upload is not None:
            return accept_upload(t, upload.name, upload.getvalue())
        if "last_upload" in st.session_state:
            return st.session_state["last_upload"]
        st.sidebar.info(t("upload_hint"))
    samples = {**SAMPLES, **SHAPE_SAMPLES}
    st.session_state.setdefault("sample", DEFAULT_SAMPLE)  # a default via the state, as callbacks also set it
    name = st.sidebar.selectbox(
        t("sample_photo"), list(samples), format_func=lambda s: sample_label(t, s), key="sample"
    )
    return samples[name].read_bytes(), name


def sample_label(t: Translator, name: str) -> str:
    """A photo's name, or a generated shape picture's class and seed."""
    if name in SHAPE_SAMPLES:
        kind, seed = name.removeprefix("shape_").rsplit("_", 1)
        return t("sample_shape", kind=t(f"class_{kind}"), seed=seed)
    return t(f"sample_{name}")


def accept_upload(t: Translator, name: str, data: bytes) -> tuple[bytes, str]:
    """Keep an upload that decodes; for one that does not, say why and keep the last good one."""
    try:
        decode(data)
    except image.ImageError as err:
        st.error(t("bad_file", name=name, message=explain(t, err)))
        if "last_upload" in st.session_state:
            st.info(t("kept_previous"))
            return st.session_state["last_upload"]
        st.info(t("upload_hint"))
        sample = st.session_state.get("sample", DEFAULT_SAMPLE)
        return {**SAMPLES, **SHAPE_SAMPLES}[sample].read_bytes(), sample
    st.session_state["last_upload"] = (data, name)
    return data, name


def preset_numbers(name: str) -> dict[str, int]:
    """A preset's numbers by number-input key."""
    preset = PRESETS[name]
    return {key: preset[field][i] if i is not None else preset[field] for key, (field, i) in NUMBER_KEYS.items()}


def config_numbers(cfg: config.ViTConfig) -> dict[str, int]:
    """A config's numbers by number-input key."""
    return {
        key: getattr(cfg, field)[i] if i is not None else getattr(cfg, field) for key, (field, i) in NUMBER_KEYS.items()
    }


def apply_preset() -> None:
    """Callback: a preset writes its numbers into the number inputs."""
    if st.session_state["preset"] in PRESETS:
        st.session_state.update(preset_numbers(st.session_state["preset"]))


def mark_custom() -> None:
    """Callback: editing any number makes the settings custom."""
    st.session_state["preset"] = CUSTOM


def set_numbers(cfg: config.ViTConfig) -> None:
    """Show a trained model's own shape in the number inputs."""
    st.session_state.update(config_numbers(cfg))


def apply_weights() -> None:
    """Callback: trained weights bring their own numbers; the shapes model a picture of its world."""
    kind = st.session_state["weights"]
    if kind == SHAPES and shapes_meta() is not None:
        set_numbers(config.ViTConfig(**shapes_meta()["config"]))
        if SHAPE_SAMPLES and st.session_state.get("sample") not in SHAPE_SAMPLES:
            st.session_state["sample"] = next(iter(SHAPE_SAMPLES))
            st.session_state["source"] = "sample"
    elif kind == PRETRAINED and "pretrained" in st.session_state:
        set_numbers(get_loaded(st.session_state["pretrained"]).model.cfg)
    elif kind == RANDOM:
        apply_preset()  # back to the preset's own numbers (a custom set stays as it is)


def load_hub_model() -> None:
    """Callback of the Load button: an uploaded .safetensors file if there is one, else the named
    hub model or folder; on failure keep the one we had."""
    upload = st.session_state.get("weights_file")
    if upload is not None:
        data = upload.getvalue()
        name = f"file:{hashlib.sha256(data).hexdigest()}:{int(st.session_state.get('upload_heads', 0))}"
        shown = upload.name
    else:
        data, shown = None, st.session_state["hub_id"].strip()
        name = f"hf:{shown}"
    try:
        loaded = get_loaded(name, data)
    except weights_lib.WeightsError as err:
        st.session_state["weights_error"] = (shown, str(err))
        return
    st.session_state.pop("weights_error", None)
    st.session_state["pretrained"] = name
    set_numbers(loaded.model.cfg)


def choose_weights(t: Translator) -> str:
    """``random``, ``shapes@STEP`` or ``hf:NAME``: which parameters the model runs with."""
    options = [RANDOM, SHAPES, PRETRAINED] if shapes_meta() is not None else [RANDOM, PRETRAINED]
    kind = st.sidebar.selectbox(t("weights"), options, format_func=lambda w: t(f"weights_{w}"), key="weights",
                                on_change=apply_weights, help=t("weights_help"))  # fmt: skip
    if kind == RANDOM:
        return RANDOM
    if kind == PRETRAINED:
        return choose_pretrained(t)
    steps = [*weights_lib.snapshot_steps(SHAPES_DIR), "final"]
    step = st.sidebar.select_slider(
        t("timeline"), steps, value="final", key="snapshot", help=t("timeline_help"),
        format_func=lambda s: t("timeline_final") if s == "final" else f"{s:,}",
    )  # fmt: skip
    return f"{SHAPES}@{step}"


def choose_pretrained(t: Translator) -> str:
    st.session_state.setdefault("hub_id", DEFAULT_HUB_ID)
    st.sidebar.text_input(t("hub_id"), key="hub_id", help=t("hub_id_help"))
    with st.sidebar.expander(t("weights_upload")):
        st.file_uploader(t("weights_file"), type=["safetensors"], key="weights_file", help=t("weights_file_help"))
        st.number_input(t("upload_heads"), 0, 64, 0, key="upload_heads", help=t("upload_heads_help"))
    st.sidebar.button(t("load"), key="load_hub", on_click=load_hub_model)
    if "weights_error" in st.session_state:
        name, message = st.session_state["weights_error"]
        st.error(t("weights_failed", name=name, message=message))
    if "pretrained" not in st.session_state:
        st.info(t("pretrained_none"))
        return RANDOM
    if "weights_error" in st.session_state:
        st.info(t("pretrained_kept", name=weights_name(st.session_state["pretrained"])))
    return st.session_state["pretrained"]


def weights_name(weights: str) -> str:
    """What a badge calls pretrained weights: the hub id or folder, or the uploaded file."""
    return get_loaded(weights).source if weights.startswith("file:") else weights.removeprefix("hf:")


def trained_config(t: Translator, weights: str) -> config.ViTConfig:
    """The checkpoint's own config at the patch size asked for (FlexiViT resampling), or its own P."""
    own = get_loaded(weights).model.cfg
    P = int(st.session_state.get("patch_size", own.patch_size))
    try:
        cfg = config.ViTConfig(**{**own.__dict__, "patch_size": P})
    except config.ConfigError as err:
        st.error(t("bad_config", message=explain(t, err)))
        last = st.session_state.get("last_trained_cfg", (None, own))
        cfg = last[1] if last[0] == weights else own
        st.info(t("kept_settings", H=cfg.img_size[0], W=cfg.img_size[1], P=cfg.patch_size, D=cfg.embed_dim))
        return cfg
    st.session_state["last_trained_cfg"] = (weights, cfg)
    return cfg


def choose_model(t: Translator) -> tuple[tuple[config.ViTConfig, tuple[int, int]], str, str, str, str]:
    st.sidebar.header(t("model_section"))
    if "preset" not in st.session_state:
        st.session_state["preset"] = "article"
        apply_preset()
    weights = choose_weights(t)
    fixed = weights != RANDOM  # a trained model has its own shape; only its patch size can change
    st.sidebar.selectbox(
        t("preset"), [*PRESETS, CUSTOM], format_func=lambda p: t(f"preset_{p}"), key="preset", on_change=apply_preset,
        disabled=fixed,
    )  # fmt: skip
    left, right = st.sidebar.columns(2)
    left.number_input(t("img_h"), 1, 4096, key="img_h", on_change=mark_custom, disabled=fixed)
    right.number_input(t("img_w"), 1, 4096, key="img_w", on_change=mark_custom, disabled=fixed)
    left.number_input(t("patch_size"), 1, 4096, key="patch_size", on_change=None if fixed else mark_custom,
                      help=t("patch_size_help"))  # fmt: skip
    right.number_input(t("embed_dim"), 1, 4096, key="embed_dim", on_change=mark_custom, help=t("embed_dim_help"),
                       disabled=fixed)  # fmt: skip
    left.number_input(t("depth"), 1, 64, key="depth", on_change=mark_custom, disabled=fixed)
    right.number_input(t("num_heads"), 1, 64, key="num_heads", on_change=mark_custom, disabled=fixed)
    if fixed:
        st.sidebar.caption(t("fixed_by_weights"))
    st.session_state.setdefault("seed", 0)  # defaults through the state, which a share link may also set
    st.session_state.setdefault("fit_policy", "center_crop")
    seed = st.sidebar.number_input(t("seed"), 0, config.MAX_SEED, key="seed", help=t("seed_help"), disabled=fixed)
    policy = st.sidebar.selectbox(
        t("fit_policy"), list(image.FIT_POLICIES), format_func=lambda p: t(f"fit_{p}"), help=t("fit_policy_help"),
        key="fit_policy",
    )  # fmt: skip
    snap = st.sidebar.selectbox(
        t("snap_policy"), list(image.SNAP_POLICIES), format_func=lambda p: t(f"snap_{p}"), help=t("snap_help"),
        key="snap",
    )  # fmt: skip
    devices = device.available_devices()
    dev = st.sidebar.selectbox(t("device"), devices, key="device", help=t("device_help"))
    if fixed:
        cfg = trained_config(t, weights)
        return (cfg, cfg.img_size), policy, snap, dev, weights
    return build_config(t, int(seed), snap), policy, snap, dev, weights


def build_config(t: Translator, seed: int, snap: str) -> tuple[config.ViTConfig, tuple[int, int]]:
    """The config the numbers describe (its size snapped to whole patches) and the requested
    (H, W); with an error shown, the last pair that worked."""
    s = st.session_state
    requested = (int(s["img_h"]), int(s["img_w"]))
    try:
        snapped = image.snap_size(*requested, int(s["patch_size"]), snap)
        cfg = config.ViTConfig(
            img_size=snapped, patch_size=s["patch_size"], embed_dim=s["embed_dim"], depth=s["depth"],
            num_heads=s["num_heads"], seed=seed,
        )  # fmt: skip
    except ValueError as err:
        st.error(t("bad_config", message=explain(t, err)))
        cfg, requested = s.get("last_cfg", (config.ViTConfig(**PRESETS["article"]), (81, 81)))
        st.info(t("kept_settings", H=cfg.img_size[0], W=cfg.img_size[1], P=cfg.patch_size, D=cfg.embed_dim))
        return cfg, requested
    s["last_cfg"] = (cfg, requested)
    return cfg, requested


# ---------------------------------------------------------------- render


def weights_badge(t: Translator, weights: str, cfg: config.ViTConfig) -> None:
    """Always say which weights are live, and when they were resampled to another patch size."""
    if weights == RANDOM:
        st.badge(t("badge_random"), icon=":material/casino:", color="gray")
        return
    if weights.startswith(("hf:", "file:")):
        st.badge(t("badge_pretrained", name=weights_name(weights)), icon=":material/public:", color="blue")
    else:
        step = weights.removeprefix(f"{SHAPES}@")
        text = t("badge_shapes") if step == "final" else t("badge_shapes_step", step=f"{int(step):,}")
        st.badge(text, icon=":material/school:", color="green")
    own = get_loaded(weights).model.cfg.patch_size
    if cfg.patch_size != own:
        st.badge(t("badge_resampled", P=own), icon=":material/transform:", color="orange")


def show_summary(t: Translator, cfg: config.ViTConfig, seconds: float, dev: str) -> None:
    parts = []
    for key, shape, fields in config.shape_strip(cfg):
        label = t(key, **fields)
        parts.append(f"**`{tuple(shape)}`** {label}" if shape else f"→ *{label}* →")
    st.markdown(" ".join(parts))
    N, nh = cfg.num_patches, cfg.num_heads
    T = N + 1
    cost = t(
        "cost_line", N=N, params=f"{config.count_parameters(cfg):,}", nh=nh, T=T, entries=f"{nh * T * T:,}",
        mb=f"{nh * T * T * 4 / 1e6:.2f}",
    )  # fmt: skip
    st.caption(cost + " · " + t("forward_time", ms=seconds * 1000, device=dev))


@dataclass
class View:
    """What every tab draws from: the run's settings, pictures, trace and model."""

    cfg: config.ViTConfig
    requested: tuple[int, int]  # (H, W) asked for, before snapping to whole patches
    policy: str  # aspect-ratio fit policy
    snap: str  # crop / pad / scale to whole patches
    img: object  # the decoded photo (PIL)
    fitted: object  # the photo fitted to ``requested`` (PIL)
    pixels: np.ndarray  # (H′, W′, 3) uint8: what the model saw
    colours: np.ndarray  # (Gh, Gw, 3) PCA colour of each vector
    trace: model.Trace
    vit: model.VisionTransformer
    key: tuple  # (picture digest, requested size, fit policy): the cache key of this picture
    weights: str  # "random" or "shapes@STEP"


def show_patch_tab(t: Translator, v: View, animation) -> None:
    show_grid(t, v)
    show_animation(t, v, animation)
    show_inspector(t, v)
    show_cube(t, v)


def show_grid(t: Translator, v: View) -> None:
    """The picture as uploaded, and as the model sees it with the patch grid on top."""
    cfg = v.cfg
    (H, W), (H2, W2), P = v.requested, cfg.img_size, cfg.patch_size
    Gh, Gw = cfg.grid
    left, right = st.columns([1, 2])
    left.image(v.img, width="stretch")
    left.caption(t("original_caption", W=v.img.width, H=v.img.height))
    left.caption(t("input_caption", H=H, W=W, policy=t(f"fit_{v.policy}")))
    if (H, W) != (H2, W2):
        left.info(t(f"snap_formula_{v.snap}", H=H, W=W, P=P, H2=H2, W2=W2, Gh=Gh, Gw=Gw))
    canvas = np.asarray(v.fitted) if v.snap == "crop" else v.pixels
    shaded = image.snap_regions((H, W), (H2, W2), v.snap)
    fig = patches_fig.patch_grid_figure(canvas, P, grid_size=(H2, W2), shaded=shaded)
    chart(fig, "patch_grid", where=right)
    right.caption(t("patch_grid_caption", P=P, Gh=Gh, Gw=Gw, N=Gh * Gw))


def show_animation(t: Translator, v: View, animation) -> None:
    cfg = v.cfg
    Gh, Gw = cfg.grid
    st.subheader(t("anim_header"))
    st.markdown(t("anim_explain", P=cfg.patch_size, D=cfg.embed_dim, N=Gh * Gw))
    chart(animation, "stride_animation", styled=True)
    if st.session_state.get("presenter"):
        st.caption(t("presenter_colours"))
    row_step = patches_fig.frame_row_step(cfg.grid)
    if row_step > 1:
        st.caption(t("anim_row_step", k=row_step, N=Gh * Gw, max=patches_fig.MAX_FRAMES))


def show_cube(t: Translator, v: View) -> None:
    cfg = v.cfg
    Gh, Gw = cfg.grid
    st.subheader(t("cube_header"))
    if Gh * Gw > CUBE_MAX:
        st.info(t("cube_too_many", N=Gh * Gw, max=CUBE_MAX))
        return
    st.markdown(t("cube_explain", P=cfg.patch_size, D=cfg.embed_dim))
    presenter = bool(st.session_state.get("presenter"))
    cube = get_cube(cfg, v.weights, v.key, v.snap, t.lang, presenter, v.pixels, v.colours)
    chart(cube, "cube3d", styled=True)


def step_by(delta: int, last: int) -> None:
    """Callback of the step buttons."""
    st.session_state["step"] = min(max(1, st.session_state.get("step", 1) + delta), last)


def show_inspector(t: Translator, v: View) -> None:
    cfg = v.cfg
    P, D, N = cfg.patch_size, cfg.embed_dim, cfg.num_patches
    st.subheader(t("inspector_header"))
    st.session_state["step"] = min(st.session_state.get("step", 1), N)
    back, slider, forward = st.columns([1, 8, 1], vertical_alignment="bottom")
    back.button(t("step_back"), key="step_back", on_click=step_by, args=(-1, N), width="stretch")
    forward.button(t("step_next"), key="step_next", on_click=step_by, args=(1, N), width="stretch")
    k = slider.slider(t("step"), 1, max(N, 2), key="step", disabled=N == 1) - 1
    step = analysis.patch_step(v.trace.inputs, v.vit.patch_embed.proj, k)
    r, c = step.r, step.c
    st.markdown(t("inspector_explain", k=k + 1, N=N, r=r, c=c, r0=r * P, r1=(r + 1) * P - 1, c0=c * P,
                  c1=(c + 1) * P - 1, P=P, L=step.flat.numel(), D=D))  # fmt: skip
    patch_pixels = v.pixels[r * P : (r + 1) * P, c * P : (c + 1) * P]  # (P, P, 3)
    titles = [t("window_rgb"), t("channel_r"), t("channel_g"), t("channel_b")]
    window = inspector_fig.window_figure(patch_pixels, step.window.numpy(), titles)
    chart(window, "inspector_window")
    shown = min(KERNELS_SHOWN, D)
    kernels = v.vit.patch_embed.proj.weight[:shown].detach().cpu().numpy()  # (K, 3, P, P)
    titles = [t("kernel_title", d=d, y=float(step.output[d])) for d in range(shown)]
    chart(inspector_fig.kernels_figure(kernels, titles), "inspector_kernels")
    strip = inspector_fig.output_strip_figure(step.output.numpy(), t("output_strip", D=D, r=r, c=c), list(range(shown)))
    chart(strip, "inspector_output")
    st.caption(t("inspector_check", r=r, c=c, diff=f"{analysis.step_difference(step, v.trace.patch_grid):.1e}"))


def pick_token() -> None:
    """Callback of a click on the PCA grid: the clicked cell becomes the selected token."""
    points = st.session_state["pca_grid"].selection.get("points", [])
    if points:
        r, c = divmod(int(points[0]["point_index"]), st.session_state["grid_w"])  # markers are row-major
        st.session_state["tok_r"], st.session_state["tok_c"] = r, c


def show_embedding_tab(t: Translator, v: View) -> None:
    cfg, trace = v.cfg, v.trace
    Gh, Gw = cfg.grid
    P, D = cfg.patch_size, cfg.embed_dim
    st.markdown(t("pca_explain", D=D))
    st.session_state["grid_w"] = Gw
    st.session_state["tok_r"] = min(st.session_state.get("tok_r", 0), Gh - 1)
    st.session_state["tok_c"] = min(st.session_state.get("tok_c", 0), Gw - 1)
    r, c = st.session_state["tok_r"], st.session_state["tok_c"]
    titles = (t("pca_title_input"), t("pca_title_grid", Gh=Gh, Gw=Gw))
    fig = embedding_fig.pca_grid_figure(v.pixels, P, v.colours, titles, selected=(r, c))
    chart(fig, "pca_grid", on_select=pick_token, selection_mode="points")
    pick_r, pick_c, _ = st.columns([1, 1, 4])
    pick_r.number_input(t("token_row"), 0, Gh - 1, key="tok_r")
    pick_c.number_input(t("token_col"), 0, Gw - 1, key="tok_c")
    token = r * Gw + c
    st.markdown(t("token_explain", r=r, c=c, i=token + 1, D=D))
    patch_pixels = v.pixels[r * P : (r + 1) * P, c * P : (c + 1) * P]  # (P, P, 3)
    window, vector = analysis.token_patch(trace.inputs, trace.patch_grid, r, c)  # (3, P, P), (D,)
    titles = [t("window_rgb"), t("channel_r"), t("channel_g"), t("channel_b")]
    patch = inspector_fig.window_figure(patch_pixels, window.numpy(), titles)
    chart(patch, "token_patch")
    strip = inspector_fig.output_strip_figure(vector.numpy(), t("output_strip", D=D, r=r, c=c))
    chart(strip, "token_vector")
    tokens = trace.patch_tokens[0]  # (N, D)
    shown, row_step, col_step = analysis.display_downsample(tokens, *HEATMAP_MAX)
    title = t("tokens_title", N=tokens.shape[0], D=D)
    heat = embedding_fig.token_heatmap(
        shown.numpy(), row_step, col_step, title, (t("tokens_x"), t("tokens_y")), selected_row=token
    )
    chart(heat, "tokens")
    if row_step > 1 or col_step > 1:
        st.caption(t("tokens_downsampled", r=row_step, c=col_step))
    show_sequence(t, v)


def show_sequence(t: Translator, v: View) -> None:
    cfg = v.cfg
    N, D = cfg.num_patches, cfg.embed_dim
    Gh, Gw = cfg.grid
    st.subheader(t("sequence_header"))
    st.markdown(t("sequence_explain", N=N, D=D, T=N + 1))
    patch_tokens, cls, pos = analysis.sequence_for_display(
        v.trace.patch_tokens[0], v.vit.cls_token.detach().cpu()[0, 0], v.vit.pos_embed.detach().cpu()[0], *HEATMAP_MAX
    )  # (n, d), (d,), (n + 1, d)
    titles = [t("seq_grid", Gh=Gh, Gw=Gw), t("seq_flat", N=N, D=D), t("seq_cls", T=N + 1, D=D),
              t("seq_pos", T=N + 1, D=D), t("seq_sum", T=N + 1, D=D)]  # fmt: skip
    fig = sequence_fig.sequence_figure(patch_tokens.numpy(), cls.numpy(), pos.numpy(), cfg.grid, titles)
    chart(fig, "sequence")


def show_proof_tab(t: Translator, v: View, proof: analysis.Proof) -> None:
    cfg = v.cfg
    P, D = cfg.patch_size, cfg.embed_dim
    st.markdown(t("proof_explain", P=P, D=D, L=3 * P * P, N=cfg.num_patches))
    a, b, c, d = st.columns(4)
    a.metric(t("proof_diff"), f"{proof.max_abs_diff:.1e}")
    b.metric(t("proof_conv_ms"), f"{proof.conv_ms:.2f}")
    c.metric(t("proof_linear_ms"), f"{proof.linear_ms:.2f}")
    d.metric(t("proof_values"), f"{proof.values:,}")
    st.markdown(t("proof_why", P=P, D=D, L=3 * P * P))


def current_query(cfg: config.ViTConfig) -> int:
    """The attention query from the widgets' state: 0 = CLS, 1 + r·Gw + c = patch (r, c)."""
    s = st.session_state
    Gh, Gw = cfg.grid
    if s.get("q_kind", "cls") == "cls":
        return 0
    return 1 + min(int(s.get("q_r", 0)), Gh - 1) * Gw + min(int(s.get("q_c", 0)), Gw - 1)


def pick_query() -> None:
    """Callback of a click on the attention picture: the clicked patch becomes the query."""
    points = st.session_state["query_picker"].selection.get("points", [])
    if points:
        r, c = divmod(int(points[0]["point_index"]), st.session_state["grid_w"])
        st.session_state["q_kind"], st.session_state["q_r"], st.session_state["q_c"] = "patch", r, c


def show_attention_tab(t: Translator, v: View, compact: bool = False) -> None:
    """Attention for a chosen query; ``compact`` (the lesson) leaves out the block × head grid and raw matrix."""
    trace, cfg = v.trace, v.cfg
    Gh, Gw = cfg.grid
    T = cfg.num_patches + 1
    if not compact:
        st.markdown(t("attn_explain"))
    st.session_state["grid_w"] = Gw
    for key, top in (("q_r", Gh - 1), ("q_c", Gw - 1)):
        st.session_state[key] = min(st.session_state.get(key, 0), top)
    kind, row, col, opacity = st.columns([2, 1, 1, 2])
    kind.radio(t("query"), ["cls", "patch"], format_func=lambda q: t(f"query_{q}"), key="q_kind", horizontal=True)
    row.number_input(t("token_row"), 0, Gh - 1, key="q_r", disabled=st.session_state.get("q_kind") != "patch")
    col.number_input(t("token_col"), 0, Gw - 1, key="q_c", disabled=st.session_state.get("q_kind") != "patch")
    alpha = opacity.slider(t("opacity"), 0.0, 1.0, 0.6, 0.05, key="opacity")
    query = current_query(cfg)
    patch = divmod(query - 1, Gw) if query else None
    full = trace.attentions is not None
    rows, source = (list(range(T)), trace.attentions) if full else (trace.rows, trace.attention_rows)
    maps = analysis.query_maps(source, rows, query, cfg.grid)  # (depth, nh, Gh, Gw)
    st.markdown(t("attn_query_cls") if query == 0 else t("attn_query_patch", r=patch[0], c=patch[1]))
    left, right = st.columns([1, 2])
    with left:
        # A depth that shrank keeps the chosen block in range; a slider needs min < max, so with one
        # block it shows 1 of 2, disabled.
        st.session_state["layer"] = min(st.session_state.get("layer", cfg.depth), cfg.depth)
        block = min(st.slider(t("layer"), 1, max(cfg.depth, 2), key="layer", disabled=cfg.depth == 1), cfg.depth)
        heads = list(range(cfg.num_heads)) + ["mean"]
        if st.session_state.get("head", "mean") not in heads:  # fewer heads than before, or a link's head
            st.session_state["head"] = "mean"
        head = st.selectbox(t("head"), heads, format_func=lambda h: t("mean_title") if h == "mean" else str(h + 1),
                            key="head")  # fmt: skip
        chosen = analysis.pick_head(maps[block - 1], head)  # (Gh, Gw)
        title = t("enlarged_title", b=block, h=t("mean_title") if head == "mean" else head + 1)
        fig = attention_fig.overlay_figure(v.pixels, chosen.numpy(), cfg.patch_size, alpha, patch, True, title)
        chart(fig, "query_picker", on_select=pick_query, selection_mode="points")
        st.caption(t("click_to_query"))
    if compact:
        show_rollout(t, v, query, patch, alpha, where=right)
        return
    with right:
        thumb = image.grid_thumbnail(v.pixels, cfg.grid)
        grid_maps = analysis.with_mean_heads(maps)  # (depth, nh + 1, Gh, Gw)
        cols = [t("head_short", h=h + 1) for h in range(cfg.num_heads)] + [t("mean_title")]
        rows_labels = [t("block_short", b=b + 1) for b in range(cfg.depth)]
        fig = attention_fig.layer_head_figure(thumb, grid_maps.numpy(), rows_labels, cols, alpha)
        st.markdown(t("grid_title"))
        chart(fig, "layer_head_grid")
    show_raw_matrix(t, v, block, head)
    show_rollout(t, v, query, patch, alpha)
    if v.weights == RANDOM:
        st.caption(t("attn_random_note"))


def show_raw_matrix(t: Translator, v: View, block: int, head) -> None:
    st.subheader(t("raw_header"))
    if v.trace.attentions is None:
        st.info(t("needs_full", T=v.cfg.num_patches + 1, max=model.FULL_ATTENTION_MAX))
        return
    attn = v.trace.attentions[block - 1][0]  # (nh, T, T)
    matrix = analysis.pick_head(attn, head)  # (T, T)
    shown, step, _ = analysis.display_downsample(matrix, MATRIX_MAX, MATRIX_MAX)
    title = t("raw_title", b=block, h=t("mean_title") if head == "mean" else head + 1, T=matrix.shape[0])
    fig = attention_fig.matrix_figure(shown.numpy(), step, title, (t("raw_queries"), t("raw_keys")))
    chart(fig, "raw_matrix")
    if step > 1:
        st.caption(t("tokens_downsampled", r=step, c=step))


def show_rollout(t: Translator, v: View, query: int, patch, alpha: float, where=None) -> None:
    with where or st.container():
        _show_rollout(t, v, query, patch, alpha)


def _show_rollout(t: Translator, v: View, query: int, patch, alpha: float) -> None:
    st.subheader(t("rollout_header"))
    st.markdown(t("rollout_explain"))
    if v.trace.attentions is None:
        st.info(t("needs_full", T=v.cfg.num_patches + 1, max=model.FULL_ATTENTION_MAX))
        return
    fusion_col, discard_col = st.columns(2)
    fusion = fusion_col.selectbox(t("fusion"), ["mean", "max", "min"], format_func=lambda f: t(f"fusion_{f}"),
                                  key="fusion")  # fmt: skip
    discard = discard_col.slider(t("discard"), 0.0, 0.95, 0.0, 0.05, key="discard", help=t("discard_help"))
    rollout = analysis.attention_rollout(v.trace.attentions, fusion, discard)  # (1, T, T)
    query_map = analysis.rollout_map(rollout, query, v.cfg.grid)  # (Gh, Gw)
    fig = attention_fig.overlay_figure(v.pixels, query_map.numpy(), v.cfg.patch_size, alpha, patch, False)
    chart(fig, "rollout")


def show_paper_tab(t: Translator, v: View) -> None:
    cfg = v.cfg
    st.markdown(t("fig7_explain"))
    left, centre, right = st.columns(3)
    with left:
        comps = analysis.filter_components(v.vit.patch_embed.proj.weight.detach().cpu())  # (k, 3, P, P)
        fig = paper_fig.filter_tiles_figure(comps.numpy(), t("fig7_filters", k=comps.shape[0]))
        chart(fig, "fig7_filters")
        st.caption(t("fig7_filters_caption"))
    with centre:
        if cfg.num_patches <= POS_GRID_MAX:
            sim = analysis.pos_embed_similarity(v.vit.pos_embed.detach().cpu(), cfg.grid)  # (Gh, Gw, Gh, Gw)
            axes = (t("fig7_pos_x"), t("fig7_pos_y"))
            fig = paper_fig.pos_similarity_figure(sim.numpy(), t("fig7_pos"), axes)
            chart(fig, "fig7_pos")
            st.caption(t("fig7_pos_caption"))
        else:
            st.info(t("fig7_pos_too_many", N=cfg.num_patches, max=POS_GRID_MAX))
    with right:
        if v.trace.attentions is None:
            st.info(t("needs_full", T=cfg.num_patches + 1, max=model.FULL_ATTENTION_MAX))
        else:
            distances = analysis.mean_attention_distance(v.trace.attentions, cfg.grid, cfg.patch_size)  # (depth, nh)
            axes = (t("fig7_dist_x"), t("fig7_dist_y"))
            fig = paper_fig.distance_figure(distances.numpy(), t("fig7_dist"), axes, t("head"))
            chart(fig, "fig7_distance")
            st.caption(t("fig7_dist_caption"))


def show_output_tab(t: Translator, v: View) -> None:
    trace, cfg = v.trace, v.cfg
    labels = get_loaded(v.weights).labels if v.weights != RANDOM else None
    if v.weights != RANDOM and labels is None:
        st.info(t("no_head_note"))
        return
    rows = [
        {t("label"): class_label(t, v.weights, labels, i), t("probability"): round(p, 4), t("logit"): round(z, 4)}
        for i, p, z in analysis.top_k(trace.logits, TOP_K)
    ]
    st.dataframe(rows, hide_index=True)
    if v.weights == RANDOM:
        st.caption(t("random_head_note", K=cfg.num_classes))
    elif v.weights.startswith(SHAPES):
        st.caption(t("shapes_head_note"))


def class_label(t: Translator, weights: str, labels: list[str] | None, i: int) -> str:
    """A class's name: translated for the shapes model, the checkpoint's own otherwise."""
    if labels is None:
        return t("class_name", i=i)
    return t(f"class_{labels[i]}") if weights.startswith(SHAPES) else labels[i]


# ---------------------------------------------------------------- classroom: share links, lesson, downloads


def chart(fig, key: str, where=None, styled: bool = False, **kwargs):
    """Draw a figure (restyled in presenter view unless ``styled``: cached already restyled) and
    keep it for this run's HTML download."""
    FIGURES[key] = fig
    shown = overview_fig.presenter(fig) if st.session_state.get("presenter") and not styled else fig
    return (where or st).plotly_chart(shown, key=key, config=PLOTLY_CONFIG, **kwargs)


def restore_from_url() -> list[urlstate.Problem]:
    """On a session's first run: the settings a share link carries, applied before any widget exists.

    Invalid or unknown parameters are skipped (their defaults stay) and returned for a notice."""
    s = st.session_state
    state, problems = urlstate.parse(st.query_params.to_dict(), tuple({**SAMPLES, **SHAPE_SAMPLES}))
    if state.get("weights") == SHAPES and shapes_meta() is None:
        problems.append(urlstate.Problem("weights", SHAPES, "invalid"))
        state.pop("weights")
    weights = state.get("weights", RANDOM)
    numbers = {key: state.pop(key) for key in NUMBER_KEYS if key in state}
    if weights == SHAPES:  # the checkpoint's own shape; only its patch size can change
        defaults = config_numbers(config.ViTConfig(**shapes_meta()["config"]))
        numbers = {key: value for key, value in numbers.items() if key == "patch_size"}
    else:
        defaults = preset_numbers(state.get("preset") if state.get("preset") in PRESETS else "article")
    if weights == PRETRAINED:
        numbers = {}  # the checkpoint brings its own numbers when it loads
    if (problem := urlstate.check_numbers(numbers, defaults)) is not None:
        problems.append(problem)
    s.update(state)
    s.update({**defaults, **numbers})
    s["preset"] = CUSTOM if {**defaults, **numbers} != defaults else state.get("preset", "article")
    if weights == SHAPES and "sample" not in state and SHAPE_SAMPLES:
        s["sample"] = next(iter(SHAPE_SAMPLES))
    if weights == PRETRAINED and "hub_id" in state:
        load_hub_model()  # a failure shows as the weights error, with random weights meanwhile
    if "sample" in state or weights == SHAPES:
        s["source"] = "sample"
    return problems


def url_notice(t: Translator, problems: list[urlstate.Problem]) -> None:
    items = [t(f"url_{p.reason}", name=p.name, value=p.value) for p in problems]
    st.warning(t("url_notice", items="".join(f"\n- {item}" for item in items)), icon=":material/link_off:")


def write_url() -> None:
    """Put the page's state in the address bar (only when it changed), so the link is always current."""
    s = st.session_state
    state = {key: s[key] for key, _ in urlstate.FIELDS.values() if key in s}
    state.update({key: s[key] for key in ("q_kind", "q_r", "q_c") if key in s})
    if s.get("source") == "upload":
        state.pop("sample", None)  # an uploaded picture cannot travel in a link
    if s.get("weights") != PRETRAINED:
        state.pop("hub_id", None)
    if s.get("mode") != "lesson":
        state.pop("lesson_step", None)
    params = urlstate.encode(state)
    if params != st.query_params.to_dict():
        st.query_params.from_dict(params)


def choose_mode(t: Translator) -> str:
    s = st.session_state
    s.setdefault("mode", "explore")
    s.setdefault("lesson_step", 1)
    mode = st.sidebar.radio(t("mode"), list(urlstate.MODES), format_func=lambda m: t(f"mode_{m}"), key="mode",
                            horizontal=True)  # fmt: skip
    st.sidebar.toggle(t("presenter"), key="presenter", help=t("presenter_help"))
    st.sidebar.caption(t("share_caption"))
    return mode


def lesson_go(delta: int) -> None:
    """Callback of Back / Next."""
    s = st.session_state
    s["lesson_step"] = min(max(1, s.get("lesson_step", 1) + delta), len(lesson.STEPS))


def use_shapes_model() -> None:
    """Callback of the lesson's button: the trained shapes model, on one of its own pictures."""
    st.session_state["weights"] = SHAPES
    apply_weights()


def try_patch_size(P: int) -> None:
    """Callback of a lesson button: another patch size (as if typed in the sidebar)."""
    st.session_state["patch_size"] = P
    if st.session_state.get("weights", RANDOM) == RANDOM:
        st.session_state["preset"] = CUSTOM


def show_lesson(t: Translator, v: View, animation, proof: analysis.Proof) -> None:
    """The article's story in seven steps: the text, the view it talks about, Back / Next."""
    n = len(lesson.STEPS)
    k = min(max(1, int(st.session_state.get("lesson_step", 1))), n)
    step = lesson.STEPS[k - 1]
    nums = lesson.numbers(v.cfg)
    st.progress(k / n)
    st.subheader(t("lesson_header", k=k, n=n, title=t(f"lesson_{step.id}_title", **nums)))
    back, forward, _ = st.columns([1, 1, 3])
    back.button(t("lesson_back"), key="lesson_back", on_click=lesson_go, args=(-1,), disabled=k == 1,
                shortcut="left", width="stretch")  # fmt: skip
    forward.button(t("lesson_next"), key="lesson_next", on_click=lesson_go, args=(1,), disabled=k == n,
                   shortcut="right", type="primary", width="stretch")  # fmt: skip
    labels = [t(key, depth=v.cfg.depth) for key in lesson.OVERVIEW_BOXES]
    D, N, T = v.cfg.embed_dim, v.cfg.num_patches, v.cfg.num_patches + 1
    arrows = [f"({N}, 3·{v.cfg.patch_size}²)", f"({N}, {D})", f"({T}, {D})", f"CLS ({D})"]
    chart(overview_fig.overview_figure(labels, arrows, step.boxes), "overview")
    st.markdown(t(f"lesson_{step.id}_body", **nums))
    if step.id == "grid":
        show_grid(t, v)
    elif step.id == "window":
        show_inspector(t, v)
    elif step.id == "stride":
        show_animation(t, v, animation)
    elif step.id == "proof":
        show_proof_tab(t, v, proof)
    elif step.id == "sequence":
        show_sequence(t, v)
    elif step.id == "attention":
        if v.weights == RANDOM and shapes_meta() is not None:
            st.button(t("lesson_use_shapes"), key="lesson_use_shapes", on_click=use_shapes_model,
                      icon=":material/school:")  # fmt: skip
        show_attention_tab(t, v, compact=True)
    else:
        show_scaling(t, v)
    with st.expander(t("code_panel"), expanded=step.id in ("window", "stride", "proof", "sequence")):
        notes = {key: t(f"code_note_{key}") for key in lesson.CODE_NOTES}
        st.code(lesson.code_text(v.cfg, notes), language="python", wrap_lines=True)
        st.caption(t("code_caption"))
    st.caption(t("lesson_keys") if k < n else t("lesson_done"))


def show_scaling(t: Translator, v: View) -> None:
    rows = lesson.patch_size_table(v.cfg)
    table = [
        {t("cost_P"): r.P, t("cost_grid"): f"{r.grid[0]}×{r.grid[1]}", t("cost_N"): r.N, t("cost_L"): r.L,
         t("cost_attention"): r.attention, t("cost_params"): r.params,
         t("cost_note"): t("cost_now") if r.P == v.cfg.patch_size else
         (t("cost_over", max=config.MAX_TOKENS) if r.over_cap else "")}
        for r in rows
    ]  # fmt: skip
    counts = [t("cost_N"), t("cost_L"), t("cost_attention"), t("cost_params")]
    localized = {name: st.column_config.NumberColumn(format="localized") for name in counts}  # 115,600
    st.dataframe(table, hide_index=True, column_config=localized)
    cols = st.columns(len(rows))
    for col, r in zip(cols, rows, strict=True):
        col.button(t("try_p", P=r.P), key=f"try_p_{r.P}", on_click=try_patch_size, args=(r.P,),
                   disabled=r.over_cap or r.P == v.cfg.patch_size, width="stretch")  # fmt: skip


def show_downloads(t: Translator, v: View) -> None:
    """The stride animation as a GIF, any figure on the page as HTML, the tensors as .npy."""
    cfg = v.cfg
    Gh, Gw = cfg.grid
    with st.expander(t("downloads"), icon=":material/download:"):
        gif, html, arrays = st.columns(3)
        row_step = patches_fig.frame_row_step(cfg.grid)
        frames = len(patches_fig.stride_steps(cfg.grid, row_step))
        pixels, colours, P = v.pixels, v.colours, cfg.patch_size
        gif.download_button(t("dl_gif"), lambda: export.stride_gif(pixels, P, colours, row_step), "stride.gif",
                            "image/gif", key="dl_gif", on_click="ignore", icon=":material/gif_box:")  # fmt: skip
        W, H = export.gif_size(*cfg.img_size)
        gif.caption(t("dl_gif_caption", n=frames, W=W, H=H) + (" " + t("anim_row_step", k=row_step, N=Gh * Gw,
                    max=patches_fig.MAX_FRAMES) if row_step > 1 else ""))  # fmt: skip
        keys = [key for key in FIGURES if f"fig_{key}" in t.table]
        if keys:
            key = html.selectbox(t("dl_figure"), keys, format_func=lambda k: t(f"fig_{k}"), key="dl_figure_key")
            fig = FIGURES.get(key, FIGURES[keys[0]])
            html.download_button(t("dl_html"), lambda: export.figure_html(fig), f"{key}.html", "text/html",
                                 key="dl_html", on_click="ignore", icon=":material/html:")  # fmt: skip
            html.caption(t("dl_html_caption"))
        trace = v.trace
        meta = export.config_json(cfg, weights=v.weights, fit_policy=v.policy, snap=v.snap,
                                  requested_size=list(v.requested))  # fmt: skip
        arrays.download_button(t("dl_arrays"), lambda: export.arrays_zip(export.trace_arrays(trace), meta),
                               "vit_tensors.zip", "application/zip", key="dl_arrays", on_click="ignore",
                               icon=":material/data_array:")  # fmt: skip
        attention = t("dl_attention_full") if trace.attentions is not None else t("dl_attention_rows")
        arrays.caption(t("dl_arrays_caption", D=cfg.embed_dim, Gh=Gh, Gw=Gw, attention=attention))


def main() -> None:
    st.set_page_config(page_title=Translator(st.session_state.get("lang", "en"))("app_title"), layout="wide")
    if "url_restored" not in st.session_state:  # a share link's settings, once per session
        st.session_state["url_problems"] = restore_from_url()
        st.session_state["url_restored"] = True
    t = choose_language()
    mode = choose_mode(t)
    if st.session_state.get("presenter"):
        st.markdown(PRESENTER_CSS, unsafe_allow_html=True)
    st.title(t("app_title"))
    if problems := st.session_state.pop("url_problems", None):
        url_notice(t, problems)
    if mode != "lesson":
        st.markdown(t("app_intro"))
    (cfg, requested), policy, snap, dev, weights = choose_model(t)
    data, name = choose_image(t)
    weights_badge(t, weights, cfg)
    if weights != RANDOM and name not in SHAPE_SAMPLES:
        st.info(t("ood_note"))
    img = decode(data)
    key = (hashlib.sha256(data).hexdigest(), requested, policy)
    with st.spinner(t("computing")):
        fitted = get_fitted(*key, img)
        full = cfg.num_patches + 1 <= model.FULL_ATTENTION_MAX
        rows = (0,) if full else tuple(sorted({0, current_query(cfg)}))
        trace, seconds = get_trace(cfg, dev, weights, key, snap, rows, fitted)
        pixels = image.to_display(trace.inputs, *normalisation(weights))  # (H′, W′, 3) uint8
        colours = analysis.pca_rgb(trace.patch_grid).numpy()  # (Gh, Gw, 3)
        presenter = bool(st.session_state.get("presenter"))
        animation = get_animation(cfg, weights, key, snap, t.lang, presenter, pixels, colours)
        proof = get_proof(cfg, dev, weights, key, snap, trace.inputs)
    v = View(cfg, requested, policy, snap, img, fitted, pixels, colours, trace, get_model(cfg, dev, weights), key,
             weights)  # fmt: skip
    if mode == "lesson":
        show_lesson(t, v, animation, proof)
        show_summary(t, cfg, seconds, dev)
    else:
        show_summary(t, cfg, seconds, dev)
        labels = ["tab_patches", "tab_embedding", "tab_proof", "tab_attention", "tab_paper", "tab_output"]
        tabs = st.tabs([t(label) for label in labels])
        with tabs[0]:
            show_patch_tab(t, v, animation)
        with tabs[1]:
            show_embedding_tab(t, v)
        with tabs[2]:
            show_proof_tab(t, v, proof)
        with tabs[3]:
            show_attention_tab(t, v)
        with tabs[4]:
            show_paper_tab(t, v)
        with tabs[5]:
            show_output_tab(t, v)
    show_downloads(t, v)
    write_url()


main()
