"""Projections as SQL statements: one per event, applied in order, with runs of the same
statement sent as one pipelined ``executemany`` (a round trip per run, not per event)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import asyncpg

Statement = tuple[str, tuple[Any, ...]]


def sql(text: str, *args: Any) -> Statement:
    return text, args


async def execute_in_order(
    conn: asyncpg.Connection, statements: Iterable[Statement | None]
) -> None:
    run_sql: str | None = None
    run: list[tuple[Any, ...]] = []
    for statement in statements:
        if statement is None:
            continue
        text, args = statement
        if text != run_sql and run:
            await conn.executemany(run_sql, run)
            run = []
        run_sql = text
        run.append(args)
    if run:
        await conn.executemany(run_sql, run)
