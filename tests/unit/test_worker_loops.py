"""A worker's own periodic loops (``Service(loops=...)``): run every interval from the
worker's start to its stop, a failing round logged, counted and retried, never crashing the
worker, each loop a part of the worker's heartbeats."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from tongxin_platform.loops import LOOP, Loop, LoopContext, LoopMetrics, run_loop
from tongxin_platform.policy import Policy
from tongxin_platform.service import Service
from tongxin_platform.settings import ServiceSettings
from tongxin_platform.worker import Worker, WorkerOptions
from tongxin_visits.config import VisitsSettings

FAST = 0.01


def _fast(_settings: ServiceSettings) -> float:
    return FAST


def _service(*loops: Loop) -> Service:
    return Service(
        name="visits", title="Kit test service (loops)", settings=VisitsSettings,
        policy=Policy({}), loops=loops,
    )  # fmt: skip


def _context(registry: CollectorRegistry, name: str = "tick") -> LoopContext:
    return LoopContext(
        name, VisitsSettings(), pool=None, metrics=registry, clock=lambda: datetime.now(UTC)
    )


def _value(registry: CollectorRegistry, metric: str, loop: str) -> float:
    return registry.get_sample_value(metric, {"loop": loop}) or 0.0


async def _until(check: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():  # noqa: ASYNC110 - polls what the loop task records
            await asyncio.sleep(FAST)


async def test_a_loop_runs_round_after_round_until_it_is_cancelled_and_closes_its_resources() -> (
    None
):
    rounds: list[int] = []
    closed: list[str] = []

    async def tick(ctx: LoopContext) -> None:
        if not ctx.state:
            ctx.state["opened"] = True
            ctx.resources.callback(closed.append, "producer")
        rounds.append(len(rounds))

    registry = CollectorRegistry()
    task = asyncio.create_task(
        run_loop(Loop("tick", tick, _fast), _context(registry), LoopMetrics(registry))
    )
    await _until(lambda: len(rounds) >= 3)
    assert closed == []
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert closed == ["producer"]
    assert _value(registry, "tongxin_loop_rounds_total", "tick") >= 3


async def test_a_round_that_raises_is_counted_and_the_next_round_still_runs() -> None:
    calls: list[int] = []

    async def flaky(_ctx: LoopContext) -> None:
        calls.append(1)
        if len(calls) <= 2:
            raise RuntimeError("the database is away")

    registry = CollectorRegistry()
    task = asyncio.create_task(
        run_loop(Loop("flaky", flaky, _fast), _context(registry, "flaky"), LoopMetrics(registry))
    )
    await _until(lambda: len(calls) >= 4)
    assert not task.done(), "a failing round must not end the loop"
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert _value(registry, "tongxin_loop_errors_total", "flaky") == 2


async def test_a_loop_waits_its_interval_between_rounds() -> None:
    calls: list[int] = []

    async def tick(_ctx: LoopContext) -> None:
        calls.append(1)

    registry = CollectorRegistry()
    slow = Loop("slow", tick, lambda _s: 3600.0)
    task = asyncio.create_task(run_loop(slow, _context(registry, "slow"), LoopMetrics(registry)))
    await _until(lambda: len(calls) >= 1)
    await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert calls == [1]


def test_a_service_s_loops_are_parts_of_its_worker_of_kind_loop() -> None:
    async def tick(_ctx: LoopContext) -> None:
        return None

    parts = _service(Loop("kpis", tick)).worker_parts()
    assert ("kpis", LOOP) in parts
    assert ("kpis", LOOP) not in _service().worker_parts()


@pytest.mark.parametrize(
    "names", [("kpis", "kpis"), ("relay",), ("deadlines",), ("notifications",)]
)
def test_loop_names_that_repeat_or_take_a_kit_part_s_name_are_refused(
    names: tuple[str, ...],
) -> None:
    async def tick(_ctx: LoopContext) -> None:
        return None

    with pytest.raises(ValueError, match="loop names"):
        _service(*(Loop(n, tick) for n in names))


async def test_a_worker_starts_its_loops_reports_them_running_and_cancels_them_at_stop() -> None:
    seen: list[LoopContext] = []

    async def tick(ctx: LoopContext) -> None:
        seen.append(ctx)

    async def boom(_ctx: LoopContext) -> None:
        raise RuntimeError("every round fails")

    clock = lambda: datetime(2026, 11, 28, tzinfo=UTC)  # noqa: E731
    service = _service(Loop("kpis", tick, _fast), Loop("broken", boom, _fast))
    worker = Worker(service, VisitsSettings(), WorkerOptions(), clock=clock)
    worker._start_own_loops()
    await _until(lambda: len(seen) >= 2)
    assert {("kpis", LOOP), ("broken", LOOP)} <= set(worker.running_parts())
    assert seen[0].clock() == clock()
    assert seen[0].metrics is worker.metrics
    assert isinstance(seen[0].resources, AsyncExitStack)
    tasks = list(worker.state.own.values())
    await worker.shutdown()
    assert all(t.done() for t in tasks)
    assert not any(kind == LOOP for _, kind in worker.running_parts())
    errors = worker.metrics.get_sample_value("tongxin_loop_errors_total", {"loop": "broken"})
    assert (errors or 0) >= 1


async def test_a_worker_with_loops_switched_off_starts_none() -> None:
    async def tick(_ctx: LoopContext) -> None:
        raise AssertionError("switched off")

    worker = Worker(
        _service(Loop("kpis", tick, _fast)), VisitsSettings(), WorkerOptions(loops=False)
    )
    worker._start_own_loops()
    assert worker.state.own == {}
