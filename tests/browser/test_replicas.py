"""Three replicas behind HAProxy (deploy/haproxy.cfg, cookie affinity), six browser sessions.

Each session's requests stay on one replica (HAProxy's log, which records the replica and the
session's own header for every request); uploads and downloads work through the proxy; every
replica serves at least one session. Then one replica is stopped mid-session: the other sessions
rerun without an error, the stopped replica's sessions reconnect through HAProxy to another
replica and, reloading their share link, get their settings back (an upload must be made again:
the page says so). The counts go to test-artifacts/replicas/counts.json.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import time
from collections import defaultdict

import pytest
from PIL import Image

from tests.browser.conftest import ARTIFACTS, wait_for_app

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed (make proxy-deps)")]

SESSIONS = 6
JAPANESE = {1, 3, 5}  # these sessions switch the page to Japanese: a setting their link must bring back
UPLOADS = {0, 2}  # these upload a picture; "upload it again", say their pages after the replica stops
DOWNLOAD = 4  # this one downloads a figure
UPLOAD_GONE = {"en": "was showing an uploaded picture", "ja": "アップロードされた画像を表示していました"}
LOG_LINE = re.compile(r" streamlit/(\S+) .*?\{([^}|]*)[^}]*\} \"(\w+) (\S+)")


def served(log: str) -> dict[str, list[str]]:
    """Session header → the replica of each request of that session, in log order."""
    replicas = defaultdict(list)
    for line in log.splitlines():
        if (m := LOG_LINE.search(line)) and m.group(2):
            replicas[m.group(2)].append(m.group(1))
    return replicas


def picture() -> bytes:
    img = Image.new("RGB", (320, 240), (30, 90, 200))
    for x in range(0, 320, 40):
        img.paste((240, 200, 40), (x, 0, x + 20, 240))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def no_error(page) -> bool:
    return (page.locator('[data-testid="stException"]').count() == 0
            and page.locator('[data-testid="stAlertContentError"]').count() == 0)  # fmt: skip


def test_three_replicas_share_six_sessions_and_survive_one_stopping(browser):
    from scripts.replicas import Cluster

    folder = ARTIFACTS / "replicas"
    shutil.rmtree(folder, ignore_errors=True)
    cluster = Cluster.start(3, folder=folder)
    contexts, pages, counts = [], [], {}
    try:
        for k in range(SESSIONS):
            context = browser.new_context(viewport={"width": 1280, "height": 900},
                                          extra_http_headers={"X-Test-Session": f"s{k}"})  # fmt: skip
            page = context.new_page()
            page.goto(cluster.url)
            wait_for_app(page)
            contexts.append(context)
            pages.append(page)
        replica_of = {}
        for k, context in enumerate(contexts):
            cookie = {c["name"]: c["value"] for c in context.cookies()}
            replica_of[k] = cookie["VPE_REPLICA"]
        for k in JAPANESE:
            pages[k].get_by_text("日本語", exact=True).click()
            pages[k].get_by_text("パッチ分割", exact=True).wait_for(timeout=60_000)
            wait_for_app(pages[k])
        for k in UPLOADS:
            pages[k].get_by_text("Upload", exact=True).click()
            uploader = pages[k].locator('[data-testid="stFileUploader"] input[type="file"]')
            uploader.wait_for(state="attached")
            uploader.set_input_files({"name": f"stripes{k}.png", "mimeType": "image/png", "buffer": picture()})
            pages[k].get_by_text("Original: 320×240 px").wait_for(timeout=60_000)
            wait_for_app(pages[k])
        page = pages[DOWNLOAD]
        page.get_by_text("Downloads", exact=True).click()
        with page.expect_download(timeout=60_000) as download:
            page.get_by_text("Figure as HTML (opens offline)").click()
        downloaded = download.value.path().read_bytes()
        assert b"plotly" in downloaded and len(downloaded) > 100_000  # plotly.js inlined: opens offline
        assert all(no_error(p) for p in pages)

        before = served(cluster.log())
        assert set(before) == {f"s{k}" for k in range(SESSIONS)}  # every session's requests are in the log
        for k in range(SESSIONS):
            assert set(before[f"s{k}"]) == {replica_of[k]}, k  # affinity: one replica per session
        load = {name: sorted(k for k in replica_of if replica_of[k] == name) for name in cluster.replicas}
        assert all(load.values()), load  # each replica serves at least one session

        # Stop the replica of an uploading session, mid-session.
        stopped = replica_of[0]
        moved = [k for k in range(SESSIONS) if replica_of[k] == stopped]
        stayed = [k for k in range(SESSIONS) if k not in moved]
        started = time.monotonic()
        cluster.stop(stopped)
        for k in stayed:  # a rerun (another view) on their own replica, with no error
            pages[k].locator('[role="tab"]').nth(1).click()
            wait_for_app(pages[k])
            assert no_error(pages[k]), k
        reconnected = {}
        for k in moved:  # the page reconnects by itself: its next requests reach a live replica
            deadline = time.monotonic() + 120
            while not [r for r in served(cluster.log())[f"s{k}"][len(before[f"s{k}"]) :] if r != stopped]:
                assert time.monotonic() < deadline, f"session {k} did not reach another replica in 120 s"
                time.sleep(0.25)
            pages[k].wait_for_function(
                "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
                " && document.querySelectorAll('.js-plotly-plot .main-svg').length > 0",
                timeout=120_000,
            )
            reconnected[k] = round(time.monotonic() - started, 1)
        restored, upload_notices = 0, 0
        for k in moved:  # reloading the share link brings the settings back
            link = pages[k].url
            pages[k].goto(link)
            wait_for_app(pages[k])
            assert no_error(pages[k]), k
            if k in JAPANESE:
                pages[k].get_by_text("パッチ分割", exact=True).wait_for(timeout=30_000)
                restored += 1
            if k in UPLOADS:
                assert "src=upload" in link
                notice = (
                    "アップロードされた画像を表示していました" if k in JAPANESE else "was showing an uploaded picture"
                )
                pages[k].get_by_text(notice, exact=False).wait_for(timeout=30_000)
                upload_notices += 1
        after = served(cluster.log())
        for k in moved:
            now = {contexts[k].cookies()[0]["value"]} if contexts[k].cookies() else set()
            assert stopped not in now and after[f"s{k}"][-1] != stopped, k  # served elsewhere now
        for k in stayed:
            assert set(after[f"s{k}"]) == {replica_of[k]}, k  # the others never moved
        counts = {
            "sessions": SESSIONS, "sessions_per_replica": {n: len(s) for n, s in load.items()},
            "requests_per_session": {f"s{k}": len(before[f"s{k}"]) for k in range(SESSIONS)},
            "stopped": stopped, "moved_sessions": len(moved), "stayed_sessions": len(stayed),
            "errors_in_stayed_sessions": 0, "seconds_to_reconnect": reconnected,
            "settings_restored_from_link": restored, "upload_again_notices": upload_notices,
            "moved_to": {f"s{k}": after[f"s{k}"][-1] for k in moved},
        }  # fmt: skip
        (folder / "counts.json").write_text(json.dumps(counts, indent=2))
        print(json.dumps(counts))
    finally:
        for context in contexts:
            context.close()
        cluster.close()
