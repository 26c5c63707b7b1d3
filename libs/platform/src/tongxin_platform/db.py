"""PostgreSQL connections: one database per service, created on first start.

Every connection the kit opens is bounded (``DatabaseBounds``): connecting, each statement and
waiting for a pooled connection (and handing it back) give up after a few seconds instead of
hanging while the server is stopped, paused or unreachable. A pool reconnects by itself once
the server answers again.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass, replace
from typing import Any

import asyncpg

from tongxin_platform.settings import ServiceSettings, service_database_url

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatabaseBounds:
    """Seconds: opening a connection, one statement, waiting for a pooled connection, and
    handing it back (its reset; after a statement that timed out, its cancellation)."""

    connect: float = 3.0
    command: float | None = 5.0
    acquire: float | None = 3.0
    release: float | None = 1.0

    @classmethod
    def of(cls, settings: ServiceSettings) -> DatabaseBounds:
        return cls(
            connect=settings.database_connect_timeout,
            command=settings.database_command_timeout,
            acquire=settings.database_acquire_timeout,
        )

    def for_batches(self, floor: float = 60.0) -> DatabaseBounds:
        """A worker's: a batch's statements, and the wait for a connection while other
        batches hold them, may take longer than a request's (still bounded: a paused server
        fails the batch, which is retried, instead of hanging it)."""
        return replace(
            self,
            command=max(self.command or floor, floor),
            acquire=max(self.acquire or floor, floor),
        )


# Pools opened without settings (a rebuild, tests): bounded connecting, statements as long as
# they take.
DEFAULT_BOUNDS = DatabaseBounds(connect=10.0, command=None, acquire=None, release=None)


class BoundedPool(asyncpg.Pool):  # type: ignore[misc]  # asyncpg is untyped
    """A pool whose ``acquire()`` (and so ``fetch``, ``execute``…) waits at most
    ``bounds.acquire`` seconds unless the caller says otherwise, and whose release waits at
    most ``bounds.release``: a connection that cannot be reset in time (the server paused, a
    statement timed out) is closed instead, quietly — the caller's work is done or already
    failed; the pool opens a new connection when one is needed."""

    __slots__ = ("_bounds",)

    def __init__(self, *args: Any, bounds: DatabaseBounds, **kwargs: Any) -> None:
        self._bounds = bounds
        super().__init__(*args, **kwargs)

    def acquire(self, *, timeout: float | None = None) -> Any:
        return super().acquire(timeout=self._bounds.acquire if timeout is None else timeout)

    async def release(self, connection: Any, *, timeout: float | None = None) -> None:  # noqa: ASYNC109 - asyncpg's signature
        try:
            await super().release(connection, timeout=timeout or self._bounds.release)
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.info("a pooled connection was closed on release: %s: %s", type(exc).__name__, exc)


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def connect(url: str, bounds: DatabaseBounds = DEFAULT_BOUNDS) -> asyncpg.Connection:
    """One bounded connection (migrations, the database's creation)."""
    return await asyncpg.connect(url, timeout=bounds.connect, command_timeout=bounds.command)


async def ensure_database(
    server_url: str, database: str, bounds: DatabaseBounds = DEFAULT_BOUNDS
) -> str:
    """Create ``database`` on the server if it does not exist; return its URL."""
    conn = await connect(service_database_url(server_url, "postgres"), bounds)
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
    url: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    bounds: DatabaseBounds = DEFAULT_BOUNDS,
    **kw: Any,
) -> asyncpg.Pool:
    kw.setdefault("timeout", bounds.connect)
    kw.setdefault("command_timeout", bounds.command)
    # PostgreSQL's JIT compiles a big read for longer than it runs (a district page of 100
    # schools: 0.76 s compiling a 0.2 s statement); services run short statements only.
    kw.setdefault("server_settings", {"jit": "off"})
    pool = BoundedPool(
        url,
        bounds=bounds,
        min_size=min_size,
        max_size=max_size,
        max_queries=50000,
        max_inactive_connection_lifetime=300.0,
        init=_init_connection,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        **kw,
    )
    await pool
    return pool
