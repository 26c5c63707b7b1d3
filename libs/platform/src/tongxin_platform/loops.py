"""A worker's own periodic work, declared on the service: ``Service(loops=(Loop("kpis", run),))``.

The worker runs each loop as one task from its start to its stop: ``run(context)`` is called,
then again ``interval(settings)`` seconds after it returned, and so on. A round that raises is
logged and counted (``tongxin_loop_errors_total``) and the next round runs after the interval:
a loop never crashes its worker. The loop's part appears in the worker's heartbeats
(``worker_liveness``), so ``/ready`` and ``tongxin status`` show it under ``loops``.

What a loop keeps between rounds (a Kafka producer, say) it keeps in ``context.state``, and
what must be closed at the worker's stop it enters into ``context.resources`` (an
``AsyncExitStack`` the worker closes after cancelling the loop).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import asyncpg
from prometheus_client import CollectorRegistry, Counter, Histogram

if TYPE_CHECKING:
    from tongxin_platform.settings import ServiceSettings

log = logging.getLogger(__name__)

LOOP = "loop"  # the kind of a loop's part in the worker's heartbeats


@dataclass
class LoopContext:
    """What one round of a loop gets: the worker's settings, database pool, metrics registry and
    clock, and what the loop keeps between rounds."""

    name: str
    settings: ServiceSettings
    pool: asyncpg.Pool
    metrics: CollectorRegistry
    clock: Callable[[], datetime]
    state: dict[str, Any] = field(default_factory=dict)
    resources: AsyncExitStack = field(default_factory=AsyncExitStack)


def _five_seconds(_settings: ServiceSettings) -> float:
    return 5.0


@dataclass(frozen=True)
class Publishes:
    """A topic a loop writes, for the worker's AsyncAPI document: the topic (from the
    settings), the record's model and what it is."""

    topic: Callable[[ServiceSettings], str]
    schema: Any  # a pydantic model
    description: str


@dataclass(frozen=True)
class Loop:
    """``run`` is one round; ``interval`` reads the pause between rounds from the settings;
    ``publishes`` documents the topics it writes (shown in the worker's ``/asyncapi``)."""

    name: str
    run: Callable[[LoopContext], Awaitable[None]]
    interval: Callable[[ServiceSettings], float] = _five_seconds
    description: str = ""
    publishes: tuple[Publishes, ...] = ()


class LoopMetrics:
    """Rounds, failed rounds and round durations of every loop of one worker."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.rounds = Counter(
            "tongxin_loop_rounds",
            "Rounds a worker's loop ran, by loop",
            ["loop"],
            registry=registry,
        )
        self.errors = Counter(
            "tongxin_loop_errors",
            "Rounds of a worker's loop that raised (retried after the interval), by loop",
            ["loop"],
            registry=registry,
        )
        self.seconds = Histogram(
            "tongxin_loop_round_seconds",
            "How long one round of a worker's loop took, by loop",
            ["loop"],
            registry=registry,
        )


async def run_loop(loop: Loop, context: LoopContext, metrics: LoopMetrics) -> None:
    """Run ``loop`` until cancelled; its resources are closed when it ends."""
    interval = loop.interval(context.settings)
    async with context.resources:
        while True:
            started = time.perf_counter()
            try:
                await loop.run(context)
            except asyncio.CancelledError:
                raise
            except Exception:  # the next round tries again
                metrics.errors.labels(loop.name).inc()
                log.exception("loop %s failed; next round in %.1fs", loop.name, interval)
            finally:
                metrics.rounds.labels(loop.name).inc()
                metrics.seconds.labels(loop.name).observe(time.perf_counter() - started)
            await asyncio.sleep(interval)
