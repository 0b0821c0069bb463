"""What following the teacher costs the server: `python -m scripts.class_load [--followers 30] [--idle 20] [--steps 3]`.

Serves the app (``VIT_CLASS_TRACE`` set: the server writes a line when the teacher's page publishes a
new version and when each follower's run that shows it ends) and, in the same run, a trivial page
(one slider, one 2×2 heatmap) whose slider rerun is the floor. One Chromium page teaches: it starts
a class and opens the lesson; ``--followers`` pages open the join link. Then:

- **idle**: the server's CPU-seconds per second over ``--idle`` seconds while the teacher does nothing
  (each follower's timer asks the store once a second), ÷ the trivial page's slider rerun;
- **a step**: the teacher presses *Next ▶*; from the teacher's publish to each follower's run having
  ended with the new step, on the server's own clock (p50, p95, max), and the server's CPU-seconds
  from the click until every follower has shown it.

Browsers on the same 2 cores slow themselves and the server down: the numbers are upper bounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from scripts.harness import ARGS, CHROMIUM, TRIVIAL_PAGE, cpu_seconds, start_server


def read_trace(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


async def settled(page, text: str, timeout_ms: float = 120_000) -> None:
    await page.get_by_text(text, exact=False).first.wait_for(timeout=timeout_ms)


async def floor_cpu(browser, url: str, pid: int) -> float:
    """The trivial page's slider rerun: median CPU-seconds of 5."""
    page = await browser.new_page()
    await page.goto(url)
    await page.wait_for_selector(".js-plotly-plot .main-svg", state="attached", timeout=60_000)
    await page.wait_for_timeout(1500)
    thumb = page.get_by_role("slider").first
    costs = []
    for _ in range(5):
        before = cpu_seconds(pid)
        await thumb.focus()
        await page.keyboard.press("ArrowRight")
        await page.wait_for_timeout(1200)
        costs.append(cpu_seconds(pid) - before)
    await page.close()
    return statistics.median(costs)


async def measure(followers: int, idle_s: float, steps: int) -> dict:
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory() as folder:
        trace = Path(folder) / "trace.jsonl"
        trivial = Path(folder) / "trivial_page.py"
        trivial.write_text(TRIVIAL_PAGE)
        os.environ["VIT_CLASS_TRACE"] = str(trace)
        server, url = start_server(log_path=Path(folder) / "server.log")
        del os.environ["VIT_CLASS_TRACE"]
        floor_server, floor_url = start_server(trivial, Path(folder) / "trivial.log")
        try:
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
                floor = await floor_cpu(browser, floor_url, floor_server.pid)
                teacher = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
                await teacher.goto(f"{url}/?mode=lesson&step=1")
                await settled(teacher, "Step 1 of 7")
                await teacher.get_by_role("button", name="Start a class").click()
                await settled(teacher, "Class code:")
                sidebar = await teacher.locator('[data-testid="stSidebar"]').inner_text()
                code = sidebar.split("Class code:", 1)[1].split()[0].strip("*")
                pages = []
                for _ in range(followers):
                    context = await browser.new_context(viewport={"width": 1000, "height": 700})
                    page = await context.new_page()
                    await page.goto(f"{url}/?join={code}")
                    pages.append(page)
                await asyncio.gather(*(settled(page, "Step 1 of 7") for page in pages))
                await teacher.wait_for_timeout(5000)  # every page drawn and its timer ticking
                before, start = cpu_seconds(server.pid), time.perf_counter()
                await teacher.wait_for_timeout(idle_s * 1000)
                idle_rate = (cpu_seconds(server.pid) - before) / (time.perf_counter() - start)
                step_rows = []
                for k in range(2, 2 + steps):
                    seen_before = len(read_trace(trace))
                    before = cpu_seconds(server.pid)
                    await teacher.get_by_role("button", name="Next ▶").click()
                    deadline = time.perf_counter() + 120
                    while time.perf_counter() < deadline:
                        new = read_trace(trace)[seen_before:]
                        published = [e for e in new if e["event"] == "published"]
                        shown = [e for e in new if e["event"] == "shown" and published
                                 and e["version"] == published[-1]["version"]]  # fmt: skip
                        if published and len({e["who"] for e in shown}) >= followers:
                            break
                        await asyncio.sleep(0.2)
                    cpu = cpu_seconds(server.pid) - before
                    lags = sorted(e["t"] - published[-1]["t"] for e in shown) if published else []
                    step_rows.append({"step": k, "followers_shown": len(lags), "cpu_s": round(cpu, 3),
                                      "lag_s": [round(x, 3) for x in lags]})  # fmt: skip
                    await teacher.wait_for_timeout(3000)
                await browser.close()
        finally:
            for proc in (server, floor_server):
                proc.terminate()
                proc.wait(timeout=20)
    lags = sorted(x for row in step_rows for x in row["lag_s"])
    pick = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))] if lags else None  # noqa: E731
    return {
        "followers": followers, "cores": os.cpu_count(), "trivial_rerun_cpu_s": round(floor, 4),
        "idle_cpu_s_per_s": round(idle_rate, 4), "idle_x_trivial_per_s": round(idle_rate / floor, 2) if floor else None,
        "step_lag_p50_s": pick(0.5), "step_lag_p95_s": pick(0.95), "step_lag_max_s": lags[-1] if lags else None,
        "step_cpu_s_median": statistics.median(row["cpu_s"] for row in step_rows) if step_rows else None,
        "steps": step_rows,
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--followers", type=int, default=30)
    ap.add_argument("--idle", type=float, default=20.0, help="seconds of the idle measurement")
    ap.add_argument("--steps", type=int, default=3)
    args = ap.parse_args()
    print(json.dumps(asyncio.run(measure(args.followers, args.idle, args.steps)), indent=1))


if __name__ == "__main__":
    main()
