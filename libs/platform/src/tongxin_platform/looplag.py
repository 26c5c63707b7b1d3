"""How long the event loop was blocked: a task that asks to sleep ``TICK`` and measures how late
it wakes. The overshoot is the time something held the loop (a parse, a hash, a big JSON dump):
every request waiting meanwhile waited that long too.

Exposed on ``/metrics`` as ``tongxin_event_loop_max_stall_seconds`` — the longest stall within
the last ``window`` seconds (``TONGXIN_LOOP_STALL_WINDOW``, default 60) — and
``tongxin_event_loop_stalls_total{over="0.1"}``, the stalls longer than 100 ms since start.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import deque
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

TICK = 0.010
LONG_STALL = 0.100


class LoopLag(Collector):
    def __init__(self, *, window: float = 60.0) -> None:
        self.window = window
        self._samples: deque[tuple[float, float]] = deque()  # (when, stall), stall > 1 ms
        self._long = 0
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_env(cls) -> LoopLag:
        return cls(window=float(os.environ.get("TONGXIN_LOOP_STALL_WINDOW", "60")))

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-lag")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(TICK)
            self.record(time.perf_counter() - before - TICK)

    def record(self, stall: float, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if stall > 0.001:
            self._samples.append((now, stall))
        if stall > LONG_STALL:
            self._long += 1
        self._forget(now)

    def _forget(self, now: float) -> None:
        while self._samples and self._samples[0][0] < now - self.window:
            self._samples.popleft()

    def max_stall(self, now: float | None = None) -> float:
        self._forget(time.monotonic() if now is None else now)
        return max((s for _, s in self._samples), default=0.0)

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "tongxin_event_loop_max_stall_seconds",
            f"Longest event-loop stall in the last {self.window:g} s",
        )
        gauge.add_metric([], self.max_stall())
        yield gauge
        counter = CounterMetricFamily(
            "tongxin_event_loop_stalls",
            f"Event-loop stalls longer than {LONG_STALL:g} s since start",
            labels=["over"],
        )
        counter.add_metric([f"{LONG_STALL:g}"], self._long)
        yield counter
