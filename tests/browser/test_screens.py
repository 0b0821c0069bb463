"""Every screen a class uses (issue 26): a phone, a tablet, a small laptop, a projector and a wide screen,
English and Japanese, every lesson step and every explore view.

On each page: no text of a figure or a control overlaps another, no colour bar lies over a panel, no
label runs past its box or is wider than its tab or button, no title leaves its figure, the page never
scrolls sideways, and on touch screens every tap target is at least 44 px. Then what a finger does:
one tap chooses the query, Play, ×4, Pause and the frame slider answer a tap, and the layout follows
the width the browser reports.
The first screen of each page goes to ``test-artifacts/screens/{screen}-{lang}-{page}.png``.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from tests.browser.conftest import ARTIFACTS, wait_for_app
from tests.browser.layout import BOXED_LABELS, CLIPPED, OVERLAPS, SMALL_TARGETS, SQUEEZED

pytestmark = pytest.mark.browser

# name: (viewport, touch). The phone and the tablet are touched; Playwright's default User-Agent says
# nothing of a phone, so the page learns the phone's width from the browser's probe, not from a guess.
SCREENS = {
    "phone": ({"width": 390, "height": 844}, True),
    "tablet": ({"width": 768, "height": 1024}, True),
    "laptop": ({"width": 1366, "height": 768}, False),
    "projector": ({"width": 1280, "height": 720}, False),
    "wide": ({"width": 1920, "height": 1080}, False),
}
PAGES = [f"mode=lesson&step={k}" for k in range(1, 8)] + [
    f"view={v}" for v in ("patches", "embedding", "proof", "attention", "paper", "predictions")
]
WIDER_THAN_SCREEN = "() => document.documentElement.scrollWidth - window.innerWidth"
STEP_LABEL = "() => document.querySelector('.slider-container text')?.textContent || ''"  # its current value


DRAWN_FOR_THIS_SCREEN = "() => window.__vitMeasured === true && window.__vitServer === window.__vitLayout"


def probe_answered(page) -> None:
    """On a phone or a tablet opened with a desktop User-Agent the page reruns once the browser says how
    wide it is and that it is touched: wait until the run on screen was drawn for what the browser
    measured, or an element found before that rerun may be replaced under us (or a wide layout checked
    on a phone)."""
    page.wait_for_function(DRAWN_FOR_THIS_SCREEN, timeout=30_000)
    settle(page)


def open_context(browser, screen: str):
    viewport, touch = SCREENS[screen]
    return browser.new_context(viewport=viewport, has_touch=touch, is_mobile=touch)


@contextmanager
def on_a_phone(browser, address: str):
    """A touched phone's page at ``address``, drawn for the phone (after the probe's rerun)."""
    context = open_context(browser, "phone")
    try:
        page = context.new_page()
        page.goto(address)
        wait_for_app(page)
        probe_answered(page)
        yield page
    finally:
        context.close()


def settle(page, timeout: float = 90_000) -> None:
    """Until the script has finished and nothing is drawing (a page may hold no chart: the proof view)."""
    page.wait_for_selector('[data-testid="stMainBlockContainer"] [data-testid="stElementContainer"]', timeout=timeout,
                           state="attached")  # fmt: skip
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"], "
                           "[data-testid=\"stSpinner\"], [data-testid=\"stSkeleton\"]')", timeout=timeout)  # fmt: skip
    page.wait_for_timeout(800)  # plotly lays out its titles and buttons after the first paint


def open_everything(page) -> None:
    """The attention view's parts drawn on request: one head's arithmetic and the encoder's inside."""
    boxes = page.locator('[data-testid="stMain"] [data-testid="stCheckbox"] label')
    for k in range(boxes.count()):
        boxes.nth(k).click()
        page.wait_for_timeout(500)
        settle(page)


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("screen", list(SCREENS))
def test_every_page_reads_whole_on_every_screen(browser, app_url, screen, lang):
    context = open_context(browser, screen)
    touch = SCREENS[screen][1]
    out = ARTIFACTS / "screens"
    out.mkdir(parents=True, exist_ok=True)
    faults = {}
    try:
        page = context.new_page()
        for where in PAGES:
            page.goto(f"{app_url}/?lang={lang}&{where}")
            page.wait_for_timeout(500)
            probe_answered(page)
            if where == "view=attention":
                open_everything(page)
            found = [fault for check in (OVERLAPS, CLIPPED, BOXED_LABELS, SQUEEZED) for fault in page.evaluate(check)]
            if touch:
                found += page.evaluate(SMALL_TARGETS)
            if (extra := page.evaluate(WIDER_THAN_SCREEN)) > 0:
                found.append(f"the page is {extra} px wider than the screen")
            page.screenshot(path=out / f"{screen}-{lang}-{where.replace('&', '-').replace('=', '')}.png")
            if found:
                faults[where] = found
    finally:
        context.close()
    assert not faults, faults


def test_one_tap_chooses_the_query(browser, app_url):
    with on_a_phone(browser, f"{app_url}/?view=attention") as page:
        page.get_by_text("Showing where CLS looks", exact=False).first.wait_for()
        picker = page.locator(".st-key-query_picker .nsewdrag").first
        picker.scroll_into_view_if_needed()
        box = picker.bounding_box()
        page.touchscreen.tap(box["x"] + box["width"] * 0.85, box["y"] + box["height"] * 0.85)  # the last patch
        page.get_by_text("Showing where patch (2, 2)", exact=False).first.wait_for(timeout=30_000)


def test_play_pause_and_the_frame_slider_answer_a_finger(browser, app_url):
    with on_a_phone(browser, f"{app_url}/?mode=lesson&step=3") as page:
        buttons = page.locator(".st-key-stride_animation .updatemenu-button")
        buttons.first.scroll_into_view_if_needed()
        assert buttons.count() == 3
        heights = [buttons.nth(i).bounding_box()["height"] for i in range(3)]
        assert min(heights) >= 44, heights  # Play, ×4, Pause
        assert page.evaluate(STEP_LABEL).startswith("window 1 /")
        buttons.first.tap()  # Play: about 1.1 s a window for the 9 windows
        page.wait_for_function(f"() => !({STEP_LABEL})().startsWith('window 1 /')", timeout=10_000)
        buttons.nth(2).tap()  # Pause
        page.wait_for_timeout(300)
        paused = page.evaluate(STEP_LABEL)
        page.wait_for_timeout(2500)  # two windows' time
        assert page.evaluate(STEP_LABEL) == paused
        rail = page.locator(".st-key-stride_animation .slider-rail-touch-rect").first
        rail.scroll_into_view_if_needed()
        box = rail.bounding_box()
        page.touchscreen.tap(box["x"] + box["width"] - 4, box["y"] + box["height"] / 2)  # the rail's right end
        page.wait_for_function(f"() => ({STEP_LABEL})().startsWith('window 9 /')", timeout=10_000)


def test_the_layout_follows_the_width_the_browser_reports(browser, app_url):
    """A laptop's window made phone-narrow: the lesson's heading becomes one row of ◀ and ▶, the
    overview runs top to bottom; made wide again, it goes back. No reload: the probe tells the server."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(f"{app_url}/?mode=lesson&step=2")
        wait_for_app(page)
        page.get_by_role("button", name="Next ▶").wait_for()
        overview = ".st-key-overview .shapelayer path"
        boxes = page.locator(overview)
        wide = [boxes.nth(i).bounding_box() for i in range(boxes.count())]
        middle = lambda b: (round(b["x"] + b["width"] / 2), round(b["y"] + b["height"] / 2))  # noqa: E731
        assert len({middle(b)[1] for b in wide}) == 1  # five boxes in a row
        page.set_viewport_size({"width": 390, "height": 844})
        page.get_by_role("button", name="▶", exact=True).wait_for(timeout=30_000)
        assert page.evaluate("() => window.__vitSent") is not None  # the probe told the server
        wait_for_app(page)
        narrow = [boxes.nth(i).bounding_box() for i in range(boxes.count())]
        assert len({middle(b)[0] for b in narrow}) == 1 and len({middle(b)[1] for b in narrow}) == 5  # a column
        assert page.evaluate(OVERLAPS) == [] and page.evaluate(WIDER_THAN_SCREEN) <= 0
        page.set_viewport_size({"width": 1280, "height": 800})
        page.get_by_role("button", name="Next ▶").wait_for(timeout=30_000)
    finally:
        context.close()


def test_a_phone_that_says_so_is_laid_out_for_a_phone_from_the_first_run(browser, app_url):
    """A phone's User-Agent ("Mobile"): the first run is already narrow (no second run for the probe)."""
    agent = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Version/18.0 Mobile/15E148 Safari/604.1")  # fmt: skip
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True,
                                  user_agent=agent)  # fmt: skip
    try:
        page = context.new_page()
        page.goto(f"{app_url}/?mode=lesson&step=1")
        wait_for_app(page)
        page.get_by_role("button", name="▶", exact=True).wait_for(timeout=30_000)
        page.wait_for_timeout(1500)
        assert page.evaluate("() => window.__vitSent") is None  # the probe agreed: it sent nothing, no rerun
    finally:
        context.close()
