"""Proof: 16 concurrent writers, random delays inside their transactions (so that lower
positions commit late), a relay running all along; Kafka gets every event exactly once and
each stream's events in version order."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter

import asyncpg
import pytest

from tests.support.events import Ticked
from tests.support.kafka_reader import read_all
from tongxin_platform.eventstore import (
    ConcurrencyError,
    EventStore,
    NewEvent,
    now_utc,
    verify_chain,
)
from tongxin_platform.outbox import OutboxRelay

pytestmark = pytest.mark.integration

WRITERS = 16
TOTAL = 50_000
STREAMS = 400


async def _writer(
    url: str,
    store: EventStore,
    rng: random.Random,
    budget: list[int],
    committed: list[uuid.UUID],
    conflicts: Counter[str],
) -> None:
    conn = await asyncpg.connect(url)
    try:
        while budget[0] > 0:
            n = min(rng.randint(1, 3), budget[0])
            budget[0] -= n
            stream = f"s-{rng.randrange(STREAMS)}"
            while True:
                events = [
                    NewEvent(uuid.uuid4(), Ticked(district="t", stream=stream, n=i), now_utc())
                    for i in range(n)
                ]
                try:
                    async with conn.transaction():
                        head = await store.head(conn, stream)
                        await asyncio.sleep(rng.random() * 0.002)
                        await store.append(conn, stream, head, events)
                        # Commit late: a writer that took a lower position commits after others.
                        await asyncio.sleep(rng.random() * 0.002)
                    committed.extend(e.event_id for e in events)
                    break
                except ConcurrencyError:
                    conflicts["conflict"] += 1
    finally:
        await conn.close()


async def test_sixteen_concurrent_writers_reach_kafka_exactly_once_in_stream_order(
    migrated_db: str, kafka: str, topic: str
) -> None:
    store = EventStore(topic)
    relay = OutboxRelay(service="proof", database_url=migrated_db, bootstrap=kafka)
    relay_task = asyncio.create_task(relay.run())
    budget, committed, conflicts = [TOTAL], [], Counter[str]()
    rng = random.Random(20261122)
    await asyncio.gather(
        *(
            _writer(migrated_db, store, random.Random(rng.random()), budget, committed, conflicts)
            for _ in range(WRITERS)
        )
    )
    assert len(committed) == TOTAL

    conn = await asyncpg.connect(migrated_db)
    try:
        for _ in range(600):
            if await conn.fetchval("SELECT count(*) FROM outbox") == 0:
                break
            await asyncio.sleep(0.1)
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
        for sid in {f"s-{i}" for i in range(STREAMS)}:
            verify_chain(await store.load(conn, sid))
    finally:
        await conn.close()
        relay.stop()
        await relay_task

    records = await read_all(kafka, topic, expect=TOTAL, timeout=120)
    ids = Counter(dict(r.headers)["ce_id"].decode() for r in records)
    assert len(records) == TOTAL, f"{len(records)} records on Kafka for {TOTAL} events"
    assert set(ids) == {str(i) for i in committed}
    assert max(ids.values()) == 1
    last: dict[str, int] = {}
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        h = dict(r.headers)
        sid, version = h["ce_streamid"].decode(), int(h["ce_streamversion"])
        assert version == last.get(sid, 0) + 1, f"{sid}: v{version} after v{last.get(sid, 0)}"
        last[sid] = version
    assert conflicts["conflict"] > 0, "the writers never raced: the test proved nothing"
