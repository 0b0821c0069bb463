"""What a browser shows for the pictures the loader decodes (vizlib.image): Chromium as the reference."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from tests.test_image import SHOWN_FIRST
from vizlib.image import load_image

pytestmark = pytest.mark.browser


def test_chromium_shows_the_same_first_frame(browser):
    """Each file in an <img> on a white page in headless Chromium, pixel for pixel (APNG with a
    fallback default image, animated and flagless WebP)."""
    page = browser.new_page(viewport={"width": 200, "height": 100})
    try:
        for name, data, _ in SHOWN_FIRST:
            mime = "image/png" if data.startswith(b"\x89PNG") else "image/webp"
            src = f"data:{mime};base64,{base64.b64encode(data).decode()}"
            page.set_content(f'<body style="margin:0;background:#fff"><img id="pic" src="{src}"></body>')
            page.wait_for_function("document.getElementById('pic').complete", timeout=10_000)
            shot = page.screenshot(clip={"x": 0, "y": 0, "width": 40, "height": 30})
            shown = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).astype(int)
            assert np.abs(np.asarray(load_image(data)).astype(int) - shown).max() <= 3, name
    finally:
        page.close()
