"""What the server keeps per picture and in its caches is bounded in bytes, whatever is uploaded."""

from __future__ import annotations

import ctypes
import gc
import io
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from vizlib import image

BIG = (6000, 6600)  # 39.6 MP, under the 40 MP guard: 119 MB of RGB once decoded


def big_png(seed: int) -> bytes:
    """A 6,000 × 6,600 PNG of about 0.1 MB, different for each seed."""
    img = Image.new("RGB", BIG, (seed * 37 % 256, 90, 160))
    ImageDraw.Draw(img).rectangle((seed * 100, 0, seed * 100 + 400, 6599), fill=(250, seed * 11 % 256, 20))
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def rss_mib() -> float:
    gc.collect()
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    pytest.skip("no /proc/self/status on this system")


def trimmed_rss_mib() -> float:
    """Resident memory once glibc has given its freed pages back. Making the twelve pictures leaves
    freed pages behind (150 MiB one at a time, 900 MiB in two threads); measured from there, the
    server's own ``malloc_trim`` would release them and hide as much growth."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pytest.skip("not glibc: the bound is measured against glibc's malloc_trim")
    return rss_mib()


def test_a_huge_picture_keeps_a_bounded_working_copy():
    img = image.load_image(big_png(1))
    assert max(img.size) == image.WORKING_SIDE and img.size == (1862, 2048)  # aspect kept: 6000/6600·2048
    assert image.original_size(img) == BIG
    small = image.load_image(big_png(2), max_side=10_000)
    assert small.size == BIG  # the bound is a parameter
    corner = np.asarray(img)[:, 60:120]  # inside the stripe (x 100…500 of 6,000), away from its edges
    assert np.abs(corner.astype(int) - (250, 11, 20)).max() <= 2  # its colour survives the reduction


@pytest.mark.slow
def test_many_large_uploads_keep_the_server_under_its_bound():
    """Twelve distinct 6,000 × 6,600 uploads in one session: before, eight grew the process by 1.2 GB.
    Twelve is the fewest that overflow the picture cache (11 working copies of 11.4 MB fit in it)."""
    from page import compute

    compute.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.radio(key="w_source").set_value("upload").run()
    with ThreadPoolExecutor(os.cpu_count()) as pool:  # Pillow encodes outside the GIL
        uploads = list(pool.map(big_png, range(12)))
    before = trimmed_rss_mib()
    for i, data in enumerate(uploads):
        at.file_uploader(key="upload").set_value((f"big{i}.png", data, "image/png"))
        at.run()
        assert not at.exception and not at.error, i
        assert any(c.value == "Original: 6000×6600 px" for c in at.caption), i
    grown = rss_mib() - before
    held = (compute._pictures.currsize + compute._fitted.currsize) / 2**20
    print(f"12 uploads of 6000×6600: the process grew {grown:.0f} MiB; the caches hold {held:.0f} MiB")
    kept = compute._pictures.currsize + compute._fitted.currsize
    assert compute._pictures.currsize <= compute.PICTURE_CACHE_BYTES and len(compute._pictures) >= 10
    assert kept <= compute.PICTURE_CACHE_BYTES + compute.FITTED_CACHE_BYTES
    assert grown < 400, f"the process grew by {grown:.0f} MiB"  # the caches' 192 MiB, with room for the allocator
