"""The access log: every read of a restricted record, written in the reading transaction.

One mechanism for every service: call ``log_reads`` where restricted data is opened; auditors
query it with ``query``. A read that cannot be logged fails with it (same transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from tongxin_platform.auth import Principal


def _scope(p: Principal) -> str:
    return "/".join(x for x in ("city", p.district, p.school, p.class_id) if x)


async def log_reads(
    conn: asyncpg.Connection | asyncpg.Pool,
    p: Principal,
    action: str,
    records: Sequence[str],
    *,
    district: str,
    purpose: str = "",
) -> None:
    if not records:
        return
    await conn.execute(
        """INSERT INTO access_log (actor, role, scope, action, record, district, purpose)
           SELECT $1, $2, $3, $4, r, $5, $6 FROM unnest($7::text[]) AS r""",
        p.subject,
        p.role.value,
        _scope(p),
        action,
        district,
        purpose,
        list(records),
    )


async def query(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    district: str | None,
    record: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Newest first; ``district=None`` (a city-level auditor) sees every district."""
    rows = await conn.fetch(
        """SELECT id, at, actor, role, scope, action, record, district, purpose FROM access_log
           WHERE ($1::text IS NULL OR record = $1) AND ($2::text IS NULL OR actor = $2)
             AND ($3::timestamptz IS NULL OR at >= $3) AND ($5::text IS NULL OR district = $5)
           ORDER BY id DESC LIMIT $4""",
        record,
        actor,
        since,
        limit,
        district,
    )
    return [{**dict(r), "at": r["at"].isoformat()} for r in rows]
