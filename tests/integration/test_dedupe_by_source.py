"""Two services' streams may share an id: a consumer group reading both services' topics keeps
their versions apart (dedupe by source and stream), so neither service's events are taken for
the other's duplicates."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

from tests.support.events import Ticked, proof_registry
from tests.support.waiting import caught_up, eventually
from tongxin_platform.consumer import ConsumerRuntime, Message
from tongxin_platform.db import ensure_database
from tongxin_platform.eventstore import NEW_STREAM, EventStore, NewEvent, now_utc
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config
from tongxin_platform.migrations import migrate
from tongxin_platform.outbox import OutboxRelay
from tongxin_platform.testing import Infra

pytestmark = pytest.mark.integration

STREAM = "student-x"  # the same stream id in both services
GROUP = "g-two-sources"


@asynccontextmanager
async def event_store_database(infra: Infra, name: str) -> AsyncIterator[tuple[str, asyncpg.Pool]]:
    url = await ensure_database(infra.database_url, name)
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn, "tongxin_platform.sql")
    finally:
        await conn.close()
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    assert pool is not None
    try:
        yield url, pool
    finally:
        await pool.close()


async def append_ticks(pool: asyncpg.Pool, topic: str, district: str, count: int) -> None:
    await EventStore(topic).append(
        pool,
        STREAM,
        NEW_STREAM,
        [
            NewEvent(uuid.uuid4(), Ticked(district=district, stream=STREAM, n=n), now_utc())
            for n in range(1, count + 1)
        ],
    )


async def test_a_group_reading_two_services_applies_each_of_their_same_named_streams_once(
    infra: Infra, kafka: str, migrated_db: str, topic: str, database_name: str
) -> None:
    alpha_topic, beta_topic = topic, topic.replace(".events", "-beta.events")
    await ensure_topics(kafka, [TopicSpec(beta_topic, 3, event_topic_config())])
    consumer_pool = await asyncpg.create_pool(migrated_db, min_size=1, max_size=3)
    assert consumer_pool is not None
    # No unique constraint: an event applied twice would show as two rows.
    await consumer_pool.execute("CREATE TABLE effects (district text, stream text, n int)")

    async def handler(conn: asyncpg.Connection, message: Message) -> None:
        event = message.event
        assert isinstance(event, Ticked)
        await conn.execute(
            "INSERT INTO effects VALUES ($1, $2, $3)", event.district, event.stream, event.n
        )

    async with (
        event_store_database(infra, f"{database_name}_alpha") as (alpha_url, alpha),
        event_store_database(infra, f"{database_name}_beta") as (beta_url, beta),
    ):
        # Different lengths: whichever service came first, the other's tail would be taken for
        # new versions of the first's stream and applied in its place.
        await append_ticks(alpha, alpha_topic, "alpha", 4)
        await append_ticks(beta, beta_topic, "beta", 6)
        relays = [
            OutboxRelay(service="alpha", database_url=alpha_url, bootstrap=kafka),
            OutboxRelay(service="beta", database_url=beta_url, bootstrap=kafka),
        ]
        runtime = ConsumerRuntime(
            group=GROUP,
            topics=[alpha_topic, beta_topic],
            handler=handler,
            registry=proof_registry(),
            pool=consumer_pool,
            bootstrap=kafka,
        )
        tasks = [asyncio.create_task(r.run()) for r in relays]
        tasks.append(asyncio.create_task(runtime.run()))

        async def everything_consumed() -> bool:
            for store in (alpha, beta):
                if await store.fetchval("SELECT EXISTS (SELECT 1 FROM outbox)"):
                    return False
            return all(
                [await caught_up(consumer_pool, GROUP, t, kafka) for t in (alpha_topic, beta_topic)]
            )

        try:
            await eventually(
                everything_consumed,
                bool,
                timeout=90,
                what="both services' events relayed and the group at the end of both topics",
            )
        finally:
            for r in relays:
                r.stop()
            runtime.stop()
            await asyncio.gather(*tasks)

    rows = await consumer_pool.fetch("SELECT district, stream, n FROM effects ORDER BY 1, 3")
    await consumer_pool.close()
    applied = [(r["district"], r["stream"], r["n"]) for r in rows]
    assert applied == [("alpha", STREAM, n) for n in range(1, 5)] + [
        ("beta", STREAM, n) for n in range(1, 7)
    ], "every event of both services applied exactly once"
