"""What one action costs the server: `python -m scripts.action_cost [--app app.py] [--repeats 3] [--json out.json]`.

Serves the app (`streamlit run`, cwd = the app's folder, so that `--app /tmp/baseline/app.py` measures
another checkout) and, in the same run, a trivial page (one slider, one 2×2 plotly heatmap) as the floor.
Drives one headless Chromium session through the page's actions, found by their English labels from
assets/i18n.json, so that any page with the same labels can be measured. For each action: the server's
CPU-seconds (utime + stime from /proc/PID/stat, before the action and after the page is idle again), the
bytes received over the websocket, the wall time from the action to idle, and how many script runs
finished (ForwardMsg.script_finished frames). Repeated actions report the median. An action that fails
records its error and the page is reloaded (its URL keeps the settings); the table is always printed.

Idle: up to 2.5 s for a run to start (a `new_session` message, or the status widget), then until every
started run has sent `script_finished`, no status widget or stale element is left and a frame is painted,
then a 300 ms settle without a new run. An action after which no run starts within 2.5 s is marked
"no rerun". Wall time ends at idle (the settle not counted).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from scripts.harness import (
    ARGS,
    CHROMIUM,
    FRAME_JS,
    IDLE_JS,
    STATUS,
    TIMEOUT_MS,
    TRIVIAL_PAGE,
    Wire,
    cpu_seconds,
    start_server,
    wait_content,
)

APPEAR_S = 2.5  # how long an action may take to start a run
SETTLE_MS = 300
FIND_MS = 45_000  # finding a control: the page is idle by then, so a missing one fails in this time


# --- the servers --------------------------------------------------------------------------------------


def labels(repo: Path) -> dict[str, str]:
    """The English UI strings of the app's i18n table (key → text)."""
    table = json.loads((repo / "assets" / "i18n.json").read_text(encoding="utf-8"))
    return {key: texts["en"] for key, texts in table.items() if isinstance(texts, dict) and "en" in texts}


# --- what the page receives ---------------------------------------------------------------------------


async def wait_idle(page, wire: Wire, mark: tuple[int, int, int], timeout: float = TIMEOUT_MS) -> float | None:
    """Until every run the action started has finished and the page has drawn it (no status widget, no
    stale element, a frame painted); returns that moment (perf_counter), or None when no run started
    within APPEAR_S. Returns after a SETTLE_MS settle in which no further run started."""
    _, started0, _ = mark
    deadline = time.perf_counter() + APPEAR_S
    while wire.started == started0 and await page.evaluate(f"() => !document.querySelector('{STATUS}')"):
        if time.perf_counter() > deadline:
            return None
        await asyncio.sleep(0.05)
    end = time.perf_counter() + timeout / 1000
    while True:  # a run may start another one (st.rerun, a callback): wait until no run is left
        while wire.finished - mark[2] < wire.started - started0:
            if time.perf_counter() > end:
                raise TimeoutError(f"a run did not finish in {timeout / 1000:.0f} s")
            await asyncio.sleep(0.05)
        await page.wait_for_function(IDLE_JS, timeout=timeout)
        await page.evaluate(FRAME_JS)
        idle_at = time.perf_counter()
        started = wire.started
        await page.wait_for_timeout(SETTLE_MS)
        if wire.started == started and await page.evaluate(IDLE_JS):
            return idle_at


# --- measuring ----------------------------------------------------------------------------------------


@dataclass
class Row:
    action: str
    cpu: list[float] = field(default_factory=list)
    kb: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    runs: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    first_chart: list[float] = field(default_factory=list)  # loads: goto → the first chart drawn (s)
    error: str | None = None

    def median(self, values: list[float]) -> float | None:
        return statistics.median(values) if values else None

    def as_dict(self, floor: float | None) -> dict:
        cpu = self.median(self.cpu)
        return {
            "action": self.action,
            "server_cpu_s": cpu,
            "x_trivial": cpu / floor if cpu is not None and floor else None,
            "kb_received": self.median(self.kb),
            "wall_s": self.median(self.wall),
            "runs": self.median(self.runs),
            "samples": {"cpu_s": self.cpu, "kb": self.kb, "wall_s": self.wall, "runs": self.runs},
            "notes": sorted(set(self.notes))
            + ([f"first chart drawn after {statistics.median(self.first_chart):.1f} s"] if self.first_chart else []),
            "first_chart_s": self.median(self.first_chart),
            "error": self.error,
        }


class Meter:
    """Measures actions on one page against one server process."""

    def __init__(self, page, wire: Wire, pid: int, url: str, rows: list[Row]) -> None:
        self.page, self.wire, self.pid, self.url, self.rows = page, wire, pid, url, rows

    async def measure(self, name: str, act, repeats: int = 1, prepare=None) -> Row:
        """Runs ``act(i)`` (an async callable) ``repeats`` times, each until idle; records the costs.
        ``prepare()``, not measured, runs before each (opens the tab the control is in, if hidden)."""
        row = Row(name)
        self.rows.append(row)
        for i in range(repeats):
            try:
                if prepare:
                    await prepare()
                await self.once(row, act, i)
            except Exception as err:  # a missing control or a timeout: recorded, the page reloaded
                row.error = f"{type(err).__name__}: {str(err).splitlines()[0][:160]}"
                print(f"  {name}: {row.error}", file=sys.stderr)
                await self.recover()
                break
        return row

    async def once(self, row: Row, act, i: int) -> None:
        page, wire = self.page, self.wire
        await page.evaluate("() => document.activeElement && document.activeElement.blur()")
        cpu0, mark = cpu_seconds(self.pid), wire.mark()
        start = time.perf_counter()
        await act(i)
        acted = time.perf_counter()
        idle_at = await wait_idle(page, wire, mark)
        self.record(row, cpu0, mark, (idle_at or acted) - start)
        if idle_at is None:
            row.notes.append("no rerun")
        if await page.locator('[data-testid="stException"]').count():
            row.notes.append("exception on the page")

    def record(self, row: Row, cpu0: float, mark: tuple[int, int, int], wall: float, wire: Wire | None = None) -> None:
        wire = wire or self.wire
        row.cpu.append(cpu_seconds(self.pid) - cpu0)
        row.kb.append((wire.bytes - mark[0]) / 1000)
        row.wall.append(wall)
        row.runs.append(wire.finished - mark[2])

    async def load(self, row: Row, page=None, wire: Wire | None = None) -> Row:
        """goto → content → idle, with the CPU of the whole load; adds to ``row``."""
        page, wire = page or self.page, wire or self.wire
        try:
            cpu0, mark = cpu_seconds(self.pid), wire.mark()
            start = time.perf_counter()
            await page.goto(self.url, timeout=TIMEOUT_MS)
            await page.wait_for_selector(".js-plotly-plot .main-svg", state="attached", timeout=TIMEOUT_MS)
            row.first_chart.append(time.perf_counter() - start)
            await wait_content(page)
            idle_at = await wait_idle(page, wire, mark)
            self.record(row, cpu0, mark, (idle_at or time.perf_counter()) - start, wire)
        except Exception as err:
            row.error = f"{type(err).__name__}: {str(err).splitlines()[0][:160]}"
        return row

    async def recover(self) -> None:
        """Reload (the URL carries the app's settings) and wait until the page is drawn and idle."""
        try:
            mark = self.wire.mark()
            await self.page.reload(timeout=TIMEOUT_MS)
            await wait_content(self.page)
            await wait_idle(self.page, self.wire, mark)
        except Exception as err:
            print(f"  reload failed: {type(err).__name__}", file=sys.stderr)


# --- the app's controls, by label ---------------------------------------------------------------------


def widget(page, testid: str, label: str):
    """The Streamlit widget of that kind whose label is exactly ``label``."""
    return page.locator(f'[data-testid="{testid}"]').filter(has=page.get_by_text(label, exact=True)).first


def slider(page, label: str):
    """The slider's thumb (an input of type range; its accessible name repeats the label, so not by role)."""
    return widget(page, "stSlider", label).locator('input[type="range"]')


async def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox labelled ``label``."""
    await page.get_by_role("combobox", name=label, exact=True).click()
    await page.get_by_role("option", name=option, exact=True).click()


async def press_slider(page, label: str, key: str) -> None:
    thumb = slider(page, label)
    await thumb.focus()
    await thumb.press(key)


async def type_number(page, label: str, value: int) -> None:
    box = page.get_by_label(label, exact=True)
    await box.fill(str(value))
    await box.press("Enter")


CLICK_POINT_JS = """(text) => {
    // the clickable attention picture: an image under a scatter of markers, one per patch (row-major)
    const plots = [...document.querySelectorAll('.js-plotly-plot')].filter(gd => gd._fullData
        && gd._fullData.some(t => t.type === 'image') && gd._fullData.some(t => t.type === 'scatter'));
    const gd = plots.find(gd => (gd.closest('[data-testid="stVerticalBlock"]') || document.body)
        .innerText.includes(text)) || plots[0];
    if (!gd) return null;
    gd.scrollIntoView({block: 'center'});
    const ti = gd._fullData.map(t => t.type).lastIndexOf('scatter');
    return [ti, gd._fullData[ti].x.length];
}"""
POINT_XY_JS = """([text, ti, i]) => {
    const plots = [...document.querySelectorAll('.js-plotly-plot')].filter(gd => gd._fullData
        && gd._fullData.some(t => t.type === 'image') && gd._fullData.some(t => t.type === 'scatter'));
    const gd = plots.find(gd => (gd.closest('[data-testid="stVerticalBlock"]') || document.body)
        .innerText.includes(text)) || plots[0];
    const t = gd._fullData[ti], L = gd._fullLayout, r = gd.getBoundingClientRect();
    const xa = L[(t.xaxis || 'x').replace('x', 'xaxis')], ya = L[(t.yaxis || 'y').replace('y', 'yaxis')];
    return [r.left + xa._offset + xa.l2p(t.x[i]), r.top + ya._offset + ya.l2p(t.y[i])];
}"""


async def click_query_patch(page, hint: str, i: int) -> None:
    """A real click on a patch's marker in the attention picture: patches 4, 0, 8, … of the grid."""
    found = await page.evaluate(CLICK_POINT_JS, hint)
    if not found:
        raise RuntimeError("no clickable attention picture (image + scatter) on the page")
    trace, n = found
    point = [n // 2, 0, n - 1][i % 3]
    x, y = await page.evaluate(POINT_XY_JS, [hint, trace, point])
    await page.mouse.move(x, y)
    await page.wait_for_timeout(300)  # plotly picks the point under a hovering mouse
    await page.mouse.click(x, y)


async def app_actions(m: Meter, en: dict[str, str], repeats: int) -> None:
    page, R = m.page, repeats

    async def rerun(i):  # Streamlit's "r" shortcut (the main menu's Rerun), pressed on the page's body
        await page.locator("body").press("r")

    async def tab(label):
        await page.get_by_role("tab", name=label, exact=True).click()

    async def click(name):
        await page.get_by_role("button", name=name, exact=True).click()

    async def click_prefix(name):  # a button with a keyboard shortcut adds the key to its name ("Next ▶ →")
        await page.get_by_role("button", name=re.compile("^" + re.escape(name))).first.click()

    async def pick(label):  # a radio option or any other control found by its exact text
        await page.get_by_text(label, exact=True).click()

    async def in_tab(label, control):  # not measured: after a failure the reloaded page may show another tab
        if not await control.first.is_visible():
            mark = m.wire.mark()
            await tab(label)
            await wait_idle(page, m.wire, mark)
            await control.first.wait_for(state="visible")

    def patches():
        return in_tab(en["tab_patches"], page.get_by_role("button", name=en["step_next"], exact=True))

    def attention():
        return in_tab(en["tab_attention"], slider(page, en["layer"]))

    async def block(i):  # −1, unless the slider is already at its lowest
        thumb = slider(page, en["layer"])
        low = await thumb.input_value() == await thumb.get_attribute("min")
        await press_slider(page, en["layer"], "ArrowRight" if low else "ArrowLeft")

    async def head(i):
        await choose(page, en["head"], en["head_title"].format(h=2 + i % 2))  # the option reads "head 2"

    async def query(i):
        await click_query_patch(page, en["click_to_query"], i)

    async def discard(i):
        await press_slider(page, en["discard"], "ArrowRight")

    await m.measure("rerun, nothing changed (the r key)", rerun, R)
    await m.measure(f"open the {en['tab_patches']} tab", lambda i: tab(en["tab_patches"]))
    await m.measure(f"step inspector {en['step_next']} (step +1)", lambda i: click(en["step_next"]), R, patches)
    await m.measure(f"step inspector {en['step_back']} (step −1)", lambda i: click(en["step_back"]), R, patches)
    await m.measure(f"open the {en['tab_attention']} tab", lambda i: tab(en["tab_attention"]))
    await m.measure("attention: block −1 (slider)", block, R, attention)
    await m.measure("attention: head → 2, 3, 2, …", head, R, attention)
    await m.measure("attention: a patch clicked as the query", query, R, attention)
    await m.measure("attention: discard ratio + (slider)", discard, R, attention)
    await m.measure("P 27 → 9 (sidebar)", lambda i: type_number(page, en["patch_size"], 9))
    await m.measure("P 9 → 27 (back)", lambda i: type_number(page, en["patch_size"], 27))
    start = len(m.rows)
    for _ in range(R):  # the switch and back, alternately; each direction its own row
        japanese = await m.measure("language → 日本語", lambda i: pick("日本語"))
        english = await m.measure("language → English", lambda i: pick("English"))
        if japanese.error or english.error:
            break
    merge(m.rows, start)
    await m.measure(f"View → {en['mode_lesson']}", lambda i: pick(en["mode_lesson"]))
    await m.measure(f"lesson {en['lesson_next']} (steps 1 → 2 → …)", lambda i: click_prefix(en["lesson_next"]), R)
    await m.measure(f"View → {en['mode_explore']}", lambda i: pick(en["mode_explore"]))
    await m.measure("preset → ViT-S/16", lambda i: choose(page, en["preset"], en["preset_vit_s16"]))


def merge(rows: list[Row], start: int) -> None:
    """Rows of the same action from ``start`` on become one row each (the language switch's pairs)."""
    merged: dict[str, Row] = {}
    for row in rows[start:]:
        if row.action in merged:
            into = merged[row.action]
            for name in ("cpu", "kb", "wall", "runs", "notes"):
                getattr(into, name).extend(getattr(row, name))
            into.error = into.error or row.error
        else:
            merged[row.action] = row
    rows[start:] = merged.values()


async def trivial_actions(m: Meter, repeats: int) -> None:
    await m.measure("trivial page: slider +1", lambda i: press_slider(m.page, "Value", "ArrowRight"), repeats)


PHONE_AGENT = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
               "Version/18.0 Mobile/15E148 Safari/604.1")  # fmt: skip
# Where a new session opens the page: a laptop; a phone whose User-Agent says nothing of a phone (the
# page learns its width from the browser's probe: one more run); a phone that says "Mobile".
SCREENS = {
    "laptop": {"viewport": {"width": 1400, "height": 1000}},
    "phone": {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True},
    "phone saying Mobile": {
        "viewport": {"width": 390, "height": 844},
        "has_touch": True,
        "is_mobile": True,
        "user_agent": PHONE_AGENT,
    },
}


async def new_page(browser, screen: str = "laptop"):
    context = await browser.new_context(**SCREENS[screen], locale="en-US")
    context.set_default_timeout(FIND_MS)
    page = await context.new_page()
    wire = Wire()
    wire.attach(page)
    return context, page, wire


async def measure_all(app: Path, repeats: int, log_dir: Path) -> tuple[list[Row], dict]:
    from playwright.async_api import async_playwright

    en = labels(app.parent)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as folder:
        trivial_script = Path(folder) / "trivial_page.py"
        trivial_script.write_text(TRIVIAL_PAGE)
        server, url = start_server(app, log_dir / "action-cost-server.log")
        floor_server, floor_url = start_server(trivial_script, log_dir / "action-cost-trivial.log")
        try:
            time.sleep(2)
            idle0, t0 = cpu_seconds(server.pid), time.perf_counter()
            time.sleep(3)
            idle_rate = (cpu_seconds(server.pid) - idle0) / (time.perf_counter() - t0)
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
                # the floor first, while the app's server is idle
                context, page, wire = await new_page(browser)
                floor = Meter(page, wire, floor_server.pid, floor_url, rows)
                rows.append(await floor.load(Row("trivial page: first load")))
                await trivial_actions(floor, 5)
                await context.close()
                # the app: a cold first load, then new sessions on a warm server, then one session's actions
                context, page, wire = await new_page(browser)
                meter = Meter(page, wire, server.pid, url, rows)
                rows.append(await meter.load(Row("first page load (cold server)")))
                loads = {screen: Row(f"page load, a new session (warm caches), {screen}") for screen in SCREENS}
                loads["laptop"].action = "page load, a new session (warm caches)"
                for _ in range(repeats):  # the screens side by side, in turn
                    for screen, row in loads.items():
                        other, other_page, other_wire = await new_page(browser, screen)
                        await meter.load(row, other_page, other_wire)
                        await other.close()
                rows.extend(loads.values())
                await app_actions(meter, en, repeats)
                await context.close()
                await browser.close()
        finally:
            for proc in (server, floor_server):
                proc.terminate()
                proc.wait(timeout=20)
    info = {"server_idle_cpu_s_per_s": round(idle_rate, 4), "cores": os.cpu_count()}
    return rows, info


# --- the report ---------------------------------------------------------------------------------------


def fmt(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def report(rows: list[Row], info: dict, app: Path, repeats: int) -> tuple[str, dict]:
    floor_row = next((r for r in rows if r.action == "trivial page: slider +1"), None)
    floor = floor_row.median(floor_row.cpu) if floor_row else None
    commit = subprocess.run(["git", "-C", str(app.parent), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()  # fmt: skip
    dicts = [r.as_dict(floor) for r in rows]
    lines = [
        f"{app} (commit {commit or '?'}), medians of {repeats} (trivial slider: of 5), {info['cores']} cores; "
        f"the server's idle CPU {info['server_idle_cpu_s_per_s']:.3f} s/s; × trivial = ÷ the trivial page's "
        f"slider rerun ({fmt(floor, 3)} CPU-s).",
        "",
        "| action | server CPU-s | × trivial page | kB received | wall s | runs | notes |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for d in dicts:
        notes = ", ".join(d["notes"] + ([f"ERROR {d['error']}"] if d["error"] else []))
        lines.append(
            f"| {d['action']} | {fmt(d['server_cpu_s'], 2)} | {fmt(d['x_trivial'], 1)} | {fmt(d['kb_received'], 1)} "
            f"| {fmt(d['wall_s'], 2)} | {fmt(d['runs'], 0)} | {notes} |"
        )
    data = {"app": str(app), "commit": commit, "repeats": repeats, "trivial_cpu_s": floor, **info, "rows": dicts}
    return "\n".join(lines), data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--app", type=Path, default=Path(__file__).resolve().parent.parent / "app.py")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=Path, help="also write the numbers here")
    ap.add_argument("--logs", type=Path, default=Path(tempfile.gettempdir()), help="folder for the servers' logs")
    args = ap.parse_args()
    app = args.app.resolve()
    rows, info = asyncio.run(measure_all(app, args.repeats, args.logs))
    table, data = report(rows, info, app, args.repeats)
    print(table)
    if args.json:
        args.json.write_text(json.dumps(data, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
