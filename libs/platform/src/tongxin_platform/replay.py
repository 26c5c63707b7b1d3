"""Rebuilding a read model from offset 0 (``tongxin-<service> replay``): a fresh consumer group
replays every topic of the projection into a fresh schema, which is compared with the live one
by digest and, if asked, swapped in. The live model is never written to.

Nothing here knows a projection, so every service's replay behaves, and exits, the same way.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Collection, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from tongxin_contracts import default_registry
from tongxin_platform.consumer import ConsumerRuntime
from tongxin_platform.projection import Projection
from tongxin_platform.settings import ServiceSettings

EQUAL, FAILED, DIFFERENT = 0, 1, 3  # exit codes; FAILED: rebuild incomplete or swap refused
Offsets = dict[tuple[str, int], int]  # (topic, partition) → offset
K = TypeVar("K", bound=Hashable)
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ReplayError(Exception):
    """A rebuild that cannot go on; the message says what the operator can do."""


class SwapRefusedError(ReplayError):
    """The live model moved past the rebuild while it ran: swapping would lose events."""


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a valid schema name: {name!r}")
    return f'"{name}"'


class Rebuilder(Protocol):
    """A consumer group that rebuilds: runs until stopped, counts what it did."""

    @property
    def stats(self) -> Any: ...

    async def run(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Target:
    """What a replay rebuilds: the live names, the DDL and digest of its tables (both taking a
    schema), and its consumer as ``consumer(group, schema)`` reading every one of ``topics``."""

    topics: tuple[str, ...]
    live_schema: str
    live_group: str
    create_tables: Callable[[asyncpg.Connection, str], Awaitable[None]]
    digest: Callable[[asyncpg.Connection, str], Awaitable[dict[str, str]]]
    tables: Collection[str]
    consumer: Callable[[str, str], Rebuilder]


def projection_target(
    projection: Projection,
    settings: ServiceSettings,
    pool: asyncpg.Pool,
    *,
    service: str,
    **options: Any,
) -> Target:
    """What a replay of ``projection`` rebuilds: its live names and tables, and its consumer
    reading every topic of its sources (mirrored ones too) on the settings' Kafka
    (``options``: the consumer's others, e.g. ``max_batch``, ``stream_ids``)."""
    read = tuple(t for s in projection.sources for t in settings.topics_of(s))
    bootstrap = settings.kafka_bootstrap_servers

    def consumer(group: str, schema: str) -> ConsumerRuntime:
        return ConsumerRuntime(
            group=group,
            topics=read,
            registry=default_registry(),
            bootstrap=bootstrap,
            pool=pool,
            apply=projection.apply_to(schema),
            handles=projection.handles,
            service=service,
            **options,
        )

    return Target(
        topics=read,
        live_schema=projection.schema,
        live_group=projection.group,
        create_tables=projection.create_tables,
        digest=projection.digest,
        tables=tuple(projection.tables),
        consumer=consumer,
    )


@dataclass(frozen=True)
class Rebuild:
    """One replay's names, stamped to the second: a fresh schema and a fresh consumer group for
    the rebuild, and where the live ones go if it is swapped in."""

    topics: tuple[str, ...]
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
    conn: asyncpg.Connection, topics: Sequence[str], live_schema: str, live_group: str
) -> Rebuild:
    """A stamp no earlier replay used: two replays within one second must share neither a
    schema nor a consumer group (whose stored offsets would skip the new schema's events)."""
    for _ in range(5):
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        job = Rebuild(tuple(topics), live_schema, live_group, stamp)
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
    """Where the partitions of ``topics`` end, asked of the broker outside any consumer group."""

    def __init__(self, bootstrap: str, topics: Sequence[str]) -> None:
        self.bootstrap, self.topics = bootstrap, list(topics)
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []

    async def __aenter__(self) -> TopicEnds:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=15000)
        await admin.start()
        try:
            described = {d["topic"]: d for d in await admin.describe_topics(self.topics)}
        finally:
            await admin.close()
        for topic in self.topics:
            found = described.get(topic, {"error_code": -1})
            if found["error_code"] != 0 or not found["partitions"]:
                raise ReplayError(f"topic {topic!r} does not exist on Kafka at {self.bootstrap}")
            self._partitions += [TopicPartition(topic, p["partition"]) for p in found["partitions"]]
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, request_timeout_ms=15000
        )
        await self._consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def ends(self) -> Offsets:
        """(topic, partition) → the offset the next record will get."""
        assert self._consumer is not None, "use TopicEnds as an async context manager"
        ends = await self._consumer.end_offsets(self._partitions)
        return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}


async def stored_offsets(
    conn: asyncpg.Connection | asyncpg.Pool, group: str, topics: Sequence[str]
) -> Offsets:
    """(topic, partition) → next offset ``group`` will apply, as stored with its effects."""
    rows = await conn.fetch(
        "SELECT topic, partition, next_offset FROM consumer_offsets"
        " WHERE group_id = $1 AND topic = ANY($2::text[])",
        group,
        list(topics),
    )
    return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}


def behind(stored: dict[K, int], ends: dict[K, int]) -> int:
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
        live_at = await stored_offsets(conn, job.live_group, job.topics)
        rebuilt_at = await stored_offsets(conn, job.group, job.topics)
        ahead = sorted(
            f"{t}/{p}" for (t, p), at in live_at.items() if at > rebuilt_at.get((t, p), 0)
        )
        if ahead:
            raise SwapRefusedError(
                f"the live model applied events past the rebuild (partitions {', '.join(ahead)}); "
                "nothing was swapped: run the replay again"
            )
        live, rebuilt = _ident(job.live_schema), _ident(job.schema)
        if await schema_exists(conn, job.live_schema):
            await conn.execute(f"ALTER SCHEMA {live} RENAME TO {_ident(job.retired_schema)}")
        await conn.execute(f"ALTER SCHEMA {rebuilt} RENAME TO {live}")
        for table in ("consumer_offsets", "consumer_streams"):
            for old, new in ((job.live_group, job.retired_group), (job.group, job.live_group)):
                await conn.execute(
                    f"UPDATE {table} SET group_id = $2 WHERE group_id = $1", old, new
                )
