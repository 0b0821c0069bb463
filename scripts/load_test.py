"""A classroom on loopback: `make load` (or `python -m scripts.load_test --sessions 8`).

Starts `streamlit run` on 127.0.0.1, opens N concurrent browser sessions (Playwright contexts
in one headless Debian Chromium), and in each: loads the app, uploads a picture, then changes
P and D a few times, each time waiting until the new chart is in the page. Bounded in count
and time; only loopback traffic. Reports errors, p50/p95 time from a change to the rendered
chart, and the server's peak resident memory (VmHWM).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip
CHANGES = [("Patch size P", 9, "9×9 grid"), ("Embedding dim D", 64, "(64, 9, 9)"), ("Patch size P", 27, "3×3 grid"),
           ("Embedding dim D", 96, "(96, 3, 3)")]  # fmt: skip


def start_server() -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true", f"--server.port={port}",
           "--server.address=127.0.0.1", "--browser.gatherUsageStats=false"]  # fmt: skip
    log = open(ROOT / "test-artifacts" / "load-server.log", "w") if (ROOT / "test-artifacts").is_dir() else None
    server = subprocess.Popen(cmd, cwd=ROOT, stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
            return server, url
        except OSError:
            time.sleep(0.25)
    server.kill()
    raise RuntimeError("streamlit did not start")


def peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        return int(next(line for line in status if line.startswith("VmHWM:")).split()[1]) / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used (its share of the cores the browsers also use)."""
    import os

    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def picture(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.effect_noise((200, 150), 40 + seed).convert("RGB").save(buf, format="PNG")
    return buf.getvalue()


async def settle(page, text: str, timeout: float) -> None:
    await page.get_by_text(text).first.wait_for(timeout=timeout)
    await page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && document.querySelectorAll('.js-plotly-plot .main-svg').length > 0",
        timeout=timeout,
    )


async def session(
    browser,
    url: str,
    k: int,
    timings: list[float],
    uploads: list[float],
    errors: list[str],
    timeout: float,
    ramp: float = 0.0,
    retries: list[int] | None = None,
) -> None:
    retries = retries if retries is not None else [0]
    await asyncio.sleep(k * ramp)  # students arrive over a few seconds, not in the same millisecond
    context = await browser.new_context(viewport={"width": 1300, "height": 900})
    context.set_default_timeout(timeout)
    page = await context.new_page()
    try:
        await page.goto(url, timeout=timeout)
        await settle(page, "3×3 grid", timeout)
        await page.get_by_text("Upload", exact=True).click()
        uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]')
        await uploader.wait_for(state="attached", timeout=timeout)
        start = time.perf_counter()
        await uploader.set_input_files(files=[{"name": f"s{k}.png", "mimeType": "image/png", "buffer": picture(k)}])
        await settle(page, "Original: 200×150 px", timeout)
        uploads.append(time.perf_counter() - start)
        for label, value, expect in CHANGES:
            start = time.perf_counter()
            retries[0] += await change(page, label, value, expect, timeout)
            timings.append(time.perf_counter() - start)
        if await page.locator('[data-testid="stException"]').count():
            errors.append(f"session {k}: exception on the page")
    except Exception as err:  # a timeout or a crash is an error of the run, counted and reported
        errors.append(f"session {k}: {type(err).__name__}: {str(err).splitlines()[0]}; {await page_state(page)}")
    finally:
        await context.close()


RETYPE_AFTER_S = 60  # an idle page without the new chart this long after Enter lost the keystrokes


async def change(page, label: str, value: int, expect: str, timeout: float) -> int:
    """Type a number and wait until its chart is drawn; returns how often it had to be typed again.

    Under heavy load a page may drop what was typed while it was still redrawing: the page is then
    idle and the chart never comes. A student would type again, and so does this (counted).
    """
    box = page.get_by_label(label, exact=True)
    deadline = time.perf_counter() + timeout / 1000
    retyped = 0
    while True:
        await box.fill(str(value))
        await box.press("Enter")
        try:
            await settle(page, expect, RETYPE_AFTER_S * 1000)
            return retyped
        except Exception:
            busy = await page.locator('[data-testid="stStatusWidget"]').count()
            if time.perf_counter() > deadline:
                raise
            if busy:  # still working on it: keep waiting
                await settle(page, expect, max(1.0, deadline - time.perf_counter()) * 1000)
                return retyped
            retyped += 1


async def page_state(page) -> str:
    """What a failed session's page still shows: its upload? a connection error? (for the report)"""
    try:
        upload = await page.get_by_text("Original: 200×150 px").count()
        status = await page.locator('[data-testid="stStatusWidget"]').all_inner_texts()
        return f"upload shown: {bool(upload)}, status: {' '.join(status) or 'idle'}"
    except Exception as err:  # the page itself may be gone
        return f"page unreadable ({type(err).__name__})"


async def run(url: str, sessions: int, timeout: float, ramp: float) -> tuple[list, list, list, int]:
    from playwright.async_api import async_playwright

    timings, uploads, errors, retries = [], [], [], [0]
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        await asyncio.gather(
            *(session(browser, url, k, timings, uploads, errors, timeout, ramp, retries) for k in range(sessions))
        )
        await browser.close()
    return timings, uploads, errors, retries[0]


def load_test(sessions: int, timeout_s: float = 120.0, ramp_s: float = 0.5) -> dict:
    """Run the classroom; returns the measured numbers (also printed as JSON by main)."""
    server, url = start_server()
    try:
        start = time.perf_counter()
        timings, uploads, errors, retyped = asyncio.run(run(url, sessions, timeout_s * 1000, ramp_s))
        wall = time.perf_counter() - start
        peak = peak_rss_mib(server.pid)
        server_cpu = cpu_seconds(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=20)
    p50 = round(statistics.median(timings), 2) if timings else None
    p95 = round(statistics.quantiles(timings, n=20)[18], 2) if len(timings) >= 2 else p50
    return {
        "sessions": sessions, "ramp_s": ramp_s, "changes": len(timings), "errors": errors, "wall_s": round(wall, 1),
        "p50_s": p50,
        "p95_s": p95, "upload_p50_s": round(statistics.median(uploads), 2) if uploads else None,
        "retyped": retyped, "server_peak_rss_mib": round(peak), "server_cpu_s": round(server_cpu, 1),
        "server_cpu_s_per_change": round(server_cpu / max(1, len(timings) + len(uploads)), 2),
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds any one wait may take")
    ap.add_argument("--ramp", type=float, default=0.5, help="seconds between two sessions' arrivals")
    args = ap.parse_args()
    print(json.dumps(load_test(args.sessions, args.timeout, args.ramp), indent=2))


if __name__ == "__main__":
    main()
