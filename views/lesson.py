"""View: the guided lesson. The article's story in seven steps: the text, the part of a view it
talks about, a code panel with the user's numbers, Back / Next.

The parts come from the other views through ``sections`` (passed in by app.py), so this module
imports no other view.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from page import compute, screen, ui
from page import state as S
from page.compute import Computed
from vizlib import config, lesson
from vizlib.figures import overview as overview_fig
from vizlib.i18n import Translator

Section = Callable[[Translator, Computed], None]
OVERVIEW_FONT = {False: 14, True: 20}  # px, the overview's box labels (presenter view: True)
BESIDE_TEXT = {"stride"}  # steps whose figure goes beside the text, not under it


def go(delta: int) -> None:
    """Callback of Back / Next."""
    S.put("lesson_step", min(max(1, int(S.get("lesson_step")) + delta), len(lesson.STEPS)))


def draw(t: Translator, c: Computed, sections: dict[str, Section], use_shapes: Callable[[], None],
         try_patch_size: Callable[[int], None], use_real: Callable[[], None] | None = None) -> None:  # fmt: skip
    """``sections``: the step id → the part of a view it shows (``grid``, ``window``, ``stride``,
    ``proof``, ``sequence``, ``attention``); ``use_shapes``, ``try_patch_size`` and ``use_real`` are the
    sidebar's callbacks for the lesson's buttons (``use_real`` None: the real model is not installed)."""
    n = len(lesson.STEPS)
    k = min(max(1, int(S.get("lesson_step"))), n)
    step = lesson.STEPS[k - 1]
    nums = lesson.numbers(c.cfg)
    # One row for the step's heading and Back / Next, then the text and the step's figure: at
    # 1280×720 in presenter view the figure is inside the first screen (a browser test measures it).
    # On a phone the row stays one row (Streamlit would stack it): ◀ and ▶ alone, named by their help.
    narrow = screen.narrow()
    with st.container(key="lesson_heading"):
        heading, back, forward = st.columns([5, 1, 1] if narrow else [7, 1.3, 1.3], vertical_alignment="center",
                                            wrap=not narrow)  # fmt: skip
    heading.subheader(t("lesson_header", k=k, n=n, title=t(f"lesson_{step.id}_title", **nums)))
    # A phone has no arrow keys, and a key's hint would take the place of ◀ and ▶ in a button that narrow.
    labels, keys = (("◀", "▶"), (None, None)) if narrow else ((t("lesson_back"), t("lesson_next")), ("left", "right"))
    back.button(labels[0], key="lesson_back", on_click=go, args=(-1,), disabled=k == 1, shortcut=keys[0],
                help=t("lesson_back") if narrow else None, width="stretch")  # fmt: skip
    forward.button(labels[1], key="lesson_next", on_click=go, args=(1,), disabled=k == n, shortcut=keys[1],
                   help=t("lesson_next") if narrow else None, type="primary", width="stretch")  # fmt: skip
    st.progress(k / n)
    body = ui.touch_words(t, f"lesson_{step.id}_body", **nums, **ui.colours(t))
    if step.id in BESIDE_TEXT:  # a wide figure with its controls: the text at its left, as on a slide
        text, place = st.columns([1, 2])
        text.markdown(body)
    else:
        st.markdown(body)
        if step.id == "attention" and not c.weights.trained:  # above the maps: on a projector's first screen
            trained_models(t, use_shapes, use_real)
        place = st.container()
    with place, st.container(key="lesson_section"):  # the step's figure (the browser test finds it by this key)
        if step.id in sections:
            sections[step.id](t, c)
        else:
            scaling(t, c, try_patch_size)
    labels = [t(key, depth=c.cfg.depth) for key in lesson.OVERVIEW_BOXES]
    D, N, T = c.cfg.embed_dim, c.cfg.num_patches, c.cfg.num_tokens
    arrows = [f"({N}, 3·{c.cfg.patch_size}²)", f"({N}, {D})", f"({T}, {D})", f"CLS ({D})"]
    size = OVERVIEW_FONT[ui.presenter()]
    narrow = screen.narrow()
    ui.cached_chart("overview", (tuple(labels), tuple(arrows), step.boxes, size, narrow),
                    lambda: overview_fig.overview_figure(labels, arrows, step.boxes, font_size=size, narrow=narrow))
    with st.expander(t("code_panel"), expanded=step.id in ("window", "stride", "proof", "sequence")):
        notes = {key: t(f"code_note_{key}") for key in lesson.CODE_NOTES}
        st.code(lesson.code_text(c.cfg, notes), language="python", wrap_lines=True)
        st.caption(t("code_caption"))
    st.caption(t("lesson_keys") if k < n else t("lesson_done"))


def trained_models(t: Translator, use_shapes: Callable[[], None], use_real: Callable[[], None] | None) -> None:
    """Random weights' maps mean nothing: one line saying so, and a button per trained model, in one row."""
    offered = [(use_real, "lesson_use_real", ":material/visibility:", "primary")] if use_real is not None else []
    if compute.shapes_meta() is not None:
        offered.append((use_shapes, "lesson_use_shapes", ":material/school:", "secondary"))
    note, *buttons = st.columns([2.2] + [1] * len(offered), vertical_alignment="center")
    note.markdown(t("lesson_attention_random"))
    for place, (callback, key, icon, kind) in zip(buttons, offered, strict=True):
        place.button(t(key), key=key, on_click=callback, icon=icon, type=kind, width="stretch",
                     help=t("lesson_use_real_help") if key == "lesson_use_real" else None)


def scaling(t: Translator, c: Computed, try_patch_size: Callable[[int], None]) -> None:
    """What other patch sizes would cost, each one click away."""
    rows = lesson.patch_size_table(c.cfg)
    table = [
        {t("cost_P"): r.P, t("cost_grid"): f"{r.grid[0]}×{r.grid[1]}", t("cost_N"): r.N, t("cost_L"): r.L,
         t("cost_attention"): r.attention, t("cost_params"): r.params,
         t("cost_note"): " · ".join(note for note, on in (
             (t("cost_now"), r.P == c.cfg.patch_size), (t("cost_over", max=config.MAX_TOKENS), r.over_cap),
             (t("cost_crops", H=r.grid[0] * r.P, W=r.grid[1] * r.P, pct=f"{100 * r.dropped:.0f}"), r.dropped > 0),
         ) if on)}
        for r in rows
    ]  # fmt: skip
    counts = [t("cost_N"), t("cost_L"), t("cost_attention"), t("cost_params")]
    if ui.presenter():  # an HTML table, which the projector's font sizes reach (a dataframe is a canvas)
        st.table([{k: f"{v:,}" if k in counts else v for k, v in row.items()} for row in table], hide_index=True)
    else:
        localized = {name: st.column_config.NumberColumn(format="localized") for name in counts}  # 115,600
        st.dataframe(table, hide_index=True, column_config=localized)
    cols = st.columns(len(rows))
    for col, r in zip(cols, rows, strict=True):
        col.button(t("try_p", P=r.P), key=f"try_p_{r.P}", on_click=try_patch_size, args=(r.P,),
                   disabled=r.over_cap or r.P == c.cfg.patch_size, width="stretch")  # fmt: skip
