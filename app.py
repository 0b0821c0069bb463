"""ViT Patch Explorer — the Streamlit page's entry.

Set-up, the share link's state, the sidebar, the cached compute, then only the open view. Every
view is one module of ``views/`` (one hop from here: ``VIEWS`` below); the page state is
``page/state.py``; what the views share is ``page/`` (the cached compute, drawing helpers, the
link notice). No tensor maths here, and every word
comes from the translation table (assets/i18n.json) through ``t``.
"""

from __future__ import annotations

# plotly imports pandas lazily, from sys.modules: two sessions' first runs racing on that import
# crashed one with "partially initialized module 'pandas'" (load test). Importing it whole here,
# under Python's import lock, before any figure is built, closes the race.
import pandas  # noqa: F401
import streamlit as st

from page import classes, compute, link, screen, theme, ui, urlstate
from page import state as S
from views import (
    attention,
    classroom,
    downloads,
    embedding,
    encoder,
    lesson,
    paper,
    patches,
    predictions,
    proof,
    sidebar,
    summary,
)
from vizlib.i18n import Translator

# The explore view's tabs: view id (as in the share link) -> (label key, the view's draw function).
VIEWS = {
    "patches": ("tab_patches", patches.draw),
    "embedding": ("tab_embedding", embedding.draw),
    "proof": ("tab_proof", proof.draw),
    "attention": (
        "tab_attention",
        lambda t, c: (attention.draw(t, c, inside=encoder.inside_head_on_request), encoder.draw(t, c)),
    ),
    "paper": ("tab_paper", paper.draw),
    "predictions": ("tab_output", predictions.draw),
}
# The lesson's steps show parts of the views: step id -> the part.
LESSON_SECTIONS = {
    "grid": lambda t, c: patches.grid(t, c, lesson=True),
    "window": lambda t, c: patches.inspector(t, c, lesson=True),
    "stride": lambda t, c: patches.animation(t, c, lesson=True),
    "proof": lambda t, c: proof.draw(t, c, lesson=True),
    "sequence": lambda t, c: embedding.sequence(t, c, lesson=True),
    "attention": lambda t, c: attention.draw_lesson(t, c, inside=encoder.inside_head),
}
def open_view(views_by_label: dict[str, str]) -> None:
    """Callback of the tabs: the clicked tab's view becomes the open view."""
    S.put("view", views_by_label[st.session_state[S.widget_key("view")]])


def explore(t: Translator, c: compute.Computed) -> None:
    """The views as tabs; only the open one runs (``on_change`` makes the tabs stateful)."""
    labels = {view: t(label) for view, (label, _) in VIEWS.items()}
    # The open view is a choice of ours, shown by the tabs: a language switch changes every label,
    # and Streamlit would open the first tab for a label it no longer knows.
    st.session_state[S.widget_key("view")] = labels[S.get("view")]
    tabs = st.tabs(list(labels.values()), key=S.widget_key("view"), on_change=open_view,
                   args=({label: view for view, label in labels.items()},))  # fmt: skip
    for (_view, (_, draw)), tab in zip(VIEWS.items(), tabs, strict=True):
        if tab.open:
            with tab:
                draw(t, c)


def restore_once() -> None:
    """On a session's first run: every choice at its default, then what a share link carries."""
    S.init()
    if "url_restored" in st.session_state:
        return
    st.session_state["url_problems"] = apply_link(st.query_params.to_dict())
    st.session_state["url_restored"] = True
    # The link says the picture was uploaded and this session holds none (a restart, an expiry, a shared link).
    if S.get("source") == "upload" and "last_upload" not in st.session_state:
        sidebar.upload_gone()
    classes.join_from_link()  # a class's join link: follow its teacher from this run on


def apply_link(params: dict[str, str], reset: bool = False) -> list:
    """A share link's parameters applied (``reset``, a class's: carried choices to their defaults first)."""
    if reset:
        S.update({k: v for k, v in S.CHOICES.items() if k in urlstate.CARRIED and k not in classes.PERSONAL})
    shapes = compute.shapes_meta()
    real = compute.real_config() if params.get("weights") == S.REAL else None  # read only when asked for
    problems = S.restore_from_url(shapes["config"] if shapes else None, real, params)
    if S.get("weights") == S.PRETRAINED and "hub" in params:
        sidebar.load_pretrained()  # a failure shows as the weights error, with random weights meanwhile
    return problems


def run(t: Translator, s: compute.Settings) -> compute.Computed:
    """The forward pass and what depends on it; on any failure a message and the last good run."""
    try:
        with st.spinner(t("computing")):
            c = compute.compute(s, S.query_index(s.cfg))
    except Exception as err:  # the page's boundary: nothing a model run raises may take the page down
        st.error(t("run_failed", message=ui.plain(ui.explain(t, err))))
        if "last_good" not in st.session_state:
            st.stop()
        st.info(t("run_kept"))
        return st.session_state["last_good"]
    st.session_state["last_good"] = c
    return c


def main() -> None:
    restore_once()
    ended = classes.arrive(lambda params: apply_link(params, reset=True))  # a follower: the class's state
    st.set_page_config(page_title=Translator(S.get("lang"))("app_title"), layout="wide")
    t = sidebar.choose_language()
    mode = sidebar.choose_mode(t)
    classroom.panel(t)
    st.html(theme.PAGE_CSS)
    screen.measure()  # the main column's width, as the browser reports it: figures lay out for it
    if ui.presenter():
        st.html(theme.PRESENTER_CSS)  # style only: Streamlit puts it where it takes no room on the page
    if mode != "lesson":  # the lesson's own heading takes the title's place: a projector's first screen is short
        st.title(t("app_title"))
    else:
        st.html(theme.LESSON_CSS)
    classroom.banner(t, ended)
    notice = st.empty()  # a share link's notice, filled once the model is known
    if mode != "lesson":
        st.markdown(t("app_intro"))
    s = sidebar.settings(t)
    ui.forget_figures()
    c = run(t, s)
    summary.weights_badge(t, c, s.name)
    moved = S.fit_to(c.cfg)  # choices that no longer fit this model, clamped
    if "url_problems" in st.session_state:  # the link's first run: its values that did not fit are named
        with notice:
            link.notice(t, st.session_state.pop("url_problems") + link.misfits(moved))
    else:
        S.fit_notice(t, moved)
    if mode == "lesson":
        lesson.draw(t, c, LESSON_SECTIONS, sidebar.use_shapes_model, sidebar.try_patch_size,
                    sidebar.use_real_model if compute.real_available() else None)
        summary.shape_strip(t, c)
    else:
        summary.shape_strip(t, c)
        explore(t, c)
    downloads.draw(t, c)
    S.write_url()
    classes.depart()  # a teacher's page publishes its state; a follower's remembers its own


main()
