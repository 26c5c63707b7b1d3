"""Measures 4–6: roster import (COPY path), outbox → Kafka, projection replay from offset 0.

Each of them also runs a bare "ceiling" in the same run: raw COPY of the same rows, a bare
aiokafka producer sending the same records, a bare aiokafka consumer reading the same topic.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.common import PARTITIONS, CpuMeter, clock, kafka_broker, postgres_backends, rss_mb
from tongxin_contracts import default_registry, envelope_from_headers
from tongxin_platform.consumer import ConsumerRuntime
from tongxin_platform.db import create_pool
from tongxin_platform.kafka import reliable_producer
from tongxin_platform.outbox import OutboxRelay, record_headers
from tongxin_registry.bootstrap import Registry
from tongxin_registry.projections import roster

log = logging.getLogger("bench")

RAW_COPY_DDL = """
CREATE TABLE IF NOT EXISTS raw_copy (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id  uuid    NOT NULL,
    stream_id text    NOT NULL,
    version   integer NOT NULL,
    payload   bytea   NOT NULL
)"""

PROJECTION_SCHEMA = "bench_roster"
RELAY_SERVICE = "registry"
RELAY_BATCH = 2000  # OutboxRelay's default batch size


# --- 4. import ------------------------------------------------------------------------------


async def import_roster(reg: Registry, csv_text: str) -> dict[str, float]:
    meter = CpuMeter({"server": postgres_backends(reg.settings.database_name)})
    meter.start()
    start = clock()
    result = await reg.service.import_students(csv_text)
    elapsed = clock() - start
    return {
        "rows": float(result.rows),
        "events": float(result.events),
        "seconds": elapsed,
        "rate": result.events / elapsed,
        **meter.stop(),
    }


async def raw_copy_of_last_import(
    conn: asyncpg.Connection, after_position: int, database: str
) -> dict[str, float]:
    """COPY the rows the last import wrote (same ids, streams, payload bytes) into a bare table."""
    rows = [
        tuple(r)
        for r in await conn.fetch(
            "SELECT event_id, stream_id, version, payload FROM events WHERE position > $1"
            " ORDER BY position",
            after_position,
        )
    ]
    meter = CpuMeter({"server": postgres_backends(database)})
    meter.start()
    start = clock()
    async with conn.transaction():
        await conn.copy_records_to_table(
            "raw_copy", records=rows, columns=["event_id", "stream_id", "version", "payload"]
        )
    elapsed = clock() - start
    return {
        "events": float(len(rows)),
        "seconds": elapsed,
        "rate": len(rows) / elapsed,
        **meter.stop(),
    }


# --- 5. outbox → Kafka ----------------------------------------------------------------------


async def relay_outbox(
    url: str, database: str, kafka: str, expected: int, time_limit: float
) -> dict[str, float]:
    """Start an OutboxRelay on a full outbox; time until it has published every row."""
    relay = OutboxRelay(service=RELAY_SERVICE, database_url=url, bootstrap=kafka)
    meter = CpuMeter({"server": postgres_backends(database), "kafka": kafka_broker})
    meter.start()
    start = clock()
    task = asyncio.create_task(relay.run())
    deadline = start + time_limit
    while relay.stats.published < expected and clock() < deadline and not task.done():  # noqa: ASYNC110 - polls the relay's counter
        await asyncio.sleep(0.005)
    elapsed = clock() - start
    cpu = meter.stop()
    relay.stop()
    await asyncio.wait_for(task, 30)
    conn = await asyncpg.connect(url)
    try:
        left = await conn.fetchval("SELECT count(*) FROM outbox")
    finally:
        await conn.close()
    published = relay.stats.published
    return {
        "events": float(published),
        "seconds": elapsed,
        "rate": published / elapsed,
        "outbox_left": float(left),
        "failures": float(relay.stats.failures),
        "timed_out": float(published < expected),
        **cpu,
    }


_SAMPLE = """
SELECT o.topic, e.position, e.event_id, e.stream_id, e.version, e.event_type, e.district,
       e.recorded_at, e.payload, e.traceparent, e.correlation_id, e.causation_id
FROM outbox o JOIN events e ON e.position = o.position ORDER BY o.position LIMIT $1
"""


@dataclass(frozen=True)
class Record:
    value: bytes
    key: bytes
    headers: list[tuple[str, bytes]]


async def sample_records(url: str, n: int) -> list[Record]:
    """The first ``n`` outbox rows as the relay would send them (headers built beforehand)."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(_SAMPLE, n)
    finally:
        await conn.close()
    return [
        Record(bytes(r["payload"]), r["stream_id"].encode(), record_headers(RELAY_SERVICE, r))
        for r in rows
    ]


async def bare_producer(
    kafka: str, topic: str, sample: list[Record], total: int, time_limit: float
) -> dict[str, float]:
    """The relay's send pattern (batches of 2000, ``await send`` each, gather the acks) with
    nothing else: no database, headers already built. Same producer settings as the relay."""
    producer = reliable_producer(kafka)
    await producer.start()
    try:
        records = itertools.cycle(sample)
        sent = 0
        meter = CpuMeter({"kafka": kafka_broker})
        meter.start()
        start = clock()
        deadline = start + time_limit
        while sent < total and clock() < deadline:
            futures = []
            for _ in range(min(RELAY_BATCH, total - sent)):
                r = next(records)
                futures.append(
                    await producer.send(topic, value=r.value, key=r.key, headers=r.headers)
                )
            await asyncio.gather(*futures)
            sent += len(futures)
        elapsed = clock() - start
        cpu = meter.stop()
    finally:
        await producer.stop()
    return {"events": float(sent), "seconds": elapsed, "rate": sent / elapsed, **cpu}


# --- 6. replay ------------------------------------------------------------------------------


def _bare_consumer(kafka: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=kafka,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        fetch_max_bytes=16 * 1024 * 1024,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )


async def topic_size(kafka: str, topic: str) -> int:
    consumer = _bare_consumer(kafka)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        ends = await consumer.end_offsets(parts)
        begins = await consumer.beginning_offsets(parts)
        return sum(ends[tp] - begins[tp] for tp in parts)
    finally:
        await consumer.stop()


async def bare_consume(
    kafka: str, topic: str, total: int, time_limit: float, decode: bool
) -> dict[str, float]:
    """Read the topic from offset 0 (no group, no database); optionally decode every record
    as the runtime does (envelope from headers, event from JSON)."""
    registry = default_registry()
    consumer = _bare_consumer(kafka)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
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
    return {"events": float(count), "seconds": elapsed, "rate": count / elapsed, **cpu}


async def replay_projection(
    url: str, database: str, kafka: str, topic: str, group: str, total: int, time_limit: float
) -> dict[str, Any]:
    """A ConsumerRuntime with the roster projection, fresh schema and group, from offset 0."""
    pool = await create_pool(url, max_size=4)
    try:
        async with pool.acquire() as conn:
            await conn.execute(f"DROP SCHEMA IF EXISTS {PROJECTION_SCHEMA} CASCADE")
            await roster.create_tables(conn, PROJECTION_SCHEMA)
        runtime = ConsumerRuntime(
            group=group,
            topics=[topic],
            handler=roster.apply,
            batch_handler=roster.apply_batch,
            registry=default_registry(),
            pool=pool,
            bootstrap=kafka,
            search_path=PROJECTION_SCHEMA,
        )
        stats = runtime.stats

        def seen() -> int:
            return stats.applied + stats.duplicates + stats.dead_lettered + stats.out_of_order

        meter = CpuMeter({"server": postgres_backends(database), "kafka": kafka_broker})
        meter.start()
        start = clock()
        first: float | None = None
        at_first = 0
        rss: list[tuple[int, float | None]] = []  # (events seen, RSS MB), about once a second
        next_sample = start
        task = asyncio.create_task(runtime.run())
        deadline = start + time_limit
        while seen() < total and clock() < deadline and not task.done():
            if first is None and seen() > 0:
                first, at_first = clock(), seen()
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
            log.warning("the consumer runtime ended with %r", exc)
        async with pool.acquire() as conn:
            students = await conn.fetchval(f"SELECT count(*) FROM {PROJECTION_SCHEMA}.students")
        done = seen()
        first = first or start
        steady = max(end - first, 1e-9)
        return {
            "events": float(done),
            "seconds": end - start,
            "rate": done / (end - start),
            "startup_seconds": first - start,
            "steady_seconds": steady,
            "steady_rate": (done - at_first) / steady,
            "applied": float(stats.applied),
            "duplicates": float(stats.duplicates),
            "dead_lettered": float(stats.dead_lettered),
            "out_of_order": float(stats.out_of_order),
            "batches": float(stats.batches),
            "students_in_read_model": float(students),
            "timed_out": float(done < total),
            **cpu,
            "rss_by_events_seen": rss,
        }
    finally:
        await pool.close()
