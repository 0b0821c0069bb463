"""The classroom load test in its smallest form: two concurrent sessions (`make load` runs more).

Run in its own process: the other browser tests' Playwright keeps an event loop in this one.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.browser.conftest import ROOT, _missing

pytestmark = pytest.mark.browser


def test_two_concurrent_sessions_change_p_and_d_without_errors():
    if reason := _missing():
        pytest.skip(reason)
    from scripts.load_test import CHANGES

    cmd = [sys.executable, "-m", "scripts.load_test", "--sessions", "2", "--timeout", "120"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, check=True)
    result = json.loads(out.stdout)
    assert result["errors"] == []
    assert result["changes"] == 2 * len(CHANGES)
    assert 0 < result["p50_s"] <= result["p95_s"] < 60
    assert result["server_peak_rss_mib"] > 100
