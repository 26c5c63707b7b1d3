"""A small SQL migrations runner: numbered ``*.sql`` files applied once, in order, under a lock."""

from __future__ import annotations

import hashlib
from importlib.resources import files
from importlib.resources.abc import Traversable

import asyncpg

# Any constant works: it only has to be the same for every process migrating one database.
_LOCK_KEY = 0x7467_6D69  # "tgmi"


class MigrationChangedError(RuntimeError):
    """An applied migration's file was edited afterwards: write a new migration instead."""


def _sql_files(package: str) -> list[Traversable]:
    root = files(package)
    return sorted((f for f in root.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)


async def migrate(conn: asyncpg.Connection, *packages: str) -> list[str]:
    """Apply the ``*.sql`` files of each package (in the order given); return the names applied."""
    applied: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   name text PRIMARY KEY,
                   sha256 text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {r["name"]: r["sha256"] for r in await conn.fetch("SELECT * FROM schema_migrations")}
        for package in packages:
            for f in _sql_files(package):
                name = f"{package}:{f.name}"
                sql = f.read_text(encoding="utf-8")
                digest = hashlib.sha256(sql.encode()).hexdigest()
                if name in done:
                    if done[name] != digest:
                        raise MigrationChangedError(
                            f"migration {name} changed after it was applied"
                        )
                    continue
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (name, sha256) VALUES ($1, $2)", name, digest
                    )
                applied.append(name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    return applied
