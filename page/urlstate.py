"""The page's state as a share link: URL query parameters ⇄ the page's settings.

A teacher copies the address bar and students open exactly what the teacher sees. Reading is
forgiving: an unknown name or an invalid value is dropped (its default stays) and reported as a
``Problem`` the page shows as a notice; nothing here raises on user input.

Names in the URL are short and stable (``P``, ``D``, ``heads`` …); ``FIELDS`` maps each to the
page's choice (a session-state key), or for ``q`` and ``tok`` to several (``COMPOSITE``).
``CARRIED`` is every choice a link carries; ``page.state`` names the ones it cannot, and why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from vizlib import config, i18n, image

LANGUAGES = ("en", "ja")
MODES = ("explore", "lesson")
VIEWS = ("patches", "embedding", "proof", "attention", "paper", "predictions")  # the explore view's tabs
PRESETS = ("article", "vit_s16", "vit_b16", "custom")
WEIGHTS = ("random", "shapes", "real", "pretrained")
LESSON_STEPS = 7
FUSIONS = ("mean", "max", "min")  # rollout's head fusion (vit-explain)
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]{0,95}/[\w.\-]{1,96}$")  # owner/name on the Hugging Face hub
NUMBER_FIELDS = ("H", "W", "P", "D", "depth", "heads")  # together they must build a ViT
# The whole numbers a link (and the sidebar's number inputs) may set: URL name -> (lowest, highest).
NUMBER_RANGES = {"H": (1, 4096), "W": (1, 4096), "P": (1, 4096), "D": (1, 4096), "depth": (1, 64), "heads": (1, 64),
                 "seed": (0, config.MAX_SEED)}  # fmt: skip


@dataclass(frozen=True)
class Problem:
    """One query parameter that was ignored, and why (``reason`` is a key of the i18n table)."""

    name: str
    value: str
    reason: str  # "unknown" | "invalid" | "no_vit" | "clamped" (valid, but not in this model)
    used: str = ""  # for "clamped": the value used instead


def _flag(text: str) -> bool:
    """``1`` or ``0``: a toggle (presenter view, the 3D view, a panel shown on request)."""
    return {"1": True, "0": False}[text]


def _fraction(lo: float, hi: float, step: float) -> Callable[[str], float]:
    """A slider's value: a decimal number in ``[lo, hi]`` on the slider's grid of ``step``."""

    def parse(text: str) -> float:
        value = float(text)
        if not lo <= value <= hi or abs(value / step - round(value / step)) > 1e-6:
            raise ValueError(f"{text} is not a multiple of {step} in {lo}…{hi}")
        return round(round(value / step) * step, 4)

    return parse


def _snapshot(text: str) -> int | str:
    """``final`` or a training step of the shapes model (checked against its snapshots by the page)."""
    return "final" if text == "final" else _int(0, 10**9)(text)


def _figure(text: str) -> str:
    """A figure the page can name (its ``fig_*`` label); the page offers it where the open view draws it."""
    if f"fig_{text}" not in i18n.load_table():
        raise ValueError(f"no figure called {text!r}")
    return text


def _cell(text: str) -> tuple[int, int]:
    """``ROW,COL`` (0-based) of a patch on the grid."""
    r, c = (int(part) for part in text.split(","))
    if not (0 <= r < 4096 and 0 <= c < 4096):
        raise ValueError(f"patch ({r}, {c}) is outside the grid")
    return r, c


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
    return ("patch", *_cell(text))


# URL name -> (session-state key, parser). Parsers raise ValueError on a bad value.
# None (``layer``, ``norms``, ``tp``: the last block) is left out of the link.
FIELDS: dict[str, tuple[str, Callable[[str], object]]] = {
    "lang": ("lang", _choice(LANGUAGES)),
    "mode": ("mode", _choice(MODES)),
    "view": ("view", _choice(VIEWS)),
    "step": ("lesson_step", _int(1, LESSON_STEPS)),
    "presenter": ("presenter", _flag),
    "preset": ("preset", _choice(PRESETS)),
    "H": ("img_h", _int(*NUMBER_RANGES["H"])),
    "W": ("img_w", _int(*NUMBER_RANGES["W"])),
    "P": ("patch_size", _int(*NUMBER_RANGES["P"])),
    "D": ("embed_dim", _int(*NUMBER_RANGES["D"])),
    "depth": ("depth", _int(*NUMBER_RANGES["depth"])),
    "heads": ("num_heads", _int(*NUMBER_RANGES["heads"])),
    "seed": ("seed", _int(*NUMBER_RANGES["seed"])),
    "fit": ("fit_policy", _choice(image.FIT_POLICIES)),
    "snap": ("snap", _choice(image.SNAP_POLICIES)),
    "weights": ("weights", _choice(WEIGHTS)),
    "hub": ("hub_id", _hub_id),
    "sample": ("sample", str),  # checked against the page's samples by the caller (``samples``)
    "src": ("source", _choice(("sample", "upload"))),  # an upload cannot travel: the page says so
    "snapshot": ("snapshot", _snapshot),  # the shapes model's training timeline
    "layer": ("layer", _int(1, 64)),
    "head": ("head", _head),
    "q": ("query", _query),
    "k": ("step", _int(1, 4096 * 4096)),  # the step inspector's window (1-based)
    "cube": ("cube3d", _flag),
    "tok": ("token", _cell),  # the Embedding view's token
    "opacity": ("opacity", _fraction(0.0, 1.0, 0.05)),
    "fusion": ("fusion", _choice(FUSIONS)),
    "discard": ("discard", _fraction(0.0, 0.95, 0.05)),
    "headstep": ("head_step", _flag),  # one head's arithmetic
    "encoder": ("encoder", _flag),  # inside the encoder: token norms, logit lens, GAE
    "norms": ("norm_block", _int(0, 64)),
    "gae": ("gae_on", _flag),
    "class": ("gae_class", _int(0, 10**6)),
    "deletion": ("deletion", _flag),
    "tp": ("tp_block", _int(0, 64)),  # what the tokens become: block (0 = the embedding)
    "tp_hide": ("tp_hide", _flag),
    "tp_cut": ("tp_cut", _fraction(-2.0, 2.0, 0.1)),
    "tp_flip": ("tp_flip", _flag),
    "fig": ("dl_figure", _figure),  # the figure the HTML download saves
}
# A URL value that sets several choices: key in FIELDS -> the choices, in the parser's order.
COMPOSITE = {"query": ("q_kind", "q_r", "q_c"), "token": ("tok_r", "tok_c")}
# Every choice a link carries.
CARRIED = frozenset(k for key, _ in FIELDS.values() for k in COMPOSITE.get(key, (key,)))


# Parameters a link may carry that are not choices: a class's join code (page/classes.py reads it).
READ_ELSEWHERE = frozenset({"join"})


def parse(params: Mapping[str, str | list[str]], samples: tuple[str, ...] = ()) -> tuple[dict, list[Problem]]:
    """Query parameters → ``{session-state key: value}`` and the problems with the rest.

    ``samples`` are the sample names the page offers. The six numbers must together build a
    ``ViTConfig`` (after snapping the size to whole patches); if they do not, all six are dropped
    and one ``no_vit`` problem says so.
    """
    state, problems = {}, []
    for name, raw in params.items():
        text = (raw[-1] if isinstance(raw, list) else raw).strip()  # a repeated name: the last one wins
        if name in READ_ELSEWHERE:
            continue
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
        state.update(zip(COMPOSITE[key], value, strict=True) if key in COMPOSITE else [(key, value)])
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
        if key == "token":
            if "tok_r" in state or "tok_c" in state:
                out[name] = f"{int(state.get('tok_r', 0))},{int(state.get('tok_c', 0))}"
            continue
        if key not in state or state[key] is None:
            continue
        value = state[key]
        if key == "head":
            out[name] = "mean" if value == "mean" else str(int(value) + 1)
        elif isinstance(value, bool):
            out[name] = "1" if value else "0"
        elif isinstance(value, float):
            out[name] = f"{round(value, 4):g}"
        else:
            out[name] = str(value)
    return out
