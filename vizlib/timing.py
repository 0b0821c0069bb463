"""Warm timings: every time the page shows is the median of warm calls, after warm-up calls not counted.

The first call of a model or an operation at a new shape pays for setting up its kernels (oneDNN
primitives, CUDA contexts, allocator pools) and is often many times a warm call: the page measured
a Conv2d at 23.86 ms cold and 0.13 ms warm. One call also says nothing about how much a time
varies, and a server shared by a class varies a lot; the middle half of the calls (first to third
quartile) is kept beside the median so that the page can say so.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch

WARMUP = 2  # calls before timing, not counted
MIN_RUNS = 5  # timed calls at least, whatever the budget
MAX_RUNS = 50  # timed calls at most
BUDGET_S = 1.0  # after MIN_RUNS, timing stops once this many seconds have passed


@dataclass(frozen=True)
class Timing:
    """Warm calls of one computation: their median and middle half, in milliseconds."""

    median_ms: float
    low_ms: float  # first quartile
    high_ms: float  # third quartile
    runs: int  # timed calls the median is taken over
    warmup: int  # calls before them, not timed

    @property
    def steady(self) -> bool:
        """Whether the middle half lies within a factor of two (else the machine was busy meanwhile)."""
        return self.high_ms <= 2 * max(self.low_ms, 1e-9)


def warm_median(
    call: Callable[[], object],
    warmup: int = WARMUP,
    min_runs: int = MIN_RUNS,
    max_runs: int = MAX_RUNS,
    budget_s: float = BUDGET_S,
    sync: Callable[[], None] = lambda: None,
    clock: Callable[[], float] = time.perf_counter,
) -> Timing:
    """Time ``call()``: ``warmup`` calls first (not timed), then at least ``min_runs`` timed calls and
    more until ``budget_s`` seconds have passed or ``max_runs`` were timed.

    Args:
        call: the computation, run with no arguments.
        sync: waits for the device to finish (``torch.cuda.synchronize`` on a GPU), called after each call.
        clock: seconds (a test passes a fake clock).

    Returns:
        The median and quartiles of the timed calls, in milliseconds.
    """
    assert warmup >= 1 and 1 <= min_runs <= max_runs
    for _ in range(warmup):
        call()
    sync()
    times = []  # seconds per timed call
    start = clock()
    while len(times) < max_runs and (len(times) < min_runs or clock() - start < budget_s):
        before = clock()
        call()
        sync()
        times.append(clock() - before)
    ms = sorted(1e3 * s for s in times)
    low, _, high = statistics.quantiles(ms, n=4, method="inclusive") if len(ms) > 1 else (ms[0], 0, ms[0])
    return Timing(statistics.median(ms), low, high, len(ms), warmup)


_THREADS = threading.Lock()  # one measurement that changes torch's threads at a time


@contextmanager
def cpu_threads(n: int | None) -> Iterator[None]:
    """torch's CPU threads set to ``n`` meanwhile (None: as they are), then set back.

    Two threads on a shared CPU wait for each other whenever another process or session holds a core:
    a Conv2d measured here took 15 ms with two threads and 0.10 ms with one while the machine was
    busy. ``torch.utils.benchmark.Timer`` times one thread by default for the same reason. Held under
    a lock, so that two sessions measuring at once cannot leave the other's setting behind.
    """
    if n is None:
        yield
        return
    with _THREADS:
        before = torch.get_num_threads()
        torch.set_num_threads(n)
        try:
            yield
        finally:
            torch.set_num_threads(before)


def time_forward(model, x: torch.Tensor, rows: list[int] | None = None, **kwargs) -> Timing:
    """Warm timing of ``model.forward_trace(x, rows)`` without autograd on the model's device
    (``kwargs`` go to :func:`warm_median`)."""
    from .device import synchronize  # local, as in model.timed_trace

    device = next(model.parameters()).device
    x = x.to(device)  # (B, C, H, W)
    with torch.inference_mode():
        return warm_median(lambda: model.forward_trace(x, rows), sync=lambda: synchronize(device.type), **kwargs)
