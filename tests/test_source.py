"""``page.source.WeightsSource``: the one name of what a model runs with, printed and read back."""

from __future__ import annotations

import pytest

from page.source import FILE, HUB, RANDOM, REAL, SHAPES, WeightsSource

EVERY_KIND = [
    (WeightsSource(RANDOM), "random", "random"),
    (WeightsSource(SHAPES, name="final"), "shapes@final", "final"),
    (WeightsSource(SHAPES, name="1200"), "shapes@1200", "1200"),
    (WeightsSource(REAL), "real", "real"),
    (WeightsSource(HUB, name="facebook/dinov2-small"), "hf:facebook/dinov2-small", "facebook/dinov2-small"),
    (WeightsSource(HUB, name="my-folder"), "hf:my-folder", "my-folder"),
    (WeightsSource(FILE, digest="ab12cd34ef" * 6 + "0123", heads=6, size=(224, 224)),
     "file:" + "ab12cd34ef" * 6 + "0123:6:224:224", "upload ab12cd34"),
]  # fmt: skip


@pytest.mark.parametrize(("source", "text", "shown"), EVERY_KIND)
def test_each_kind_prints_itself_and_reads_back(source, text, shown):
    assert str(source) == text
    assert WeightsSource.parse(text) == source and hash(WeightsSource.parse(text)) == hash(source)
    assert source.shown == shown
    assert source.trained == (source.kind != RANDOM)


@pytest.mark.parametrize(
    "make",
    [lambda: WeightsSource("imagenet"), lambda: WeightsSource(HUB), lambda: WeightsSource(RANDOM, name="x"),
     lambda: WeightsSource(FILE), lambda: WeightsSource(REAL, heads=4), lambda: WeightsSource.parse("file:abc:6"),
     lambda: WeightsSource.parse("shapes@")],
)  # fmt: skip
def test_a_source_its_kind_does_not_take_is_refused(make):
    with pytest.raises(ValueError):
        make()
