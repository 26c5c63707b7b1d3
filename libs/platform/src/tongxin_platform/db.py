"""PostgreSQL connections: one database per service, created on first start."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import asyncpg

from tongxin_platform.settings import service_database_url


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def ensure_database(server_url: str, database: str) -> str:
    """Create ``database`` on the server if it does not exist; return its URL."""
    conn = await asyncpg.connect(service_database_url(server_url, "postgres"))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            # Another process may create it between our check and our create: fine.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()
    return service_database_url(server_url, database)


async def create_pool(
    url: str, *, min_size: int = 2, max_size: int = 10, **kw: Any
) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        url, min_size=min_size, max_size=max_size, init=_init_connection, **kw
    )
    assert pool is not None
    return pool
