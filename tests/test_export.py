"""Downloads and presenter styling: the GIF's frames, the .npy round trip, offline HTML."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from vizlib import export
from vizlib.config import ViTConfig
from vizlib.figures import overview, theme
from vizlib.figures.patches import stride_animation
from vizlib.figures.theme import GREEN, RED
from vizlib.model import VisionTransformer


def picture(H: int, W: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (H, W, 3), dtype=np.uint8)


@pytest.mark.parametrize("H, W, P", [(81, 81, 27), (64, 96, 16), (32, 32, 32)])
def test_the_gif_has_one_frame_per_stride_step_of_the_stated_size(H, W, P):
    Gh, Gw = H // P, W // P
    colours = np.random.default_rng(1).random((Gh, Gw, 3))
    gif = Image.open(io.BytesIO(export.stride_gif(picture(H, W), P, colours)))
    assert gif.format == "GIF" and gif.n_frames == Gh * Gw
    assert gif.size == export.gif_size(H, W)
    s = export._scale(H, W, P)
    x_out = W * s + max(8, W * s // 8)
    for k in range(Gh * Gw):  # frame k has filled output cell k with its vector's colour
        gif.seek(k)
        frame = np.asarray(gif.convert("RGB")).astype(int)
        r, c = divmod(k, Gw)
        centre = frame[int((r + 0.5) * P * s), int(x_out + (c + 0.5) * P * s)]
        assert np.abs(centre - colours[r, c] * 255).max() <= 24, (k, centre, colours[r, c] * 255)
        if k + 1 < Gh * Gw:  # and the next cell is still empty
            r2, c2 = divmod(k + 1, Gw)
            assert tuple(frame[int((r2 + 0.5) * P * s), int(x_out + (c2 + 0.5) * P * s)]) == (250, 250, 250)


def test_a_thinned_gif_keeps_every_kth_row_of_windows():
    colours = np.zeros((6, 4, 3))
    gif = Image.open(io.BytesIO(export.stride_gif(picture(48, 32), 8, colours, row_step=2)))
    assert gif.n_frames == 3 * 4


def test_the_npy_files_load_back_equal_to_the_trace():
    cfg = ViTConfig(img_size=(48, 32), patch_size=8, embed_dim=24, depth=2, num_heads=3)
    with torch.inference_mode():
        trace = VisionTransformer(cfg).forward_trace(torch.randn(1, 3, 48, 32))
    meta = export.config_json(cfg, weights="random", fit_policy="center_crop")
    with zipfile.ZipFile(io.BytesIO(export.arrays_zip(export.trace_arrays(trace), meta))) as z:
        loaded = {name.removesuffix(".npy"): np.load(io.BytesIO(z.read(name)), allow_pickle=False)
                  for name in z.namelist() if name.endswith(".npy")}  # fmt: skip
        back = json.loads(z.read("config.json"))
    assert sorted(loaded) == ["attention", "logits", "patch_grid", "patch_tokens", "tokens"]
    assert loaded["patch_grid"].shape == (1, 24, 6, 4)
    assert np.array_equal(loaded["patch_grid"], trace.patch_grid.numpy())
    assert np.array_equal(loaded["tokens"], trace.tokens.numpy())
    assert np.array_equal(loaded["attention"], torch.stack(trace.attentions).numpy())
    assert loaded["attention"].shape == (2, 1, 3, 25, 25)
    assert ViTConfig(**back["config"]) == cfg and back["grid"] == [6, 4] and back["weights"] == "random"


def test_only_the_kept_attention_rows_are_exported_for_many_tokens():
    cfg = ViTConfig(img_size=(64, 64), patch_size=2, embed_dim=8, depth=1, num_heads=1)  # 1,025 tokens
    with torch.inference_mode():
        trace = VisionTransformer(cfg).forward_trace(torch.randn(1, 3, 64, 64), rows=[0, 5], full_attention_max=1000)
    arrays = export.trace_arrays(trace)
    assert "attention" not in arrays and arrays["attention_rows"].shape == (1, 1, 1, 2, 1025)
    assert arrays["attention_row_ids"].tolist() == [0, 5]


def test_figure_html_works_offline():
    fig = stride_animation(picture(54, 54), 27, np.random.default_rng(0).random((2, 2, 3)), 16)
    html = export.figure_html(fig).decode()
    assert html.startswith("<!doctype html>") and len(html) > 3_000_000  # plotly.js itself is inside
    assert 'src="https://cdn.plot.ly' not in html and "Plotly.newPlot" in html and "frames" in html


def test_presenter_style_thickens_lines_and_swaps_to_colour_blind_safe_colours():
    fig = stride_animation(picture(54, 54), 27, np.random.default_rng(0).random((2, 2, 3)), 16)
    before = fig.to_plotly_json()
    styled = theme.presenter(fig).to_plotly_json()
    assert fig.to_plotly_json()["frames"][0]["layout"] == before["frames"][0]["layout"]  # input untouched
    old = before["frames"][1]["layout"]["shapes"]
    new = styled["frames"][1]["layout"]["shapes"]
    assert [s["line"]["width"] for s in new if s] == [max(2.0, 2 * s["line"]["width"]) for s in old if s]
    colours = json.dumps(styled)
    assert GREEN not in colours and RED not in colours
    assert theme.CB_WINDOW in colours and theme.CB_VECTOR in colours
    assert styled["layout"]["font"]["size"] == theme.PRESENTER_FONT
    assert styled["layout"]["sliders"][0]["currentvalue"]["font"]["size"] == theme.PRESENTER_FONT  # frame label
    assert styled["layout"]["sliders"][0]["steps"] == before["layout"]["sliders"][0]["steps"]  # layout kept
    assert styled["layout"]["xaxis"]["tickfont"]["size"] >= theme.PRESENTER_FONT - 4  # axis labels (headers)


def test_presenter_style_enlarges_colour_bar_ticks_and_the_strip_keeps_two_labels():
    from vizlib.figures.inspector import output_strip_figure

    strip = output_strip_figure(np.array([-0.4, 0.1, 0.5, 0.2]), "t")
    bar = strip.data[0].colorbar
    assert list(bar.tickvals) == [-0.5, 0.5] and list(bar.ticktext) == ["-0.5", "0.5"]  # the ends only
    small = {"data": [{"type": "heatmap", "z": [[0]], "colorbar": {"tickfont": {"size": 10}}}], "layout": {}}
    styled = theme.presenter(small).to_plotly_json()
    assert styled["data"][0]["colorbar"]["tickfont"]["size"] >= theme.PRESENTER_FONT - 4


def test_presenter_style_keeps_the_numbers_of_a_bar_between_two_panels():
    """A colour bar in the gap between two panels (x < 1) keeps its tick size: at the projector's size
    its numbers ran into the next panel (the browser test found it in the sequence figure)."""
    bar = {"x": 0.45, "xanchor": "left", "tickfont": {"size": 10}, "outlinecolor": "#00c853"}
    spec = {"data": [{"type": "heatmap", "z": [[0]], "colorbar": bar}], "layout": {"coloraxis": {"colorbar": bar}}}
    styled = theme.presenter(spec).to_plotly_json()
    for kept in (styled["data"][0]["colorbar"], styled["layout"]["coloraxis"]["colorbar"]):
        assert kept["tickfont"]["size"] == 10
        assert kept["outlinecolor"] != "#00c853"  # the rest of it is restyled as before


def test_overview_highlights_the_boxes_of_the_step():
    labels = ["a", "b", "c", "d", "e"]
    fig = overview.overview_figure(labels, ["1", "2", "3", "4"], (0, 3))
    fills = [s.fillcolor for s in fig.layout.shapes]
    assert fills == [theme.HIGHLIGHT, theme.IDLE, theme.IDLE, theme.HIGHLIGHT, theme.IDLE]


@pytest.mark.parametrize("H, W", [(3, 300), (300, 3), (1, 1), (81, 81), (9, 4096)])
def test_gif_frames_are_large_enough_to_see(H, W):
    width, height = export.gif_size(H, W)
    s = height // H
    assert s >= 1 and height == H * s
    assert min(H, W) * s >= min(export.GIF_MIN_SIDE, (export.GIF_MAX_SIDE // max(H, W)) * min(H, W))
    assert max(H, W) * s <= max(export.GIF_MAX_SIDE, max(H, W))  # never enlarged past the cap
    if (H, W) == (3, 300):
        assert height >= 18  # was 3 px
    if (H, W) == (81, 81):
        assert (width, height) == export.gif_size(81, 81) and height == 243  # ordinary pictures unchanged
