"""A session's part in a class (issue 27): the teacher's page publishes, a student's page follows.

The store is ``vizlib.classroom``'s, one per process (``st.cache_resource``): in memory, or in Redis
where ``REDIS_URL`` is set (replicas behind HAProxy). What is followed is what a share link carries
(``state.link_params``) and the uploaded picture; never a student's language or presenter view.

A follower leaves the class with any change of its own: at the start of each run its link's parameters
are compared with those its last run ended with (so that the page's own clamping is not a change, and
a widget's change, made before the run, is); *Follow the teacher* jumps back to the teacher's state.

Not a view: it draws nothing; ``views/classroom.py`` draws the class's panel and banner.
"""

from __future__ import annotations

import json
import os
import time
import uuid

import streamlit as st

from page import state as S
from page import urlstate
from vizlib import classroom

# The student's own, never taken from the teacher: the language, presenter view, and the figure the
# HTML download offers (it follows the figures drawn, which a class's step changes by itself).
PERSONAL_PARAMS = ("lang", "presenter", "fig")  # as a link names them
PERSONAL = tuple(urlstate.FIELDS[name][0] for name in PERSONAL_PARAMS)  # the same choices' session-state keys
TEACH = "_class_teach"  # session: {"code", "secret", "version"} of the class this session teaches
FOLLOW = "_class_follow"  # session: {"code", "following", "version", "baseline"} of the class it follows
NAME = "_class_me"  # session: this page's follower id (counted, never shown)
TRACE = os.environ.get("VIT_CLASS_TRACE")  # a file for scripts/class_load.py: a line per publish and per step shown


def _trace(event: str, **fields) -> None:
    if TRACE:
        with open(TRACE, "a") as out:
            out.write(json.dumps({"event": event, "t": time.time(), **fields}) + "\n")


@st.cache_resource(show_spinner=False)
def store() -> classroom.MemoryStore | classroom.RedisStore:
    """The classes of this server: in Redis where ``REDIS_URL`` is set, else in this process."""
    url = os.environ.get("REDIS_URL")
    return classroom.RedisStore(url) if url else classroom.MemoryStore()


@st.cache_resource(show_spinner=False)
def doorman() -> classroom.Doorman:
    return classroom.Doorman()


def me() -> str:
    return st.session_state.setdefault(NAME, uuid.uuid4().hex)


def teaching() -> dict | None:
    return st.session_state.get(TEACH)


def following() -> dict | None:
    return st.session_state.get(FOLLOW)


def personal(params: dict[str, str]) -> dict[str, str]:
    """The parameters a class moves: all but the student's own."""
    return {key: value for key, value in params.items() if key not in PERSONAL_PARAMS}


# ---------------------------------------------------------------- the teacher


def start() -> None:
    """Callback of *Start a class*: this session teaches a new class (a follower stops following)."""
    code, secret = store().start()
    st.session_state[TEACH] = {"code": code, "secret": secret, "version": 0}
    stop_following()


def end() -> None:
    """Callback of *End the class*."""
    if (mine := teaching()) is not None:
        try:
            store().end(mine["code"], mine["secret"])
        except classroom.ClassError:
            pass  # it had expired
        del st.session_state[TEACH]


def publish() -> None:
    """At the end of the teacher's run: the page's state and picture, a new version when they changed.
    A class that expired meanwhile is forgotten (the panel then offers a new one)."""
    if (mine := teaching()) is None:
        return
    picture = None
    if S.get("source") == "upload" and "last_upload" in st.session_state:
        picture = st.session_state["last_upload"][0]
    try:
        version = store().publish(mine["code"], mine["secret"], personal(S.link_params()), picture)
        if version != mine["version"]:
            _trace("published", version=version)
        mine["version"] = version
    except classroom.ClassError as err:
        if err.code in ("class_unknown", "class_not_teacher"):
            del st.session_state[TEACH]
        else:
            raise


# ---------------------------------------------------------------- a student


def join(code: str, address: str | None = None) -> None:
    """Follow class ``code`` (as typed or in a link). Raises ``ClassError``: an unknown code (counted
    against this session and its address by the doorman), too many wrong tries."""
    code = classroom.normalise_code(code)
    keys = [me()] + ([address] if address else [])
    doorman().check(*keys)
    if store().version(code, follower=me()) is None:
        doorman().missed(*keys)
        raise classroom.ClassError("class_unknown", f"no class {code}", which=code)
    st.session_state[FOLLOW] = {"code": code, "following": True, "version": None, "baseline": None}
    st.session_state[S.JOIN_PARAM] = {"join": code}


def join_from_link() -> None:
    """A session's first run with ``?join=CODE``: follow that class; a wrong code is said on the page
    (``class_error``), which then works on its own."""
    if "join" not in st.query_params:
        return
    try:
        join(st.query_params["join"], st.context.ip_address)
    except classroom.ClassError as err:
        st.session_state["class_error"] = err
        st.query_params.pop("join")


def stop_following() -> None:
    if (theirs := following()) is not None:
        store().leave(theirs["code"], me())
    st.session_state.pop(FOLLOW, None)
    st.session_state.pop(S.JOIN_PARAM, None)


def follow_again() -> None:
    """Callback of *Follow the teacher*: back to the teacher's current state on this run."""
    if (theirs := following()) is not None:
        theirs.update(following=True, version=None, baseline=None)


def changed() -> bool:
    """Whether the class moved since this page last caught up (a follower's timer asks this)."""
    theirs = following()
    if theirs is None or not theirs["following"]:
        return False
    version = store().version(theirs["code"], follower=me())
    return version is None or version != theirs["version"]


def arrive(apply) -> bool:
    """At the start of a run, before any widget: ``catch_up``, then ``check_left``. Whether the class
    the page followed has ended."""
    ended = catch_up(apply) == "ended"
    check_left()
    return ended


def catch_up(apply) -> str | None:
    """Before any widget is drawn: where the class moved, its state becomes this page's, through
    ``apply(params)`` (the share link's restore), with the class's picture as this session's upload.
    Returns ``"ended"`` when the class is gone (the page stops following), else None."""
    theirs = following()
    if theirs is None or not theirs["following"]:
        return None
    state = store().state(theirs["code"])
    if state is None:
        stop_following()
        return "ended"
    store().version(theirs["code"], follower=me())  # counted as following
    if state.version == theirs["version"]:
        return None
    if state.picture is not None:
        data = store().picture(theirs["code"])
        if data is not None:
            st.session_state["last_upload"] = (data, "class")
    mine = {key: st.session_state[key] for key in PERSONAL if key in st.session_state}
    apply(state.params)
    S.update(mine)
    if state.picture is not None:
        S.put("source", "upload")
    theirs.update(version=state.version, baseline=None)
    return None


def check_left() -> None:
    """At the start of a follower's run, after ``catch_up``: the page's parameters against those its
    last run ended with (``remember``); a difference is the student's own change (a widget's
    callback ran before this run): follow mode ends."""
    theirs = following()
    if theirs is None or not theirs["following"] or theirs["baseline"] is None:
        return
    if personal(S.link_params()) != theirs["baseline"]:
        theirs["following"] = False


def remember() -> None:
    """At the end of a following page's run: its parameters, the page's own clamping included."""
    theirs = following()
    if theirs is not None and theirs["following"]:
        if theirs["baseline"] is None:  # the run that showed a new version of the class ends here
            _trace("shown", version=theirs["version"], who=me())
        theirs["baseline"] = personal(S.link_params())


def depart() -> None:
    """At the end of a run: a teacher's page publishes (``publish``), a follower's remembers (``remember``)."""
    publish()
    remember()


def followers() -> int:
    mine = teaching()
    return 0 if mine is None else store().followers(mine["code"])
