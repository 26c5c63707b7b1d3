"""Stream ids of the visits service's aggregates, and the index of which belong to a school
(the monthly figures read a school's streams straight from the event store)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg


def visit_stream(visit_id: str) -> str:
    return f"visit-{visit_id}"


def case_stream(case_id: str) -> str:
    return f"followup-{case_id}"


def report_stream(school_id: str, month: str) -> str:
    return f"report-{school_id}-{month}"


def rules_stream(district: str) -> str:
    return f"visit-rules-{district}"


def index_for(school_id: str) -> Callable[[asyncpg.Connection, list[str]], Awaitable[None]]:
    """A ``Writer`` hook recording the written streams under ``school_id``, in the same
    transaction as the append."""

    async def index(conn: asyncpg.Connection, stream_ids: list[str]) -> None:
        await conn.executemany(
            "INSERT INTO school_streams VALUES ($1, $2) ON CONFLICT DO NOTHING",
            [(school_id, sid) for sid in stream_ids],
        )

    return index
