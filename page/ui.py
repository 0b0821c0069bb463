"""Small helpers every view uses to put things on the page: charts, error messages, user text.

Not a view: it draws nothing of its own; charts come restyled for presenter view from
``compute.figure``. Figures drawn in this session are remembered by chart key
(``drawn_figures``) for the HTML download, which offers any figure the open view shows.
"""

from __future__ import annotations

import re

import plotly.graph_objects as go
import streamlit as st

from page import compute, screen
from page import state as S
from page.source import WeightsSource
from vizlib.errors import CodedError
from vizlib.i18n import Translator

PLOTLY_CONFIG = {"displaylogo": False, "scrollZoom": False}
DRAWN = "_drawn_figures"  # session-state key: {chart key: figure} of the open view
SHOWN = "_shown_run"  # session-state key: {"run": the Computed the open view draws from}, when a fragment changed it


def chart(fig: go.Figure, key: str, where=None, **kwargs):
    """Draw a figure and remember it for the HTML download (the open view's figures)."""
    st.session_state.setdefault(DRAWN, {})[key] = fig
    # On a phone or a tablet plotly's toolbar shows on a tap and lies over the figure's title; its
    # buttons are small for a finger: the page's Downloads section offers every figure instead.
    config = {**PLOTLY_CONFIG, "displayModeBar": False} if screen.narrow() or screen.touch() else PLOTLY_CONFIG
    return (where or st).plotly_chart(fig, key=key, config=config, **kwargs)


def drawn_figures() -> dict[str, go.Figure]:
    """The figures drawn since the view last changed, by chart key: the session's own dict, which
    every draw updates in place (a fragment's rerun too), so that a download reading it when clicked
    gets the figure on the screen."""
    return st.session_state.setdefault(DRAWN, {})


def show_run(c) -> None:
    """Say which run the open view draws from, where a fragment changed it (``compute.with_query``)."""
    st.session_state.setdefault(SHOWN, {})["run"] = c


def shown_run() -> dict:
    """The session's holder of the run drawn last (``{"run": Computed}`` or empty), updated in place."""
    return st.session_state.setdefault(SHOWN, {})


def forget_figures() -> None:
    """Start a new list of drawn figures (a full page run draws the open view afresh)."""
    st.session_state[DRAWN] = {}
    st.session_state[SHOWN] = {}


def explain(t: Translator, err: Exception) -> str:
    """A ``CodedError`` (every error of ``vizlib`` a user may cause) in the page's language, a field
    that is itself one (the ConfigError inside a WeightsError) translated too; any other error, or a
    code the table lacks (``err_<code>``), as its own English text."""
    if not isinstance(err, CodedError) or f"err_{err.code}" not in t.table:
        return str(err)
    return t(f"err_{err.code}", **{name: explain(t, v) if isinstance(v, Exception) else v
                                   for name, v in err.fields.items()})  # fmt: skip


MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation mark CommonMark can escape


def plain(text: object) -> str:
    """Markdown that shows ``text`` exactly as given: file names, hub ids, link values, error messages.

    Every ASCII punctuation mark is backslash-escaped (CommonMark allows it for all of them), so
    ``_`` and ``*`` do not emphasise, ``$`` does not start a formula, ``[`` does not link, ``<``
    does not open HTML and ``:`` does not make an emoji. Line breaks become spaces."""
    return MARKDOWN_PUNCTUATION.sub(r"\\\1", " ".join(str(text).split()))


def code(text: object) -> str:
    """``text`` as an inline code span, exactly as given (a fence longer than any backtick run inside)."""
    text = " ".join(str(text).split())
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def presenter() -> bool:
    """Whether presenter view (projector colours and sizes) is on."""
    return bool(st.session_state.get("presenter"))


def touch_words(t: Translator, key: str, **fields) -> str:
    """Text ``key`` as the screen is used: its ``{key}_touch`` form ("Tap a patch") on a touch screen,
    where the table has one; the pointer's form ("Click a patch") otherwise."""
    touched = f"{key}_touch"
    return t(touched if screen.touch() and touched in t.table else key, **fields)


def class_label(t: Translator, weights: WeightsSource, labels: list[str] | None, i: int) -> str:
    """A class's name: translated for the shapes model, the checkpoint's own otherwise, "class i"
    for random weights (``labels`` None)."""
    if labels is None:
        return t("class_name", i=i)
    return t(f"class_{labels[i]}") if weights.kind == S.SHAPES else labels[i]


def colours(t: Translator) -> dict[str, str]:
    """The words for the colours the figures draw the kernel window and the vector it writes in:
    green and red, or in presenter view orange and blue (``vizlib.figures.theme.presenter`` swaps them).
    Every sentence that names one of them takes its word from here: ``t(key, **colours(t))``."""
    suffix = "_presenter" if presenter() else ""
    return dict(window=t(f"colour_window{suffix}"), vector=t(f"colour_vector{suffix}"))


def cached_chart(name: str, key: tuple, build, where=None, **kwargs):
    """Draw the figure cached under (``name``, *``key``), building it with ``build()`` on a miss.

    ``key`` must name everything the figure shows (see ``compute.figure``)."""
    return chart(compute.figure((name, *key), build, presenter(), screen.touch()), name, where, **kwargs)


def number_input(where, label: str, name: str, lo: int, hi: int, check=None, then=None, args: tuple = (),
                 **kwargs):  # fmt: skip
    """A number input of whole-number choice ``name`` in ``[lo, hi]`` that takes any number typed and
    refuses what the page cannot run (``state.bind_number``); ``refused`` says why."""
    return where.number_input(label, **S.bind_number(name, lo, hi, check, then, args), **kwargs)


def typed_number(typed: float | None) -> str:
    """A number as typed: 99999, 2.5, -0, 1e+20 (never rounded to what the page would take)."""
    return "—" if typed is None else format(typed, ".15g")


def refused(t: Translator, labels: dict[str, str], where=None) -> None:
    """Say which numbers typed into the inputs of ``labels`` (choice -> label) were not taken, why,
    and which number the page keeps running with; each once, in the page's language."""
    for name, typed, why, kept in S.refusals(labels):
        reason = t(why[0], **why[1]) if isinstance(why, tuple) else explain(t, why)
        text = t("number_refused", what=labels[name], typed=typed_number(typed), kept=kept, why=plain(reason))
        (where or st).error(text, icon=":material/block:")


def token_name(t: Translator, cfg, index: int) -> str:
    """A token of the sequence by name: CLS, DIST, REGi (the prefix tokens), or patch (r, c)."""
    cell = cfg.token_cell(index)
    return cfg.prefix_names()[index] if cell is None else t("token_rc", r=cell[0], c=cell[1])
