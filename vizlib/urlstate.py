"""The page's state as a share link: URL query parameters ⇄ the page's settings.

A teacher copies the address bar and students open exactly what the teacher sees. Reading is
forgiving: an unknown name or an invalid value is dropped (its default stays) and reported as a
``Problem`` the page shows as a notice; nothing here raises on user input.

Names in the URL are short and stable (``P``, ``D``, ``heads`` …); ``FIELDS`` maps each to the
session-state key the page's widget uses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from vizlib import config, image

LANGUAGES = ("en", "ja")
MODES = ("explore", "lesson")
VIEWS = ("patches", "embedding", "proof", "attention", "paper", "predictions")  # the explore view's tabs
PRESETS = ("article", "vit_s16", "vit_b16", "custom")
WEIGHTS = ("random", "shapes", "real", "pretrained")
LESSON_STEPS = 7
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]{0,95}/[\w.\-]{1,96}$")  # owner/name on the Hugging Face hub
NUMBER_FIELDS = ("H", "W", "P", "D", "depth", "heads")  # together they must build a ViT


@dataclass(frozen=True)
class Problem:
    """One query parameter that was ignored, and why (``reason`` is a key of the i18n table)."""

    name: str
    value: str
    reason: str  # "unknown" | "invalid" | "no_vit" | "clamped" (valid, but not in this model)
    used: str = ""  # for "clamped": the value used instead


def _int(lo: int, hi: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if not lo <= value <= hi:
            raise ValueError(f"{value} is outside {lo}…{hi}")
        return value

    return parse


def _choice(options: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in options:
            raise ValueError(f"{text!r} is not one of {options}")
        return text

    return parse


def _hub_id(text: str) -> str:
    if not HUB_ID.match(text) or ".." in text:
        raise ValueError(f"{text!r} is not a hub id like owner/name")
    return text


def _head(text: str) -> int | str:
    """``mean`` or a 1-based head number in the URL; 0-based (or ``mean``) in the page."""
    return "mean" if text == "mean" else _int(1, 64)(text) - 1


def _query(text: str) -> tuple[str, int, int]:
    """``cls``, ``dist``, ``reg1``…``reg64`` (a prefix token) or ``ROW,COL`` (0-based patch) →
    (q_kind, q_r, q_c). A prefix token the model lacks falls back to CLS on the page."""
    if text in ("cls", "dist") or re.fullmatch(r"reg([1-9]|[1-5][0-9]|6[0-4])", text):
        return (text, 0, 0)
    r, c = (int(part) for part in text.split(","))
    if not (0 <= r < 4096 and 0 <= c < 4096):
        raise ValueError(f"patch ({r}, {c}) is outside the grid")
    return ("patch", r, c)


# URL name -> (session-state key, parser). Parsers raise ValueError on a bad value.
FIELDS: dict[str, tuple[str, Callable[[str], object]]] = {
    "lang": ("lang", _choice(LANGUAGES)),
    "mode": ("mode", _choice(MODES)),
    "view": ("view", _choice(VIEWS)),
    "step": ("lesson_step", _int(1, LESSON_STEPS)),
    "presenter": ("presenter", lambda text: {"1": True, "0": False}[text]),
    "preset": ("preset", _choice(PRESETS)),
    "H": ("img_h", _int(1, 4096)),
    "W": ("img_w", _int(1, 4096)),
    "P": ("patch_size", _int(1, 4096)),
    "D": ("embed_dim", _int(1, 4096)),
    "depth": ("depth", _int(1, 64)),
    "heads": ("num_heads", _int(1, 64)),
    "seed": ("seed", _int(0, config.MAX_SEED)),
    "fit": ("fit_policy", _choice(image.FIT_POLICIES)),
    "snap": ("snap", _choice(image.SNAP_POLICIES)),
    "weights": ("weights", _choice(WEIGHTS)),
    "hub": ("hub_id", _hub_id),
    "sample": ("sample", str),  # checked against the page's samples by the caller (``samples``)
    "src": ("source", _choice(("sample", "upload"))),  # an upload cannot travel: the page says so
    "layer": ("layer", _int(1, 64)),
    "head": ("head", _head),
    "q": ("query", _query),
}


def parse(params: Mapping[str, str | list[str]], samples: tuple[str, ...] = ()) -> tuple[dict, list[Problem]]:
    """Query parameters → ``{session-state key: value}`` and the problems with the rest.

    ``samples`` are the sample names the page offers. The six numbers must together build a
    ``ViTConfig`` (after snapping the size to whole patches); if they do not, all six are dropped
    and one ``no_vit`` problem says so.
    """
    state, problems = {}, []
    for name, raw in params.items():
        text = (raw[-1] if isinstance(raw, list) else raw).strip()  # a repeated name: the last one wins
        if name not in FIELDS:
            problems.append(Problem(name, text, "unknown"))
            continue
        key, parser = FIELDS[name]
        try:
            value = parser(text)
            if name == "sample" and value not in samples:
                raise ValueError(f"no sample called {value!r}")
        except (ValueError, KeyError, TypeError):
            problems.append(Problem(name, text, "invalid"))
            continue
        if key == "query":
            state["q_kind"], state["q_r"], state["q_c"] = value
        else:
            state[key] = value
    return state, problems


def check_numbers(state: dict, defaults: dict) -> Problem | None:
    """Whether the URL's numbers (over ``defaults`` for those it leaves out) build a ViT.

    On failure the URL's numbers are removed from ``state`` and the problem returned.
    """
    keys = [FIELDS[name][0] for name in NUMBER_FIELDS]
    if not any(key in state for key in keys):
        return None
    n = {key: state.get(key, defaults[key]) for key in keys}
    try:
        size = image.snap_size(n["img_h"], n["img_w"], n["patch_size"], state.get("snap", "crop"))
        config.ViTConfig(img_size=size, patch_size=n["patch_size"], embed_dim=n["embed_dim"], depth=n["depth"],
                         num_heads=n["num_heads"])  # fmt: skip
    except ValueError as err:
        for key in keys:
            state.pop(key, None)
        shown = ",".join(f"{name}={n[FIELDS[name][0]]}" for name in NUMBER_FIELDS)
        return Problem(shown, str(err), "no_vit")
    return None


def encode(state: Mapping[str, object]) -> dict[str, str]:
    """The page's state → query parameters (only the keys present in ``state``), in a stable order."""
    out = {}
    for name, (key, _) in FIELDS.items():
        if key == "query":
            if state.get("q_kind") == "patch":
                out[name] = f"{int(state.get('q_r', 0))},{int(state.get('q_c', 0))}"
            elif "q_kind" in state:
                out[name] = str(state["q_kind"])
            continue
        if key not in state or state[key] is None:
            continue
        value = state[key]
        if key == "head":
            out[name] = "mean" if value == "mean" else str(int(value) + 1)
        elif key == "presenter":
            out[name] = "1" if value else "0"
        else:
            out[name] = str(value)
    return out
