"""What only a browser shows: the page loads, an upload renders, charts are drawn."""

from __future__ import annotations

import io
import json
import time

import pytest
from PIL import Image

from tests.browser.conftest import ARTIFACTS, shoot, wait_for_app

pytestmark = pytest.mark.browser


def test_page_loads_upload_renders_a_chart(page, tmp_path):
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator(".js-plotly-plot").count() >= 2
    shoot(page, "browser-loaded")

    page.get_by_text("Upload", exact=True).click()
    page.wait_for_selector('[data-testid="stFileUploader"] input[type="file"]', state="attached")
    photo = tmp_path / "stripes.png"
    img = Image.new("RGB", (320, 240), (30, 90, 200))
    for x in range(0, 320, 40):
        img.paste((240, 200, 40), (x, 0, x + 20, 240))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    photo.write_bytes(buf.getvalue())
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(photo))
    page.get_by_text("Original: 320×240 px").wait_for(timeout=60_000)  # the page now shows our picture
    wait_for_app(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    assert page.locator(".js-plotly-plot").count() >= 2
    assert shoot(page, "browser-uploaded").stat().st_size > 10_000


def test_japanese_switch_redraws_labels_and_selected_values(page):
    page.get_by_text("日本語", exact=True).click()
    page.get_by_text("パッチ分割", exact=True).wait_for(timeout=60_000)
    wait_for_app(page)
    # The selectboxes' selected text too, which Streamlit alone would leave in English.
    boxes = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"] input[role="combobox"]')
    values = [boxes.nth(i).input_value() for i in range(boxes.count())]
    assert "猫（チェルシー）" in values and "中央を切り抜いてから縮小" in values
    assert not any("Cat" in v or "crop" in v for v in values)
    shoot(page, "browser-japanese")


ANIMATION_JS = """() => [...document.querySelectorAll('.js-plotly-plot')]
    .find(gd => gd._transitionData && gd._transitionData._frames.length > 0)"""


def test_play_advances_the_stride_animation(page):
    frames = page.wait_for_function(
        f"() => {{ const gd = ({ANIMATION_JS})(); return gd && gd._transitionData._frames.length; }}"
    )
    assert frames.json_value() == 9
    current = page.locator(".slider-group > .slider-label").first
    assert current.text_content().startswith("window 1 / 9")
    page.locator(".updatemenu-button", has_text="▶ Play").first.click()
    page.wait_for_function(
        "() => { const t = document.querySelector('.slider-group > .slider-label'); "
        "return t && !t.textContent.startsWith('window 1 / 9'); }",
        timeout=15_000,
    )
    page.wait_for_timeout(1500)
    shoot(page, "browser-playing")
    step = int(current.text_content().split()[1])
    assert 2 <= step <= 9


CLICK_POINT_JS = """([chartIndex, traceIndex, pointIndex]) => {
    const gd = document.querySelectorAll('.js-plotly-plot')[chartIndex];
    gd.scrollIntoView({block: 'center'});
    const trace = gd._fullData[traceIndex], L = gd._fullLayout, rect = gd.getBoundingClientRect();
    return [rect.left + L.xaxis._offset + L.xaxis.l2p(trace.x[pointIndex]),
            rect.top + L.yaxis._offset + L.yaxis.l2p(trace.y[pointIndex])];
}"""


def click_point(page, chart_index: int, trace_index: int, point_index: int) -> None:
    """A real mouse click where plotly draws a point (plotly picks points from the mouse position)."""
    x, y = page.evaluate(CLICK_POINT_JS, [chart_index, trace_index, point_index])
    page.mouse.move(x, y)
    page.wait_for_timeout(300)
    page.mouse.click(x, y)


def test_clicking_a_cell_selects_its_token(page):
    page.get_by_role("tab", name="Embedding grid").click()
    page.get_by_text("Cell (0, 0) becomes token 1").wait_for(timeout=30_000)
    wait_for_app(page)
    charts = page.evaluate(
        "() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => gd._fullData.map(t => t.mode || ''))"
    )
    chart = next(i for i, modes in enumerate(charts) if modes.count("markers") == 2)  # the PCA grid
    click_point(page, chart, len(charts[chart]) - 1, 5)  # the output cells' markers, point 5 = cell (1, 2)
    page.get_by_text("Cell (1, 2) becomes token 6").wait_for(timeout=30_000)
    wait_for_app(page)
    shoot(page, "browser-token-clicked")


def frame_count(page) -> int:
    """The stride animation's frame count, once it is drawn (the page may still be drawing charts)."""
    handle = page.wait_for_function(
        f"() => {{ const gd = ({ANIMATION_JS})(); return gd && gd._transitionData._frames.length; }}", timeout=60_000
    )
    return handle.json_value()


def test_changing_p_changes_the_grid_and_the_frames(page):
    assert frame_count(page) == 9
    box = page.get_by_label("Patch size P", exact=True)
    box.fill("9")
    box.press("Enter")
    page.get_by_text("9×9 grid").first.wait_for(timeout=60_000)
    wait_for_app(page)
    page.wait_for_function(f"() => ({ANIMATION_JS})()._transitionData._frames.length === 81", timeout=30_000)
    shoot(page, "browser-p9")


def test_clicking_a_patch_makes_it_the_attention_query(page):
    page.get_by_role("tab", name="Attention").click()
    page.get_by_text("Showing where CLS looks.").wait_for(timeout=30_000)
    wait_for_app(page)  # only the open tab runs: its charts arrive after the click, the old tab's go
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot')].some(gd => gd._fullData"
        " && gd._fullData.map(t => t.type).join(',') === 'image,heatmap,scatter')",
        timeout=30_000,
    )
    charts = page.evaluate(
        "() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => gd._fullData.map(t => t.type).join(','))"
    )
    picker = charts.index("image,heatmap,scatter")  # the clickable attention picture
    click_point(page, picker, 2, 4)  # point 4 of a 3 × 3 grid: patch (1, 1)
    page.get_by_text("patch (1, 1)").first.wait_for(timeout=30_000)
    wait_for_app(page)
    shoot(page, "browser-attention-query")


# The parameter corpus through the page: (label → value, in order), the text that must then show.
LABELS = {"img_h": "Height H", "img_w": "Width W", "patch_size": "Patch size P",
          "embed_dim": "Dim D", "depth": "Blocks (depth)", "num_heads": "Heads"}  # fmt: skip
BROWSER_CORPUS = [
    ("p1", dict(patch_size=1), "81×81 grid of patches, N = 6561"),
    ("p-image-size", dict(patch_size=81), "1×1 grid of patches, N = 1"),
    ("d-not-divisible", dict(embed_dim=130), "must be divisible by the number of heads 4"),
    ("depth1", dict(embed_dim=128, depth=1), None),  # the error goes away
    ("depth12", dict(depth=12, patch_size=27), "3×3 grid of patches"),
    ("token-cap", dict(depth=1, num_heads=1, embed_dim=8, img_h=128, img_w=128, patch_size=1), "N = 16384 tokens"),
    ("past-token-cap", dict(img_w=129), "128×129 = 16512 patches is more than the limit of 16384"),
]


def test_the_parameter_corpus_shows_a_result_or_a_message(page):
    errors = page.locator('[data-testid="stAlertContentError"]')
    for name, settings, words in BROWSER_CORPUS:
        for key, value in settings.items():
            box = page.get_by_label(LABELS[key], exact=True)
            box.fill(str(value))
            box.press("Enter")
            page.wait_for_timeout(200)
        if words is None:
            page.wait_for_function("() => !document.querySelector('[data-testid=\"stAlertContentError\"]')",
                                   timeout=60_000)  # fmt: skip
        else:
            page.get_by_text(words).first.wait_for(timeout=120_000)
        wait_for_app(page, timeout=120_000)
        assert page.locator('[data-testid="stException"]').count() == 0, name
        assert (errors.count() > 0) == ("limit" in (words or "") or "divisible" in (words or "")), name
        shoot(page, f"browser-corpus-{name}")


def test_walk_the_lesson_in_japanese_with_next_and_the_keyboard(page):
    start = time.perf_counter()
    page.get_by_text("日本語", exact=True).click()
    page.get_by_text("授業（7 レッスン）", exact=True).click()
    for k in range(1, 8):
        page.get_by_text(f"レッスン {k} / 7", exact=False).first.wait_for(timeout=60_000)
        wait_for_app(page)
        assert page.locator('[data-testid="stException"]').count() == 0, k
        shoot(page, f"browser-lesson-{k}")
        if k < 7:
            page.get_by_test_id("stBaseButton-primary").filter(has_text="次へ").click()  # the lesson's Next
    walk = time.perf_counter() - start
    (ARTIFACTS / "lesson-walk.json").write_text(json.dumps({"steps": 7, "seconds": round(walk, 1)}))
    page.locator("body").press("ArrowLeft")  # the ← shortcut goes back a step
    page.get_by_text("レッスン 6 / 7", exact=False).first.wait_for(timeout=30_000)
    page.wait_for_url(lambda url: "step=6" in url and "lang=ja" in url, timeout=30_000)  # the share link follows


def test_presenter_view_at_projector_size(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    try:
        page.goto(f"{app_url}/?mode=lesson&step=3&presenter=1")
        page.get_by_text("Step 3 of 7", exact=False).first.wait_for(timeout=60_000)
        wait_for_app(page)
        body = page.get_by_text("The stride equals the kernel size", exact=False).first
        size = body.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
        assert size >= 22  # px, against Streamlit's 16
        page.screenshot(path=ARTIFACTS / "browser-presenter-1280x720.png")
    finally:
        context.close()


@pytest.mark.parametrize("name", ["my__draft__v2_$5$_$10$.png", ":smile: *b* [l](x) <i>.png"])
def test_a_file_name_reads_exactly_as_given(page, tmp_path, name):
    page.get_by_text("Upload", exact=True).click()
    page.wait_for_selector('[data-testid="stFileUploader"] input[type="file"]', state="attached")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"this is not a picture")
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        {"name": name, "mimeType": "image/png", "buffer": bad.read_bytes()}
    )
    error = page.locator('[data-testid="stAlertContentError"]').first
    error.wait_for(timeout=60_000)
    assert name in error.inner_text()  # Streamlit's renderer: no formula, emphasis, link, tag or emoji
    assert error.locator(".katex, em, strong, a, i").count() == 0


def test_after_a_server_restart_the_page_says_the_upload_is_gone(browser, tmp_path):
    """A real restart: the page reconnects to a new server, which does not hold the upload."""
    import socket
    import subprocess
    import sys
    import urllib.request

    from tests.browser.conftest import ROOT

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true", f"--server.port={port}",
           "--server.address=127.0.0.1", "--browser.gatherUsageStats=false"]  # fmt: skip

    def serve() -> subprocess.Popen:
        server = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        for _ in range(240):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
                return server
            except OSError:
                time.sleep(0.25)
        pytest.fail("streamlit did not become healthy")

    server = serve()
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(f"http://127.0.0.1:{port}/?P=9")
        wait_for_app(page)
        page.get_by_text("Upload", exact=True).click()
        buf = io.BytesIO()
        Image.new("RGB", (120, 90), (200, 40, 40)).save(buf, format="PNG")
        page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
            {"name": "red.png", "mimeType": "image/png", "buffer": buf.getvalue()}
        )
        page.get_by_text("Original: 120×90 px").wait_for(timeout=60_000)
        sockets = []
        page.on("websocket", lambda ws: sockets.append(ws))
        server.terminate()
        server.wait(timeout=20)
        server = serve()  # the same address: the page reconnects by itself
        deadline = time.monotonic() + 90
        while not sockets and time.monotonic() < deadline:
            page.wait_for_timeout(250)
        assert sockets, "the page did not reconnect"
        gone = page.get_by_text("uploaded picture that this server does not hold")
        for tab in ["Embedding grid", "Patch splitting", "Attention"]:  # any click: the new server's first run
            page.wait_for_timeout(1000)
            page.get_by_role("tab", name=tab).click()
            try:
                gone.wait_for(timeout=30_000)
                break
            except Exception:  # a click while the page was still reconnecting is dropped: click again
                continue
        gone.wait_for(timeout=30_000)
        wait_for_app(page)
        page.get_by_text("red.png").wait_for(state="detached", timeout=60_000)  # the uploader no longer lists it
        page.get_by_role("tab", name="Patch splitting").click()
        page.get_by_text("9×9 grid").first.wait_for(timeout=60_000)  # the link's settings are kept
        shoot(page, "browser-upload-gone")
    finally:
        context.close()
        server.terminate()
        server.wait(timeout=20)
