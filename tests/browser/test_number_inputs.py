"""What only a browser does with a number typed: a bounded field keeps 99999 without sending it, and
an integer field reads "1e1" as 1. The page's inputs take every number as typed and refuse, with a
message, what the page cannot run: the field, the link and the page show the same number."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser.conftest import shoot, wait_for_app

pytestmark = pytest.mark.browser


def type_into(page, label: str, text: str) -> None:
    """Type ``text`` key by key into the number input ``label`` (as a person does) and press Enter."""
    box = page.get_by_label(label, exact=True)
    box.click()
    box.press("Control+A")
    box.press("Delete")
    box.press_sequentially(text)
    box.press("Enter")


def link(page) -> dict[str, str]:
    return {name: values[-1] for name, values in parse_qs(urlparse(page.url).query).items()}


def settled(page) -> None:
    """Until the rerun the last action started has finished."""
    page.wait_for_timeout(800)
    wait_for_app(page)


@pytest.mark.parametrize("typed", ["99999", "-0"])
def test_a_patch_size_out_of_range_gets_a_message_and_the_field_shows_the_one_in_use(page, typed):
    type_into(page, "Patch size P", typed)
    message = page.get_by_text(f"Patch size P = {typed} was not taken, and stays 27")
    message.wait_for(timeout=60_000)
    settled(page)
    assert page.get_by_label("Patch size P", exact=True).input_value() == "27"
    assert page.get_by_label("Patch size P", exact=True).get_attribute("aria-invalid") != "true"
    assert link(page)["P"] == "27" and page.get_by_text("3×3 grid").first.is_visible()
    shoot(page, f"browser-p-{typed.replace('-', 'minus')}")


def test_1e1_typed_as_a_seed_is_ten_never_one(page):
    type_into(page, "Seed", "1e1")
    page.wait_for_function("() => new URLSearchParams(location.search).get('seed') === '10'", timeout=60_000)
    settled(page)
    assert page.get_by_label("Seed", exact=True).input_value() == "10"
    type_into(page, "Seed", "2.5")
    page.get_by_text("Seed = 2.5 was not taken, and stays 10").wait_for(timeout=60_000)
    settled(page)
    assert page.get_by_label("Seed", exact=True).input_value() == "10" and link(page)["seed"] == "10"


def test_a_token_typed_inside_its_fragment_reaches_the_link(page):
    page.get_by_role("tab", name="Embedding grid").click()
    page.get_by_text("Cell (0, 0) becomes token 1").wait_for(timeout=30_000)
    wait_for_app(page)
    rows = page.get_by_label("Row r", exact=True)
    type_into(page, "Row r", "2")
    page.get_by_text("Cell (2, 0) becomes token 7").wait_for(timeout=30_000)
    page.wait_for_function("() => new URLSearchParams(location.search).get('tok') === '2,0'", timeout=30_000)
    type_into(page, "Row r", "7")  # a 3 × 3 grid
    page.get_by_text("Row r = 7 was not taken, and stays 2").wait_for(timeout=30_000)
    settled(page)
    assert rows.input_value() == "2" and link(page)["tok"] == "2,0"
