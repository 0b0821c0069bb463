"""A classroom on loopback: `make load` (or `python -m scripts.load_test --sessions 8`).

Starts `streamlit run` on 127.0.0.1, opens N concurrent browser sessions (Playwright contexts
in one headless Debian Chromium), and in each: loads the app, uploads a picture, then changes
P and D a few times, each time waiting until the new chart is in the page. Bounded in count
and time; only loopback traffic. Reports errors, p50/p95 time from a change to the rendered
chart, and the server's peak resident memory (VmHWM).

`--scenario lockstep` (`make load SCENARIO=lockstep SESSIONS=30`; 30 sessions by default): every
session opens the page (one every 2 s) and switches to the lesson; once all are idle, 5 rounds in which all press
*Next* within one second of each other (a barrier, then a random 0–1 s each). Reports p50/p95 from
the press to the new step drawn (its "Step k of 7" header, its run finished, its charts drawn) and
the server's CPU-seconds per press. The browsers share the machine's cores with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import re
import statistics
import time
from pathlib import Path

from PIL import Image

from scripts.harness import (
    ARGS,
    CHROMIUM,
    FRAME_JS,
    IDLE_JS,
    ROOT,
    Wire,
    cpu_seconds,
    peak_rss_mib,
    start_server,
    wait_content,
)

CHANGES = [("Patch size P", 9, "9×9 grid"), ("Dim D", 64, "(64, 9, 9)"), ("Patch size P", 27, "3×3 grid"),
           ("Dim D", 96, "(96, 3, 3)")]  # fmt: skip


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


def load_test(sessions: int, timeout_s: float = 120.0, ramp_s: float = 0.5, app: Path | None = None) -> dict:
    """Run the classroom; returns the measured numbers (also printed as JSON by main)."""
    server, url = start_server(app)
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


# --- lockstep: a class that presses Next together ----------------------------------------------------

LESSON_STEPS = 7  # vizlib.lesson.STEPS; the header reads "Step k of 7"


def english(repo: Path = ROOT) -> dict[str, str]:
    table = json.loads((repo / "assets" / "i18n.json").read_text(encoding="utf-8"))
    return {key: texts["en"] for key, texts in table.items() if isinstance(texts, dict) and "en" in texts}


CHARTS_DRAWN_JS = """() => { const plots = document.querySelectorAll('.js-plotly-plot');
    return plots.length > 0 && [...plots].every(gd => gd.querySelector('.main-svg')); }"""


async def step_drawn(page, wire, mark: tuple[int, int, int], header: str, timeout: float) -> None:
    """Until the lesson shows ``header``, every run since ``mark`` has finished, nothing is stale or
    running and every chart on the page is drawn."""

    deadline = time.perf_counter() + timeout / 1000
    await page.get_by_text(header).first.wait_for(timeout=timeout)  # shown only once the new run started
    while wire.started == mark[1] or wire.finished - mark[2] < wire.started - mark[1]:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the run for {header!r} did not finish in {timeout / 1000:.0f} s")
        await asyncio.sleep(0.05)
    await page.wait_for_function(IDLE_JS, timeout=timeout)
    await page.wait_for_function(CHARTS_DRAWN_JS, timeout=timeout)
    await page.evaluate(FRAME_JS)


async def lockstep_session(browser, url: str, k: int, shared: dict, timeout: float, ramp: float) -> None:
    """One student: open, switch to the lesson, then press Next with the class each round.

    Every session takes part in every barrier, also after an error, so that the others never wait forever.
    Opening and switching are not measured and may take twice ``timeout``: thirty first loads of the full
    page on two cores (server and browsers) take minutes.
    """

    en, barrier, rounds = shared["en"], shared["barrier"], shared["rounds"]
    header = en["lesson_header"].split("{title}")[0]  # "Step {k} of {n}: "
    context = page = None
    ok = True
    try:
        await asyncio.sleep(k * ramp)
        context = await browser.new_context(viewport={"width": 1300, "height": 900})
        context.set_default_timeout(timeout)
        page = await context.new_page()
        wire = Wire()
        wire.attach(page)
        await page.goto(url, timeout=2 * timeout)
        await wait_content(page, 2 * timeout)
        mark = wire.mark()
        await page.get_by_text(en["mode_lesson"], exact=True).click(timeout=2 * timeout)
        await step_drawn(page, wire, mark, header.format(k=1, n=LESSON_STEPS).strip(), 2 * timeout)
    except Exception as err:
        ok = False
        shared["errors"].append(f"session {k} (setup): {type(err).__name__}: {str(err).splitlines()[0]}")
    try:
        for r in range(rounds):
            if await barrier.wait() == 0 and r == 0:  # everyone idle on step 1: the rounds begin
                shared["cpu_start"], shared["t_start"] = cpu_seconds(shared["pid"]), time.perf_counter()
            if not ok:
                continue
            try:
                await asyncio.sleep(random.uniform(0.0, 1.0))
                mark = wire.mark()
                start = time.perf_counter()
                await page.get_by_role("button", name=re.compile("^" + re.escape(en["lesson_next"]))).first.click()
                await step_drawn(page, wire, mark, header.format(k=r + 2, n=LESSON_STEPS).strip(), timeout)
                shared["timings"].append(time.perf_counter() - start)
                shared["by_step"].setdefault(r + 2, []).append(time.perf_counter() - start)
            except Exception as err:
                ok = False  # the page is lost in the lesson: this session sits the next rounds out
                shared["errors"].append(f"session {k} round {r + 1}: {type(err).__name__}: "
                                        f"{str(err).splitlines()[0]}")  # fmt: skip
        if await barrier.wait() == 0:
            shared["cpu_end"], shared["t_end"] = cpu_seconds(shared["pid"]), time.perf_counter()
    finally:
        if context is not None:
            await context.close()


async def run_lockstep(url: str, pid: int, sessions: int, rounds: int, timeout: float, ramp: float,
                       repo: Path) -> dict:  # fmt: skip
    from playwright.async_api import async_playwright

    shared = {"en": english(repo), "barrier": asyncio.Barrier(sessions), "rounds": rounds, "pid": pid, "timings": [],
              "errors": [], "by_step": {}}  # fmt: skip
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        await asyncio.gather(*(lockstep_session(browser, url, k, shared, timeout, ramp) for k in range(sessions)))
        await browser.close()
    return shared


def lockstep_test(sessions: int, rounds: int = 5, timeout_s: float = 180.0, ramp_s: float = 0.5,
                  app: Path | None = None) -> dict:  # fmt: skip
    """All sessions press the lesson's Next together, ``rounds`` times; returns the measured numbers."""
    if not 1 <= rounds < LESSON_STEPS:
        raise ValueError(f"rounds must be 1 to {LESSON_STEPS - 1}: the lesson has {LESSON_STEPS} steps")
    repo = (app or ROOT / "app.py").resolve().parent
    server, url = start_server(app)
    try:
        start = time.perf_counter()
        shared = asyncio.run(run_lockstep(url, server.pid, sessions, rounds, timeout_s * 1000, ramp_s, repo))
        wall = time.perf_counter() - start
        peak = peak_rss_mib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=20)
    timings = shared["timings"]
    cpu = shared.get("cpu_end", 0.0) - shared.get("cpu_start", 0.0)
    rounds_wall = shared.get("t_end", 0.0) - shared.get("t_start", 0.0)
    p50 = round(statistics.median(timings), 2) if timings else None
    p95 = round(statistics.quantiles(timings, n=20)[18], 2) if len(timings) >= 2 else p50
    return {
        "scenario": "lockstep", "sessions": sessions, "rounds": rounds, "ramp_s": ramp_s, "presses": len(timings),
        "errors": shared["errors"], "wall_s": round(wall, 1), "press_to_chart_p50_s": p50,
        "press_to_chart_p95_s": p95, "press_to_chart_max_s": round(max(timings), 2) if timings else None,
        "press_to_chart_p50_s_by_step": {f"step {k}": round(statistics.median(v), 2)
                                         for k, v in sorted(shared["by_step"].items())},
        "rounds_wall_s": round(rounds_wall, 1), "server_cpu_s_rounds": round(cpu, 1),
        "server_cores_busy_in_rounds": round(cpu / rounds_wall, 2) if rounds_wall > 0 else None,
        "server_cpu_s_per_press": round(cpu / (sessions * rounds), 3),
        "server_peak_rss_mib": round(peak),
        "note": f"the {sessions} browsers run on the same {os.cpu_count()} cores as the server: the times measure "
                "the box; the server's CPU-seconds per press measure the server",
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", choices=["default", "lockstep"], default="default")
    ap.add_argument("--sessions", type=int, help="concurrent sessions (default: 8; lockstep: 30)")
    ap.add_argument("--rounds", type=int, default=5, help="lockstep: how many times the class presses Next")
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds any one wait may take")
    ap.add_argument("--ramp", type=float, help="seconds between two sessions' arrivals (default 0.5; lockstep: 2)")
    ap.add_argument("--app", type=Path, help="serve this app.py (another checkout) instead of ours")
    args = ap.parse_args()
    if args.scenario == "lockstep":
        ramp = 2.0 if args.ramp is None else args.ramp
        result = lockstep_test(args.sessions or 30, args.rounds, args.timeout, ramp, args.app)
        print(f"note: {result['note']}")
    else:
        result = load_test(args.sessions or 8, args.timeout, 0.5 if args.ramp is None else args.ramp, args.app)
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
