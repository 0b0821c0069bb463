"""The classroom load test in its smallest form: two concurrent sessions (`make load` runs more)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import _missing

pytestmark = pytest.mark.browser


def test_two_concurrent_sessions_change_p_and_d_without_errors():
    if reason := _missing():
        pytest.skip(reason)
    from scripts.load_test import CHANGES, load_test

    result = load_test(sessions=2, timeout_s=120)
    assert result["errors"] == []
    assert result["changes"] == 2 * len(CHANGES)
    assert 0 < result["p50_s"] <= result["p95_s"] < 60
    assert result["server_peak_rss_mib"] > 100
