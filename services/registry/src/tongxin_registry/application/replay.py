"""Rebuilding a read model from offset 0 (``tongxin-registry replay``): where a consumer group
stands against the end of its topic, and swapping a rebuilt schema in for the live one.

Nothing here knows the roster: schemas and groups are parameters, so the mechanics stay apart
from the projection they rebuild.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ReplayError(Exception):
    """A rebuild that cannot go on; the message says what the operator can do."""


class SwapRefusedError(ReplayError):
    """The live model moved past the rebuild while it ran: swapping would lose events."""


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a valid schema name: {name!r}")
    return f'"{name}"'


@asynccontextmanager
async def kafka_offsets(bootstrap: str) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer outside any group, used only to ask where partitions end."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, request_timeout_ms=15000)
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()


async def end_offsets(consumer: AIOKafkaConsumer, topic: str) -> dict[int, int]:
    """Partition → the offset the next record will get."""
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        await consumer.topics()  # refresh the metadata, once; a topic's partitions are stable
        partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        raise ReplayError(f"topic {topic!r} does not exist on Kafka")
    ends = await consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
    return {tp.partition: offset for tp, offset in ends.items()}


async def stored_offsets(
    conn: asyncpg.Connection | asyncpg.Pool, group: str, topic: str
) -> dict[int, int]:
    """Partition → next offset ``group`` will apply, as stored with its effects."""
    rows = await conn.fetch("SELECT partition, next_offset FROM consumer_offsets"
                            " WHERE group_id = $1 AND topic = $2", group, topic)
    return {r["partition"]: r["next_offset"] for r in rows}


def behind(stored: dict[int, int], ends: dict[int, int]) -> int:
    """How many records ``stored`` still has to apply to reach ``ends`` (0: caught up)."""
    return sum(max(0, end - stored.get(p, 0)) for p, end in ends.items())


async def schema_exists(conn: asyncpg.Connection, schema: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema))


async def swap(
    conn: asyncpg.Connection, *, topic: str, live: str, rebuilt: str, retired: str,
    live_group: str, rebuilt_group: str, retired_group: str,
) -> None:
    """In one transaction: ``live`` → ``retired``, ``rebuilt`` → ``live``, and the consumer
    groups' offsets and stream versions likewise, so the live projection carries on from exactly
    where the rebuild stopped (and the retired model keeps its own, should it be swapped back).

    Locking the offset tables waits for the live projection's batch in flight and holds the next
    one until the swap commits; the projection resolves its tables by name, so its next batch
    writes into the swapped-in schema.
    """
    async with conn.transaction():
        await conn.execute("LOCK TABLE consumer_offsets, consumer_streams IN EXCLUSIVE MODE")
        live_at = await stored_offsets(conn, live_group, topic)
        rebuilt_at = await stored_offsets(conn, rebuilt_group, topic)
        ahead = sorted(p for p, off in live_at.items() if off > rebuilt_at.get(p, 0))
        if ahead:
            raise SwapRefusedError(
                f"the live model applied events past the rebuild (partitions {ahead}); "
                "nothing was swapped: run the replay again")
        if await schema_exists(conn, live):
            await conn.execute(f"ALTER SCHEMA {_ident(live)} RENAME TO {_ident(retired)}")
        await conn.execute(f"ALTER SCHEMA {_ident(rebuilt)} RENAME TO {_ident(live)}")
        for table in ("consumer_offsets", "consumer_streams"):
            await conn.execute(f"UPDATE {table} SET group_id = $2 WHERE group_id = $1",
                               live_group, retired_group)
            await conn.execute(f"UPDATE {table} SET group_id = $2 WHERE group_id = $1",
                               rebuilt_group, live_group)
