"""What the tokens become: the patch tokens after a block in PCA colours, the background hidden as
DINOv2 does (Oquab et al. 2023, Fig. 1, Sec. 7.4). Each number is checked against a PCA written here
with numpy's SVD; the figure by its structure; the panel by driving the page."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from vizlib import analysis, config, model
from vizlib.figures.encoder import token_pca_figure

APP = str(ROOT / "app.py")


# ---------------------------------------------------------------- a PCA written another way


def numpy_pca(X: np.ndarray, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Scores (n, k) on the top k right singular vectors of the centred X, and each one's share
    of the total variance (k,). Signs as numpy's SVD gives them."""
    Xc = X - X.mean(axis=0)
    _, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    return Xc @ Vt[:k].T, s[:k] ** 2 / (s**2).sum()


def largest_positive(scores: np.ndarray) -> np.ndarray:
    """Each column turned so that its largest-magnitude entry is positive."""
    idx = np.abs(scores).argmax(axis=0)
    return scores * np.sign(scores[idx, np.arange(scores.shape[1])])


def percentile_colours(scores: np.ndarray) -> np.ndarray:
    """Each column scaled by its 2nd–98th percentile range into [0, 1]."""
    lo, hi = np.percentile(scores, 2, axis=0), np.percentile(scores, 98, axis=0)
    return np.clip((scores - lo) / (hi - lo), 0, 1)


def same_up_to_sign(a: np.ndarray, b: np.ndarray, atol: float = 1e-6) -> bool:
    return np.allclose(a, b, atol=atol) or np.allclose(a, -b, atol=atol)


# ---------------------------------------------------------------- tokens with a known structure


def scene(Gh: int = 8, Gw: int = 9, D: int = 24, seed: int = 0, object_rows=(2, 8), object_cols=(2, 7)):
    """Tokens of a picture with an object (``object_rows`` × ``object_cols`` of the grid, the rest
    background): a strong direction ``u`` tells object (+1) from background (−1); inside the object
    a weaker direction ``v`` tells its top from its bottom (two parts); the background varies
    along ``w``, stronger than ``v`` (so a PCA of all patches ranks ``w`` before ``v``); a tiny noise.
    Returns tokens (N, D) float32, the object mask (Gh, Gw) bool and the top-part mask (Gh, Gw) bool."""
    gen = np.random.default_rng(seed)
    u, v, w = np.linalg.qr(gen.normal(size=(D, 3)))[0].T  # orthonormal directions
    mask = np.zeros((Gh, Gw), dtype=bool)
    mask[slice(*object_rows), slice(*object_cols)] = True
    top = mask & (np.arange(Gh)[:, None] < (object_rows[0] + object_rows[1]) / 2)
    m, t = mask.reshape(-1), top.reshape(-1)
    coeff_w = np.where(m, 0.0, gen.uniform(-3.0, 3.0, size=m.shape))  # background spread along w
    X = 3.0 + 4.0 * np.where(m, 1.0, -1.0)[:, None] * u  # (N, D): an offset the centring removes
    X = X + np.where(t, 1.0, -1.0)[:, None] * m[:, None] * 1.5 * v + coeff_w[:, None] * w
    X = X + 0.01 * gen.normal(size=X.shape)
    return torch.tensor(X, dtype=torch.float32), mask, top


def test_every_patch_coloured_by_the_first_three_components():
    X, mask, _ = scene()
    result = analysis.token_pca_rgb(X, mask.shape)
    scores, shares = numpy_pca(X.double().numpy())
    first = scores[:, 0] / scores[:, 0].std()
    assert same_up_to_sign(result.first.numpy().reshape(-1), first, atol=1e-4)
    assert torch.allclose(result.explained.double(), torch.tensor(shares), atol=1e-5)
    rgb = result.rgb.numpy().reshape(-1, 3)
    expected = percentile_colours(np.concatenate([scores[:, :1] * np.sign(first @ result.first.numpy().reshape(-1)),
                                                  largest_positive(scores[:, 1:])], axis=1))  # fmt: skip
    assert np.allclose(rgb, expected, atol=1e-5)
    assert result.foreground.all() and result.rgb.shape == (*mask.shape, 3)


def test_the_first_components_sign_puts_the_top_and_sides_in_the_background():
    X, mask, _ = scene()  # the object reaches the bottom edge, as a body cut at the chest does
    for tokens in (X, -X):  # the same picture with every direction negated: the same answer
        result = analysis.token_pca_rgb(tokens, mask.shape, hide_background=True)
        assert torch.equal(result.foreground, torch.from_numpy(mask))
        assert (result.first[torch.from_numpy(mask)] > 0).all() and (result.first[~torch.from_numpy(mask)] < 0).all()
    assert torch.allclose(analysis.token_pca_rgb(X, mask.shape).first, analysis.token_pca_rgb(-X, mask.shape).first)
    swapped = analysis.token_pca_rgb(X, mask.shape, hide_background=True, flip=True)
    assert torch.equal(swapped.foreground, ~torch.from_numpy(mask))  # the hand flip keeps the other side


def test_a_tower_on_a_ground_strip_is_the_foreground_not_the_sky():
    """The rocket sample's case: the launch pad fills the bottom rows, on the tower's side of the
    first component. The whole outer ring would take the sky for the subject; top and sides do not."""
    gen = np.random.default_rng(5)
    u = gen.normal(size=16)
    subject = np.zeros((10, 10), dtype=bool)
    subject[:, 4:6], subject[8:] = True, True  # a tower reaching the top edge, on the ground
    X = np.where(subject.reshape(-1), 1.0, -1.0)[:, None] * u + 0.05 * gen.normal(size=(100, 16))
    result = analysis.token_pca_rgb(torch.tensor(X), (10, 10), hide_background=True)
    assert torch.equal(result.foreground, torch.from_numpy(subject))
    ring = np.ones((10, 10), dtype=bool)
    ring[1:-1, 1:-1] = False
    first = result.first.numpy()
    assert first[ring].mean() > first[~ring].mean()  # the rule of the whole ring would have kept the sky


def test_a_subject_larger_than_half_the_frame_is_still_the_foreground():
    X, mask, _ = scene(Gh=10, Gw=10, object_rows=(1, 10), object_cols=(1, 9))  # 72 of 100 patches
    result = analysis.token_pca_rgb(X, mask.shape, hide_background=True)
    assert mask.mean() > 0.5 and torch.equal(result.foreground, torch.from_numpy(mask))


def test_hiding_the_background_runs_a_second_pca_on_the_kept_patches():
    X, mask, top = scene()
    result = analysis.token_pca_rgb(X, mask.shape, hide_background=True)
    kept = mask.reshape(-1)
    assert (result.rgb.numpy().reshape(-1, 3)[~kept] == 0).all()  # hidden patches are black
    scores, shares = numpy_pca(X.double().numpy()[kept])
    expected = percentile_colours(largest_positive(scores))
    assert np.allclose(result.rgb.numpy().reshape(-1, 3)[kept], expected, atol=1e-5)
    assert torch.allclose(result.explained.double(), torch.tensor(shares), atol=1e-5)
    red = result.rgb[..., 0].numpy()
    assert abs(red[top].mean() - red[mask & ~top].mean()) > 0.9  # the object's two parts, not the background's w
    green = analysis.token_pca_rgb(X, mask.shape).rgb[..., 1].numpy()  # one PCA of all: component 2 is w
    assert np.ptp(green[mask]) < 0.05 < 0.5 < np.ptp(green[~mask])  # it colours the background, not the parts


@pytest.mark.parametrize("cut", [-0.5, 0.0, 0.3, 1.0])
def test_the_cut_is_on_the_first_component_in_standard_deviations(cut):
    gen = torch.Generator().manual_seed(3)
    X = torch.randn(6 * 7, 16, generator=gen) * torch.linspace(3, 0.2, 16)  # (N, D)
    free = analysis.token_pca_rgb(X, (6, 7))
    result = analysis.token_pca_rgb(X, (6, 7), hide_background=True, threshold=cut)
    scores, _ = numpy_pca(X.double().numpy(), 1)
    z = scores[:, 0] / scores[:, 0].std() * (1 if np.dot(scores[:, 0], free.first.numpy().reshape(-1)) > 0 else -1)
    assert np.array_equal(result.foreground.numpy().reshape(-1), z > cut)
    assert torch.allclose(result.first, free.first)  # the map of the first component ignores the cut


def test_too_few_kept_patches_and_tiny_grids():
    X, mask, _ = scene()
    none = analysis.token_pca_rgb(X, mask.shape, hide_background=True, threshold=100.0)
    assert not none.foreground.any() and (none.rgb == 0).all() and none.explained.numel() == 0
    one = analysis.token_pca_rgb(torch.randn(1, 8), (1, 1), hide_background=True, threshold=-1.0)
    assert one.foreground.all() and torch.all(one.rgb == 0.5)  # one patch: no second PCA, grey
    row = analysis.token_pca_rgb(torch.randn(1 * 4, 8), (1, 4))  # no inner patches: largest score positive
    assert row.rgb.shape == (1, 4, 3) and float(row.first.reshape(-1)[row.first.abs().argmax()]) > 0


# ---------------------------------------------------------------- on a model's trace


@pytest.mark.parametrize("extra", [dict(), dict(reg_tokens=2, dist_token=True)])
def test_the_trace_gives_the_patches_after_each_block(extra):
    cfg = config.ViTConfig(img_size=(48, 64), patch_size=16, embed_dim=32, depth=3, num_heads=4, **extra)
    vit = model.VisionTransformer(cfg).eval()
    with torch.inference_mode():
        trace = vit.forward_trace(torch.randn(2, 3, 48, 64), full_attention_max=4)  # attentions dropped
    assert trace.attentions is None
    S = cfg.num_prefix_tokens
    assert torch.equal(analysis.patch_tokens_after(trace, 0), trace.tokens[0, S:])
    for k in range(1, cfg.depth + 1):
        assert torch.equal(analysis.patch_tokens_after(trace, k), trace.hidden_states[k - 1][0, S:])
        result = analysis.token_pca(trace, k, hide_background=True)
        direct = analysis.token_pca_rgb(trace.hidden_states[k - 1][0, S:], (3, 4), hide_background=True)
        assert torch.equal(result.rgb, direct.rgb) and result.rgb.shape == (3, 4, 3)
    for bad in (-1, cfg.depth + 1):
        with pytest.raises(IndexError, match="outside 0"):
            analysis.patch_tokens_after(trace, bad)


def test_pca_rgb_is_unchanged_by_sharing_its_pieces():
    grid = torch.randn(1, 10, 4, 5, generator=torch.Generator().manual_seed(1))
    X = grid[0].flatten(1).T.double().numpy()
    expected = percentile_colours(largest_positive(numpy_pca(X)[0]))
    assert np.allclose(analysis.pca_rgb(grid).reshape(-1, 3).numpy(), expected, atol=1e-5)


# ---------------------------------------------------------------- the figure


def test_the_figure_shows_the_picture_the_first_component_and_the_colours():
    X, mask, _ = scene()
    result = analysis.token_pca_rgb(X, mask.shape, hide_background=True, threshold=0.4)
    pixels = np.random.default_rng(0).integers(0, 256, (8 * 14, 9 * 14, 3), dtype=np.uint8)
    fig = token_pca_figure(result.rgb.numpy(), ["picture", "first: after block 3", "rgb"], pixels,
                           result.first.numpy(), 0.4)  # fmt: skip
    assert [type(tr).__name__ for tr in fig.data] == ["Image", "Heatmap", "Image"]
    assert [a.text for a in fig.layout.annotations] == ["picture", "first<br>after block 3", "rgb"]
    assert fig.data[0].source.startswith("data:image/")  # the picture goes once, compressed
    heat = fig.data[1]
    assert np.allclose(heat.z, result.first.numpy()) and np.isclose(heat.zmin + heat.zmax, 2 * 0.4)
    cells = np.asarray(fig.data[2].z)
    assert cells.shape == (*mask.shape, 3) and np.array_equal(cells, np.round(result.rgb.numpy() * 255))
    assert (cells[~mask] == 0).all()
    assert list(fig.layout.xaxis3.range) == [-0.5, 8.5] and list(fig.layout.yaxis3.range) == [7.5, -0.5]
    assert fig.layout.yaxis3.scaleanchor == "x3" and fig.layout.xaxis.ticks == ""
    alone = token_pca_figure(result.rgb.numpy(), ["rgb"])
    assert [type(tr).__name__ for tr in alone.data] == ["Image"]


# ---------------------------------------------------------------- the page


def token_pca_spec(at: AppTest) -> dict:
    """The panel's figure: the one whose heatmap's hover reads in standard deviations."""
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    (spec,) = [s for s in specs if any("σ" in str(trace.get("hovertemplate")) for trace in s["data"])]
    return spec


@pytest.mark.parametrize("lang, header", [("en", "What the tokens become"), ("ja", "トークンは何になるか")])
def test_the_panel_follows_its_block_and_background_controls(lang, header):
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.radio(key="w_lang").set_value(lang).run()
    at.session_state["view"] = "embedding"
    at.run()
    assert not at.exception and header in [h.value for h in at.subheader]
    depth = at.session_state["depth"]
    assert at.slider(key="w_tp_block").value == depth  # the last block unless chosen
    last = token_pca_spec(at)
    at.slider(key="w_tp_block").set_value(0).run()
    assert not at.exception and at.session_state["tp_block"] == 0
    first = token_pca_spec(at)
    assert first["data"][2]["z"] != last["data"][2]["z"]  # the embedding's colours, not the last block's
    at.toggle(key="w_tp_hide").set_value(True).run()
    at.slider(key="w_tp_cut").set_value(0.5).run()
    assert not at.exception and at.session_state["tp_cut"] == 0.5
    kept = [c.value for c in at.caption if "9" in c.value and ("Kept" in c.value or "前景" in c.value)]
    assert len(kept) == 1
    at.checkbox(key="w_tp_flip").check().run()
    assert not at.exception and at.session_state["tp_flip"] is True
    at.slider(key="w_tp_block").set_value(2).run()
    at.session_state["view"] = "patches"  # the choices outlive their widgets
    at.run()
    at.session_state["view"] = "embedding"
    at.run()
    assert at.slider(key="w_tp_block").value == 2 and at.toggle(key="w_tp_hide").value is True
    assert not at.exception
