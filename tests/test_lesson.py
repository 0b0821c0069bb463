"""The lesson: its code panel runs and says the true shapes, its cost table is right, its texts exist."""

from __future__ import annotations

import re

import pytest
import torch

from vizlib import lesson
from vizlib.config import MAX_TOKENS, ViTConfig
from vizlib.i18n import Translator
from vizlib.model import VisionTransformer

CONFIGS = [
    ViTConfig(img_size=(81, 81), patch_size=27, embed_dim=128, depth=4, num_heads=4),
    ViTConfig(img_size=(224, 224), patch_size=16, embed_dim=384, depth=12, num_heads=6),
    ViTConfig(img_size=(32, 64), patch_size=8, embed_dim=24, depth=1, num_heads=3),
]
SHAPE = re.compile(r"^\((\d+(?:, \d+)*)\)")


PREFIXED = [
    ViTConfig(img_size=(64, 48), patch_size=16, embed_dim=24, depth=1, num_heads=2, dist_token=True),  # DeiT
    ViTConfig(img_size=(56, 42), patch_size=14, embed_dim=24, depth=1, num_heads=2, reg_tokens=4),  # DINOv2-reg
]


@pytest.mark.parametrize("cfg", CONFIGS + PREFIXED, ids=lambda c: f"{c.img_size}-P{c.patch_size}-D{c.embed_dim}")
def test_the_code_panel_runs_and_each_comment_is_the_shape_it_makes(cfg):
    H, W = cfg.img_size
    D = cfg.embed_dim
    vit = VisionTransformer(cfg).eval()
    ns = {"image": torch.randn(1, 3, H, W), "cls_token": vit.cls_token.detach(), "pos_embed": vit.pos_embed.detach(),
          "dist_token": getattr(vit, "dist_token", None), "reg_token": getattr(vit, "reg_token", None),
          "encoder": torch.nn.TransformerEncoder(
              torch.nn.TransformerEncoderLayer(D, cfg.num_heads, batch_first=True), num_layers=1,
              enable_nested_tensor=False)}  # fmt: skip
    checked = 0
    for code, comment in lesson.code_lines(cfg):
        exec(code, ns)  # the panel's lines, one at a time, as a student would paste them
        name = code.split("=")[0].strip() if " = " in code else None
        if match := SHAPE.match(comment):
            assert tuple(ns[name].shape) == tuple(int(v) for v in match.group(1).split(", ")), code
            checked += 1
        elif comment.startswith("weight ("):
            expected = tuple(int(v) for v in comment.removeprefix("weight (").rstrip(")").split(", "))
            assert tuple(ns[name].weight.shape) == expected, code
            checked += 1
    assert ns["same"] is True  # Conv2d and split + flatten + Linear agree
    assert checked == 11 + int(cfg.dist_token) + 2 * int(cfg.reg_tokens > 0)  # every line making a tensor or layer
    assert tuple(ns["seq"].shape) == (1, cfg.num_tokens, D)
    with torch.no_grad():  # the panel's sequence is the model's, with the panel's Conv2d weights
        vit.patch_embed.proj.load_state_dict(ns["proj"].state_dict())
        torch.testing.assert_close(ns["seq"], vit.embed(ns["image"])[2])
    text = lesson.code_text(cfg)
    assert f"kernel_size={cfg.patch_size}, stride={cfg.patch_size}" in text and f"out_channels={D}" in text


def test_the_cost_table_matches_real_models():
    cfg = ViTConfig(img_size=(96, 64), patch_size=8, embed_dim=48, depth=2, num_heads=3)
    rows = lesson.patch_size_table(cfg)
    assert [r.P for r in rows] == [2, 4, 8, 16, 32]
    for r in rows:
        Gh, Gw = 96 // r.P, 64 // r.P
        assert (r.grid, r.N, r.L) == ((Gh, Gw), Gh * Gw, 3 * r.P**2)
        assert r.attention == 3 * (Gh * Gw + 1) ** 2
        other = ViTConfig(img_size=(Gh * r.P, Gw * r.P), patch_size=r.P, embed_dim=48, depth=2, num_heads=3)
        assert r.params == sum(p.numel() for p in VisionTransformer(other).parameters())
    halved = {r.P: r for r in rows}
    assert halved[4].N == 4 * halved[8].N  # halve P: four times the tokens


def test_the_cost_table_flags_sizes_past_the_token_cap():
    cfg = ViTConfig(img_size=(512, 512), patch_size=8, embed_dim=16, depth=1, num_heads=1)
    rows = {r.P: r for r in lesson.patch_size_table(cfg)}
    assert rows[2].N == 65536 > MAX_TOKENS and rows[2].over_cap and not rows[4].over_cap
    # by hand: only the Conv2d weight and the position embedding depend on P
    assert rows[2].params - rows[8].params == 16 * 3 * (4 - 64) + 16 * (65536 - 4096)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_every_step_has_a_title_and_a_body_filled_with_the_numbers(lang):
    t = Translator(lang)
    nums = lesson.numbers(CONFIGS[0])
    assert len(lesson.STEPS) == 7
    for step in lesson.STEPS:
        colours = dict(window=t("colour_window"), vector=t("colour_vector"))
        title, body = t(f"lesson_{step.id}_title", **nums), t(f"lesson_{step.id}_body", **nums, **colours)
        assert "{" not in title + body and len(body) > 100
        assert all(0 <= box < len(lesson.OVERVIEW_BOXES) for box in step.boxes)
    assert "3×3" in t("lesson_stride_title", **nums) and "2187" in t("lesson_proof_body", **nums)


def test_the_code_panel_speaks_japanese_and_still_runs():
    t = Translator("ja")
    notes = {key: t(f"code_note_{key}") for key in lesson.CODE_NOTES}
    text = lesson.code_text(CONFIGS[0], notes)
    assert "長さ 128 のベクトルが 3×3 個" in text and "# 同じトークン" in text
    ns = {"image": torch.randn(1, 3, 81, 81), "cls_token": torch.randn(1, 1, 128),
          "pos_embed": torch.randn(1, 10, 128), "encoder": torch.nn.Identity()}  # fmt: skip
    exec(text, ns)
    assert ns["same"] is True and tuple(ns["out"].shape) == (1, 10, 128)


@pytest.mark.parametrize("size, P", [((81, 81), 27), ((224, 224), 16), ((96, 64), 8), ((81, 81), 9), ((384, 384), 32)])
def test_the_suggested_patch_sizes_divide_the_picture(size, P):
    cfg = ViTConfig(img_size=size, patch_size=P, embed_dim=16, depth=1, num_heads=1)
    rows = lesson.patch_size_table(cfg)
    sizes = [r.P for r in rows]
    assert P in sizes and sizes == sorted(sizes) and len(sizes) >= 4
    for r in rows:
        assert size[0] % r.P == 0 and size[1] % r.P == 0, r.P  # no row crops the picture
        assert r.dropped == 0
    assert min(sizes) < P < max(sizes) or P in (min(sizes), max(sizes)) and len(sizes) >= 4


def test_the_article_picture_is_offered_3_9_27_81():
    cfg = ViTConfig(img_size=(81, 81), patch_size=27, embed_dim=128, depth=4, num_heads=4)
    assert [r.P for r in lesson.patch_size_table(cfg)] == [3, 9, 27, 81]


def test_a_picture_with_few_divisors_marks_the_rows_that_crop():
    cfg = ViTConfig(img_size=(169, 169), patch_size=13, embed_dim=16, depth=1, num_heads=1)
    rows = {r.P: r for r in lesson.patch_size_table(cfg)}
    assert rows[13].dropped == 0 and rows[169].dropped == 0
    cropping = [p for p in rows if 169 % p]
    assert cropping  # 169 = 13²: only P/2 and 2P are near, and both crop
    for p in cropping:
        kept = (169 // p * p) ** 2
        assert rows[p].dropped == pytest.approx(1 - kept / 169**2) and rows[p].dropped > 0


def test_the_scaling_table_is_an_html_table_in_presenter_view():
    """A dataframe is drawn on a canvas, which the projector's CSS cannot enlarge: presenter view
    shows step 7's table as an HTML table with the same rows."""
    from streamlit.testing.v1 import AppTest

    from tests.test_app import APP

    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"mode": "lesson", "step": "7"})
    at.run()
    rows = len(at.dataframe[0].value)
    at.toggle(key="w_presenter").set_value(True).run()
    assert not at.exception and not at.dataframe
    assert len(at.table[0].value) == rows and "," in str(at.table[0].value.iloc[0].to_list())  # 115,600
