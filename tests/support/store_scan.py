"""Scan a whole database for strings: every row of every table of every schema (the kit's own
tables too) cast to text. The city's privacy tests and the e2e test of `make run` look for
people's pseudonyms with it."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

SYSTEM = ("pg_catalog", "information_schema", "pg_toast")


async def tables_of(conn: asyncpg.Connection) -> list[tuple[str, str]]:
    rows = await conn.fetch(
        """SELECT table_schema, table_name FROM information_schema.tables
           WHERE table_type = 'BASE TABLE' AND NOT (table_schema = ANY($1::text[]))
             AND table_schema NOT LIKE 'pg_temp%' ORDER BY 1, 2""",
        list(SYSTEM),
    )
    return [(r["table_schema"], r["table_name"]) for r in rows]


async def found(pool: asyncpg.Pool, refs: Iterable[str]) -> dict[str, set[str]]:
    """Table → the pseudonyms found in its rows (each row cast to text)."""
    wanted = sorted(set(refs))
    out: dict[str, set[str]] = {}
    async with pool.acquire() as conn:
        for schema, table in await tables_of(conn):
            text = await conn.fetchval(
                f'SELECT coalesce(string_agg(t::text, chr(10)), \'\') FROM "{schema}"."{table}" t'
            )
            hits = {r for r in wanted if r in text}
            if hits:
                out[f"{schema}.{table}"] = hits
    return out
