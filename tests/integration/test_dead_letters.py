"""Poison messages go to ``<topic>.dlq.<group>`` with the error, and the consumer goes on."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from tests.support.kafka_reader import read_all
from tests.support.waiting import caught_up, eventually
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_contracts import dlq_topic
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config
from tongxin_registry.bootstrap import bootstrap
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints.worker import WorkerOptions, run_worker
from tongxin_registry.projections.roster import GROUP

pytestmark = pytest.mark.integration


def headers(ce_type: str, stream: str) -> list[tuple[str, bytes]]:
    return [
        ("ce_specversion", b"1.0"),
        ("ce_id", f"poison-{stream}".encode()),
        ("ce_source", b"/tests"),
        ("ce_type", ce_type.encode()),
        ("ce_time", b"2026-11-22T08:00:00+00:00"),
        ("ce_streamid", stream.encode()),
        ("ce_streamversion", b"1"),
    ]


async def test_a_malformed_and_an_unknown_message_are_dead_lettered_and_the_next_are_processed(
    registry_settings: RegistrySettings,
    registry_db: asyncpg.Pool,
    kafka: str,
) -> None:
    # One partition, so "the next ones" are unambiguous.
    topic = registry_settings.topic.replace(".events", "-dlq.events")
    await ensure_topics(kafka, [TopicSpec(topic, 1, event_topic_config())])
    settings = registry_settings.model_copy(update={"topic": topic})
    first, _ = demo_roster(DemoSpec(schools=1, classes_per_school=1, students_per_class=5))
    second, _ = demo_roster(DemoSpec(schools=1, classes_per_school=2, students_per_class=5, seed=8))

    reg = await bootstrap(settings)
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, WorkerOptions(), stop))
    try:
        await reg.service.import_students(first)
        await eventually(
            lambda: registry_db.fetchval("SELECT count(*) FROM roster.students"),
            lambda n: n == 5,
            what="first students",
        )
        producer = AIOKafkaProducer(bootstrap_servers=kafka)
        await producer.start()
        try:
            await producer.send_and_wait(
                topic,
                b"{not json",
                key=b"x",
                headers=headers("cn.tongxin.registry.StudentEnrolled.v1", "student-x"),
            )
            await producer.send_and_wait(
                topic,
                json.dumps({"a": 1}).encode(),
                key=b"y",
                headers=headers("cn.tongxin.registry.StudentFlew.v1", "student-y"),
            )
            await producer.send_and_wait(topic, b"no headers at all", key=b"z")
        finally:
            await producer.stop()
        await reg.service.import_students(second)  # 5 more students in a second class
        await eventually(
            lambda: registry_db.fetchval("SELECT count(*) FROM roster.students"),
            lambda n: n == 10,
            what="students after the poison messages",
        )
        await eventually(
            lambda: caught_up(registry_db, GROUP, topic, kafka),
            bool,
            what="projection at the end of the topic",
        )
    finally:
        stop.set()
        await worker
        await reg.close()

    dead = await read_all(kafka, dlq_topic(topic, GROUP), expect=3, timeout=30)
    assert len(dead) == 3
    errors = [dict(r.headers) for r in dead]
    assert [e["dlq_error_type"] for e in errors] == [
        b"EventDecodeError",
        b"UnknownEventTypeError",
        b"EnvelopeError",
    ]
    assert all(
        e["dlq_group"] == GROUP.encode() and e["dlq_topic"] == topic.encode() for e in errors
    )
    assert b"not JSON" in errors[0]["dlq_error"]
    assert [r.value for r in dead] == [b"{not json", b'{"a": 1}', b"no headers at all"]


async def test_a_handler_that_keeps_failing_is_retried_then_dead_lettered_and_its_stream_goes_on(
    migrated_db: str,
    kafka: str,
    topic: str,
) -> None:
    import uuid

    from tests.support.events import Ticked, proof_registry
    from tongxin_platform.consumer import ConsumerRuntime, Message
    from tongxin_platform.eventstore import NEW_STREAM, EventStore, NewEvent, now_utc
    from tongxin_platform.outbox import OutboxRelay

    pool = await asyncpg.create_pool(migrated_db, min_size=1, max_size=3)
    assert pool is not None
    await pool.execute("CREATE TABLE effects (stream text, n int)")
    store = EventStore(topic)
    await store.append(
        pool,
        "s-1",
        NEW_STREAM,
        [
            NewEvent(uuid.uuid4(), Ticked(district="d", stream="s-1", n=i), now_utc())
            for i in range(1, 6)
        ],
    )
    attempts: list[int] = []

    async def handler(conn: asyncpg.Connection, message: Message) -> None:
        assert isinstance(message.event, Ticked)
        await conn.execute(
            "INSERT INTO effects VALUES ($1, $2)", message.event.stream, message.event.n
        )
        if message.event.n == 3:
            attempts.append(1)
            raise ValueError("tick 3 is cursed")

    relay = OutboxRelay(service="proof", database_url=migrated_db, bootstrap=kafka)
    runtime = ConsumerRuntime(
        group="g-fail",
        topics=[topic],
        handler=handler,
        registry=proof_registry(),
        pool=pool,
        bootstrap=kafka,
    )
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(runtime.run())]
    try:
        await eventually(
            lambda: pool.fetchval("SELECT count(*) FROM effects"),
            lambda n: n == 4,
            what="four effects",
        )
        await eventually(lambda: caught_up(pool, "g-fail", topic, kafka), bool, what="caught up")
    finally:
        relay.stop()
        runtime.stop()
        await asyncio.gather(*tasks)
    assert [r["n"] for r in await pool.fetch("SELECT n FROM effects ORDER BY n")] == [1, 2, 4, 5]
    assert len(attempts) == 3
    dead = await read_all(kafka, dlq_topic(topic, "g-fail"), expect=1, timeout=30)
    assert len(dead) == 1
    h = dict(dead[0].headers)
    assert (h["dlq_attempts"], h["dlq_error_type"]) == (b"3", b"ValueError")
    assert b"cursed" in h["dlq_error"]
    await pool.close()
