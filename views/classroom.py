"""The class: the teacher's panel in the sidebar, a student's banner, and the timer that follows.

*Start a class* gives the teacher a short code, the join link (``?join=CODE``), its QR code for the
projector and how many pages follow (a count, never names); *End the class* stops it. A student
opens the link or types the code; a banner says the page follows the teacher, and any change of the
student's own leaves follow mode, with one button to follow again (``page/classes.py``).

Imports no other view.
"""

from __future__ import annotations

import io

import segno
import streamlit as st

from page import classes, ui
from vizlib import classroom
from vizlib.i18n import Translator

POLL_S = 1.0  # how often a following page asks whether the class moved


def join_link(code: str) -> str:
    """The page's address with ``?join=CODE`` (the address the browser reports, without its query)."""
    base = (st.context.url or "").split("?", 1)[0]
    return f"{base}?join={code}"


def qr_png(text: str) -> bytes:
    """``text`` as a QR code (segno: ISO/IEC 18004, error correction M), black on white, PNG."""
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="png", scale=8, border=2)
    return out.getvalue()


def panel(t: Translator) -> None:
    """The sidebar's class section: start / end a class, or join one by its code."""
    st.sidebar.header(t("class_section"))
    mine = classes.teaching()
    if mine is not None:
        code = mine["code"]
        link = join_link(code)
        st.sidebar.markdown(t("class_code", code=code))
        st.sidebar.code(link, language=None)
        st.sidebar.image(qr_png(link), caption=t("class_qr"), width=220)
        st.sidebar.caption(t("class_followers", n=classes.followers()))
        st.sidebar.button(t("class_end"), key="class_end", on_click=classes.end, icon=":material/stop_circle:")
        return
    st.sidebar.button(t("class_start"), key="class_start", on_click=classes.start, help=t("class_start_help"),
                      icon=":material/co_present:")  # fmt: skip
    if classes.following() is None:
        typed = st.sidebar.text_input(t("class_join"), key="class_typed", max_chars=12)
        if st.sidebar.button(t("class_join_button"), key="class_join_button") and typed.strip():
            try:
                classes.join(typed, st.context.ip_address)
                st.rerun()
            except classroom.ClassError as err:
                st.sidebar.error(ui.explain(t, err))


def banner(t: Translator, ended: bool) -> None:
    """At the top of a student's page: following, or on their own with a button to follow again;
    a join link's wrong code, said once."""
    if (err := st.session_state.pop("class_error", None)) is not None:
        st.error(ui.explain(t, err), icon=":material/group_off:")
    if ended:
        st.info(t("class_ended"), icon=":material/stop_circle:")
        return
    theirs = classes.following()
    if theirs is None:
        return
    if theirs["following"]:
        st.info(t("class_following", code=theirs["code"]), icon=":material/co_present:")
        watch()
    else:
        note, again = st.columns([3, 1], vertical_alignment="center")
        note.warning(t("class_on_own", code=theirs["code"]), icon=":material/explore:")
        again.button(t("class_follow_again"), key="class_follow_again", on_click=classes.follow_again,
                     type="primary", width="stretch")  # fmt: skip


@st.fragment(run_every=POLL_S)
def watch() -> None:
    """Each second, one small question to the store; the whole page reruns only when the class moved."""
    if classes.changed():
        st.rerun(scope="app")
