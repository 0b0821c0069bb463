"""ViT Patch Explorer — the Streamlit page.

Order: sidebar widgets → cached loaders → compute → render. No tensor maths here: vizlib does
it; this file only wires widgets to vizlib and shows the results. Every word on the page comes
from the translation table (assets/i18n.json) through ``t``.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from vizlib import analysis, config, device, image, model
from vizlib.i18n import LANGUAGES, Translator
from vizlib.paths import SAMPLES_DIR

SAMPLES = {path.stem: path for path in sorted(SAMPLES_DIR.glob("*.jpg"))}
DEFAULT_SAMPLE = "chelsea"
PRESETS = {  # name -> the ViT it describes (depth and heads: the article leaves them open)
    "article": dict(img_size=(81, 81), patch_size=27, embed_dim=128, depth=4, num_heads=4),
    "vit_s16": dict(img_size=(224, 224), patch_size=16, embed_dim=384, depth=12, num_heads=6),
    "vit_b16": dict(img_size=(224, 224), patch_size=16, embed_dim=768, depth=12, num_heads=12),
}
TOP_K = 5


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
def get_trace(cfg: config.ViTConfig, dev: str, digest: str, policy: str, _img) -> tuple[model.Trace, float]:
    """Forward pass on the fitted picture; keyed by config, device, picture digest and policy."""
    x = image.to_tensor(image.fit_image(_img, cfg.img_size, policy))  # (1, 3, H, W)
    return model.timed_trace(get_model(cfg, dev), x)


# ---------------------------------------------------------------- sidebar


def choose_language() -> Translator:
    label = Translator(st.session_state.get("lang", "en"))("language")
    lang = st.sidebar.radio(label, list(LANGUAGES), format_func=LANGUAGES.get, key="lang", horizontal=True)
    return Translator(lang)


def choose_image(t: Translator) -> tuple[bytes, str]:
    """The picture's bytes: an upload when it decodes, else the last good one, else a sample."""
    st.sidebar.header(t("image_section"))
    source = st.sidebar.radio(
        t("image_source"), ["sample", "upload"], format_func=lambda s: t(f"source_{s}"), key="source"
    )
    if source == "upload":
        upload = st.sidebar.file_uploader(t("upload_label"), type=None, key="upload", accept_multiple_files=False)
        if upload is not None:
            return accept_upload(t, upload.name, upload.getvalue())
        if "last_upload" in st.session_state:
            return st.session_state["last_upload"]
        st.sidebar.info(t("upload_hint"))
    name = st.sidebar.selectbox(
        t("sample_photo"),
        list(SAMPLES),
        format_func=lambda s: t(f"sample_{s}"),
        key="sample",
        index=list(SAMPLES).index(DEFAULT_SAMPLE),
    )
    return SAMPLES[name].read_bytes(), name


def accept_upload(t: Translator, name: str, data: bytes) -> tuple[bytes, str]:
    """Keep an upload that decodes; for one that does not, say why and keep the last good one."""
    try:
        decode(data)
    except image.ImageError as err:
        st.error(t("bad_file", name=name, message=err))
        if "last_upload" in st.session_state:
            st.info(t("kept_previous"))
            return st.session_state["last_upload"]
        st.info(t("upload_hint"))
        return SAMPLES[st.session_state.get("sample", DEFAULT_SAMPLE)].read_bytes(), DEFAULT_SAMPLE
    st.session_state["last_upload"] = (data, name)
    return data, name


def choose_model(t: Translator) -> tuple[config.ViTConfig, str, str]:
    st.sidebar.header(t("model_section"))
    preset = st.sidebar.selectbox(t("preset"), list(PRESETS), format_func=lambda p: t(f"preset_{p}"), key="preset")
    policy = st.sidebar.selectbox(
        t("fit_policy"),
        list(image.FIT_POLICIES),
        index=image.FIT_POLICIES.index("center_crop"),
        format_func=lambda p: t(f"fit_{p}"),
        help=t("fit_policy_help"),
        key="fit_policy",
    )
    cfg = config.ViTConfig(**PRESETS[preset])
    return cfg, policy, device.default_device()


# ---------------------------------------------------------------- render


def show_images(t: Translator, img, cfg: config.ViTConfig, policy: str) -> None:
    H, W = cfg.img_size
    left, right = st.columns(2)
    left.image(img, caption=t("original_caption", W=img.width, H=img.height), width="stretch")
    fitted = image.fit_image(img, cfg.img_size, policy)
    right.image(fitted, caption=t("input_caption", H=H, W=W, policy=t(f"fit_{policy}")), width="stretch")


def show_shapes(t: Translator, cfg: config.ViTConfig) -> None:
    st.subheader(t("shapes_header"))
    parts = []
    for key, shape, fields in config.shape_strip(cfg):
        label = t(key, **fields)
        parts.append(f"**`{tuple(shape)}`** {label}" if shape else f"→ *{label}* →")
    st.markdown(" ".join(parts))
    N, nh = cfg.num_patches, cfg.num_heads
    T = N + 1
    st.caption(
        t(
            "cost_line",
            N=N,
            params=f"{config.count_parameters(cfg):,}",
            nh=nh,
            T=T,
            entries=f"{nh * T * T:,}",
            mb=f"{nh * T * T * 4 / 1e6:.2f}",
        )
    )


def show_predictions(t: Translator, trace: model.Trace, cfg: config.ViTConfig, seconds: float, dev: str) -> None:
    st.subheader(t("predictions_header"))
    rows = [
        {t("label"): t("class_name", i=i), t("probability"): round(p, 4), t("logit"): round(z, 4)}
        for i, p, z in analysis.top_k(trace.logits, TOP_K)
    ]
    st.dataframe(rows, hide_index=True)
    st.caption(t("random_head_note", K=cfg.num_classes))
    st.caption(t("forward_time", ms=seconds * 1000, device=dev))


def main() -> None:
    st.set_page_config(page_title=Translator(st.session_state.get("lang", "en"))("app_title"), layout="wide")
    t = choose_language()
    st.title(t("app_title"))
    st.markdown(t("app_intro"))
    data, _ = choose_image(t)
    cfg, policy, dev = choose_model(t)
    img = decode(data)
    digest = hashlib.sha256(data).hexdigest()
    trace, seconds = get_trace(cfg, dev, digest, policy, img)
    show_images(t, img, cfg, policy)
    show_shapes(t, cfg)
    show_predictions(t, trace, cfg, seconds, dev)


main()
