"""A student's phone that opens the teacher's presenter link: the projector's sizes stay on the
projector (issue 26); a laptop-wide screen still gets them."""

from __future__ import annotations

import pytest

from page.theme import PRESENTER_MIN_WIDTH
from tests.browser.conftest import wait_for_app

pytestmark = pytest.mark.browser
TEXT_SIZE = """() => Math.max(...[...document.querySelectorAll('.stMain [data-testid="stMarkdownContainer"] p')]
    .filter(p => p.innerText.length > 60).map(p => parseFloat(getComputedStyle(p).fontSize)))"""


@pytest.mark.parametrize("width, presenter_sizes", [(390, False), (PRESENTER_MIN_WIDTH - 1, False), (1280, True)])
def test_presenter_sizes_only_where_the_screen_is_wide(browser, app_url, width, presenter_sizes):
    context = browser.new_context(viewport={"width": width, "height": 844}, has_touch=width < 800)
    try:
        page = context.new_page()
        page.goto(f"{app_url}/?mode=lesson&step=1&presenter=1")
        wait_for_app(page)
        page.get_by_text("Step 1 of 7", exact=False).first.wait_for(timeout=60_000)
        size = page.evaluate(TEXT_SIZE)
        assert (size >= 22) == presenter_sizes, (width, size)  # 1.45rem = 23.2 px against Streamlit's 16
    finally:
        context.close()
