"""Rebuild the roster read model from offset 0 into a fresh schema with a consumer group of its
own (batches of 7 records: the live worker applies larger ones, so comparing the two also
compares different foldings of the same events)."""

from __future__ import annotations

import asyncio

import asyncpg

from tests.support.waiting import caught_up, eventually
from tongxin_contracts import default_registry
from tongxin_platform.consumer import ConsumerRuntime
from tongxin_registry.projections.roster import ROSTER


async def rebuild_roster(
    pool: asyncpg.Pool, kafka: str, topic: str, *, group: str, schema: str, timeout: float = 180
) -> None:
    async with pool.acquire() as conn:
        await ROSTER.create_tables(conn, schema)
    runtime = ConsumerRuntime(
        group=group,
        topics=[topic],
        apply=ROSTER.apply_to(schema),
        handles=ROSTER.handles,
        registry=default_registry(),
        pool=pool,
        bootstrap=kafka,
        max_batch=7,
    )
    task = asyncio.create_task(runtime.run())
    try:
        await eventually(
            lambda: caught_up(pool, group, topic, kafka),
            bool,
            timeout=timeout,
            what=f"the rebuild into {schema} at the end of the topic",
        )
    finally:
        runtime.stop()
        await task
