"""The share link's notice: the parameters a link carried that the page could not use as given.

Not a view: the page shows it once, on a link's first run, above everything else. Names and values
appear exactly as the link has them (code spans).
"""

from __future__ import annotations

import streamlit as st

from page import state as S
from page import ui, urlstate
from vizlib.i18n import Translator


def misfits(moved: list[tuple[str, int, int]]) -> list[urlstate.Problem]:
    """The link's values that the model could not use as given (block, head, query, token, step …),
    as link problems."""
    names = {"layer": "layer", "head": "head", "q_r": "q", "q_c": "q", "tok_r": "tok", "tok_c": "tok", "step": "k",
             "norm_block": "norms", "tp_block": "tp"}  # choice -> link parameter  # fmt: skip
    pairs = {"q": ("q_r", "q_c"), "tok": ("tok_r", "tok_c")}  # one parameter, two choices
    found = {}
    for name, _, now in moved:
        param = names.get(name)
        if param in st.query_params and param not in found:
            shown = ",".join(str(S.get(k)) for k in pairs[param]) if param in pairs else str(now)
            found[param] = urlstate.Problem(param, st.query_params[param], "clamped", shown)
    return list(found.values())


def notice(t: Translator, problems: list[urlstate.Problem]) -> None:
    """One warning listing every problem (nothing when there is none)."""
    if not problems:
        return
    items = [item(t, p) for p in problems]
    st.warning(t("url_notice", items="".join(f"\n- {item}" for item in items)), icon=":material/link_off:")


def item(t: Translator, p: urlstate.Problem) -> str:
    """One ignored link parameter, its name and value shown exactly as the link has them."""
    if p.reason == "invalid":
        return t("url_invalid", setting=ui.code(f"{p.name}={p.value}"))
    if p.reason == "clamped":
        return t("url_clamped", setting=ui.code(f"{p.name}={p.value}"), now=ui.code(p.used))
    if p.reason == "no_vit":
        return t("url_no_vit", setting=ui.code(p.name), value=ui.plain(p.value))
    return t(f"url_{p.reason}", setting=ui.code(p.name))
