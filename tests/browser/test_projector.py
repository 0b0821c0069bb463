"""In front of a class: a 1280×720 projector, Japanese and English, presenter view on and off.

Measured in the browser (bounding boxes, checked radios), not in AppTest: what overlaps, what is cut
off, what falls below the first screen. Screenshots of every lesson step at 1280×720 in presenter
view go to ``test-artifacts/projector-{lang}-step{k}.png``.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import ARTIFACTS, wait_for_app
from tests.browser.layout import (
    CHECKED_RADIOS,
    CLIPPED,
    MAIN_FIGURE,
    MAIN_FIGURE_DRAWN,
    NAMED_PARTS,
    OVERLAPS,
    collapse_sidebar,
)

pytestmark = pytest.mark.browser
PROJECTOR = {"width": 1280, "height": 720}


@pytest.fixture
def browser_page(browser):
    """A new page for a viewport of the test's choosing: ``open_page(viewport)``."""
    contexts = []

    def open_page(viewport: dict):
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def shown_choices(page) -> dict:
    """Checked radio labels by group label, the selected tab, the selectboxes' shown values."""
    radios = {group["label"]: group["checked"] for group in page.evaluate(CHECKED_RADIOS)}
    tab = page.locator('[role="tab"][aria-selected="true"]').inner_text().strip()
    boxes = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"] input[role="combobox"]')
    return {"radios": radios, "tab": tab, "boxes": [boxes.nth(i).input_value() for i in range(boxes.count())]}


def test_a_language_switch_keeps_every_choice_shown_both_ways(page):
    page.get_by_role("tab", name="Attention").click()
    page.get_by_text("A patch", exact=True).click()
    page.get_by_text("Showing where", exact=False).first.wait_for()
    page.wait_for_function("() => document.body.innerText.includes('patch (0, 0)')")
    english = {"Language / 言語": ["English"], "View": ["Explore (every view)"], "Image source": ["Sample photo"],
               "Query": ["A patch"]}  # fmt: skip
    japanese = {"言語 / Language": ["日本語"], "表示": ["探索（すべての表示）"], "画像の入力元": ["サンプル写真"],
                "クエリ": ["パッチ"]}  # fmt: skip
    assert shown_choices(page)["radios"] == english
    for switch, radios, tab, words in [("日本語", japanese, "アテンション（注意）", "猫（チェルシー）"),
                                       ("English", english, "Attention", "Cat (Chelsea)")]:  # fmt: skip
        page.get_by_text(switch, exact=True).click()
        page.get_by_role("tab", name=tab).wait_for(timeout=60_000)
        wait_for_app(page)
        page.wait_for_timeout(500)
        shown = shown_choices(page)
        assert shown["radios"] == radios, shown  # one option checked in every group, the one chosen
        assert shown["tab"] == tab and words in shown["boxes"], shown


@pytest.mark.parametrize("lang, steps", [("en", "Step {k} of 7"), ("ja", "レッスン {k} / 7")])
def test_every_lesson_step_fits_a_projector(browser_page, app_url, lang, steps):
    page = browser_page(PROJECTOR)
    for k in range(1, 8):
        page.goto(f"{app_url}/?mode=lesson&step={k}&presenter=1&lang={lang}")
        page.get_by_text(steps.format(k=k), exact=False).first.wait_for(timeout=60_000)
        wait_for_app(page)
        collapse_sidebar(page)
        page.wait_for_function(MAIN_FIGURE_DRAWN, timeout=60_000)
        top, bottom, left, right = page.evaluate(MAIN_FIGURE)
        page.screenshot(path=ARTIFACTS / f"projector-{lang}-step{k}.png")
        assert 0 <= top < bottom <= PROJECTOR["height"], (k, top, bottom)  # all of it on the first screen
        assert 0 <= left < right <= PROJECTOR["width"], (k, left, right)
        parts = page.evaluate(NAMED_PARTS)  # step 2: the window, the kernels, the strip and the equality line;
        below = [p for p in parts if p["bottom"] > PROJECTOR["height"] + 1]  # step 6: both maps and the buttons
        assert parts and not below, (k, below)
        assert page.evaluate(CLIPPED) == [], k
        sizes = page.evaluate("""() => [...document.querySelectorAll('.stMain [data-testid="stMarkdownContainer"] p')]
            .filter(p => p.innerText.length > 100).map(p => parseFloat(getComputedStyle(p).fontSize))""")
        assert sizes and min(sizes) >= 22, (k, sizes)  # px, the step's text, against Streamlit's 16


# What a class sees: the explore views with the most controls and the lesson's widest steps.
PAGES = ["view=patches", "view=attention", "view=embedding", "mode=lesson&step=3", "mode=lesson&step=6"]


@pytest.mark.parametrize("presenter", [0, 1])
@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("width", [1280, 1920])
def test_no_text_or_control_overlaps_another(browser_page, app_url, width, lang, presenter):
    page = browser_page({"width": width, "height": 1200})
    faults = {}
    for where in PAGES:
        page.goto(f"{app_url}/?lang={lang}&presenter={presenter}&{where}")
        wait_for_app(page)
        if where == "view=attention":  # the parts drawn on request too: one head's arithmetic, the encoder's inside
            for k in range(2):
                page.locator('[data-testid="stMain"] [data-testid="stCheckbox"] label').nth(k).click()
                page.wait_for_timeout(1500)
                wait_for_app(page)
            page.get_by_text("Darcet", exact=False).first.wait_for(timeout=60_000)
        page.wait_for_timeout(800)  # plotly lays out its titles and buttons after the first paint
        if found := page.evaluate(OVERLAPS) + page.evaluate(CLIPPED):
            faults[where] = found
            page.screenshot(path=ARTIFACTS / f"overlap-{width}-{lang}-{presenter}-{where.replace('&', '-')}.png")
    assert not faults, faults


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_every_preset_and_the_trained_weights_read_whole_in_the_sidebar(browser_page, app_url, lang):
    page = browser_page({"width": 1280, "height": 900})
    faults = {}
    for where in ("preset=vit_s16", "preset=vit_b16", "weights=shapes"):
        page.goto(f"{app_url}/?lang={lang}&presenter=1&{where}")
        wait_for_app(page)
        if found := page.evaluate(CLIPPED):
            faults[where] = found
    assert not faults, faults
