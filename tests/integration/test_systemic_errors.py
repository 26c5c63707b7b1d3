"""A failure of the system, not of an event — here the effect's table is missing, as after a
deploy that forgot a migration — must not send the topic to the dead letters: the group waits,
reading the same batch again, and applies everything once the table is there."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from tests.support.events import Ticked, proof_registry
from tests.support.waiting import caught_up, eventually
from tongxin_platform.consumer import ConsumerRuntime, Message
from tongxin_platform.eventstore import NEW_STREAM, EventStore, NewEvent, now_utc
from tongxin_platform.outbox import OutboxRelay

pytestmark = pytest.mark.integration


async def test_a_missing_table_holds_the_group_back_instead_of_dead_lettering_the_topic(
    migrated_db: str, kafka: str, topic: str
) -> None:
    pool = await asyncpg.create_pool(migrated_db, min_size=1, max_size=4)
    assert pool is not None
    store = EventStore(topic)
    await store.append(
        pool,
        "s-1",
        NEW_STREAM,
        [
            NewEvent(uuid.uuid4(), Ticked(district="d", stream="s-1", n=i), now_utc())
            for i in range(1, 21)
        ],
    )
    tries: list[int] = []

    async def effect(conn: asyncpg.Connection, message: Message) -> None:
        assert isinstance(message.event, Ticked)
        tries.append(message.event.n)
        await conn.execute("INSERT INTO effects VALUES ($1)", message.event.n)

    relay = OutboxRelay(service="proof", database_url=migrated_db, bootstrap=kafka)
    runtime = ConsumerRuntime(
        group="g-systemic",
        topics=[topic],
        handler=effect,
        registry=proof_registry(),
        pool=pool,
        bootstrap=kafka,
    )
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(runtime.run())]
    try:
        await eventually(
            lambda: asyncio.sleep(0, len(tries)), lambda n: n >= 3, what="the group trying"
        )
        await asyncio.sleep(1.5)  # a few more tries, with back-off
        assert runtime.stats.dead_lettered == 0
        assert await pool.fetchval("SELECT count(*) FROM dead_letters") == 0
        await pool.execute("CREATE TABLE effects (n int NOT NULL)")  # the migration arrives
        await eventually(
            lambda: pool.fetchval("SELECT count(*) FROM effects"),
            lambda n: n == 20,
            timeout=60,
            what="every event applied once the table exists",
        )
        await eventually(
            lambda: caught_up(pool, "g-systemic", topic, kafka), bool, what="caught up"
        )
    finally:
        relay.stop()
        runtime.stop()
        await asyncio.gather(*tasks)
    assert [r["n"] for r in await pool.fetch("SELECT n FROM effects ORDER BY n")] == list(
        range(1, 21)
    )
    assert runtime.stats.dead_lettered == 0
    await pool.close()
