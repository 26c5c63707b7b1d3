"""Only one relay per service publishes; a standby takes over when the active one goes away."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from tests.support.events import Ticked
from tests.support.kafka_reader import read_all
from tests.support.waiting import eventually
from tongxin_platform.eventstore import NEW_STREAM, EventStore, NewEvent, now_utc
from tongxin_platform.outbox import OutboxRelay

pytestmark = pytest.mark.integration


async def test_one_relay_is_active_and_a_standby_takes_over_without_losing_events(
    migrated_db: str, kafka: str, topic: str
) -> None:
    store = EventStore(topic)
    first = OutboxRelay(service="failover", database_url=migrated_db, bootstrap=kafka)
    second = OutboxRelay(service="failover", database_url=migrated_db, bootstrap=kafka)
    tasks = [asyncio.create_task(first.run())]
    await eventually(lambda: asyncio.sleep(0, first.stats.active), bool, what="first active")
    tasks.append(asyncio.create_task(second.run()))
    pool = await asyncpg.create_pool(migrated_db, min_size=1, max_size=2)
    assert pool is not None

    async def append(stream: str, n: int) -> None:
        await store.append(
            pool,
            stream,
            NEW_STREAM,
            [
                NewEvent(uuid.uuid4(), Ticked(district="d", stream=stream, n=i), now_utc())
                for i in range(n)
            ],
        )

    try:
        await append("a", 50)
        await eventually(
            lambda: asyncio.sleep(0, first.stats.published),
            lambda n: n == 50,
            what="the first relay publishing",
        )
        await asyncio.sleep(1.0)
        assert second.stats.active is False
        assert second.stats.published == 0
        first.stop()
        await tasks[0]
        await append("b", 30)
        await eventually(
            lambda: asyncio.sleep(0, second.stats.published),
            lambda n: n == 30,
            what="the standby taking over",
        )
    finally:
        first.stop()
        second.stop()
        await asyncio.gather(*tasks)
        await pool.close()
    records = await read_all(kafka, topic, expect=80, timeout=30)
    assert len(records) == 80
