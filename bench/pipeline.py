"""Measures 4 and 5: roster import (COPY path) and outbox → Kafka, with their peers.

Each of them also runs a bare "ceiling" in the same run: raw COPY of the same rows, a bare
aiokafka producer sending the same records; and the relay's records are also published through
a FastStream publisher (the relay keeps the raw producer: this is the figure that says whether it
should). The replays are in ``bench.replay``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass
from typing import Any

import asyncpg
from faststream.kafka import KafkaBroker

from bench.common import CpuMeter, clock, kafka_broker, postgres_backends
from tongxin_platform.kafka import reliable_producer
from tongxin_platform.outbox import OutboxRelay, record_headers
from tongxin_registry.bootstrap import Registry

log = logging.getLogger("bench")

RAW_COPY_DDL = """
CREATE TABLE IF NOT EXISTS raw_copy (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id  uuid    NOT NULL,
    stream_id text    NOT NULL,
    version   integer NOT NULL,
    payload   bytea   NOT NULL
)"""

RELAY_SERVICE = "registry"
RELAY_BATCH = 2000  # OutboxRelay's default batch size


# --- 4. import ------------------------------------------------------------------------------


async def import_roster(reg: Registry, csv_text: str) -> dict[str, float]:
    meter = CpuMeter({"server": postgres_backends(reg.runtime.settings.database_name)})
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


# The relay's producer settings (``tongxin_platform.kafka.reliable_producer``), for a FastStream
# broker: with FastStream's own defaults (linger 0 ms, 16 KB batches) the comparison would be of
# producer tuning, not of the publisher's per-record path (that variant is measured too, once).
RELAY_PRODUCER = {"linger_ms": 5, "max_batch_size": 512 * 1024, "request_timeout_ms": 15000}


async def faststream_publisher(
    kafka: str,
    topic: str,
    sample: list[Record],
    total: int,
    time_limit: float,
    *,
    relay_settings: bool = True,
) -> dict[str, Any]:
    """The same records (value, key, the same headers as text) through a FastStream publisher:
    ``KafkaBroker(acks="all", enable_idempotence=True)``, ``publisher.publish(...,
    no_confirm=True)`` 2,000 times, then gather the acks; the relay's pattern. FastStream adds two
    headers of its own to each record (``content-type``, empty for bytes, and
    ``correlation_id``, given as the event's correlation id, as a relay would)."""
    extra: dict[str, Any] = RELAY_PRODUCER if relay_settings else {}
    broker = KafkaBroker(kafka, acks="all", enable_idempotence=True, **extra)
    publisher = broker.publisher(topic)
    prepared = []
    for r in sample:
        headers = {k: v.decode() for k, v in r.headers}
        correlation = headers.get("ce_correlationid") or headers["ce_id"]
        prepared.append((r.value, r.key, headers, correlation))
    await broker.start()
    try:
        records = itertools.cycle(prepared)
        sent = 0
        meter = CpuMeter({"kafka": kafka_broker})
        meter.start()
        start = clock()
        deadline = start + time_limit
        while sent < total and clock() < deadline:
            futures = []
            for _ in range(min(RELAY_BATCH, total - sent)):
                value, key, headers, correlation = next(records)
                futures.append(
                    await publisher.publish(
                        value,
                        key=key,
                        headers=headers,
                        correlation_id=correlation,
                        no_confirm=True,
                    )
                )
            await asyncio.gather(*futures)
            sent += len(futures)
        elapsed = clock() - start
        cpu = meter.stop()
    finally:
        await broker.stop()
    return {
        "events": float(sent),
        "seconds": elapsed,
        "rate": sent / elapsed,
        "producer": "relay settings" if relay_settings else "FastStream defaults",
        **cpu,
    }
