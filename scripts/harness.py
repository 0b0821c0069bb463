"""What the measuring scripts share: a served app on loopback, Debian's Chromium, and what the page
receives over its websocket (``scripts.load_test``, ``scripts.action_cost``, ``scripts.class_load``).

Not a script: it measures nothing by itself.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip
STATUS = '[data-testid="stStatusWidget"]'
TIMEOUT_MS = 180_000  # any one wait for the page (a first load can take 30 s here, a cold preset longer)
# The floor of a rerun's cost: one slider, one 2×2 plotly heatmap.
TRIVIAL_PAGE = """\
import numpy as np
import plotly.graph_objects as go
import streamlit as st

value = st.slider("Value", 0, 100, 50)
st.plotly_chart(go.Figure(go.Heatmap(z=np.array([[0, value], [value, 100]]))))
"""


def start_server(app: Path | None = None, log_path: Path | None = None) -> tuple[subprocess.Popen, str]:
    """`streamlit run` headless on a free loopback port: this checkout's app.py, or ``app`` (any
    script; cwd = its folder, so another checkout's app runs with its own assets and config)."""
    app = (app or ROOT / "app.py").resolve()
    if log_path is None and (ROOT / "test-artifacts").is_dir():
        log_path = ROOT / "test-artifacts" / "load-server.log"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "streamlit", "run", app.name, "--server.headless=true", f"--server.port={port}",
           "--server.address=127.0.0.1", "--browser.gatherUsageStats=false", "--server.fileWatcherType=none",
           "--server.runOnSave=false"]  # fmt: skip
    log = open(log_path, "w") if log_path else subprocess.DEVNULL  # the server outlives this call
    server = subprocess.Popen(cmd, cwd=app.parent, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(480):
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
            return server, url
        except OSError:
            if server.poll() is not None:
                break
            time.sleep(0.25)
    server.kill()
    raise RuntimeError(f"streamlit did not start for {app}" + (f"; see {log_path}" if log_path else ""))


def peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        return int(next(line for line in status if line.startswith("VmHWM:")).split()[1]) / 1024


def cpu_seconds(pid: int) -> float:
    """utime + stime of the whole process (all its threads), fields 14 and 15 of /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()  # fields from the 3rd on; the name may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Wire:
    """Counts the bytes, and the script runs started and finished, that the page receives over its websocket(s).

    Streamlit sends ``new_session`` when a run starts and ``script_finished`` when it ends. (The status
    widget is no reliable sign of a run in Streamlit 1.67: it shows only after 500 ms without a re-render,
    and a run that streams its elements for seconds, such as P 27 → 9 here, may never show it.)
    """

    def __init__(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self._msg = ForwardMsg
        self.bytes = 0
        self.started = 0
        self.finished = 0

    def attach(self, page) -> None:
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def mark(self) -> tuple[int, int, int]:
        return self.bytes, self.started, self.finished

    def _frame(self, payload) -> None:
        data = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
        self.bytes += len(data)
        try:
            kind = self._msg.FromString(data).WhichOneof("type")
        except Exception:  # not a ForwardMsg: counted as bytes only
            return
        if kind == "new_session":
            self.started += 1
        elif kind == "script_finished":
            self.finished += 1


IDLE_JS = f"""() => !document.querySelector('{STATUS}')
    && !document.querySelector('[data-stale="true"]')"""
FRAME_JS = "() => new Promise(done => requestAnimationFrame(() => setTimeout(done, 0)))"


async def wait_content(page, timeout: float = TIMEOUT_MS) -> None:
    """A page that has drawn nothing yet has no status widget either: first wait for a chart to exist."""
    await page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    await page.wait_for_selector(".js-plotly-plot", state="attached", timeout=timeout)
