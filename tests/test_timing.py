"""Every time the page shows is warm: warm-up calls not counted, then the median of timed calls.

The structure is asserted with counting fakes and a fake clock, never with real timings.
"""

from __future__ import annotations

import pytest
import torch

from vizlib import analysis, timing


class FakeClock:
    """A clock that a call moves on by the next of ``durations`` (seconds); reading it costs nothing."""

    def __init__(self, durations: list[float]):
        self.now, self.durations, self.calls = 0.0, list(durations), 0

    def __call__(self) -> float:
        return self.now

    def tick(self) -> None:
        self.now += self.durations[self.calls]
        self.calls += 1


def test_warm_up_calls_are_not_counted_and_the_median_is_shown():
    # Two cold calls of 1,000 s, then warm calls of 5, 1, 3, 2, 4 ms.
    clock = FakeClock([1000.0, 1000.0, 0.005, 0.001, 0.003, 0.002, 0.004])
    result = timing.warm_median(clock.tick, warmup=2, min_runs=5, max_runs=50, budget_s=0.0, clock=clock)
    assert clock.calls == 7 and (result.warmup, result.runs) == (2, 5)
    assert result.median_ms == pytest.approx(3.0)
    assert (result.low_ms, result.high_ms) == (pytest.approx(2.0), pytest.approx(4.0))
    assert result.steady


def test_timing_goes_on_until_the_budget_and_stops_at_the_most_runs():
    clock = FakeClock([0.5] + [0.1] * 100)
    result = timing.warm_median(clock.tick, warmup=1, min_runs=3, max_runs=100, budget_s=1.0, clock=clock)
    assert result.runs == 10  # 10 × 0.1 s reach the 1 s budget
    clock = FakeClock([0.5] + [0.1] * 100)
    assert timing.warm_median(clock.tick, warmup=1, min_runs=3, max_runs=4, budget_s=1.0, clock=clock).runs == 4


def test_a_wide_spread_is_flagged():
    clock = FakeClock([1.0] + [0.001, 0.001, 0.010, 0.010, 0.010])
    result = timing.warm_median(clock.tick, warmup=1, min_runs=5, budget_s=0.0, clock=clock)
    assert not result.steady  # the middle half spans 1 … 10 ms: the machine was busy


class CountingViT(torch.nn.Module):
    """Counts its forward passes and checks that each runs without autograd on the rows asked for."""

    def __init__(self, clock: FakeClock):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(1))
        self.clock, self.calls = clock, 0

    def forward_trace(self, x, rows):
        assert torch.is_inference_mode_enabled() and rows == [0, 5] and x.shape == (1, 3, 8, 8)
        self.calls += 1
        self.clock.tick()


def test_the_forward_pass_is_timed_warm():
    clock = FakeClock([2.0, 2.0] + [0.004, 0.001, 0.002, 0.003, 0.005])
    vit = CountingViT(clock)
    result = timing.time_forward(vit, torch.zeros(1, 3, 8, 8), [0, 5], min_runs=5, budget_s=0.0, clock=clock)
    assert vit.calls == timing.WARMUP + 5 and result.warmup == timing.WARMUP == 2
    assert result.median_ms == pytest.approx(3.0)  # the two 2-second cold calls are not in it


class CountingConv(torch.nn.Conv2d):
    """A Conv2d that counts its calls and the torch threads each ran with."""

    def __init__(self):
        super().__init__(3, 8, kernel_size=4, stride=4)
        self.threads = []

    def forward(self, x):
        self.threads.append(torch.get_num_threads())
        return super().forward(x)


def test_the_proof_times_warm_calls_on_one_thread():
    conv, before = CountingConv(), torch.get_num_threads()
    proof = analysis.conv_vs_linear(torch.randn(1, 3, 16, 16), conv, min_run_time=0.0, min_runs=7, warmup=3)
    assert (proof.conv.warmup, proof.conv.runs, proof.linear.runs) == (3, 7, 7)
    assert len(conv.threads) == 1 + 3 + 7  # the compared output, the warm-up calls, the timed calls
    assert set(conv.threads) == {1} and torch.get_num_threads() == before  # set back afterwards
    assert proof.conv_ms == proof.conv.median_ms and proof.runs == 7
    assert proof.conv.low_ms <= proof.conv.median_ms <= proof.conv.high_ms


# ---------------------------------------------------------------- on the page


def test_the_page_shows_no_cold_time_and_times_the_forward_pass_warm_on_request(monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    calls = []

    def spy(call, **kwargs):  # the page's number must come from warm_median, whatever it measures
        calls.append(kwargs)
        call()
        return timing.Timing(0.7, 0.65, 0.8, 20, timing.WARMUP)

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not any(" ms" in c.value and ("forward" in c.value or "順伝播" in c.value) for c in at.caption)
    monkeypatch.setattr(timing, "warm_median", spy)
    at.button(key="time_forward").click().run()
    assert not at.exception and len(calls) == 1 and "sync" in calls[0]
    assert any("forward pass 0.70 ms on cpu: the median of 20 warm calls after 2 warm-up calls (middle half "
               "0.65–0.80 ms)" in c.value for c in at.caption)  # fmt: skip
    at.run()
    assert any("0.70 ms" in c.value for c in at.caption)  # kept for this run, not measured again
    assert len(calls) == 1


def test_the_proof_view_shows_warm_medians_and_their_spread():
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["view"] = "proof"
    at.run()
    caption = next(c.value for c in at.caption if c.value.startswith("Times:"))
    assert "one CPU thread" in caption and "after 3 warm-up calls" in caption and "middle half" in caption
    at.button(key="proof_time_again").click().run()
    assert not at.exception and len(at.metric) == 4
