"""Proof: the broker is SIGKILLed and restarted while the relay publishes. Nothing is lost, and
an effect that is *not* idempotent by itself (one row per event) is applied exactly once."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter

import asyncpg
import pytest

from tests.faults.conftest import ThrowawayBroker
from tests.support.events import Ticked, proof_registry
from tests.support.kafka_reader import read_all
from tests.support.waiting import caught_up, eventually
from tongxin_platform.consumer import ConsumerRuntime, Message
from tongxin_platform.eventstore import EventStore, NewEvent, now_utc
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config
from tongxin_platform.outbox import OutboxRelay

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STREAMS = 300
ROUNDS = 80
PER_ROUND = 400


async def _write(pool: asyncpg.Pool, store: EventStore, written: list[str]) -> None:
    """Append in rounds for several seconds, so the relay is busy when the broker dies."""
    rng = random.Random(5)
    for _ in range(ROUNDS):
        async with pool.acquire() as conn, conn.transaction():
            picks = Counter(f"s-{rng.randrange(STREAMS)}" for _ in range(PER_ROUND))
            heads = await store.heads(conn, list(picks))
            batches = []
            for stream, n in picks.items():
                events = [
                    NewEvent(uuid.uuid4(), Ticked(district="d", stream=stream, n=i), now_utc())
                    for i in range(n)
                ]
                from tongxin_platform.eventstore import NEW_STREAM

                batches.append((stream, heads.get(stream, NEW_STREAM), events))
            await store.append_many(conn, batches)
        written.extend(str(e.event_id) for _, _, evs in batches for e in evs)
        await asyncio.sleep(0.1)


async def test_a_broker_killed_mid_publish_loses_nothing_and_duplicates_no_effect(
    migrated_db: str, throwaway_broker: ThrowawayBroker
) -> None:
    kafka = throwaway_broker.bootstrap
    topic = "faults.events"
    await ensure_topics(kafka, [TopicSpec(topic, 3, event_topic_config())])
    pool = await asyncpg.create_pool(migrated_db, min_size=2, max_size=6)
    assert pool is not None
    await pool.execute("CREATE TABLE effects (event_id uuid NOT NULL)")  # no unique: on purpose

    async def effect(conn: asyncpg.Connection, message: Message) -> None:
        await conn.execute("INSERT INTO effects VALUES ($1)", uuid.UUID(message.envelope.id))

    store = EventStore(topic)
    relay = OutboxRelay(service="faults", database_url=migrated_db, bootstrap=kafka)
    runtime = ConsumerRuntime(
        group="faults.effects",
        topics=[topic],
        handler=effect,
        registry=proof_registry(),
        pool=pool,
        bootstrap=kafka,
    )
    written: list[str] = []
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(runtime.run())]
    writer = asyncio.create_task(_write(pool, store, written))
    try:
        await eventually(
            lambda: asyncio.sleep(0, relay.stats.published),
            lambda n: n > 4000,
            what="the relay publishing",
        )
        throwaway_broker.kill()
        published_at_kill = relay.stats.published
        await asyncio.sleep(2)
        await asyncio.to_thread(throwaway_broker.start)
        await writer
        total = ROUNDS * PER_ROUND
        assert len(written) == total
        assert published_at_kill < total, "the broker died after everything was published"
        await eventually(
            lambda: pool.fetchval("SELECT count(*) FROM outbox"),
            lambda n: n == 0,
            timeout=120,
            what="an empty outbox",
        )
        await eventually(
            lambda: caught_up(pool, "faults.effects", topic, kafka),
            bool,
            timeout=120,
            what="the consumer at the end of the topic",
        )
    finally:
        relay.stop()
        runtime.stop()
        await asyncio.gather(*tasks, return_exceptions=True)

    effects = Counter(str(r["event_id"]) for r in await pool.fetch("SELECT event_id FROM effects"))
    assert set(effects) == set(written), "an event is missing from the effects"
    assert max(effects.values()) == 1, "an effect was applied twice"
    on_kafka = Counter(
        dict(r.headers)["ce_id"].decode() for r in await read_all(kafka, topic, timeout=60)
    )
    assert set(on_kafka) >= set(written)
    await pool.close()
