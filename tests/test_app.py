"""The page, driven by Streamlit's AppTest: views, uploads, bad input, settings, languages, caching."""

from __future__ import annotations

import json
import re

import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, png_bytes
from vizlib import export
from vizlib.model import VisionTransformer

APP = str(ROOT / "app.py")
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
# patch grid, stride animation, inspector (window, kernels, output), 3D view, PCA grid, token patch, token vector,
# token heatmap, sequence, the tokens after a block (PCA), query picker, layer × head grid, raw matrix, rollout,
# Fig. 7 (filters, positions, distance)
CHARTS = 18  # drawn on request (toggles): the 3D view, one head's arithmetic, the encoder's inside
TABS = ["Patch splitting", "Embedding grid", "Conv2d = split + Linear", "Attention", "ViT paper Fig. 7", "Predictions"]
VIEWS = ["patches", "embedding", "proof", "attention", "paper", "predictions"]
PATCH_CHARTS = 5  # the open view on a first visit: patch grid, animation, inspector (3)


@pytest.fixture
def at() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60).run()


def specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def open_view(at: AppTest, view: str) -> AppTest:
    """Open one tab of the explore view (only the open one runs)."""
    at.session_state["view"] = view
    return at.run()


def everywhere(at: AppTest, read) -> list:
    """``read(at)`` in every view, then back to the view that was open."""
    was = at.session_state["view"]
    found = []
    for view in VIEWS:
        found += read(open_view(at, view))
        assert not at.exception, view
    open_view(at, was)
    return found


def all_specs(at: AppTest) -> list[dict]:
    """The figures of every view."""
    return everywhere(at, specs)


def animation(at: AppTest) -> dict:
    (fig,) = [s for s in specs(at) if s.get("frames") and "layout" in s["frames"][0]]  # not the 3D view
    return fig


def predictions(at: AppTest):
    """The predictions table (the view is opened for it, then the one that was open again)."""
    was = at.session_state["view"]
    table = open_view(at, "predictions").dataframe[0].value
    open_view(at, was)
    return table


def top_logits(at: AppTest) -> list[float]:
    return list(predictions(at).iloc[:, 2])


def shown(markdown: str) -> str:
    """What a reader sees of page text whose user-given parts are escaped (``page.ui.plain``)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def upload(at: AppTest, name: str, data: bytes, mime: str = "image/png") -> AppTest:
    at.radio(key="w_source").set_value("upload").run()
    uploader = at.session_state["uploader"] if "uploader" in at.session_state else "upload"
    at.file_uploader(key=uploader).set_value((name, data, mime))
    return at.run()


def gradient_png() -> bytes:
    return png_bytes(Image.linear_gradient("L").resize((300, 200)).convert("RGB"))


def test_default_run_shows_the_article_example_and_three_views(at):
    assert not at.exception and not at.error
    assert [tab.label for tab in at.tabs] == TABS
    strip = " ".join(m.value for m in at.markdown)
    for shape in ["(3, 81, 81)", "(128, 3, 3)", "(9, 128)", "(10, 128)", "(4, 10, 10)"]:
        assert shape in strip
    assert len(specs(at)) == PATCH_CHARTS  # only the open view runs and sends its figures
    assert len(all_specs(at)) == CHARTS
    assert len(animation(at)["frames"]) == 9
    assert len(top_logits(at)) == 5
    assert not any("ms on cpu" in c.value for c in at.caption)  # no cold time: timed warm on request


def test_upload_changes_the_logits(at):
    before = top_logits(at)
    after = upload(at, "gradient.png", gradient_png())
    assert not after.exception and not after.error
    assert top_logits(after) != before
    assert len(all_specs(after)) == CHARTS


def test_patch_size_changes_the_grid_and_the_frames(at):
    at.number_input(key="w_patch_size").set_value(9).run()
    assert not at.exception and not at.error
    assert at.selectbox(key="w_preset").value == "custom"
    assert len(animation(at)["frames"]) == 81
    assert any("9×9 grid" in c.value for c in at.caption)
    assert "(128, 9, 9)" in " ".join(m.value for m in at.markdown)
    at.number_input(key="w_img_w").set_value(162).run()  # non-square: 9 × 18 windows
    assert len(animation(at)["frames"]) == 162


def test_preset_fills_the_numbers(at):
    at.selectbox(key="w_preset").set_value("vit_s16").run()
    assert (at.number_input(key="w_img_h").value, at.number_input(key="w_patch_size").value) == (224, 16)
    assert at.number_input(key="w_embed_dim").value == 384
    assert len(animation(at)["frames"]) == 196


def test_bad_file_shows_an_error_and_keeps_the_views(at):
    good = upload(at, "gradient.png", gradient_png())
    logits = top_logits(good)
    bad = upload(good, "notes.png", b"this is not a picture", "image/png")
    assert not bad.exception
    assert (
        len(bad.error) == 1
        and "notes.png" in shown(bad.error[0].value)
        and "not a picture" in shown(bad.error[0].value)
    )
    assert top_logits(bad) == logits  # the last good upload is still the one shown
    assert len(all_specs(bad)) == CHARTS


@pytest.mark.parametrize(
    "key, value, words",
    [("num_heads", 3, "divisible"), ("patch_size", 100, "leaves nothing")],
)
def test_bad_setting_shows_an_error_and_keeps_the_last_good_settings(at, key, value, words):
    at.number_input(key="w_patch_size").set_value(9).run()
    at.number_input(key=f"w_{key}").set_value(value).run()
    assert not at.exception
    assert len(at.error) == 1 and words in shown(at.error[0].value)
    assert len(animation(at)["frames"]) == 81  # still the last good P = 9
    assert len(all_specs(at)) == CHARTS


def test_the_token_cap_is_refused_with_a_suggestion(at):
    at.number_input(key="w_img_w").set_value(300).run()
    at.number_input(key="w_img_h").set_value(300).run()  # P = 27: 11 × 11 windows
    at.number_input(key="w_patch_size").set_value(2).run()  # 150 × 150 = 22,500 tokens
    assert not at.exception
    assert (
        len(at.error) == 1 and "limit of 16384" in shown(at.error[0].value) and "at least 3" in shown(at.error[0].value)
    )
    assert len(animation(at)["frames"]) == 121


# The parameter corpus, in order on one page: each a result or a message, never a traceback.
# (settings, set together in one rerun; expected caption or error words; stride-animation frames afterwards)
PARAMETER_CORPUS = [
    (dict(patch_size=1), "81×81 grid of patches, N = 6561", 1024),  # frames thinned to every k-th window
    (dict(patch_size=81), "1×1 grid of patches, N = 1", 1),  # P = image size: one token
    (dict(embed_dim=130), "must be divisible by the number of heads 4", 1),  # last good settings stay
    (dict(embed_dim=128, depth=1), "1×1 grid of patches", 1),
    (dict(depth=12, patch_size=27), "3×3 grid of patches", 9),
    (dict(depth=1, num_heads=1, embed_dim=8, img_h=128, img_w=128, patch_size=1), "N = 16384", 1024),  # the cap
    (dict(img_w=129), "128×129 = 16512 patches is more than the limit of 16384", 1024),  # one column past it
]


NOTES = ("draws up to", "needs every", "N² =")  # a view left out says why


def drawn_in_every_view(at: AppTest) -> list:
    """Every view's figures and the notes saying why a view leaves one out. The open view is read as
    the last run drew it; each other view is opened in turn, then the open one again."""

    def drawn(at: AppTest) -> list:
        return specs(at) + [i for i in at.info if any(n in i.value for n in NOTES)]

    was = at.session_state["view"]
    found = drawn(at)
    for view in VIEWS:
        if view != was:
            found += drawn(open_view(at, view))
            assert not at.exception, view
    open_view(at, was)
    return found


@pytest.mark.slow
def test_the_parameter_corpus_gives_a_result_or_a_message(at):
    for settings, words, frames in PARAMETER_CORPUS:
        for key, value in settings.items():
            at.number_input(key=f"w_{key}").set_value(value)
        at.run()
        assert not at.exception, settings
        said = [*(shown(e.value) for e in at.error), *(c.value for c in at.caption)]
        assert any(words in text for text in said), (settings, said)
        assert bool(at.error) == ("limit" in words or "divisible" in words), settings
        assert len(animation(at)["frames"]) <= frames
        assert len(drawn_in_every_view(at)) == CHARTS, settings  # every view drawn, or a note says why not


def widget_labels(at: AppTest) -> list[str]:
    def labels(at: AppTest) -> list[str]:
        widgets = [*at.radio, *at.selectbox, *at.number_input, *at.slider]
        return [w.label for w in widgets] + [tab.label for tab in at.tabs]

    return everywhere(at, labels)


def test_japanese_changes_every_tab_and_widget_label(at):
    english = widget_labels(at)
    at.radio(key="w_lang").set_value("ja").run()
    assert not at.exception
    japanese = widget_labels(at)
    assert len(japanese) == len(english) > 10
    for en, ja in zip(english, japanese, strict=True):
        assert en != ja and JAPANESE.search(ja), (en, ja)
    assert JAPANESE.search(animation(at)["layout"]["sliders"][0]["steps"][0]["label"])
    at.number_input(key="w_num_heads").set_value(3).run()
    assert JAPANESE.search(shown(at.error[0].value))  # error messages are translated too


def test_a_rerun_with_nothing_changed_does_no_forward_pass(monkeypatch):
    from page import compute

    compute.clear()
    calls, relevance = [], []
    original = VisionTransformer.forward_trace

    def counting(self, x, *args, **kwargs):  # the page's traces; GAE's own pass (with autograd) apart
        (calls if not torch.is_grad_enabled() else relevance).append(tuple(x.shape))
        return original(self, x, *args, **kwargs)

    monkeypatch.setattr(VisionTransformer, "forward_trace", counting)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert len(calls) == 1
    at.run()
    at.radio(key="w_lang").set_value("ja").run()
    open_view(at, "attention")
    at.slider(key="w_layer").set_value(2).run()
    at.radio(key="w_q_kind").set_value("patch").run()
    at.number_input(key="w_q_r").set_value(1).run()
    assert not at.exception
    assert len(calls) == 1  # reruns, a language switch, a layer or query change reuse the cached trace
    assert relevance == []  # GAE runs only when the encoder's inside is asked for
    at.number_input(key="w_patch_size").set_value(9).run()
    assert len(calls) == 2


@pytest.mark.parametrize(
    "snap, frames, size", [("crop", 64, "sees 80×80"), ("pad", 81, "sees 90×90"), ("scale", 64, "·10 = 80")]
)
def test_any_image_size_is_snapped_to_whole_patches(at, snap, frames, size):
    at.selectbox(key="w_snap").set_value(snap).run()
    at.number_input(key="w_patch_size").set_value(10).run()  # 81 is not a multiple of 10
    assert not at.exception and not at.error
    assert len(animation(at)["frames"]) == frames
    assert any(size in i.value and "P = 10" in i.value for i in at.info)  # the formula, with the numbers


def test_step_inspector_follows_the_step_control(at):
    assert at.slider(key="w_step").value == 1
    at.button(key="step_next").click().run()
    at.button(key="step_next").click().run()
    assert at.slider(key="w_step").value == 3
    assert any("Window 3 / 9" in m.value and "2187" in m.value for m in at.markdown)
    assert any("patch_grid[0, :, 0, 2]" in c.value for c in at.caption)
    at.slider(key="w_step").set_value(9).run()
    at.button(key="step_next").click().run()
    assert at.slider(key="w_step").value == 9  # stays on the last step
    at.number_input(key="w_patch_size").set_value(81).run()  # a 1×1 grid: the step is clamped
    assert not at.exception and at.slider(key="w_step").value == 1


def test_selecting_a_token_outlines_its_row(at):
    open_view(at, "embedding")
    at.number_input(key="w_tok_r").set_value(2).run()
    at.number_input(key="w_tok_c").set_value(1).run()
    assert any("Cell (2, 1) becomes token 8" in m.value for m in at.markdown)
    heat = [s for s in specs(at) if s["data"][0]["type"] == "heatmap" and s["layout"].get("shapes")]
    assert any(shape["y0"] == 6.5 for fig in heat for shape in fig["layout"]["shapes"])


def test_proof_tab_shows_a_tiny_difference(at):
    open_view(at, "proof")
    values = {m.label: m.value for m in at.metric}
    assert float(values["max |Δ|"]) <= 1e-5
    assert values["values compared"] == "1,152"  # 128 × 3 × 3


def picker_z(at: AppTest) -> list:
    """The attention map of the clickable picture (image, heatmap, click markers)."""
    (fig,) = [s for s in specs(at) if [d["type"] for d in s["data"]] == ["image", "heatmap", "scatter"]]
    return fig["data"][1]["z"]


def test_attention_for_cls_and_for_a_chosen_patch(at):
    open_view(at, "attention")
    cls_map = picker_z(at)
    at.radio(key="w_q_kind").set_value("patch").run()
    at.number_input(key="w_q_r").set_value(2).run()
    at.number_input(key="w_q_c").set_value(1).run()
    assert not at.exception and not at.error
    assert any("patch (2, 1)" in m.value for m in at.markdown)
    assert picker_z(at) != cls_map
    at.selectbox(key="w_fusion").set_value("max").run()
    at.slider(key="w_discard").set_value(0.5).run()
    at.selectbox(key="w_head").set_value(2).run()
    assert not at.exception and "block 4, head 3" in str(specs(at))
    assert len(all_specs(at)) == CHARTS


def test_many_tokens_keep_only_the_rows_asked_for(at):
    at.toggle(key="w_cube3d").set_value(True).run()
    at.number_input(key="w_patch_size").set_value(2).run()  # 81 → crop 80: 40 × 40 = 1,600 patches
    assert not at.exception and not at.error
    infos = " ".join(everywhere(at, lambda at: [i.value for i in at.info]))
    assert infos.count("needs every full attention matrix") == 3  # raw matrix, rollout, mean distance
    assert "3D view draws up to 1024" in infos
    captions = " ".join(everywhere(at, lambda at: [c.value for c in at.caption]))
    assert "Every 4th row and column of patches as a tile (10 × 10 tiles of the 40 × 40 patches)" in captions
    assert len(animation(at)["frames"]) == 800  # every 2nd row of windows
    assert any("k = 2" in c.value for c in at.caption)
    open_view(at, "attention")
    at.radio(key="w_q_kind").set_value("patch").run()
    at.number_input(key="w_q_r").set_value(39).run()  # the last row: traced afresh for this query
    assert not at.exception and any("patch (39, 0)" in m.value for m in at.markdown)


needs_shapes = pytest.mark.skipif(
    not (ROOT / "assets" / "shapes" / "config.json").exists(), reason="no shipped shapes checkpoint"
)


@needs_shapes
def test_the_trained_shapes_model_predicts_its_classes(at):
    at.selectbox(key="w_weights").set_value("shapes").run()
    assert not at.exception and not at.error
    assert at.number_input(key="w_patch_size").value == 8 and at.number_input(key="w_embed_dim").disabled
    assert at.selectbox(key="w_sample").value.startswith("shape_")  # a picture from its own world
    true_class = at.selectbox(key="w_sample").value.removeprefix("shape_").rsplit("_", 1)[0]
    table = predictions(at)
    assert table.iloc[0, 0] == true_class and table.iloc[0, 1] > 0.5  # the top class is the drawn shape
    assert len(animation(at)["frames"]) == 64
    assert any("badge[" in m.value and "trained (shapes)" in m.value for m in at.markdown)


@needs_shapes
def test_the_training_timeline_changes_the_weights(at):
    at.selectbox(key="w_weights").set_value("shapes").run()
    final = top_logits(at)
    at.select_slider(key="w_snapshot").set_value(0).run()
    assert not at.exception
    assert top_logits(at) != final
    assert any("badge[" in m.value and "training step 0" in m.value for m in at.markdown)


@needs_shapes
def test_a_photo_on_the_shapes_model_is_flagged_out_of_distribution(at):
    at.selectbox(key="w_weights").set_value("shapes").run()
    at.selectbox(key="w_sample").set_value("chelsea").run()
    assert not at.exception and any("out of distribution" in i.value for i in at.info)
    at.selectbox(key="w_weights").set_value("random").run()
    assert not any("out of distribution" in i.value for i in at.info)
    assert at.number_input(key="w_patch_size").disabled is False


@needs_shapes
def test_patch_size_on_trained_weights_is_resampled(at):
    at.selectbox(key="w_weights").set_value("shapes").run()
    probabilities = list(predictions(at).iloc[:, 1])
    at.number_input(key="w_patch_size").set_value(16).run()
    assert not at.exception and not at.error
    assert len(animation(at)["frames"]) == 16  # 64 px / 16 = 4 × 4
    assert any("badge[" in m.value and "resampled from P = 8" in m.value for m in at.markdown)
    assert list(predictions(at).iloc[:, 1]) != probabilities
    assert at.number_input(key="w_embed_dim").disabled  # D cannot change on trained weights
    at.number_input(key="w_patch_size").set_value(7).run()  # 64 is not a multiple of 7
    assert len(at.error) == 1 and "not a multiple" in shown(at.error[0].value)
    assert len(animation(at)["frames"]) == 16  # still the last good P = 16


def offline_hub(repo_id: str, tmp_path, monkeypatch) -> None:
    """A Hugging Face cache holding ``repo_id`` (a ``save_pretrained`` copy), with the hub switched off."""
    huggingface_hub = pytest.importorskip("huggingface_hub")
    from tests.test_pretrained import COMMIT, save_model

    repo = tmp_path / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    save_model(repo_id, repo / "snapshots" / COMMIT, seed=3)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


def choose_hub(at: AppTest, name: str) -> AppTest:
    """Name a pretrained model as a user does: its entry in the hub list, else "another hub id…"
    and the name typed in the box that opens."""
    from page import serving

    if name in serving.hub_choices(serving.policy()):
        return at.selectbox(key="w_hub_pick").set_value(name).run()
    at.selectbox(key="w_hub_pick").set_value(serving.OTHER).run()
    return at.text_input(key="w_hub_id").set_value(name).run()


def test_pretrained_from_an_offline_cache_and_a_clear_error(at, tmp_path, monkeypatch):
    offline_hub("facebook/dino-vits8", tmp_path, monkeypatch)

    at.selectbox(key="w_weights").set_value("pretrained").run()
    assert not at.exception and any("No pretrained model loaded yet" in i.value for i in at.info)
    choose_hub(at, "facebook/dino-vits8")
    at.button(key="load_hub").click().run()
    assert not at.exception and not at.error
    assert any("pretrained: facebook/dino-vits8" in shown(m.value) for m in at.markdown)
    assert at.number_input(key="w_patch_size").value == 8 and at.number_input(key="w_img_h").value == 224
    assert any("no classification head" in i.value for i in open_view(at, "predictions").info)
    choose_hub(at, "someone/not-cached")
    at.button(key="load_hub").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "offline" in shown(at.error[0].value)
    assert any("Still using “facebook/dino-vits8”" in shown(i.value) for i in at.info)


def test_uploaded_safetensors_weights(at):
    from safetensors.torch import save

    from vizlib.config import ViTConfig

    vit = VisionTransformer(ViTConfig(img_size=(48, 48), patch_size=16, embed_dim=64, depth=2, num_heads=2,
                                      num_classes=3, seed=11))  # fmt: skip
    at.selectbox(key="w_weights").set_value("pretrained").run()
    at.file_uploader(key="weights_file").set_value(
        ("tiny.safetensors", save(vit.state_dict()), "application/octet-stream")
    )
    at.number_input(key="w_upload_heads").set_value(2).run()
    at.button(key="load_hub").click().run()
    assert not at.exception and "does not say its image size" in shown(at.error[0].value)  # 9 tokens: 48×48? 16×144?
    at.number_input(key="w_upload_h").set_value(48).run()
    at.number_input(key="w_upload_w").set_value(48).run()
    at.button(key="load_hub").click().run()
    assert not at.exception and not at.error
    assert any("pretrained: upload" in shown(m.value) for m in at.markdown)
    assert at.number_input(key="w_img_h").value == 48 and len(animation(at)["frames"]) == 9
    assert len(predictions(at)) == 3  # its three classes
    at.file_uploader(key="weights_file").set_value(("bad.safetensors", b"garbage", "application/octet-stream"))
    at.button(key="load_hub").click().run()
    assert not at.exception and len(at.error) == 1 and "not a readable" in shown(at.error[0].value)
    assert len(animation(at)["frames"]) == 9  # the uploaded model is kept


def bad_corpus() -> list[tuple[str, bytes, str]]:
    """Generated here (no binary blobs in git): each should give a clear message, not a crash."""
    import io

    import numpy as np

    from tests.test_image import png_header_only

    good = io.BytesIO()
    Image.effect_noise((64, 64), 60).convert("RGB").save(good, format="PNG")
    return [
        ("empty.png", b"", "empty"),
        ("noise.jpg", np.random.default_rng(1).bytes(5000), "not a picture"),
        ("notes.png", b"just some text\n" * 50, "not a picture"),
        ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>', "SVG"),
        ("page.html", b"<!doctype html><html><body>hello</body></html>", "not a picture"),
        ("cut.png", good.getvalue()[:500], "damaged"),
        ("bomb.png", png_header_only(30_000, 30_000), "decompression bomb"),
        ("photo.heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\0" * 100, "HEIC"),
    ]


def test_every_bad_file_is_refused_and_the_last_picture_and_settings_stay(at):
    good = upload(at, "gradient.png", gradient_png())
    good.number_input(key="w_patch_size").set_value(9).run()
    logits = top_logits(good)
    for name, data, words in bad_corpus():
        bad = upload(good, name, data, "application/octet-stream")
        assert not bad.exception, name
        assert len(bad.error) == 1 and name in shown(bad.error[0].value) and words in shown(bad.error[0].value), name
        assert top_logits(bad) == logits and len(animation(bad)["frames"]) == 81, name


def odd_but_valid_corpus() -> list[tuple[str, bytes, tuple[int, int]]]:
    """Pictures the page must accept, with the (width, height) it must show (EXIF applied)."""
    import numpy as np

    from tests.test_image import animated

    rgba_palette = Image.new("P", (40, 30), 0)
    rgba_palette.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display: 60×20 stored → 20×60 shown
    return [
        ("deep.png", png_bytes(Image.fromarray(np.full((30, 50), 40000, np.uint16))), (50, 30)),
        ("print.jpg", png_bytes(Image.new("CMYK", (64, 48), (0, 255, 255, 0)), format="JPEG"), (64, 48)),
        ("palette.png", png_bytes(rgba_palette, transparency=0), (40, 30)),
        ("grey-alpha.png", png_bytes(Image.new("LA", (33, 44), (90, 128))), (33, 44)),
        ("moving.gif", animated("GIF"), (16, 16)),
        ("moving.webp", animated("WEBP"), (16, 16)),
        ("phone.jpg", png_bytes(Image.new("RGB", (60, 20), (200, 10, 10)), format="JPEG", exif=exif), (20, 60)),
        ("really-a-png.jpg", png_bytes(Image.new("RGB", (70, 35), (5, 100, 200))), (70, 35)),
        ("dot.png", png_bytes(Image.new("RGB", (1, 1), (255, 255, 0))), (1, 1)),
        ("strip.png", png_bytes(Image.new("RGB", (10_000, 10), (0, 128, 0))), (10_000, 10)),
    ]


@pytest.mark.slow
def test_odd_but_valid_pictures_are_accepted_upright(at):
    for name, data, (w, h) in odd_but_valid_corpus():
        shown = upload(at, name, data, "application/octet-stream")
        assert not shown.exception and not shown.error, name
        assert any(c.value == f"Original: {w}×{h} px" for c in shown.caption), name
        assert len(all_specs(shown)) == CHARTS, name


# ---------------------------------------------------------------- classroom: lesson, share links, presenter, downloads


def lesson_header(at: AppTest) -> str:
    return next(h.value for h in at.subheader if "7" in h.value)


@pytest.mark.parametrize("lang, header", [("en", "Step {k} of 7"), ("ja", "レッスン {k} / 7")])
def test_every_lesson_step_renders_in_both_languages(at, lang, header):
    at.radio(key="w_lang").set_value(lang).run()
    at.radio(key="w_mode").set_value("lesson").run()
    bodies = set()
    for k in range(1, 8):
        assert not at.exception and not at.error, k
        assert lesson_header(at).startswith(header.format(k=k))
        assert len(at.get("plotly_chart")) >= 2 or k in (4, 7), k  # the overview and the step's view
        texts = " ".join(m.value for m in at.markdown)
        bodies.add(texts)
        if lang == "ja":
            assert JAPANESE.search(lesson_header(at)) and JAPANESE.search(texts)
        if k < 7:
            at.button(key="lesson_next").click().run()
    assert len(bodies) == 7  # each step says something different
    assert at.button(key="lesson_next").disabled and not at.button(key="lesson_back").disabled
    at.button(key="lesson_back").click().run()
    assert lesson_header(at).startswith(header.format(k=6))


def test_the_code_panel_shows_the_numbers_the_user_chose(at):
    at.radio(key="w_mode").set_value("lesson").run()
    at.number_input(key="w_patch_size").set_value(9).run()
    at.number_input(key="w_embed_dim").set_value(64).run()
    code = at.code[0].value
    assert "nn.Conv2d(in_channels=3, out_channels=64, kernel_size=9, stride=9)" in code
    assert "# (1, 64, 9, 9)" in code and "# (1, 81, 64)" in code and "nn.Linear(243, 64)" in code


def test_the_last_lesson_step_tries_other_patch_sizes(at):
    at.radio(key="w_mode").set_value("lesson").run()
    for _ in range(6):
        at.button(key="lesson_next").click().run()
    table = at.dataframe[0].value
    assert list(table.iloc[:, 0]) == [3, 9, 27, 81] and list(table.iloc[:, 2]) == [729, 81, 9, 1]  # divide 81
    assert list(table.iloc[:, -1]) == ["", "", "← now", ""]
    at.button(key="try_p_9").click().run()
    assert not at.exception and at.session_state["patch_size"] == 9 and lesson_header(at).startswith("Step 7")
    table = at.dataframe[0].value
    assert list(table.iloc[:, 0]) == [3, 9, 27, 81] and list(table.iloc[:, -1]) == ["", "← now", "", ""]


def app_with_url(params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(params)
    return at.run()


def test_a_share_link_opens_exactly_that_state():
    at = app_with_url({"lang": "ja", "P": "9", "D": "64", "heads": "2", "depth": "3", "seed": "5", "fit": "stretch",
                       "snap": "pad", "sample": "coffee", "q": "1,2", "layer": "2", "head": "2",
                       "view": "attention"})  # fmt: skip
    assert not at.exception and not at.warning and not at.error
    s = at.session_state
    assert (s["patch_size"], s["embed_dim"], s["num_heads"], s["depth"], s["seed"]) == (9, 64, 2, 3, 5)
    assert (s["fit_policy"], s["snap"], s["sample"], s["preset"], s["view"]) == ("stretch", "pad", "coffee", "custom",
                                                                               "attention")  # fmt: skip
    assert any("パッチ (1, 2)" in m.value for m in at.markdown)  # the query, in Japanese
    assert "ブロック 2・ヘッド 2" in str(specs(at))  # block 2, head 2
    assert at.query_params["P"] == "9" and at.query_params["q"] == "1,2"  # and the URL stays current
    assert at.query_params["view"] == "attention"
    assert len(open_view(at, "patches") and animation(at)["frames"]) == 81


def test_a_share_link_opens_the_lesson_at_its_step():
    at = app_with_url({"mode": "lesson", "step": "5", "presenter": "1"})
    assert not at.exception and lesson_header(at).startswith("Step 5 of 7")
    at.button(key="lesson_next").click().run()
    assert at.query_params["step"] == "6"


def test_a_link_with_garbage_opens_the_defaults_with_a_notice():
    at = app_with_url({"P": "banana", "zoom": "3", "D": "130", "lang": "xx", "sample": "../../etc/passwd"})
    assert not at.exception and not at.error
    (notice,) = at.warning
    for words in ("`P=banana`", "`zoom` (unknown setting)", "`lang=xx`", "divisible", "sample="):
        assert words in notice.value, words
    assert len(animation(at)["frames"]) == 9 and at.session_state["embed_dim"] == 128  # the article's defaults
    at.run()
    assert not at.warning  # said once


def test_the_url_follows_the_page():
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.number_input(key="w_patch_size").set_value(3).run()
    assert at.query_params["P"] == "3" and at.query_params["preset"] == "custom"
    upload(at, "stripes.png", gradient_png())
    assert "sample" not in at.query_params  # an uploaded picture cannot travel in a link


def test_presenter_view_restyles_the_figures(at):
    plain = animation(at)["frames"][1]["layout"]["shapes"]
    at.toggle(key="w_presenter").set_value(True).run()
    assert not at.exception
    styled = animation(at)["frames"][1]["layout"]["shapes"]
    assert [s["line"]["width"] for s in styled if s] == [max(2.0, 2 * s["line"]["width"]) for s in plain if s]
    assert "#00c853" not in json.dumps(styled) and any("presenter" in str(m.value).lower() or "プレゼンター" in
                                                       str(m.value) for m in at.caption)  # fmt: skip


# The colours a figure can draw the kernel window and its vector in, and their names on the page.
COLOUR_NAMES = {"#00c853": ("green", "緑"), "#e53935": ("red", "赤"), "#e69f00": ("orange", "オレンジ"),
                "#0072b2": ("blue", "青")}  # fmt: skip


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("presenter", [False, True])
def test_every_sentence_names_the_colours_drawn(at, lang, presenter):
    at.radio(key="w_lang").set_value(lang).run()
    at.toggle(key="w_presenter").set_value(presenter).run()
    shapes = animation(at)["frames"][1]["layout"]["shapes"]
    lines = [s["line"]["color"].lower() for s in shapes if s]  # {} holds the output grid's place
    window, vector = [colour for colour in lines if colour in COLOUR_NAMES][:2]
    i = 0 if lang == "en" else 1
    drawn = {COLOUR_NAMES[window][i], COLOUR_NAMES[vector][i]}
    others = {names[i] for names in COLOUR_NAMES.values()} - drawn
    explain = next(m.value for m in at.markdown if "P×P" in m.value and "27" in m.value)
    assert all(word in explain for word in drawn) and not any(word in explain for word in others), explain
    open_view(at, "attention")
    at.radio(key="w_q_kind").set_value("patch").run()
    query = next(m.value for m in at.markdown if "(0, 0)" in m.value)
    assert COLOUR_NAMES[window][i] in query and not any(word in query for word in others), query


def test_downloads_are_offered(at):
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Figure as HTML (opens offline)", "Stride animation (GIF)",
                      "Tensors (.npy) and config (JSON), zipped", "Weights (.safetensors, config inside)"]  # fmt: skip
    W, H = export.gif_size(81, 81)
    assert any(f"9 frames of {W}×{H} px" in c.value for c in at.caption)


@needs_shapes
def test_the_attention_step_switches_to_the_trained_model_in_one_click(at):
    at.radio(key="w_mode").set_value("lesson").run()
    for _ in range(5):
        at.button(key="lesson_next").click().run()
    at.button(key="lesson_use_shapes").click().run()
    assert not at.exception and not at.error
    assert at.session_state["weights"] == "shapes" and at.session_state["sample"].startswith("shape_")
    assert lesson_header(at).startswith("Step 6 of 7") and any("trained (shapes)" in m.value for m in at.markdown)


# ---------------------------------------------------------------- the page state: no choice is lost

# (view, widget kind, choice, a value that is not the default): every control inside a view.
CONTROLS = [
    ("patches", "slider", "step", 5),
    ("patches", "toggle", "cube3d", True),
    ("embedding", "number_input", "tok_r", 2),
    ("embedding", "number_input", "tok_c", 1),
    ("attention", "radio", "q_kind", "patch"),
    ("attention", "number_input", "q_r", 2),
    ("attention", "number_input", "q_c", 1),
    ("attention", "slider", "opacity", 0.3),
    ("attention", "slider", "layer", 2),
    ("attention", "selectbox", "head", 1),
    ("attention", "selectbox", "fusion", "max"),
    ("attention", "slider", "discard", 0.5),
]


def widget(at: AppTest, kind: str, name: str):
    return getattr(at, kind)(key=f"w_{name}")


def tour(at: AppTest) -> None:
    """Every view, every lesson step, both languages: everything a class might click through."""
    for view in VIEWS:
        open_view(at, view)
    at.radio(key="w_mode").set_value("lesson").run()
    for _ in range(6):
        at.button(key="lesson_next").click().run()
    for _ in range(6):
        at.button(key="lesson_back").click().run()
    at.radio(key="w_mode").set_value("explore").run()
    at.radio(key="w_lang").set_value("ja").run()
    for view in VIEWS:
        open_view(at, view)
    at.radio(key="w_lang").set_value("en").run()
    assert not at.exception


def test_every_choice_outlives_its_widget(at):
    for view, kind, name, value in CONTROLS:
        open_view(at, view)
        widget(at, kind, name).set_value(value).run()
        assert not at.exception and at.session_state[name] == value, name
    open_view(at, "attention")
    link = at.query_params.to_dict() if hasattr(at.query_params, "to_dict") else dict(at.query_params)
    assert link["layer"] == "2" and link["head"] == "2" and link["q"] == "2,1" and link["view"] == "attention"
    tour(at)
    for view, kind, name, value in CONTROLS:
        open_view(at, view)
        assert at.session_state[name] == value, name
        assert widget(at, kind, name).value == value, name  # and the widget shows it again
    open_view(at, "attention")
    assert (at.query_params.to_dict() if hasattr(at.query_params, "to_dict") else dict(at.query_params)) == link
    assert "block 2, head 2" in str(specs(at))


def test_the_open_view_outlives_the_lesson_and_a_language_switch(at):
    open_view(at, "paper")
    at.radio(key="w_mode").set_value("lesson").run()
    at.radio(key="w_lang").set_value("ja").run()
    at.radio(key="w_mode").set_value("explore").run()
    assert not at.exception and at.session_state["view"] == "paper"
    assert any("論文の図7" in m.value for m in at.markdown)  # the paper view is the one drawn, in Japanese
    assert len(specs(at)) == 3


def test_a_block_chosen_in_the_lesson_survives_next_and_back(at):
    at.radio(key="w_mode").set_value("lesson").run()
    for _ in range(5):
        at.button(key="lesson_next").click().run()
    assert lesson_header(at).startswith("Step 6")
    at.slider(key="w_layer").set_value(2).run()
    at.button(key="lesson_next").click().run()
    at.button(key="lesson_back").click().run()
    assert not at.exception and at.slider(key="w_layer").value == 2 and at.query_params["layer"] == "2"


def test_choices_that_no_longer_fit_are_clamped_and_the_page_says_so(at):
    open_view(at, "attention")
    at.radio(key="w_q_kind").set_value("patch").run()
    at.number_input(key="w_q_r").set_value(2).run()
    at.selectbox(key="w_head").set_value(3).run()
    at.slider(key="w_layer").set_value(3).run()
    at.number_input(key="w_depth").set_value(2).run()  # block 3 of a 2-block model
    assert not at.exception and at.slider(key="w_layer").value == 2
    assert any("Block (layer) 3 does not fit this model: showing 2." in c.value for c in at.caption)
    at.number_input(key="w_num_heads").set_value(2).run()  # head 4 of 2
    assert at.selectbox(key="w_head").value == 1
    at.number_input(key="w_patch_size").set_value(81).run()  # a 1×1 grid: the query's row 2 is gone
    assert not at.exception and at.number_input(key="w_q_r").value == 0
    assert any("Query · Row r 2 does not fit this model: showing 0." in c.value for c in at.caption)
    assert at.query_params["q"] == "0,0" and at.query_params["layer"] == "2"  # the link says what is shown


@needs_shapes
def test_every_control_shows_the_model_that_runs(at):
    open_view(at, "attention")
    assert at.slider(key="w_layer").value == 4 and "layer" not in at.query_params  # the last block of 4
    at.selectbox(key="w_weights").set_value("shapes").run()
    cfg = json.loads((ROOT / "assets" / "shapes" / "config.json").read_text())["config"]
    (H, W), P, D, depth = cfg["img_size"], cfg["patch_size"], cfg["embed_dim"], cfg["depth"]
    assert not at.exception and at.slider(key="w_layer").value == depth != 4  # still the last block
    assert at.selectbox(key="preset_of_weights").value == f"Weights: {H}×{W}, P={P}, D={D}"
    numbers = {name: at.number_input(key=f"w_{name}").value for name in ("img_h", "patch_size", "embed_dim", "depth")}
    assert numbers == {"img_h": H, "patch_size": P, "embed_dim": D, "depth": depth}
    at.selectbox(key="w_weights").set_value("random").run()
    assert at.selectbox(key="w_preset").value == "article" and at.slider(key="w_layer").value == 4


# ---------------------------------------------------------------- user text shows exactly as given


@pytest.mark.parametrize("name", ["my__draft__v2_$5$_$10$.png", "*b* [l](x) <i>.png", ":smile: `t`.jpg"])
def test_a_file_name_is_shown_exactly_as_given(at, name):
    from page import ui

    bad = upload(at, name, b"not a picture at all", "image/png")
    assert not bad.exception and len(bad.error) == 1
    assert ui.plain(name) in bad.error[0].value  # escaped: no formula, emphasis, link, HTML or emoji
    assert name in shown(bad.error[0].value)


def test_link_values_are_shown_exactly_as_given():
    from page import ui

    at = app_with_url({"sample": "a_b_$1$", "hub": "x`y", "zoom_*in*": "[1](2)"})
    assert not at.exception
    (notice,) = at.warning
    for setting in ("sample=a_b_$1$", "hub=x`y", "zoom_*in*"):
        assert ui.code(setting) in notice.value, setting


# ---------------------------------------------------------------- a model run never takes the page down


def load_weights_file(at: AppTest, data: bytes, heads: int = 2, size: int = 48) -> AppTest:
    at.selectbox(key="w_weights").set_value("pretrained").run()
    at.file_uploader(key="weights_file").set_value(("w.safetensors", data, "application/octet-stream"))
    at.number_input(key="w_upload_heads").set_value(heads).run()
    at.number_input(key="w_upload_h").set_value(size).run()
    at.number_input(key="w_upload_w").set_value(size).run()
    return at.button(key="load_hub").click().run()


def tiny_vit(seed: int = 11) -> VisionTransformer:
    from vizlib.config import ViTConfig

    return VisionTransformer(ViTConfig(img_size=(48, 48), patch_size=16, embed_dim=64, depth=2, num_heads=2,
                                       num_classes=3, seed=seed))  # fmt: skip


def test_a_checkpoint_the_page_cannot_run_is_refused_and_the_last_model_kept(at, tmp_path, monkeypatch):
    pytest.importorskip("transformers")
    from tests.test_pretrained import tiny_hf

    monkeypatch.setenv("VIT_EXPLORER_MODELS_DIR", str(tmp_path))  # the server's models folder
    tiny_hf(tmp_path / "grey", num_channels=1)
    at.selectbox(key="w_weights").set_value("pretrained").run()
    choose_hub(at, "grey")
    at.button(key="load_hub").click().run()
    assert not at.exception and len(at.error) == 1 and "1 input channels" in shown(at.error[0].value)
    assert len(animation(at)["frames"]) == 9  # the article's random model still runs
    at.number_input(key="w_patch_size").set_value(9).run()
    assert not at.exception and len(animation(at)["frames"]) == 81  # and keeps running


def test_weights_with_a_nan_are_refused_with_the_tensor_named(at):
    from safetensors.torch import save

    sd = tiny_vit().state_dict()
    sd["patch_embed.proj.weight"][0, 0, 0, 0] = float("nan")
    load_weights_file(at, save(sd))
    assert not at.exception and "patch_embed.proj.weight are not finite" in shown(at.error[0].value)
    assert len(animation(at)["frames"]) == 9 and not at.exception


def test_an_overflowing_forward_pass_says_so_and_keeps_the_last_result(at):
    from safetensors.torch import save

    good = load_weights_file(at, save(tiny_vit().state_dict()))
    assert not good.exception and not good.error and len(animation(good)["frames"]) == 9
    huge = {k: v * 1e37 if k.endswith("weight") and v.ndim > 1 else v for k, v in tiny_vit(12).state_dict().items()}
    at = load_weights_file(good, save(huge))  # finite weights: they load, then overflow
    assert not at.exception
    assert any("not finite" in shown(e.value) and "overflow" in shown(e.value) for e in at.error)
    assert any("last result that worked" in i.value for i in at.info)
    assert len(animation(at)["frames"]) == 9  # the last good run's views
    assert all(str(p) != "nan" for p in predictions(at).iloc[:, 1])


def test_an_exception_in_a_model_run_is_a_message_not_a_crash(at, monkeypatch):
    def broken(self, x, *args, **kwargs):
        raise RuntimeError("out of memory (simulated)")

    monkeypatch.setattr(VisionTransformer, "forward_trace", broken)
    at.number_input(key="w_embed_dim").set_value(64).run()  # a new model: a new forward pass, which fails
    assert not at.exception
    assert len(at.error) == 1 and "out of memory (simulated)" in shown(at.error[0].value)
    assert len(animation(at)["frames"]) == 9  # the last good run (D = 128) is still shown
    monkeypatch.undo()
    at.number_input(key="w_embed_dim").set_value(32).run()
    assert not at.exception and not at.error and "(32, 3, 3)" in " ".join(m.value for m in at.markdown)


# ---------------------------------------------------------------- sentences about the model read the loaded weights


def facts(at: AppTest) -> str:
    """Every sentence the page states, in every view, the lesson's attention step and the help texts."""
    texts = everywhere(at, lambda at: [e.value for e in [*at.markdown, *at.caption, *at.info]])
    helps = [w.help or "" for w in at.selectbox]
    return " ".join(texts + helps)


@needs_shapes
def test_the_shapes_models_facts_come_from_its_checkpoint(at):
    meta = json.loads((ROOT / "assets" / "shapes" / "config.json").read_text())
    n = len(meta["classes"])
    at.selectbox(key="w_weights").set_value("shapes").run()
    said = facts(at)
    assert f"The {n} classes the shapes model was trained on" in said
    assert f"generated pictures of {n} shapes ({', '.join(meta['classes'])})" in said
    assert "six" not in said and "placeholders" not in said
    at.selectbox(key="w_sample").set_value("chelsea").run()
    assert any("trained only on generated pictures of shapes" in i.value for i in at.info)  # a photo: out of its world


def test_random_weights_say_they_are_random(at):
    said = facts(at)
    assert "these 10 classes are placeholders" in said and "trained only on generated pictures" not in said
    at.radio(key="w_mode").set_value("lesson").run()
    for _ in range(5):
        at.button(key="lesson_next").click().run()
    assert any("These weights are random" in m.value for m in at.markdown)


def test_pretrained_and_uploaded_weights_claim_nothing_about_shapes_or_randomness(at, tmp_path, monkeypatch):
    offline_hub("google/vit-base-patch16-224", tmp_path, monkeypatch)
    at.selectbox(key="w_weights").set_value("pretrained").run()
    choose_hub(at, "google/vit-base-patch16-224")
    at.button(key="load_hub").click().run()
    assert not at.exception and not at.error
    from safetensors.torch import save

    for said in (facts(at), facts(load_weights_file(at, save(tiny_vit().state_dict())))):
        assert "trained only on generated pictures of shapes" not in said  # not the shapes model
        assert "placeholders" not in said and "With random-init weights" not in said
    at.radio(key="w_mode").set_value("lesson").run()
    for _ in range(5):
        at.button(key="lesson_next").click().run()
    assert not any("These weights are random" in m.value for m in at.markdown)


def test_link_values_that_do_not_fit_the_model_are_named():
    at = app_with_url({"q": "5,5", "head": "9", "layer": "9", "view": "attention"})  # the article: 3×3, 4 × 4
    assert not at.exception and not at.error
    (notice,) = at.warning
    for words in ("`q=5,5` (not in this model: `2,2` is shown)", "`head=9` (not in this model: `4` is shown)",
                  "`layer=9` (not in this model: `4` is shown)"):  # fmt: skip
        assert words in notice.value, words
    assert at.query_params["q"] == "2,2" and at.query_params["layer"] == "4"  # the link now says what is shown
    at.run()
    assert not at.warning  # said once


def test_the_3d_view_is_drawn_on_request(at):
    assert not any("scene" in spec["layout"] for spec in specs(at)) and any("Draw the 3D view" in c.value
                                                                            for c in at.caption)  # fmt: skip
    at.toggle(key="w_cube3d").set_value(True).run()
    assert not at.exception and len(specs(at)) == PATCH_CHARTS + 1
    (scene,) = [spec for spec in specs(at) if "scene" in spec["layout"]]
    assert len(scene["frames"]) == 9  # one per stride step, as the animation
    assert len(all_specs(at)) == CHARTS + 1


def test_an_upload_the_server_no_longer_holds_is_said_and_the_rest_kept():
    """The browser keeps its address across a server restart; the link says the picture was uploaded."""
    at = app_with_url({"src": "upload", "P": "9", "view": "embedding"})
    assert not at.exception and not at.error
    (gone,) = at.warning
    assert "uploaded picture that this server does not hold" in gone.value and "upload it again" in gone.value
    assert at.radio(key="w_source").value == "upload"  # the page agrees with its widgets
    assert at.file_uploader(key="upload_upload").value is None  # a fresh uploader, not the stale file
    assert at.session_state["patch_size"] == 9 and at.session_state["view"] == "embedding"  # the rest kept
    upload(at, "gradient.png", gradient_png())
    assert not at.warning and any(c.value == "Original: 300×200 px" for c in open_view(at, "patches").caption)
    assert at.query_params["src"] == "upload"


def test_no_figure_draws_tick_marks_without_their_labels(at):
    """An axis whose numbers are hidden shows no ticks either (they were stray marks beside pictures)."""
    at.toggle(key="w_cube3d").set_value(True).run()
    bare = []
    for spec in all_specs(at):
        layout = spec["layout"]
        axes = [(name, axis) for name, axis in layout.items() if re.fullmatch(r"[xy]axis\d*", name)]
        axes += [(f"scene.{name}", axis) for name, axis in layout.get("scene", {}).items() if name.endswith("axis")]
        for name, axis in axes:  # ticks must be "" outright: Streamlit's theme draws them where unset
            if axis.get("showticklabels") is False and axis.get("visible", True) and axis.get("ticks") != "":
                bare.append((spec["layout"].get("title"), name))
    assert not bare, bare


def test_no_figure_holds_a_colour_streamlit_replaces(at):
    """Streamlit's chart theme replaces the strings "#000001" … "#000040" in a figure with its own
    colours (its placeholders): Inferno's "#000004" drew the attention scale's black end pink."""
    at.toggle(key="w_cube3d").set_value(True).run()
    open_view(at, "attention")
    at.radio(key="w_q_kind").set_value("patch").run()
    placeholders = re.compile(r'"#0000(?:[0-3]\d|40)"', re.I)
    ours = [{**spec, "layout": {k: v for k, v in spec["layout"].items() if k != "template"}} for spec in all_specs(at)]
    found = [m.group() for spec in ours for m in placeholders.finditer(json.dumps(spec))]  # not in Streamlit's own
    assert not found, found


@needs_shapes
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_inside_the_encoder_on_the_trained_model(at, lang):
    at.radio(key="w_lang").set_value(lang).run()
    at.selectbox(key="w_weights").set_value("shapes").run()
    open_view(at, "attention")
    assert len(specs(at)) == 4  # on request only: query picker, layer × head grid, raw matrix, rollout
    at.toggle(key="w_head_step").set_value(True).run()
    at.toggle(key="w_encoder").set_value(True).run()
    assert len(specs(at)) == 4 + 2 + 3  # one head (vectors, maps); token norms, logit lens, GAE beside rollout
    at.radio(key="w_q_kind").set_value("patch").run()
    at.number_input(key="w_q_r").set_value(2).run()
    names = {m.value for m in at.subheader}
    assert len(names) >= 5 and not at.exception
    ratio = next(c.value for c in at.caption if "Darcet" in c.value)  # the token norms' longest / median
    at.slider(key="w_norm_block").set_value(1).run()  # the map after block 1
    assert not at.exception and next(c.value for c in at.caption if "Darcet" in c.value) != ratio
    check = next(c.value for c in at.caption if "|Δ|" in c.value)
    assert re.search(r"\|Δ\| = \d\.\de-(0[6-9]|1\d)", check), check  # the recomputed head equals the map
    box = at.selectbox(key="w_gae_class")
    first = box.value
    assert len(box.options) == 5
    box.select_index(1).run()
    assert not at.exception and at.selectbox(key="w_gae_class").value != first  # another class explained
    at.toggle(key="w_deletion").set_value(True).run()
    assert not at.exception
    (deletion,) = [s for s in specs(at) if all("AUC" in str(trace.get("name")) for trace in s.get("data", [None]))]
    aucs = [float(trace["name"].rsplit(" ", 1)[1]) for trace in deletion["data"]]
    assert all(0 <= a <= 1 for a in aucs) and len(aucs) == 4


def test_inside_the_encoder_on_an_upload_with_random_weights(at):
    upload(at, "stripes.png", gradient_png())
    at.number_input(key="w_patch_size").set_value(9).run()  # a 9×9 grid, 82 tokens
    open_view(at, "attention")
    at.toggle(key="w_head_step").set_value(True).run()
    at.toggle(key="w_encoder").set_value(True).run()
    assert not at.exception and not at.error
    heads = [m.value for m in at.subheader]
    assert {"Inside one head", "Block by block: the logit lens", "Which patches made the class: GAE beside rollout"} \
        <= set(heads)  # fmt: skip
    assert any("mechanism only" in c.value for c in at.caption)  # random weights: said, not hidden
    gae = [s for s in specs(at) if len(s["data"]) == 4 and s["data"][1].get("type") == "heatmap"
           and s["data"][0].get("type") == "image"]  # fmt: skip
    z = gae[0]["data"][1]["z"]  # plotly sends arrays as {"dtype", "bdata", "shape"}
    assert len(gae) == 1 and tuple(int(n) for n in str(z["shape"]).split(",")) == (9, 9)


def test_gae_on_a_large_model_runs_when_asked(monkeypatch):
    """ViT-B/16 at 224 px: opening the Attention view does not pay for a backward pass."""
    from views import encoder

    calls = []
    monkeypatch.setattr(encoder.compute, "gae", lambda c, target: calls.append(target) or torch.zeros(c.cfg.grid))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.selectbox(key="w_preset").set_value("vit_b16").run()
    open_view(at, "attention")
    at.toggle(key="w_encoder").set_value(True).run()
    assert not at.exception and calls == [] and not at.toggle(key="w_gae_on").value
    at.toggle(key="w_gae_on").set_value(True).run()
    assert not at.exception and len(calls) == 1
