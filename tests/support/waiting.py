"""Waiting for eventual consistency, with a deadline and a clear failure."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    timeout: float = 60.0,
    what: str = "condition",
) -> T:
    deadline = time.monotonic() + timeout
    value = await probe()
    while not done(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {value!r}")
        await asyncio.sleep(0.1)
        value = await probe()
    return value


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        metadata = await consumer._client.fetch_all_metadata()
        tps = [TopicPartition(topic, p) for p in metadata.partitions_for_topic(topic) or ()]
        ends = await consumer.end_offsets(tps)
        return {tp.partition: off for tp, off in ends.items()}
    finally:
        await consumer.stop()


async def caught_up(
    pool: asyncpg.Pool | asyncpg.Connection, group: str, topic: str, bootstrap: str
) -> bool:
    """Whether ``group`` has stored offsets at the end of every partition of ``topic``, and the
    database's outbox is empty (events committed but not yet relayed are not on the topic yet)."""
    if await pool.fetchval("SELECT EXISTS (SELECT 1 FROM outbox)"):
        return False
    ends = await end_offsets(bootstrap, topic)
    rows = await pool.fetch(
        "SELECT partition, next_offset FROM consumer_offsets WHERE group_id = $1 AND topic = $2",
        group,
        topic,
    )
    stored = {r["partition"]: r["next_offset"] for r in rows}
    return all(stored.get(p, 0) >= end for p, end in ends.items())
