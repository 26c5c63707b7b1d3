"""Proof: the roster projection's process is SIGKILLed mid-batch, three times, and restarted;
its read model then equals a rebuild from offset 0 into a fresh schema."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import asyncpg
import pytest

from tests.support.rebuild import rebuild_roster
from tests.support.waiting import caught_up, end_offsets, eventually
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_registry.bootstrap import bootstrap
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints.worker import WorkerOptions, run_worker
from tongxin_registry.projections import roster

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def _start_projection(settings: RegistrySettings) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "DATABASE_URL": settings.database_url,
        "REGISTRY_DATABASE_NAME": settings.database_name,
        "REGISTRY_TOPIC": settings.topic,
        # Small batches: many transactions, so that a kill lands inside one.
        "REGISTRY_PROJECTION_BATCH_SIZE": "25",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tongxin_registry.entrypoints.cli",
        "worker",
        "--no-relay",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def _stored(pool: asyncpg.Pool, topic: str) -> int:
    value = await pool.fetchval(
        "SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets"
        " WHERE group_id = $1 AND topic = $2",
        roster.GROUP,
        topic,
    )
    return int(value)


async def test_a_projection_killed_mid_batch_ends_equal_to_a_rebuild_from_offset_zero(
    registry_settings: RegistrySettings,
    registry_db: asyncpg.Pool,
    kafka: str,
) -> None:
    topic = registry_settings.topic
    students, staff = demo_roster(DemoSpec(schools=4, classes_per_school=20, students_per_class=50))
    reg = await bootstrap(registry_settings)
    await reg.service.import_students(students)
    await reg.service.import_staff(staff)
    # Transfers and departures, so that order matters to the read model.
    refs = [
        r["stream_id"].removeprefix("student-")
        for r in await registry_db.fetch(
            "SELECT stream_id FROM events WHERE stream_id LIKE 'student-%' AND version = 1"
            " ORDER BY position LIMIT 300"
        )
    ]
    for i, ref in enumerate(refs):
        if i % 3 == 0:
            await reg.service.transfer(ref, "330106002-05")
        elif i % 3 == 1:
            from tongxin_contracts.events.registry import LeaveReason

            await reg.service.record_left(ref, LeaveReason.graduated)
    await reg.close()

    stop_relay = asyncio.Event()
    relay = asyncio.create_task(
        run_worker(registry_settings, WorkerOptions(projection=False), stop_relay)
    )
    await eventually(
        lambda: registry_db.fetchval("SELECT count(*) FROM outbox"),
        lambda n: n == 0,
        timeout=120,
        what="every event on Kafka",
    )
    stop_relay.set()
    await relay
    total = sum((await end_offsets(kafka, topic)).values())

    kills_mid_way = 0
    for _ in range(3):
        if await _stored(registry_db, topic) >= total:
            break  # nothing left to interrupt
        proc = await _start_projection(registry_settings)
        before = await _stored(registry_db, topic)
        await eventually(
            lambda: _stored(registry_db, topic),
            lambda n, b=before: n > b or n >= total,
            timeout=60,
            what="the projection making progress",
        )
        await asyncio.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        if await _stored(registry_db, topic) < total:
            kills_mid_way += 1
    assert kills_mid_way > 0, "the projection was never killed before the end: proved nothing"

    proc = await _start_projection(registry_settings)
    try:
        await eventually(
            lambda: caught_up(registry_db, roster.GROUP, topic, kafka),
            bool,
            timeout=180,
            what="the restarted projection at the end of the topic",
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        await proc.wait()

    await rebuild_roster(
        registry_db, kafka, topic, group="registry.roster.rebuild", schema="roster_rebuild"
    )
    async with registry_db.acquire() as conn:
        live, rebuilt = await roster.digest(conn), await roster.digest(conn, "roster_rebuild")
        students_live = await conn.fetchval("SELECT count(*) FROM roster.students")
    assert students_live == 4 * 20 * 50
    assert live == rebuilt
