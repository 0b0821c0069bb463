"""View: patch splitting. The patch grid, the stride animation, the step inspector, the 3D Conv2d.

The step inspector's controls (slider, ◀ ▶) rerun only the inspector (``st.fragment``); the other
figures depend only on the run and are cached with it.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from page import compute, screen, ui
from page import state as S
from page.compute import Computed
from vizlib import analysis, image
from vizlib.figures import cube3d as cube_fig
from vizlib.figures import inspector as inspector_fig
from vizlib.figures import patches as patches_fig
from vizlib.i18n import Translator

KERNELS_SHOWN = 6  # how many of the D kernels the step inspector draws
STRIP_HEIGHT = {False: 134, True: 100}  # the output strip: shorter in the lesson, where all of step 2 fits one screen
# Figure heights in px, in the explore view and in the lesson (whose first screen on a 1280×720
# projector holds the step's heading, text and figure: a browser test measures it).
GRID_HEIGHT = {False: 420, True: 330}
ANIMATION_HEIGHT = {False: 540, True: 450}
CUBE_MAX = 1024  # most stride steps for the 3D view


def draw(t: Translator, c: Computed) -> None:
    grid(t, c)
    animation(t, c)
    inspector(t, c)
    cube(t, c)


def grid(t: Translator, c: Computed, lesson: bool = False) -> None:
    """The picture as uploaded, and as the model sees it with the patch grid on top."""
    cfg = c.cfg
    (H, W), (H2, W2), P = c.requested, cfg.img_size, cfg.patch_size
    Gh, Gw = cfg.grid
    left, right = st.columns([1, 2])
    left.image(c.img, width="stretch")
    W0, H0 = image.original_size(c.img)
    left.caption(t("original_caption", W=W0, H=H0))
    left.caption(t("input_caption", H=H, W=W, policy=t(f"fit_{c.policy}")))
    if (H, W) != (H2, W2):
        left.info(t(f"snap_formula_{c.snap}", H=H, W=W, P=P, H2=H2, W2=W2, Gh=Gh, Gw=Gw))

    def build():
        canvas = np.asarray(c.fitted) if c.snap == "crop" else c.pixels
        shaded = image.snap_regions((H, W), (H2, W2), c.snap)
        return patches_fig.patch_grid_figure(canvas, P, grid_size=(H2, W2), shaded=shaded, height=GRID_HEIGHT[lesson])

    ui.cached_chart("patch_grid", (c.run, lesson), build, where=right)
    right.caption(t("patch_grid_caption", P=P, Gh=Gh, Gw=Gw, N=Gh * Gw))


def animation(t: Translator, c: Computed, lesson: bool = False) -> None:
    """The stride animation (the costliest figure: built once per run and language). In the
    ``lesson`` the step's own text replaces the heading and the explanation."""
    cfg = c.cfg
    Gh, Gw = cfg.grid
    if not lesson:
        st.subheader(t("anim_header"))
        st.markdown(t("anim_explain", P=cfg.patch_size, D=cfg.embed_dim, N=Gh * Gw, **ui.colours(t)))
    row_step = patches_fig.frame_row_step(cfg.grid)

    def build():
        text = patches_fig.StrideText(
            step=t("anim_step"), input_title=t("anim_input"), output_title=t("anim_output"),
            play=t("play"), fast=t("play_fast"), pause=t("pause"),
        )  # fmt: skip
        return patches_fig.stride_animation(c.pixels, cfg.patch_size, c.colours, cfg.embed_dim, text,
                                            row_step=row_step, height=ANIMATION_HEIGHT[lesson])  # fmt: skip

    ui.cached_chart("stride_animation", (c.run, t.lang, lesson), build)
    if ui.presenter():
        st.caption(t("presenter_colours"))
    if row_step > 1:
        st.caption(t("anim_row_step", k=row_step, N=Gh * Gw, max=patches_fig.MAX_FRAMES))


@st.fragment
def cube(t: Translator, c: Computed) -> None:
    """The 3D view of the Conv2d, drawn on request: a WebGL scene is slow to draw without a graphics
    card (it held back every chart of the first page by 1–2 s here), so its toggle reruns only it."""
    cfg = c.cfg
    Gh, Gw = cfg.grid
    st.subheader(t("cube_header"))
    st.toggle(t("cube_show"), help=t("cube_show_help"), **S.bind("cube3d"))
    if not S.get("cube3d"):
        st.caption(t("cube_off"))
        return
    if Gh * Gw > CUBE_MAX:
        st.info(t("cube_too_many", N=Gh * Gw, max=CUBE_MAX))
        return
    st.markdown(t("cube_explain", P=cfg.patch_size, D=cfg.embed_dim, **ui.colours(t)))

    def build():
        text = cube_fig.CubeText(
            input_title=t("cube_input"), output_title=t("cube_output"), conv=t("cube_conv"),
            depth_label=t("cube_depth"), step=t("anim_step"), play=t("play"), pause=t("pause"),
        )  # fmt: skip
        return cube_fig.conv_cube_figure(c.pixels, cfg.patch_size, c.colours, cfg.embed_dim, text)

    ui.cached_chart("cube3d", (c.run, t.lang), build)
    row_step = patches_fig.frame_row_step(cfg.grid, cube_fig.MAX_FRAMES)
    if row_step > 1:
        st.caption(t("anim_row_step", k=row_step, N=Gh * Gw, max=cube_fig.MAX_FRAMES))


def step_by(delta: int, last: int) -> None:
    """Callback of ◀ ▶."""
    S.put("step", min(max(1, int(S.get("step")) + delta), last))
    S.write_url()  # the step travels in the share link


@st.fragment
def inspector(t: Translator, c: Computed, lesson: bool = False) -> None:
    """One stride step: the window's pixels, the kernels, ``y = W·x + b``, equal to the Conv2d's
    vector. In the ``lesson`` the step's own heading replaces this one."""
    cfg = c.cfg
    P, D, N = cfg.patch_size, cfg.embed_dim, cfg.num_patches
    if not lesson:
        st.subheader(t("inspector_header"))
    narrow = screen.narrow()  # a phone: ◀ slider ▶ stay one row (Streamlit stacks columns at ≤ 640 px)
    with st.container(key="step_row"):
        back, slider, forward = st.columns([1, 3, 1] if narrow else [1, 8, 1], vertical_alignment="bottom",
                                           wrap=not narrow)  # fmt: skip
    back.button(t("step_back"), key="step_back", on_click=step_by, args=(-1, N), width="stretch")
    forward.button(t("step_next"), key="step_next", on_click=step_by, args=(1, N), width="stretch")
    slider.slider(t("step"), 1, max(N, 2), disabled=N == 1, label_visibility="collapsed" if lesson else "visible",
                  **S.bind("step"))  # fmt: skip
    k = min(int(S.get("step")), N) - 1
    step = analysis.patch_step(c.trace.inputs, c.vit.patch_embed.proj, k)
    r, col = step.r, step.c
    explain = t("inspector_explain", k=k + 1, N=N, r=r, c=col, r0=r * P, r1=(r + 1) * P - 1, c0=col * P,
                c1=(col + 1) * P - 1, P=P, L=step.flat.numel(), D=D)  # fmt: skip
    if not lesson:  # in the lesson it follows the equality line
        st.markdown(explain)
    patch_pixels = c.pixels[r * P : (r + 1) * P, col * P : (col + 1) * P]  # (P, P, 3)
    shown = min(KERNELS_SHOWN, D)
    kernels = c.vit.patch_embed.proj.weight[:shown].detach().cpu().numpy()  # (K, 3, P, P)
    kernel_titles = [t("kernel_title", d=d, y=float(step.output[d])) for d in range(shown)]
    if lesson:  # the window and the kernels in one row, so that all of it fits a projector's first screen
        ui.cached_chart("inspector_kernels", (c.run, t.lang, k, "lesson", narrow),
                        lambda: inspector_fig.kernels_figure(kernels, [t("window_rgb"), *kernel_titles],
                                                             patch_pixels, height=136, narrow=narrow))  # fmt: skip
    else:
        titles = [t("window_rgb"), t("channel_r"), t("channel_g"), t("channel_b")]
        value_range = image.normalised_range(*compute.normalisation(c.weights))  # black … white, one scale for RGB
        ui.cached_chart(
            "inspector_window", (c.run, t.lang, k, narrow),
            lambda: inspector_fig.window_figure(patch_pixels, step.window.numpy(), titles, value_range, narrow),
        )  # fmt: skip
        ui.cached_chart("inspector_kernels", (c.run, t.lang, k, narrow),
                        lambda: inspector_fig.kernels_figure(kernels, kernel_titles, narrow=narrow))  # fmt: skip
    strip_title = t("output_strip", D=D, r=r, c=col)
    marked = list(range(shown))
    height = STRIP_HEIGHT[lesson]
    ui.cached_chart("inspector_output", (c.run, t.lang, k, height),
                    lambda: inspector_fig.output_strip_figure(step.output.numpy(), strip_title, marked,
                                                              height))  # fmt: skip
    diff = analysis.step_difference(step, c.trace.patch_grid)
    st.caption(t("inspector_check", r=r, c=col, diff=f"{diff:.1e}"))
    if lesson:  # the step's text follows its named parts: they come first on a projector
        st.markdown(explain)
