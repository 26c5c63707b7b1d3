"""Projections as SQL statements: one per event, applied in order, with runs of the same
statement sent as one pipelined ``executemany`` (a round trip per run, not per event)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
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


_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_schema(schema: str) -> str:
    """A read model's schema name goes into SQL as an identifier: only plain names pass."""
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"not a valid schema name: {schema!r}")
    return schema


async def create_schema(conn: asyncpg.Connection, ddl: str, schema: str, lock: str) -> None:
    """Run ``ddl`` (``{s}`` stands for the schema) under an advisory lock named ``lock``: a
    service's API and worker start together, and IF NOT EXISTS alone races in the catalog."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", lock)
        await conn.execute(ddl.format(s=check_schema(schema)))


async def digest(
    conn: asyncpg.Connection, schema: str, tables: Mapping[str, str]
) -> dict[str, str]:
    """An md5 of each table's rows in key order (``tables``: name → ORDER BY key): equal
    digests mean equal read models (a rebuild against the live one)."""
    check_schema(schema)
    out = {}
    for table, key in tables.items():
        out[table] = await conn.fetchval(
            f"SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY {key})), 'empty') "
            f"FROM {schema}.{table} t"
        )
    return out
