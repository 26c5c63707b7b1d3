"""Where each service keeps its event store, and connecting to it with operator-grade errors.

The CLI reads a service's database through the platform's event store, never through the
service's package: services are separate programs, the CLI is their operator.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import asyncpg

from tongxin_cli.console import exit_with, fail, one_line
from tongxin_contracts import TOPICS
from tongxin_platform.settings import PlatformSettings, service_database_url
from tongxin_platform.testing import local_database_url

# Every service of the design (§6); the event-producing ones are the keys of TOPICS.
SERVICES: tuple[str, ...] = tuple(dict.fromkeys((*TOPICS, "agencies", "city")))
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def check_service(service: str) -> str:
    if service not in SERVICES:
        exit_with(f"unknown service {service!r} (one of: {', '.join(SERVICES)})", 2)
    return service


def database_name(
    service: str, database: str | None = None, environ: dict[str, str] | None = None
) -> str:
    """The service's database: ``--database``, else ``<SERVICE>_DATABASE_NAME`` (the variable
    the service itself reads), else ``tongxin_<service>``."""
    env = os.environ if environ is None else environ
    name = database or env.get(f"{service.upper()}_DATABASE_NAME") or f"tongxin_{service}"
    if not _NAME.match(name):
        exit_with(f"not a valid database name: {name!r}", 2)
    return name


def server_url() -> str:
    """The PostgreSQL server: ``DATABASE_URL``, else the project's own (with the password
    ``infra/postgres/start.sh`` generated)."""
    if os.environ.get("DATABASE_URL"):
        return PlatformSettings().database_url
    return local_database_url()


def kafka_bootstrap() -> str:
    return PlatformSettings().kafka_bootstrap_servers


def where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}"


@asynccontextmanager
async def connect(service: str, database: str | None = None) -> AsyncIterator[asyncpg.Connection]:
    """A connection to ``service``'s database; failures become one-line operator errors."""
    name = database_name(service, database)
    url = service_database_url(server_url(), name)
    try:
        conn = await asyncpg.connect(url, timeout=10)
    except asyncpg.InvalidCatalogNameError:
        fail(
            f"no database {name!r} on PostgreSQL at {where(url)}: has the {service} service "
            "ever run? (--database picks another)"
        )
    except (OSError, TimeoutError) as exc:
        fail(
            f"cannot reach PostgreSQL at {where(url)} ({one_line(str(exc)) or 'timeout'}); "
            "is it running? (`tongxin up`, or set DATABASE_URL)"
        )
    except asyncpg.InvalidAuthorizationSpecificationError as exc:
        fail(
            f"PostgreSQL at {where(url)} refused the login ({one_line(str(exc))}): put the "
            "password in DATABASE_URL (the project's own is in .data/postgres-password)"
        )
    except asyncpg.PostgresError as exc:
        fail(f"PostgreSQL at {where(url)} refused the connection: {one_line(str(exc))}")
    try:
        if await conn.fetchval("SELECT to_regclass('events')") is None:
            fail(f"database {name!r} has no event store (table 'events'): not a service database")
        yield conn
    finally:
        await conn.close()
