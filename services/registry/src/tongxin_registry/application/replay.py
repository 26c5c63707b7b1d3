"""Rebuilding a read model from offset 0 (``tongxin-registry replay``): where a consumer group
stands against the end of its topic, and swapping a rebuilt schema in for the live one.

Nothing here knows the roster: schemas and groups are parameters, so the mechanics stay apart
from the projection they rebuild.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ReplayError(Exception):
    """A rebuild that cannot go on; the message says what the operator can do."""


class SwapRefusedError(ReplayError):
    """The live model moved past the rebuild while it ran: swapping would lose events."""


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a valid schema name: {name!r}")
    return f'"{name}"'


@dataclass(frozen=True)
class Rebuild:
    """One replay's names, stamped to the second: a fresh schema and a fresh consumer group for
    the rebuild, and where the live ones go if it is swapped in."""

    topic: str
    live_schema: str
    live_group: str
    stamp: str

    @property
    def schema(self) -> str:
        return f"{self.live_schema}_rebuild_{self.stamp}"

    @property
    def group(self) -> str:
        return f"{self.live_group}.rebuild.{self.stamp}"

    @property
    def retired_schema(self) -> str:
        return f"{self.live_schema}_old_{self.stamp}"

    @property
    def retired_group(self) -> str:
        return f"{self.live_group}.old.{self.stamp}"


async def fresh_rebuild(
    conn: asyncpg.Connection, topic: str, live_schema: str, live_group: str
) -> Rebuild:
    """A stamp no earlier replay used: two replays within one second must share neither a
    schema nor a consumer group (whose stored offsets would skip the new schema's events)."""
    for _ in range(5):
        job = Rebuild(topic, live_schema, live_group, datetime.now(UTC).strftime("%Y%m%d%H%M%S"))
        _ident(job.schema)
        _ident(job.retired_schema)
        used = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = ANY($1::text[]))"
            " OR EXISTS (SELECT 1 FROM consumer_offsets WHERE group_id = $2)",
            [job.schema, job.retired_schema],
            job.group,
        )
        if not used:
            return job
        await asyncio.sleep(1.0 - datetime.now(UTC).microsecond / 1e6)
    raise ReplayError("no unused rebuild name: is another replay running?")


class TopicEnds:
    """Where the partitions of one topic end, asked of the broker outside any consumer group."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []

    async def __aenter__(self) -> TopicEnds:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=15000)
        await admin.start()
        try:
            (described,) = await admin.describe_topics([self.topic])
        finally:
            await admin.close()
        if described["error_code"] != 0 or not described["partitions"]:
            raise ReplayError(f"topic {self.topic!r} does not exist on Kafka at {self.bootstrap}")
        self._partitions = [
            TopicPartition(self.topic, p["partition"]) for p in described["partitions"]
        ]
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            request_timeout_ms=15000,
        )
        await self._consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def ends(self) -> dict[int, int]:
        """Partition → the offset the next record will get."""
        assert self._consumer is not None, "use TopicEnds as an async context manager"
        ends = await self._consumer.end_offsets(self._partitions)
        return {tp.partition: offset for tp, offset in ends.items()}


async def stored_offsets(
    conn: asyncpg.Connection | asyncpg.Pool, group: str, topic: str
) -> dict[int, int]:
    """Partition → next offset ``group`` will apply, as stored with its effects."""
    rows = await conn.fetch(
        "SELECT partition, next_offset FROM consumer_offsets WHERE group_id = $1 AND topic = $2",
        group,
        topic,
    )
    return {r["partition"]: r["next_offset"] for r in rows}


def behind(stored: dict[int, int], ends: dict[int, int]) -> int:
    """How many records ``stored`` still has to apply to reach ``ends`` (0: caught up)."""
    return sum(max(0, end - stored.get(p, 0)) for p, end in ends.items())


async def schema_exists(conn: asyncpg.Connection, schema: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema))


async def swap(conn: asyncpg.Connection, job: Rebuild) -> None:
    """In one transaction: ``live`` → ``retired``, ``rebuilt`` → ``live``, and the consumer
    groups' offsets and stream versions likewise, so the live projection carries on from exactly
    where the rebuild stopped (and the retired model keeps its own, should it be swapped back).

    Locking the offset tables waits for the live projection's batch in flight and holds the next
    one until the swap commits; the projection resolves its tables by name, so its next batch
    writes into the swapped-in schema.
    """
    async with conn.transaction():
        await conn.execute("LOCK TABLE consumer_offsets, consumer_streams IN EXCLUSIVE MODE")
        live_at = await stored_offsets(conn, job.live_group, job.topic)
        rebuilt_at = await stored_offsets(conn, job.group, job.topic)
        ahead = sorted(p for p, off in live_at.items() if off > rebuilt_at.get(p, 0))
        if ahead:
            raise SwapRefusedError(
                f"the live model applied events past the rebuild (partitions {ahead}); "
                "nothing was swapped: run the replay again"
            )
        live, rebuilt = _ident(job.live_schema), _ident(job.schema)
        if await schema_exists(conn, job.live_schema):
            await conn.execute(f"ALTER SCHEMA {live} RENAME TO {_ident(job.retired_schema)}")
        await conn.execute(f"ALTER SCHEMA {rebuilt} RENAME TO {live}")
        for table in ("consumer_offsets", "consumer_streams"):
            await conn.execute(
                f"UPDATE {table} SET group_id = $2 WHERE group_id = $1",
                job.live_group,
                job.retired_group,
            )
            await conn.execute(
                f"UPDATE {table} SET group_id = $2 WHERE group_id = $1",
                job.group,
                job.live_group,
            )
