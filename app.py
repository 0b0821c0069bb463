"""ViT Patch Explorer — the Streamlit page.

Order: sidebar widgets → cached loaders → compute → render in tabs. No tensor maths here:
vizlib does it; this file only wires widgets to vizlib and shows the results. Every word on the
page comes from the translation table (assets/i18n.json) through ``t``.
"""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from vizlib import analysis, config, device, image, model
from vizlib.figures import attention as attention_fig
from vizlib.figures import embedding as embedding_fig
from vizlib.figures import patches as patches_fig
from vizlib.i18n import LANGUAGES, Translator
from vizlib.paths import SAMPLES_DIR

SAMPLES = {path.stem: path for path in sorted(SAMPLES_DIR.glob("*.jpg"))}
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
HEATMAP_MAX = (256, 384)  # most rows × columns of the token heatmap sent to the browser
PLOTLY_CONFIG = {"displaylogo": False, "scrollZoom": False}


# ---------------------------------------------------------------- cached loaders


@st.cache_data(max_entries=32, show_spinner=False)
def decode(data: bytes):
    """Bytes → upright RGB picture (raises ImageError)."""
    return image.load_image(data)


@st.cache_resource(max_entries=8, show_spinner=False)
def get_model(cfg: config.ViTConfig, dev: str) -> model.VisionTransformer:
    """One model per (config, device), shared by every session."""
    return model.VisionTransformer(cfg).eval().to(dev)


@st.cache_data(max_entries=16, show_spinner=False)
def get_trace(cfg: config.ViTConfig, dev: str, digest: str, policy: str, _fitted) -> tuple[model.Trace, float]:
    """Forward pass on the fitted picture; keyed by config, device, picture digest and policy."""
    return model.timed_trace(get_model(cfg, dev), image.to_tensor(_fitted))


@st.cache_data(max_entries=16, show_spinner=False)
def get_animation(cfg: config.ViTConfig, dev: str, digest: str, policy: str, lang: str, _pixels, _colours):
    """The stride animation (the costliest figure), keyed like the trace plus the language."""
    t = Translator(lang)
    text = patches_fig.StrideText(
        step=t("anim_step"), input_title=t("anim_input"), output_title=t("anim_output"),
        play=t("play"), pause=t("pause"),
    )  # fmt: skip
    return patches_fig.stride_animation(_pixels, cfg.patch_size, _colours, cfg.embed_dim, text)


# ---------------------------------------------------------------- sidebar


def explain(t: Translator, err: Exception) -> str:
    """An ImageError or ConfigError in the page's language (its English text as a fallback)."""
    key = f"err_{getattr(err, 'code', '')}"
    return t(key, **err.fields) if key in t.table else str(err)


SELECTBOX_KEYS = ("sample", "preset", "fit_policy", "device")


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
    name = st.sidebar.selectbox(
        t("sample_photo"), list(SAMPLES), format_func=lambda s: t(f"sample_{s}"), key="sample",
        index=list(SAMPLES).index(DEFAULT_SAMPLE),
    )  # fmt: skip
    return SAMPLES[name].read_bytes(), name


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
        return SAMPLES[sample].read_bytes(), sample
    st.session_state["last_upload"] = (data, name)
    return data, name


def apply_preset() -> None:
    """Callback: a preset writes its numbers into the number inputs."""
    preset = PRESETS.get(st.session_state["preset"])
    if preset is None:
        return
    for key, (field, index) in NUMBER_KEYS.items():
        st.session_state[key] = preset[field][index] if index is not None else preset[field]


def mark_custom() -> None:
    """Callback: editing any number makes the settings custom."""
    st.session_state["preset"] = CUSTOM


def choose_model(t: Translator) -> tuple[config.ViTConfig, str, str]:
    st.sidebar.header(t("model_section"))
    if "preset" not in st.session_state:
        st.session_state["preset"] = "article"
        apply_preset()
    st.sidebar.selectbox(
        t("preset"), [*PRESETS, CUSTOM], format_func=lambda p: t(f"preset_{p}"), key="preset", on_change=apply_preset
    )
    left, right = st.sidebar.columns(2)
    left.number_input(t("img_h"), 1, 4096, key="img_h", on_change=mark_custom)
    right.number_input(t("img_w"), 1, 4096, key="img_w", on_change=mark_custom)
    left.number_input(t("patch_size"), 1, 4096, key="patch_size", on_change=mark_custom, help=t("patch_size_help"))
    right.number_input(t("embed_dim"), 1, 4096, key="embed_dim", on_change=mark_custom, help=t("embed_dim_help"))
    left.number_input(t("depth"), 1, 64, key="depth", on_change=mark_custom)
    right.number_input(t("num_heads"), 1, 64, key="num_heads", on_change=mark_custom)
    seed = st.sidebar.number_input(t("seed"), 0, config.MAX_SEED, value=0, key="seed", help=t("seed_help"))
    policy = st.sidebar.selectbox(
        t("fit_policy"), list(image.FIT_POLICIES), index=image.FIT_POLICIES.index("center_crop"),
        format_func=lambda p: t(f"fit_{p}"), help=t("fit_policy_help"), key="fit_policy",
    )  # fmt: skip
    devices = device.available_devices()
    dev = st.sidebar.selectbox(t("device"), devices, key="device", help=t("device_help"))
    return build_config(t, int(seed)), policy, dev


def build_config(t: Translator, seed: int) -> config.ViTConfig:
    """The config the numbers describe, or — with an error shown — the last one that worked."""
    s = st.session_state
    try:
        cfg = config.ViTConfig(
            img_size=(s["img_h"], s["img_w"]), patch_size=s["patch_size"], embed_dim=s["embed_dim"],
            depth=s["depth"], num_heads=s["num_heads"], seed=seed,
        )  # fmt: skip
    except config.ConfigError as err:
        st.error(t("bad_config", message=explain(t, err)))
        cfg = s.get("last_cfg", config.ViTConfig(**PRESETS["article"]))
        st.info(t("kept_settings", H=cfg.img_size[0], W=cfg.img_size[1], P=cfg.patch_size, D=cfg.embed_dim))
        return cfg
    s["last_cfg"] = cfg
    return cfg


# ---------------------------------------------------------------- render


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


def show_patch_tab(t: Translator, img, pixels, cfg: config.ViTConfig, policy: str, animation) -> None:
    H, W = cfg.img_size
    Gh, Gw = cfg.grid
    left, right = st.columns([1, 2])
    left.image(img, caption=t("original_caption", W=img.width, H=img.height), width="stretch")
    left.caption(t("input_caption", H=H, W=W, policy=t(f"fit_{policy}")))
    right.plotly_chart(patches_fig.patch_grid_figure(pixels, cfg.patch_size), key="patch_grid", config=PLOTLY_CONFIG)
    right.caption(t("patch_grid_caption", P=cfg.patch_size, Gh=Gh, Gw=Gw, N=Gh * Gw))
    st.subheader(t("anim_header"))
    st.markdown(t("anim_explain", P=cfg.patch_size, D=cfg.embed_dim, N=Gh * Gw))
    st.plotly_chart(animation, key="stride_animation", config=PLOTLY_CONFIG)


def show_embedding_tab(t: Translator, trace: model.Trace, pixels, colours, cfg: config.ViTConfig) -> None:
    Gh, Gw = cfg.grid
    st.markdown(t("pca_explain", D=cfg.embed_dim))
    titles = (t("pca_title_input"), t("pca_title_grid", Gh=Gh, Gw=Gw))
    fig = embedding_fig.pca_grid_figure(pixels, cfg.patch_size, colours, titles)
    st.plotly_chart(fig, key="pca_grid", config=PLOTLY_CONFIG)
    tokens = trace.patch_tokens[0]  # (N, D)
    shown, row_step, col_step = analysis.display_downsample(tokens, *HEATMAP_MAX)
    title = t("tokens_title", N=tokens.shape[0], D=tokens.shape[1])
    axes = (t("tokens_x"), t("tokens_y"))
    st.plotly_chart(
        embedding_fig.token_heatmap(shown.numpy(), row_step, col_step, title, axes), key="tokens", config=PLOTLY_CONFIG
    )
    if row_step > 1 or col_step > 1:
        st.caption(t("tokens_downsampled", r=row_step, c=col_step))


def show_attention_tab(t: Translator, trace: model.Trace, pixels, cfg: config.ViTConfig) -> None:
    st.markdown(t("attn_explain"))
    layer = st.slider(t("layer"), 1, cfg.depth, cfg.depth, key="layer")
    maps = analysis.cls_attention_maps(trace.attentions[layer - 1], cfg.grid)  # (nh, Gh, Gw)
    maps = analysis.with_mean(maps)  # (nh + 1, Gh, Gw)
    titles = [t("head_title", h=h + 1) for h in range(cfg.num_heads)] + [t("mean_title")]
    fig = attention_fig.head_maps_figure(pixels, maps.numpy(), cfg.patch_size, titles)
    st.plotly_chart(fig, key="attention_maps", config=PLOTLY_CONFIG)
    st.caption(t("attn_random_note"))


def show_output_tab(t: Translator, trace: model.Trace, cfg: config.ViTConfig) -> None:
    rows = [
        {t("label"): t("class_name", i=i), t("probability"): round(p, 4), t("logit"): round(z, 4)}
        for i, p, z in analysis.top_k(trace.logits, TOP_K)
    ]
    st.dataframe(rows, hide_index=True)
    st.caption(t("random_head_note", K=cfg.num_classes))


def main() -> None:
    st.set_page_config(page_title=Translator(st.session_state.get("lang", "en"))("app_title"), layout="wide")
    t = choose_language()
    st.title(t("app_title"))
    st.markdown(t("app_intro"))
    data, _ = choose_image(t)
    cfg, policy, dev = choose_model(t)
    img = decode(data)
    digest = hashlib.sha256(data).hexdigest()
    with st.spinner(t("computing")):
        fitted = image.fit_image(img, cfg.img_size, policy)
        trace, seconds = get_trace(cfg, dev, digest, policy, fitted)
        pixels = np.asarray(fitted)  # (H, W, 3) uint8
        colours = analysis.pca_rgb(trace.patch_grid).numpy()  # (Gh, Gw, 3)
        animation = get_animation(cfg, dev, digest, policy, t.lang, pixels, colours)
    show_summary(t, cfg, seconds, dev)
    tabs = st.tabs([t("tab_patches"), t("tab_embedding"), t("tab_attention"), t("tab_output")])
    with tabs[0]:
        show_patch_tab(t, img, pixels, cfg, policy, animation)
    with tabs[1]:
        show_embedding_tab(t, trace, pixels, colours, cfg)
    with tabs[2]:
        show_attention_tab(t, trace, pixels, cfg)
    with tabs[3]:
        show_output_tab(t, trace, cfg)


main()
