"""Rebuild the roster read model from offset 0 into a fresh schema, one message at a time
(the live worker applies batches, so comparing the two also compares both code paths)."""

from __future__ import annotations

import asyncio

import asyncpg

from tests.support.waiting import caught_up, eventually
from tongxin_contracts import default_registry
from tongxin_platform.consumer import ConsumerRuntime
from tongxin_registry.projections import roster


async def rebuild_roster(
    pool: asyncpg.Pool, kafka: str, topic: str, *, group: str, schema: str, timeout: float = 180
) -> None:
    async with pool.acquire() as conn:
        await roster.create_tables(conn, schema)
    runtime = ConsumerRuntime(
        group=group,
        topics=[topic],
        handler=roster.apply,
        registry=default_registry(),
        pool=pool,
        bootstrap=kafka,
        search_path=schema,
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
