"""What a test session made on the shared Kafka and PostgreSQL, removed when it ends.

Every integration test makes its own topics (``test-<unique>-…``, and the dead-letter topics
its workers add) and databases (``t_<unique>…``). Kept, they pile up run after run on a
developer's long-lived cluster until the broker's heap is full of partition metadata (it was:
17,000 partitions after a day of runs). Only what carries one of this session's ``unique``
ids is removed, so that two sessions sharing a cluster never remove each other's."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Collection

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient

# The ``unique`` ids this session handed out: its topics and databases carry them.
UNIQUES: set[str] = set()


def fresh_unique() -> str:
    """A new id for a test's (or a module's) topics and databases, removed with the session."""
    made = uuid.uuid4().hex[:10]
    UNIQUES.add(made)
    return made


def made_by(name: str, uniques: Collection[str]) -> bool:
    return any(u in name for u in uniques)


async def delete_topics(bootstrap: str, uniques: Collection[str]) -> list[str]:
    """Delete the topics whose names carry one of ``uniques``; return their names."""
    if not uniques:
        return []
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    await admin.start()
    try:
        doomed = sorted(t for t in await admin.list_topics() if made_by(t, uniques))
        for start in range(0, len(doomed), 200):
            with contextlib.suppress(Exception):  # best effort: a topic already gone is fine
                await admin.delete_topics(doomed[start : start + 200])
        return doomed
    finally:
        await admin.close()


async def drop_databases(server_url: str, uniques: Collection[str]) -> list[str]:
    """Drop the databases whose names carry one of ``uniques`` (``t_<unique>``,
    ``t_<unique>_wellbeing``…), even with a connection a test left open."""
    if not uniques:
        return []
    conn = await asyncpg.connect(server_url)
    try:
        names = [
            r["datname"]
            for r in await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE 't\\_%'")
            if made_by(r["datname"], uniques)
        ]
        for name in names:
            with contextlib.suppress(asyncpg.PostgresError):
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return names
    finally:
        await conn.close()
