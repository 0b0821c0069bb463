"""The page state: every user choice under its own name in ``st.session_state``, apart from any widget.

Streamlit deletes a widget's key on any run that does not draw the widget, so a choice held only
by a widget is lost when its view is hidden (FACTS.md, "Streamlit"). Here each choice lives under
its own name (``CHOICES``); a widget is given a key of its own (``widget_key(name)``), shown the
choice before it is drawn and writes the choice back from its ``on_change`` (``bind``). A run that
does not draw a widget leaves its choice alone. The share link is read into and written from
these choices (``restore_from_url``, ``write_url``), so it always holds the page's real state: every
choice travels in it (``urlstate.CARRIED``) except the few in ``LOCAL``, each with its reason.

Number inputs (``bind_number``) take any number typed, as typed, and refuse with a reason what the
page cannot run (``refusals``): the field, the link and the page always show the number in use.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import streamlit as st

from page import urlstate
from vizlib import config
from vizlib import weights as weights_lib
from vizlib.paths import ASSETS_DIR, SAMPLES_DIR

SHAPES_DIR = ASSETS_DIR / "shapes"
SAMPLES = {path.stem: path for path in sorted(SAMPLES_DIR.glob("*.jpg"))}
SHAPE_SAMPLES = {f"shape_{path.stem}": path for path in sorted((SHAPES_DIR / "samples").glob("*.png"))}
ALL_SAMPLES = {**SAMPLES, **SHAPE_SAMPLES}
RANDOM, SHAPES, REAL, PRETRAINED = urlstate.WEIGHTS  # REAL: the offline DINOv2 ViT-S/14
REAL_SIZE = 448  # the real model's default input: a 32×32 grid of 14-px patches, 1,025 tokens (every matrix kept)
DEFAULT_HUB_ID = "google/vit-base-patch16-224"
DEFAULT_SAMPLE = "chelsea"
PRESETS = {  # name -> the ViT it describes (depth and heads: the article leaves them open)
    "article": dict(img_size=(81, 81), patch_size=27, embed_dim=128, depth=4, num_heads=4),
    "vit_s16": dict(img_size=(224, 224), patch_size=16, embed_dim=384, depth=12, num_heads=6),
    "vit_b16": dict(img_size=(224, 224), patch_size=16, embed_dim=768, depth=12, num_heads=12),
}
CUSTOM = urlstate.PRESETS[-1]  # numbers of one's own
# Sidebar number inputs: choice name -> (config field, index into img_size or None).
NUMBER_KEYS = {
    "img_h": ("img_size", 0), "img_w": ("img_size", 1), "patch_size": ("patch_size", None),
    "embed_dim": ("embed_dim", None), "depth": ("depth", None), "num_heads": ("num_heads", None),
}  # fmt: skip


def preset_numbers(name: str) -> dict[str, int]:
    """A preset's numbers by choice name."""
    preset = PRESETS[name]
    return {key: preset[field][i] if i is not None else preset[field] for key, (field, i) in NUMBER_KEYS.items()}


def config_numbers(cfg: config.ViTConfig) -> dict[str, int]:
    """A config's numbers by choice name."""
    return {
        key: getattr(cfg, field)[i] if i is not None else getattr(cfg, field) for key, (field, i) in NUMBER_KEYS.items()
    }


# Every user choice and its default. ``layer`` None = the last block; ``device`` None = the first available.
CHOICES: dict[str, object] = {
    "lang": "en", "mode": "explore", "presenter": False, "view": "patches", "lesson_step": 1,
    "source": "sample", "sample": DEFAULT_SAMPLE, "weights": RANDOM, "snapshot": "final", "hub_id": DEFAULT_HUB_ID,
    "upload_heads": 0, "upload_h": 0, "upload_w": 0, "preset": "article", **preset_numbers("article"), "seed": 0,
    "fit_policy": "center_crop", "snap": "crop", "device": None,
    "step": 1, "cube3d": False, "tok_r": 0, "tok_c": 0,  # patches: inspected step, 3D view; embedding: token
    "q_kind": "cls", "q_r": 0, "q_c": 0, "opacity": 0.6, "layer": None, "head": "mean", "fusion": "mean",
    "discard": 0.0, "dl_figure": None,
    # inside the encoder (drawn on request): one head's arithmetic; token norms, logit lens, GAE, deletion test
    "head_step": False, "encoder": False, "norm_block": None, "gae_class": None, "gae_on": False, "deletion": False,
    "tp_block": None, "tp_hide": False, "tp_cut": 0.0, "tp_flip": False,  # tokens' PCA: block (None = last), mask
}  # fmt: skip


# Choices a share link does not carry, and why (the sidebar's share caption says so on the page).
LOCAL = {
    "upload_heads": "read with an uploaded weights file, and a link carries no file",
    "upload_h": "read with an uploaded weights file, and a link carries no file",
    "upload_w": "read with an uploaded weights file, and a link carries no file",
    "device": "the server's hardware: another server may lack it, and the numbers are the same on each",
}
# Choices a widget shows that follow from another choice, which the link carries instead.
DERIVED = {"hub_pick": "the hub list's entry for the hub id, which the link carries (hub)"}
# Details of a view that the link names only when they differ from their default (a short address).
BRIEF = {
    "snapshot", "step", "cube3d", "tok_r", "tok_c", "opacity", "fusion", "discard", "dl_figure", "head_step",
    "encoder", "norm_block", "gae_on", "gae_class", "deletion", "tp_block", "tp_hide", "tp_cut", "tp_flip",
}  # fmt: skip
# Whole numbers typed into a number input: choice -> (lowest, highest) the page takes.
NUMBER_RANGES = {urlstate.FIELDS[name][0]: bounds for name, bounds in urlstate.NUMBER_RANGES.items()}
REFUSED = "_refused"  # session-state key: {choice: (number typed, why)}, each shown once by ``refusals``


def widget_key(name: str) -> str:
    """The key of the widget that shows choice ``name`` (never the choice's own key)."""
    return f"w_{name}"


def get(name: str):
    """A choice's current value."""
    return st.session_state[name]


def put(name: str, value) -> None:
    """Set a choice, and the widget that shows it if one exists (callbacks and before drawing only)."""
    st.session_state[name] = value
    if widget_key(name) in st.session_state:
        st.session_state[widget_key(name)] = value


def update(values: dict) -> None:
    """``put`` several choices."""
    for name, value in values.items():
        put(name, value)


def _write_back(name: str, then: Callable[..., None] | None, args: tuple, options=None) -> None:
    value = st.session_state[widget_key(name)]
    if options is not None and value not in options:
        # Streamlit's selectbox hands back its shown label when that label is no longer an option's
        # (its options changed under it: the figures the download offers, a language switch): the
        # choice stays, and so does the widget.
        st.session_state[widget_key(name)] = st.session_state[name]
        return
    st.session_state[name] = value
    if then is not None:
        then(*args)
    write_url()  # also for a widget inside a fragment: its rerun may not reach a write_url of its own


def bind(name: str, then: Callable[..., None] | None = None, args: tuple = (), options=None) -> dict:
    """Keyword arguments for a widget that shows choice ``name`` and writes it back when changed.

    The widget's own key is set to the choice just before it is drawn, so a widget that was not
    drawn for a while (another view was open) comes back showing the choice, not its default.
    ``then(*args)`` runs after the write-back (a callback of the widget's own). ``options`` (a
    selectbox's): a value that is none of them is not taken.
    """
    st.session_state[widget_key(name)] = st.session_state[name]
    return dict(key=widget_key(name), on_change=_write_back, args=(name, then, args, options))


def bind_number(name: str, lo: int, hi: int, check: Callable[[str, int], Exception | None] | None = None,
                then: Callable[..., None] | None = None, args: tuple = ()) -> dict:  # fmt: skip
    """Keyword arguments for a number input that shows choice ``name``, a whole number in ``[lo, hi]``.

    The input itself has no bounds and takes decimals: given bounds, a browser keeps an out-of-range
    number in the field without sending it, and in a whole-number field reads "1e1" as 1. So every
    number typed reaches the server as typed. One that is not whole, lies outside ``[lo, hi]`` or
    that ``check(name, value)`` refuses (it returns the error) is not taken: the field is put back
    to the number in use and ``refusals`` says why. ``then(*args)`` runs after a number is taken.
    """
    st.session_state[widget_key(name)] = float(st.session_state[name])
    return dict(key=widget_key(name), step=1.0, format="%.0f", on_change=_take_number,
                args=(name, lo, hi, check, then, args))  # fmt: skip


def number_problem(typed: float | None, lo: int, hi: int) -> tuple[str, dict] | None:
    """Why a typed number is not a whole number in ``[lo, hi]``, as (i18n key, fields); None when it is."""
    whole = typed is not None and math.isfinite(typed) and typed == int(typed)
    if not whole or not lo <= typed <= hi:
        return "number_range", dict(lo=f"{lo:,}", hi=f"{hi:,}")
    return None


def _take_number(name: str, lo: int, hi: int, check, then, args: tuple) -> None:
    typed = st.session_state[widget_key(name)]
    why = number_problem(typed, lo, hi)
    if why is None and check is not None:
        why = check(name, int(typed))
    if why is not None:
        st.session_state.setdefault(REFUSED, {})[name] = (typed, why)
        st.session_state[widget_key(name)] = float(st.session_state[name])  # the field shows the number in use
        return
    st.session_state[name] = int(typed)
    st.session_state[widget_key(name)] = float(int(typed))  # "-0" and "1e1" shown as the page reads them
    if then is not None:
        then(*args)
    write_url()


def refusals(names) -> list[tuple[str, float | None, object, int]]:
    """The numbers refused since the last run among choices ``names``, each once: (choice, number
    typed, why: an (i18n key, fields) pair or an error, the number in use)."""
    refused = st.session_state.get(REFUSED, {})
    return [(name, *refused.pop(name), st.session_state[name]) for name in names if name in refused]


def init() -> None:
    """Every choice at its default unless already set (once per session, then a no-op)."""
    for name, value in CHOICES.items():
        st.session_state.setdefault(name, value)


def _clamp(name: str, top: int, bottom: int = 0) -> int | None:
    """Keep an index choice inside ``[bottom, top]``; the value before when it moved, else None.
    A choice that is None (``layer``: the last block) needs no clamping."""
    value = st.session_state[name]
    if value is None or bottom <= int(value) <= top:
        return None
    put(name, min(max(int(value), bottom), top))
    return int(value)


# Choices that index into the model or its grid, and the label keys that name them on the page.
INDEX_LABELS = {
    "step": ("step",), "tok_r": ("token_row",), "tok_c": ("token_col",), "q_r": ("query", "token_row"),
    "q_c": ("query", "token_col"), "layer": ("layer",), "head": ("head",), "lesson_step": ("mode_lesson",),
    "norm_block": ("enc_norms_block",), "tp_block": ("tp_block",),
}  # fmt: skip


def fit_to(cfg: config.ViTConfig) -> list[tuple[str, int, int]]:
    """Clamp every choice that no longer fits ``cfg`` (a block past its depth, a query outside a
    smaller grid, …): [(choice, before, now)] of those that moved, as the page shows them
    (blocks, heads and steps 1-based, rows and columns 0-based)."""
    Gh, Gw = cfg.grid
    bounds = {"step": (cfg.num_patches, 1), "tok_r": (Gh - 1, 0), "tok_c": (Gw - 1, 0), "q_r": (Gh - 1, 0),
              "q_c": (Gw - 1, 0), "layer": (cfg.depth, 1), "lesson_step": (urlstate.LESSON_STEPS, 1),
              "norm_block": (cfg.depth, 0), "tp_block": (cfg.depth, 0)}  # fmt: skip
    moved = []
    for name, (top, bottom) in bounds.items():
        if (before := _clamp(name, top, bottom)) is not None:
            moved.append((name, before, st.session_state[name]))
    if st.session_state["q_kind"] not in query_options(cfg):  # a register of the last model, or a link's
        put("q_kind", "cls")
    head = st.session_state["head"]
    if head != "mean" and not 0 <= int(head) < cfg.num_heads:  # fewer heads than before, or a link's head
        put("head", cfg.num_heads - 1)
        moved.append(("head", int(head) + 1, cfg.num_heads))
    return moved


def fit_notice(t, moved: list[tuple[str, int, int]]) -> None:
    """Say which choices no longer fitted the model and which values are shown instead."""
    for name, before, now in moved:
        what = " · ".join(t(key) for key in INDEX_LABELS[name])
        st.caption(t("clamped", what=what, before=before, now=now))


def query_index(cfg: config.ViTConfig) -> int:
    """The attention query chosen: a prefix token's index (0 = CLS, then DIST, registers) or
    ``S + r·Gw + c`` for patch (r, c), clamped to the grid; a prefix token the model lacks is CLS."""
    Gh, Gw = cfg.grid
    kind = st.session_state["q_kind"]
    if kind != "patch":
        names = [name.lower() for name in cfg.prefix_names()]
        return names.index(kind) if kind in names else 0
    return cfg.token_index(min(int(st.session_state["q_r"]), Gh - 1), min(int(st.session_state["q_c"]), Gw - 1))


def query_options(cfg: config.ViTConfig) -> list[str]:
    """The query kinds the model offers: its prefix tokens by name (``cls``, ``dist``, ``reg1`` …), then ``patch``."""
    return [name.lower() for name in cfg.prefix_names()] + ["patch"]


def restore_from_url(shapes_config: dict | None, real_config: config.ViTConfig | None = None,
                     params: dict[str, str] | None = None) -> list[urlstate.Problem]:  # fmt: skip
    """On a session's first run: the choices a share link carries, applied before any widget exists.

    ``shapes_config`` is the shipped shapes checkpoint's config, ``real_config`` the offline real
    model's at its default size (each None when it is missing). ``params``: parameters as a link
    carries them from elsewhere (a class's teacher), instead of the address bar's.
    Invalid or unknown parameters are skipped (their defaults stay) and returned for a notice.
    """
    state, problems = urlstate.parse(st.query_params.to_dict() if params is None else params, tuple(ALL_SAMPLES))
    if state.get("weights") == SHAPES and shapes_config is None:
        problems.append(urlstate.Problem("weights", SHAPES, "invalid"))
        state.pop("weights")
    if state.get("weights") == REAL and real_config is None:
        problems.append(urlstate.Problem("weights", REAL, "invalid"))
        state.pop("weights")
    if state.get("snapshot", "final") not in ["final", *weights_lib.snapshot_steps(SHAPES_DIR)]:
        problems.append(urlstate.Problem("snapshot", str(state.pop("snapshot")), "invalid"))
    weights = state.get("weights", RANDOM)
    numbers = {key: state.pop(key) for key in NUMBER_KEYS if key in state}
    if weights == SHAPES:  # the checkpoint's own shape; only its patch size can change
        defaults = config_numbers(config.ViTConfig(**shapes_config))
        numbers = {key: value for key, value in numbers.items() if key == "patch_size"}
    elif weights == REAL:  # its own D, depth and heads; the picture's size and the patch size can change
        defaults = config_numbers(real_config)
        numbers = {key: value for key, value in numbers.items() if key in ("img_h", "img_w", "patch_size")}
    else:
        defaults = preset_numbers(state.get("preset") if state.get("preset") in PRESETS else "article")
    if weights == PRETRAINED:
        numbers = {}  # the checkpoint brings its own numbers when it loads
    if (problem := urlstate.check_numbers(numbers, defaults)) is not None:
        problems.append(problem)
    update(state)
    update({**defaults, **numbers})
    put("preset", CUSTOM if {**defaults, **numbers} != defaults else state.get("preset", "article"))
    if weights == SHAPES and "sample" not in state and SHAPE_SAMPLES:
        put("sample", next(iter(SHAPE_SAMPLES)))
    if "sample" in state or weights == SHAPES:
        put("source", "sample")
    return problems


JOIN_PARAM = "_join_param"  # session-state key: {"join": CODE} while the page follows a class (page/classes.py)


def write_url() -> None:
    """Put the page's choices in the address bar (only when they changed): the link is always current."""
    params = {**link_params(), **st.session_state.get(JOIN_PARAM, {})}  # a follower's link keeps its class
    if params != st.query_params.to_dict():
        st.query_params.from_dict(params)


def link_params() -> dict[str, str]:
    """The page's choices as its share link carries them (``urlstate.encode``)."""
    s = st.session_state
    state = {key: s[key] for key in urlstate.CARRIED if key in s and not (key in BRIEF and s[key] == CHOICES[key])}
    if s.get("source") == "upload":
        state.pop("sample", None)  # an uploaded picture cannot travel in a link
    if s.get("weights") != PRETRAINED:
        state.pop("hub_id", None)
    if s.get("weights") != SHAPES:
        state.pop("snapshot", None)
    if s.get("mode") != "lesson":
        state.pop("lesson_step", None)
    else:
        state.pop("view", None)
    return urlstate.encode(state)
