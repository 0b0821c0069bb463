"""Small helpers every view uses to put things on the page: charts, error messages, user text.

Not a view: it draws nothing of its own; charts come restyled for presenter view from
``compute.figure``. Figures drawn in this session are remembered by chart key
(``drawn_figures``) for the HTML download, which offers any figure the open view shows.
"""

from __future__ import annotations

import re

import plotly.graph_objects as go
import streamlit as st

from page import compute
from views import state as S
from vizlib.i18n import Translator

PLOTLY_CONFIG = {"displaylogo": False, "scrollZoom": False}
DRAWN = "_drawn_figures"  # session-state key: {chart key: figure} of the open view


def chart(fig: go.Figure, key: str, where=None, **kwargs):
    """Draw a figure and remember it for the HTML download (the open view's figures)."""
    st.session_state.setdefault(DRAWN, {})[key] = fig
    return (where or st).plotly_chart(fig, key=key, config=PLOTLY_CONFIG, **kwargs)


def drawn_figures() -> dict[str, go.Figure]:
    """The figures drawn since the view last changed, by chart key."""
    return st.session_state.get(DRAWN, {})


def forget_figures() -> None:
    """Start a new list of drawn figures (a full page run draws the open view afresh)."""
    st.session_state[DRAWN] = {}


def explain(t: Translator, err: Exception) -> str:
    """An ImageError or ConfigError in the page's language (its English text as a fallback)."""
    key = f"err_{getattr(err, 'code', '')}"
    return t(key, **err.fields) if key in t.table else str(err)


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


def class_label(t: Translator, weights: str, labels: list[str] | None, i: int) -> str:
    """A class's name: translated for the shapes model, the checkpoint's own otherwise, "class i"
    for random weights (``labels`` None)."""
    if labels is None:
        return t("class_name", i=i)
    return t(f"class_{labels[i]}") if weights.startswith(S.SHAPES) else labels[i]


def colours(t: Translator) -> dict[str, str]:
    """The words for the colours the figures draw the kernel window and the vector it writes in:
    green and red, or in presenter view orange and blue (``overview_fig.presenter`` swaps them).
    Every sentence that names one of them takes its word from here: ``t(key, **colours(t))``."""
    suffix = "_presenter" if presenter() else ""
    return dict(window=t(f"colour_window{suffix}"), vector=t(f"colour_vector{suffix}"))


def cached_chart(name: str, key: tuple, build, where=None, **kwargs):
    """Draw the figure cached under (``name``, *``key``), building it with ``build()`` on a miss.

    ``key`` must name everything the figure shows (see ``compute.figure``)."""
    return chart(compute.figure((name, *key), build, presenter()), name, where, **kwargs)


def token_name(t: Translator, cfg, index: int) -> str:
    """A token of the sequence by name: CLS, DIST, REGi (the prefix tokens), or patch (r, c)."""
    cell = cfg.token_cell(index)
    return cfg.prefix_names()[index] if cell is None else t("token_rc", r=cell[0], c=cell[1])
