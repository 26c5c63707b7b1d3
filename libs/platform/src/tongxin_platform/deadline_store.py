"""Deadline rows: the ``deadlines`` port of a unit of work and its PostgreSQL adapter (the
mechanism around them is ``tongxin_platform.deadlines``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import asyncpg

MAX_ERROR = 1000


@dataclass(frozen=True, slots=True)
class Due:
    """A deadline as stored."""

    kind: str
    key: str
    due_at: datetime
    payload: Mapping[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    fired_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None


class Deadlines(Protocol):
    """The ``deadlines`` port of a unit of work (PostgreSQL, or the in-memory fake)."""

    async def set(
        self,
        kind: str,
        key: str,
        due_at: datetime,
        payload: Mapping[str, Any] | None = None,
        *,
        move: bool = False,
    ) -> bool:
        """Schedule ``kind``/``key`` at ``due_at``. Idempotent: an existing one keeps its due
        time and payload unless ``move`` (then an unfired one takes the new ones); a fired one
        is never re-armed. Whether a row was written."""
        ...

    async def cancel(self, kind: str, key: str) -> bool:
        """Remove an unfired deadline (e.g. acknowledged in time); whether there was one."""
        ...

    async def get(self, kind: str, key: str) -> Due | None: ...

    async def claim_due(self, now: datetime, kinds: Sequence[str], limit: int) -> list[Due]:
        """Unfired rows of ``kinds`` due at ``now``, oldest first, locked for this transaction
        (rows another transaction holds are skipped)."""
        ...

    async def mark_fired(self, kind: str, key: str, now: datetime) -> None: ...

    async def mark_failed(self, kind: str, key: str, error: str) -> None:
        """A handler raised: count the attempt, keep the error; the row stays due."""


# --- PostgreSQL ------------------------------------------------------------------------------


def _due(r: asyncpg.Record) -> Due:
    payload = r["payload"]
    return Due(
        r["kind"],
        r["key"],
        r["due_at"],
        json.loads(payload) if isinstance(payload, str) else dict(payload),
        r["created_at"],
        r["fired_at"],
        r["attempts"],
        r["last_error"],
    )


class PgDeadlines:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def set(
        self,
        kind: str,
        key: str,
        due_at: datetime,
        payload: Mapping[str, Any] | None = None,
        *,
        move: bool = False,
    ) -> bool:
        body = json.dumps(dict(payload or {}), ensure_ascii=False)
        conflict = (
            """DO UPDATE SET due_at = EXCLUDED.due_at, payload = EXCLUDED.payload
               WHERE deadlines.fired_at IS NULL"""
            if move
            else "DO NOTHING"
        )
        written = await self.conn.fetchval(
            f"""INSERT INTO deadlines (kind, key, due_at, payload) VALUES ($1, $2, $3, $4::jsonb)
                ON CONFLICT (kind, key) {conflict} RETURNING true""",
            kind,
            key,
            due_at,
            body,
        )
        return bool(written)

    async def cancel(self, kind: str, key: str) -> bool:
        deleted = await self.conn.fetchval(
            """DELETE FROM deadlines WHERE kind = $1 AND key = $2 AND fired_at IS NULL
               RETURNING true""",
            kind,
            key,
        )
        return bool(deleted)

    async def get(self, kind: str, key: str) -> Due | None:
        r = await self.conn.fetchrow(
            "SELECT * FROM deadlines WHERE kind = $1 AND key = $2", kind, key
        )
        return None if r is None else _due(r)

    async def claim_due(self, now: datetime, kinds: Sequence[str], limit: int) -> list[Due]:
        rows = await self.conn.fetch(
            """SELECT * FROM deadlines
               WHERE fired_at IS NULL AND due_at <= $1 AND kind = ANY($2::text[])
               ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED""",
            now,
            list(kinds),
            limit,
        )
        return [_due(r) for r in rows]

    async def mark_fired(self, kind: str, key: str, now: datetime) -> None:
        await self.conn.execute(
            "UPDATE deadlines SET fired_at = $3 WHERE kind = $1 AND key = $2",
            kind,
            key,
            now,
        )

    async def mark_failed(self, kind: str, key: str, error: str) -> None:
        await self.conn.execute(
            """UPDATE deadlines SET attempts = attempts + 1, last_error = $3
               WHERE kind = $1 AND key = $2""",
            kind,
            key,
            error[:MAX_ERROR],
        )
