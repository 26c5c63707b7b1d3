"""A consumer group's transactional state — its offsets, its per-(source, stream) versions,
its dead letters — inside the batch's transaction, and its PostgreSQL implementation (tables
``consumer_offsets``, ``consumer_streams`` and ``dead_letters``). The in-memory one, for unit
tests, is ``tongxin_platform.memory.MemoryLedgers``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol, cast

import asyncpg

from tongxin_platform.records import DeadLetter, StreamKey, TopicPartition

# How a consumer ledger stores a stream's id (None: as it is).
StreamIds = Callable[[str], str]


class Ledger(Protocol):
    """A consumer group's transactional state, inside one transaction (PostgreSQL:
    ``PgLedger``; tests: ``tongxin_platform.memory``). Handlers write their effects through
    the same transaction: ``conn`` (PostgreSQL) or whatever the ledger offers."""

    conn: Any

    async def lock_offsets(
        self, group: str, tps: Sequence[TopicPartition]
    ) -> dict[TopicPartition, int]: ...

    async def versions(self, group: str, keys: Sequence[StreamKey]) -> dict[StreamKey, int]: ...

    async def save(
        self,
        group: str,
        versions: dict[StreamKey, int],
        offsets: dict[TopicPartition, int],
        applied: dict[TopicPartition, int],
        dead: Sequence[DeadLetter],
    ) -> None: ...

    def savepoint(self) -> AbstractAsyncContextManager[Any]: ...


class Ledgers(Protocol):
    """Opens a ledger transaction; reads stored offsets outside of one (rebalances)."""

    def transaction(self) -> AbstractAsyncContextManager[Ledger]: ...

    async def stored(self, group: str) -> dict[TopicPartition, int]: ...


class DeadLetters(Protocol):
    async def send(self, group: str, letter: DeadLetter) -> None: ...


# What a group does with the events it handles: a projection folds them into its tables, a
# reaction decides and appends. Called with the batch's ledger, in its transaction.


# --- PostgreSQL ------------------------------------------------------------------------------


class PgLedger:
    """The ledger in the service's database (tables ``consumer_offsets``, ``consumer_streams``
    and ``dead_letters``); ``conn`` is the batch's connection, inside its transaction."""

    def __init__(self, conn: asyncpg.Connection, stream_ids: StreamIds | None = None) -> None:
        self.conn = conn
        # How a stream's id is stored (``ServiceSettings.ledger_stream_ids``): as it is, or a
        # keyed one-way mark when a stream id names a person the service must never keep.
        self.stream_ids = stream_ids

    async def lock_offsets(
        self, group: str, tps: Sequence[TopicPartition]
    ) -> dict[TopicPartition, int]:
        # An upsert that touches the row locks it even when it is new (a plain SELECT … FOR
        # UPDATE locks nothing before the first batch); ordered, so two consumers of one group
        # in a rebalance take the locks in the same order.
        rows = await self.conn.fetch(
            """INSERT INTO consumer_offsets (group_id, topic, partition, next_offset)
               SELECT $1, t, p, 0 FROM unnest($2::text[], $3::int[]) AS x(t, p) ORDER BY t, p
               ON CONFLICT (group_id, topic, partition)
               DO UPDATE SET next_offset = consumer_offsets.next_offset
               RETURNING topic, partition, next_offset""",
            group,
            [t for t, _ in tps],
            [p for _, p in tps],
        )
        return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}

    def _stored(self, key: StreamKey) -> StreamKey:
        return key if self.stream_ids is None else (key[0], self.stream_ids(key[1]))

    async def versions(self, group: str, keys: Sequence[StreamKey]) -> dict[StreamKey, int]:
        if not keys:
            return {}
        given = {self._stored(k): k for k in keys}
        keys = list(given)
        rows = await self.conn.fetch(
            """SELECT c.source, c.stream_id, c.version FROM consumer_streams c
               JOIN unnest($2::text[], $3::text[]) AS k(source, stream_id)
                 ON c.source = k.source AND c.stream_id = k.stream_id
               WHERE c.group_id = $1""",
            group,
            [s for s, _ in keys],
            [sid for _, sid in keys],
        )
        return {given[(r["source"], r["stream_id"])]: r["version"] for r in rows}

    async def save(
        self,
        group: str,
        versions: dict[StreamKey, int],
        offsets: dict[TopicPartition, int],
        applied: dict[TopicPartition, int],
        dead: Sequence[DeadLetter],
    ) -> None:
        versions = {self._stored(k): v for k, v in versions.items()}
        # One round trip for the versions and the offsets.
        await self.conn.execute(
            """WITH s AS (
                   INSERT INTO consumer_streams (group_id, source, stream_id, version)
                   SELECT $1, s, i, v FROM unnest($2::text[], $3::text[], $4::int[]) AS t(s, i, v)
                   ON CONFLICT (group_id, source, stream_id)
                   DO UPDATE SET version = excluded.version)
               INSERT INTO consumer_offsets AS o
                   (group_id, topic, partition, next_offset, applied, dead_lettered)
               SELECT $1, t, p, n, a, d
               FROM unnest($5::text[], $6::int[], $7::bigint[], $8::bigint[], $9::bigint[])
                   AS x(t, p, n, a, d)
               ON CONFLICT (group_id, topic, partition) DO UPDATE
               SET next_offset = excluded.next_offset, updated_at = now(),
                   applied = o.applied + excluded.applied,
                   dead_lettered = o.dead_lettered + excluded.dead_lettered""",
            group,
            [s for s, _ in versions],
            [i for _, i in versions],
            list(versions.values()),
            [t for t, _ in offsets],
            [p for _, p in offsets],
            list(offsets.values()),
            [applied.get(tp, 0) for tp in offsets],
            [sum(1 for d in dead if (d.record.topic, d.record.partition) == tp) for tp in offsets],
        )
        if dead:
            await self.conn.executemany(
                """INSERT INTO dead_letters
                       (group_id, topic, partition, "offset", error_type, error, attempts)
                   VALUES ($1, $2, $3, $4, $5, $6, $7)""",
                [
                    (
                        group,
                        d.record.topic,
                        d.record.partition,
                        d.record.offset,
                        type(d.error).__name__,
                        d.error_text,
                        d.attempts,
                    )
                    for d in dead
                ],
            )

    def savepoint(self) -> AbstractAsyncContextManager[Any]:
        return cast(AbstractAsyncContextManager[Any], self.conn.transaction())


class PgLedgers:
    """Ledger transactions on a pool of the service's database."""

    def __init__(self, pool: asyncpg.Pool | None, stream_ids: StreamIds | None = None) -> None:
        self.pool = pool  # may arrive after construction (a worker opens it on startup)
        self.stream_ids = stream_ids

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Ledger]:
        assert self.pool is not None, "the ledger's pool is not open yet"
        async with self.pool.acquire() as conn, conn.transaction():
            yield PgLedger(conn, self.stream_ids)

    def transaction(self) -> AbstractAsyncContextManager[Ledger]:
        return self._transaction()

    async def stored(self, group: str) -> dict[TopicPartition, int]:
        assert self.pool is not None, "the ledger's pool is not open yet"
        rows = await self.pool.fetch(
            "SELECT topic, partition, next_offset FROM consumer_offsets WHERE group_id = $1",
            group,
        )
        return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}
