"""The consumer runtime: exactly-once effects on at-least-once delivery, on FastStream.

``tongxin_platform.exactly_once`` holds the mechanics (offsets and dedupe state stored with the
effects, careful retries, dead letters); ``tongxin_platform.messaging`` plugs them into
FastStream's batch subscribers. ``ConsumerRuntime`` runs one consumer group on a broker of its
own; a service's worker attaches all of its groups to one broker instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg
from prometheus_client import CollectorRegistry

from tongxin_contracts import EventRegistry
from tongxin_platform.exactly_once import (
    Apply,
    Consumer,
    ConsumerStats,
    Ledgers,
    Message,
    PgLedgers,
    per_message,
)
from tongxin_platform.messaging import ensure_dead_letter_topics, make_broker, subscribe

__all__ = ["Consumer", "ConsumerRuntime", "ConsumerStats", "Message"]


class ConsumerRuntime:
    """One consumer group as a part of its own (``run`` until ``stop``): a FastStream broker
    with the group's subscribers. Workers attach several groups to one broker instead."""

    def __init__(
        self,
        *,
        group: str,
        topics: Sequence[str],
        registry: EventRegistry,
        bootstrap: str,
        pool: asyncpg.Pool | None = None,
        handler: Callable[[Any, Message], Awaitable[None]] | None = None,
        apply: Apply | None = None,
        handles: Callable[[str], bool] | None = None,
        ledgers: Ledgers | None = None,
        stream_ids: Callable[[str], str] | None = None,
        max_attempts: int = 3,
        max_batch: int = 1000,
        replication_factor: int = 1,
        span_per_event: bool = True,
        service: str = "tongxin",
        metrics: CollectorRegistry | None = None,
    ) -> None:
        if (handler is None) == (apply is None):
            raise ValueError("give one of handler (per message) or apply (per batch)")
        if apply is None:
            assert handler is not None
            apply = per_message(handler)
        if ledgers is None:
            if pool is None:
                raise ValueError("give a pool or ledgers")
            ledgers = PgLedgers(pool, stream_ids)
        self.consumer = Consumer(
            group=group,
            topics=topics,
            apply=apply,
            registry=registry,
            ledgers=ledgers,
            handles=handles,
            max_attempts=max_attempts,
            max_batch=max_batch,
            span_per_event=span_per_event,
        )
        self.bootstrap = bootstrap
        self.replication_factor = replication_factor
        self.service, self.metrics = service, metrics
        self._stop = asyncio.Event()

    @property
    def group(self) -> str:
        return self.consumer.group

    @property
    def stats(self) -> ConsumerStats:
        return self.consumer.stats

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        await ensure_dead_letter_topics(self.bootstrap, [self.consumer], self.replication_factor)
        broker = make_broker(self.bootstrap, service=self.service, metrics=self.metrics)
        subscribe(broker, self.consumer)
        await broker.start()
        try:
            await self._stop.wait()
        finally:
            await broker.stop()
