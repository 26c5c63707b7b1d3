"""Projection replays from offset 0, on two runtimes of the same exactly-once core, and their
ceiling.

- ``faststream``: ``ConsumerRuntime``, the kit's runtime: a FastStream broker with one batch
  subscriber per topic (``tongxin_platform.messaging``), ``span_per_event=False`` as a rebuild.
- ``raw``: ``RawRuntime`` below, the same ``Consumer`` driven by a plain aiokafka loop: one
  ``AIOKafkaConsumer`` subscribed to every topic with the group id, no auto-commit, a rebalance
  listener seeking to the offsets stored in PostgreSQL, ``getmany`` → ``consumer.process``. It
  stands for the aiokafka runtime the platform had before FastStream.
- ``bare``: an ``AIOKafkaConsumer`` with no group and no database reading the same topics.

Each replay gets a fresh schema and a fresh consumer group, and the same pool size and batch
size; its read model's digest is kept, so that runs on the two runtimes can be compared.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition

from bench.common import PARTITIONS, CpuMeter, clock, kafka_broker, postgres_backends, rss_mb
from tongxin_contracts import default_registry, envelope_from_headers
from tongxin_platform.consumer import ConsumerRuntime
from tongxin_platform.db import create_pool
from tongxin_platform.exactly_once import TRANSIENT, Consumer, ConsumerStats, PgLedgers
from tongxin_platform.memory import CollectedDeadLetters
from tongxin_platform.messaging import BATCH_TIMEOUT_MS
from tongxin_platform.projection import Projection

log = logging.getLogger("bench")

RUNTIMES = ("faststream", "raw")
POOL_SIZE = 4  # as a worker's pool
FETCH = {"fetch_max_bytes": 16 * 1024 * 1024, "max_partition_fetch_bytes": 4 * 1024 * 1024}


# --- the raw aiokafka driver ------------------------------------------------------------------


class _SeekToStored(ConsumerRebalanceListener):  # type: ignore[misc]
    """On assignment, seek each partition to the offset stored with the group's effects."""

    def __init__(self, consumer: Consumer, kafka: AIOKafkaConsumer) -> None:
        self.consumer, self.kafka = consumer, kafka

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        self.consumer.stats.assigned -= {(tp.topic, tp.partition) for tp in revoked}

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        stored = await self.consumer.ledgers.stored(self.consumer.group)
        for tp in assigned:
            at = stored.get((tp.topic, tp.partition))
            if at is None:
                await self.kafka.seek_to_beginning(tp)
            else:
                self.kafka.seek(tp, at)
        self.consumer.stats.assigned |= {(tp.topic, tp.partition) for tp in assigned}


class RawRuntime:
    """``Consumer`` on a plain aiokafka loop (``run`` until ``stop``), same interface as
    ``ConsumerRuntime`` for what the bench needs."""

    def __init__(self, consumer: Consumer, bootstrap: str) -> None:
        self.consumer, self.bootstrap = consumer, bootstrap
        self.dead = CollectedDeadLetters()
        self.failures = 0
        self._stop = asyncio.Event()

    @property
    def stats(self) -> ConsumerStats:
        return self.consumer.stats

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        kafka = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=self.consumer.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            **FETCH,
        )
        await kafka.start()
        try:
            kafka.subscribe(self.consumer.topics, listener=_SeekToStored(self.consumer, kafka))
            while not self._stop.is_set():
                batches = await kafka.getmany(
                    timeout_ms=BATCH_TIMEOUT_MS, max_records=self.consumer.max_batch
                )
                records = [r for part in batches.values() for r in part]
                if not records:
                    continue
                try:
                    await self.consumer.process(records, self.dead)
                except TRANSIENT as exc:
                    self.failures += 1
                    log.warning("%s: batch failed (%r); read again", self.consumer.group, exc)
                    _rewind(kafka, records)
                    await asyncio.sleep(0.5)
        finally:
            await kafka.stop()


def _rewind(kafka: AIOKafkaConsumer, records: Sequence[ConsumerRecord]) -> None:
    first: dict[tuple[str, int], int] = {}
    for r in records:
        first.setdefault((r.topic, r.partition), r.offset)
    for (topic, partition), offset in first.items():
        kafka.seek(TopicPartition(topic, partition), offset)


# --- one replay -------------------------------------------------------------------------------


def runtime_for(
    kind: str,
    projection: Projection,
    schema: str,
    pool: Any,
    kafka: str,
    topics: Sequence[str],
    group: str,
    max_batch: int,
    stream_ids: Any = None,
) -> ConsumerRuntime | RawRuntime:
    if kind == "faststream":
        return ConsumerRuntime(
            group=group,
            topics=topics,
            registry=default_registry(),
            bootstrap=kafka,
            pool=pool,
            apply=projection.apply_to(schema),
            handles=projection.handles,
            max_batch=max_batch,
            span_per_event=False,
            service="bench",
            stream_ids=stream_ids,
        )
    if kind == "raw":
        consumer = Consumer(
            group=group,
            topics=topics,
            apply=projection.apply_to(schema),
            registry=default_registry(),
            ledgers=PgLedgers(pool),
            handles=projection.handles,
            max_batch=max_batch,
            span_per_event=False,
        )
        return RawRuntime(consumer, kafka)
    raise ValueError(f"unknown runtime {kind!r}")


async def replay(
    kind: str,
    projection: Projection,
    *,
    url: str,
    database: str,
    kafka: str,
    topics: Sequence[str],
    group: str,
    schema: str,
    total: int,
    time_limit: float,
    max_batch: int,
    stream_ids: Any = None,
) -> dict[str, Any]:
    """Replay ``topics`` from offset 0 into a fresh ``schema`` on runtime ``kind`` until every
    record is seen (applied, skipped, duplicate, out of order or dead-lettered) or time is up.

    The rate counts from the first applied batch (the group's join and the first fetch are
    ``startup_seconds``)."""
    pool = await create_pool(url, max_size=POOL_SIZE)
    try:
        async with pool.acquire() as conn:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            await projection.create_tables(conn, schema)
        runtime = runtime_for(
            kind, projection, schema, pool, kafka, topics, group, max_batch, stream_ids
        )
        stats = runtime.stats

        def seen() -> int:
            return (
                stats.applied
                + stats.skipped
                + stats.duplicates
                + stats.dead_lettered
                + stats.out_of_order
            )

        meter = CpuMeter({"server": postgres_backends(database), "kafka": kafka_broker})
        meter.start()
        start = clock()
        first: float | None = None
        at_first = 0
        partitions = PARTITIONS * len(topics)
        all_assigned: float | None = None  # a group of several members rebalances as they join
        rss: list[tuple[int, float | None]] = []  # (events seen, RSS MB), about once a second
        next_sample = start
        task = asyncio.create_task(runtime.run())
        deadline = start + time_limit
        while seen() < total and clock() < deadline and not task.done():
            if first is None and seen() > 0:
                first, at_first = clock(), seen()
            if all_assigned is None and len(stats.assigned) >= partitions:
                all_assigned = clock()
            if clock() >= next_sample:
                rss.append((seen(), rss_mb()))
                next_sample += 1.0
            await asyncio.sleep(0.005)
        rss.append((seen(), rss_mb()))
        end = clock()
        cpu = meter.stop()
        runtime.stop()
        try:
            await asyncio.wait_for(task, 30)
        except Exception as exc:  # noqa: BLE001 - reported, the figures are still worth having
            log.warning("the %s runtime ended with %r", kind, exc)
        async with pool.acquire() as conn:
            digest = await projection.digest(conn, schema)
            rows = {
                t: int(await conn.fetchval(f"SELECT count(*) FROM {schema}.{t}"))
                for t in projection.tables
            }
        done = seen()
        first = first or start
        steady = max(end - first, 1e-9)
        return {
            "runtime": kind,
            "group": group,
            "schema": schema,
            "events": float(done),
            "seconds": end - start,
            "rate": done / (end - start),
            "startup_seconds": first - start,
            "all_assigned_seconds": (all_assigned or end) - start,
            "steady_seconds": steady,
            "steady_rate": (done - at_first) / steady,
            "applied": float(stats.applied),
            "skipped": float(stats.skipped),
            "duplicates": float(stats.duplicates),
            "dead_lettered": float(stats.dead_lettered),
            "out_of_order": float(stats.out_of_order),
            "batches": float(stats.batches),
            "rows": rows,
            "digest": digest,
            "timed_out": float(done < total),
            **cpu,
            "rss_by_events_seen": rss,
        }
    finally:
        await pool.close()


# --- the ceiling ------------------------------------------------------------------------------


def _bare_consumer(kafka: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=kafka,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        **FETCH,
    )


def _partitions(topics: Sequence[str]) -> list[TopicPartition]:
    return [TopicPartition(t, p) for t in topics for p in range(PARTITIONS)]


async def topics_size(kafka: str, topics: Sequence[str]) -> int:
    consumer = _bare_consumer(kafka)
    await consumer.start()
    try:
        parts = _partitions(topics)
        ends = await consumer.end_offsets(parts)
        begins = await consumer.beginning_offsets(parts)
        return sum(ends[tp] - begins[tp] for tp in parts)
    finally:
        await consumer.stop()


async def bare_consume(
    kafka: str, topics: Sequence[str], total: int, time_limit: float, decode: bool
) -> dict[str, Any]:
    """Read the topics from offset 0 (no group, no database); optionally decode every record
    as a handler would see it (envelope from headers, event from JSON)."""
    registry = default_registry()
    consumer = _bare_consumer(kafka)
    await consumer.start()
    try:
        parts = _partitions(topics)
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        count = 0
        meter = CpuMeter({"kafka": kafka_broker})
        meter.start()
        start = clock()
        deadline = start + time_limit
        while count < total and clock() < deadline:
            batches = await consumer.getmany(timeout_ms=200, max_records=1000)
            for records in batches.values():
                count += len(records)
                if decode:
                    for r in records:
                        env = envelope_from_headers(r.headers or ())
                        registry.decode(env.type, r.value or b"")
        elapsed = clock() - start
        cpu = meter.stop()
    finally:
        await consumer.stop()
    return {
        "runtime": "bare" + ("+decode" if decode else ""),
        "events": float(count),
        "seconds": elapsed,
        "rate": count / elapsed,
        "steady_rate": count / elapsed,
        "timed_out": float(count < total),
        **cpu,
    }
