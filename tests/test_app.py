"""The page, driven by Streamlit's AppTest: default run, an upload, a bad file."""

from __future__ import annotations

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, png_bytes

APP = str(ROOT / "app.py")


@pytest.fixture
def at() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60).run()


def top_logits(at: AppTest) -> list[float]:
    table = at.dataframe[0].value
    return list(table.iloc[:, 2])


def upload(at: AppTest, name: str, data: bytes, mime: str = "image/png") -> AppTest:
    at.radio(key="source").set_value("upload").run()
    at.file_uploader(key="upload").set_value((name, data, mime))
    return at.run()


def test_default_run_shows_the_article_example(at):
    assert not at.exception
    strip = " ".join(m.value for m in at.markdown)
    assert "(3, 81, 81)" in strip and "(128, 3, 3)" in strip and "(9, 128)" in strip and "(10, 128)" in strip
    assert len(top_logits(at)) == 5
    assert any("ms on cpu" in c.value for c in at.caption)


def test_upload_changes_the_logits(at):
    before = top_logits(at)
    gradient = Image.linear_gradient("L").resize((300, 200)).convert("RGB")
    after_at = upload(at, "gradient.png", png_bytes(gradient))
    assert not after_at.exception and not after_at.error
    assert top_logits(after_at) != before


def test_bad_file_shows_an_error_and_keeps_the_last_good_picture(at):
    good = upload(at, "gradient.png", png_bytes(Image.linear_gradient("L").convert("RGB")))
    logits = top_logits(good)
    bad = upload(good, "notes.png", b"this is not a picture", "image/png")
    assert not bad.exception
    assert len(bad.error) == 1 and "notes.png" in bad.error[0].value and "not a picture" in bad.error[0].value
    assert top_logits(bad) == logits  # the last good upload is still the one shown
