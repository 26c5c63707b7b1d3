"""Set-based projections: handlers registered per event type fold a whole batch into row
changes in memory; the batch is then written with one statement per table and kind of change
(``UNNEST`` arrays: an upsert, an update, a delete), whatever the number of events.

    roster = Projection("roster", group="registry.roster", sources=("registry",), tables=[…])

    @roster.on(StudentLeft)
    def _(e: StudentLeft, rows: Changes) -> None:
        rows["students"].update(e.student_ref, status=f"left:{e.reason.value}")

Handlers are pure: they only say what changes, so they are tested without a database. The
projection also describes itself — its tables' DDL, keys and digest, its consumer group, the
topics it reads — for the worker, for ``replay`` and for the comparison of a rebuild.

Changes to one row compose in memory (an upsert then an update is one upsert; increments add
up); the rare sequence that cannot be composed (an update before the row's upsert, a delete
then an upsert) starts a new segment, written after the first.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import asyncpg

from tongxin_contracts import IntegrationEvent
from tongxin_platform.changes import Changes, TableChanges, compose
from tongxin_platform.exactly_once import Apply, Ledger, Message
from tongxin_platform.tables import Add, Greatest, Op, Table, check_schema

__all__ = [
    "Add",
    "Changes",
    "Greatest",
    "Op",
    "Projection",
    "Table",
    "TableChanges",
    "check_schema",
    "compose",
]

E = TypeVar("E", bound=IntegrationEvent)
log = logging.getLogger(__name__)


Handler = Callable[[Any, Changes], None]


class Projection:
    """A read model built from events: its tables, its handlers, its consumer group."""

    def __init__(
        self,
        name: str,
        *,
        group: str,
        sources: Sequence[str],
        tables: Sequence[Table],
        schema: str | None = None,
        description: str = "",
        configure: Callable[[Any], None] | None = None,
    ) -> None:
        self.name = name
        self.group = group
        self.schema = check_schema(schema or name)
        self.sources = tuple(sources)  # the services whose topics it reads
        self.tables = {t.name: t for t in tables}
        self.description = description
        self.handlers: dict[str, Handler] = {}
        self.event_types: dict[str, type[IntegrationEvent]] = {}
        self._by_class: dict[type[IntegrationEvent], Handler] = {}
        self._configure = configure

    def configure(self, settings: Any) -> None:
        """Give the handlers what they read from the service's settings (e.g. a key), before
        anything is folded: the worker and ``replay`` call it with the service's settings."""
        if self._configure is not None:
            self._configure(settings)

    def on(
        self, *types: type[E]
    ) -> Callable[[Callable[[E, Changes], None]], Callable[[E, Changes], None]]:
        def register(handler: Callable[[E, Changes], None]) -> Callable[[E, Changes], None]:
            for t in types:
                if t.ce_type() in self.handlers:
                    raise ValueError(f"{self.name}: {t.__name__} is handled twice")
                self.handlers.update(dict.fromkeys(t.ce_types(), handler))  # and older versions
                self.event_types[t.ce_type()] = t
                self._by_class[t] = handler
            return handler

        return register

    def handles(self, ce_type: str) -> bool:
        return ce_type in self.handlers

    def fold(self, events: Iterable[IntegrationEvent], into: Changes | None = None) -> Changes:
        changes = into or Changes(self.tables)
        handlers = self._by_class
        for e in events:
            handler = handlers.get(type(e))
            if handler is not None:
                handler(e, changes)
        return changes

    # --- PostgreSQL ---------------------------------------------------------------------------

    def ddl(self, schema: str | None = None) -> str:
        s = check_schema(schema or self.schema)
        return ";\n".join(
            [f"CREATE SCHEMA IF NOT EXISTS {s}", *(t.ddl(s) for t in self.tables.values())]
        )

    async def create_tables(self, conn: asyncpg.Connection, schema: str | None = None) -> None:
        """Create the schema and tables if missing, under an advisory lock: a service's API and
        worker start together, and IF NOT EXISTS alone races in the catalog."""
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"ddl:{self.name}")
            await conn.execute(self.ddl(schema))

    def shape(self, schema: str | None = None) -> str:
        """A hash of the tables' DDL: it changes whenever a column, key or index does."""
        return hashlib.sha256(self.ddl(schema).encode()).hexdigest()

    async def ensure_tables(self, conn: asyncpg.Connection) -> bool:
        """Create the live tables if missing, and rebuild them when their shape changed.

        A new version of a service may change a read model's tables (a column added, renamed or
        dropped). Its tables then no longer match what its handlers write, and a model is only
        ever the result of its offsets: the tables are dropped and created again, and the
        group's offsets and stream versions are forgotten, so that the worker rebuilds the model
        from offset 0 (its own start sees no offsets). Tables created before shapes were
        recorded are compared by their columns. Whether the model was reset."""
        s, shape = self.schema, self.shape()
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"ddl:{self.name}")
            recorded = await conn.fetchval(
                "SELECT shape FROM read_model_shapes WHERE schema_name = $1", s
            )
            changed = recorded is not None and recorded != shape
            if recorded is None:
                changed = await self._columns_differ(conn)
            if changed:
                log.warning(
                    "%s: its tables changed shape; dropped, and %s rebuilds them from offset 0",
                    self.name,
                    self.group,
                )
                for name in self.tables:
                    await conn.execute(f"DROP TABLE IF EXISTS {s}.{name} CASCADE")
                await conn.execute("DELETE FROM consumer_offsets WHERE group_id = $1", self.group)
                await conn.execute("DELETE FROM consumer_streams WHERE group_id = $1", self.group)
            await conn.execute(self.ddl())
            await conn.execute(
                """INSERT INTO read_model_shapes (schema_name, shape) VALUES ($1, $2)
                   ON CONFLICT (schema_name) DO UPDATE SET shape = $2, created_at = now()""",
                s,
                shape,
            )
        return changed

    async def _columns_differ(self, conn: asyncpg.Connection) -> bool:
        rows = await conn.fetch(
            """SELECT table_name, column_name FROM information_schema.columns
               WHERE table_schema = $1 AND table_name = ANY($2::text[])""",
            self.schema,
            list(self.tables),
        )
        found: dict[str, set[str]] = {}
        for r in rows:
            found.setdefault(r["table_name"], set()).add(r["column_name"])
        return any(
            name in found and found[name] != set(table.columns)
            for name, table in self.tables.items()
        )

    async def reset_unless_owned(self, conn: asyncpg.Connection, schema: str, group: str) -> bool:
        """Empty the tables when ``group`` has no stored offsets: a model is only ever the
        result of its offsets, so without them it is rebuilt from offset 0. Whether it was."""
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"ddl:{self.name}")
            owned = await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM consumer_offsets WHERE group_id = $1)", group
            )
            if owned:
                return False
            names = ", ".join(f"{check_schema(schema)}.{t}" for t in self.tables)
            if names:  # a model declared without tables yet has nothing to empty
                await conn.execute(f"TRUNCATE {names}")
            return True

    async def digest(self, conn: asyncpg.Connection, schema: str | None = None) -> dict[str, str]:
        """An md5 of each table's rows in key order: equal digests mean equal read models."""
        s = check_schema(schema or self.schema)
        out = {}
        for name, table in self.tables.items():
            out[name] = await conn.fetchval(
                f"SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY {table.order_by()})),"
                f" 'empty') FROM {s}.{name} t"
            )
        return out

    async def write(self, target: Any, schema: str, changes: Changes) -> None:
        """Write ``changes`` into ``schema`` through ``target``: an asyncpg connection, or an
        object with ``apply_changes`` (the in-memory fake)."""
        if hasattr(target, "apply_changes"):
            target.apply_changes(schema, changes)
            return
        for sql, args in changes.statements(schema):
            await target.execute(sql, *args)

    def apply_to(self, schema: str) -> Apply:
        """The consumer's ``Apply`` writing this projection into ``schema``."""

        async def apply(tx: Ledger, messages: Sequence[Message]) -> None:
            changes = self.fold(m.event for m in messages if m.event is not None)
            if changes:
                await self.write(tx.conn, schema, changes)

        return apply
