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

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Literal, TypeVar

import asyncpg

from tongxin_contracts import IntegrationEvent
from tongxin_platform.exactly_once import Apply, Ledger, Message

E = TypeVar("E", bound=IntegrationEvent)
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_schema(schema: str) -> str:
    """A read model's schema name goes into SQL as an identifier: only plain names pass."""
    if not _NAME.match(schema):
        raise ValueError(f"not a valid schema name: {schema!r}")
    return schema


@dataclass(frozen=True, slots=True)
class Add:
    """An update that adds ``n`` to the column (``actions = actions + 1``)."""

    n: int


@dataclass(frozen=True, slots=True)
class Greatest:
    """An update that keeps the greater of the column and ``value`` (NULLs ignored)."""

    value: Any


@dataclass(frozen=True)
class Table:
    """A read-model table: ``columns`` maps each name to its SQL declaration, key first."""

    name: str
    key: tuple[str, ...]
    columns: Mapping[str, str]
    indexes: Mapping[str, str] = field(default_factory=dict)  # index name → "(col, col)"

    def __post_init__(self) -> None:
        for name in (self.name, *self.columns, *self.indexes):
            check_schema(name)
        missing = [k for k in self.key if k not in self.columns]
        if missing:
            raise ValueError(f"{self.name}: key column(s) {missing} are not declared")
        types = {
            c: re.split(r"\s+(?:NOT\s+NULL|NULL|DEFAULT|CHECK)\b", d, maxsplit=1)[0].strip()
            for c, d in self.columns.items()
        }
        object.__setattr__(self, "_types", types)

    def type_of(self, column: str) -> str:
        """``text[] NOT NULL DEFAULT '{}'`` → ``text[]``."""
        types: dict[str, str] = self._types  # type: ignore[attr-defined]
        return types[column]

    def ddl(self, schema: str) -> str:
        cols = ", ".join(f"{c} {d}" for c, d in self.columns.items())
        out = [
            f"CREATE TABLE IF NOT EXISTS {schema}.{self.name} "
            f"({cols}, PRIMARY KEY ({', '.join(self.key)}))"
        ]
        out += [
            f"CREATE INDEX IF NOT EXISTS {index} ON {schema}.{self.name} {cols}"
            for index, cols in self.indexes.items()
        ]
        return ";\n".join(out)

    def order_by(self) -> str:
        return ", ".join(self.key)


Key = tuple[Any, ...]
_EXPRESSIONS = (Add, Greatest)


class Op:
    """What happens to one row: ``upsert`` (insert, or set ``cols``), ``update`` (set ``cols``
    if the row exists) or ``delete``."""

    __slots__ = ("cols", "kind")

    def __init__(self, kind: Literal["upsert", "update", "delete"], cols: dict[str, Any]) -> None:
        self.kind, self.cols = kind, cols

    def __repr__(self) -> str:
        return f"Op({self.kind!r}, {self.cols!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Op) and (self.kind, self.cols) == (other.kind, other.cols)


def _merge_value(old: Any, new: Any) -> Any:
    """``new`` applied after ``old``; ``NotImplemented`` when the two cannot be one value."""
    if isinstance(new, Add):
        if isinstance(old, Add):
            return Add(old.n + new.n)
        if isinstance(old, Greatest):
            return NotImplemented
        return (old or 0) + new.n
    if isinstance(new, Greatest):
        if isinstance(old, Greatest):
            return Greatest(_greatest(old.value, new.value))
        if isinstance(old, Add):
            return NotImplemented
        return _greatest(old, new.value)
    return new


def _greatest(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def compose(prev: Op | None, new: Op) -> Op | None:
    """One op equivalent to ``prev`` then ``new`` on the same row, or ``None`` if there is none."""
    if prev is None or new.kind == "delete":
        return new
    if prev.kind == "delete":
        return prev if new.kind == "update" else None  # updating a deleted row changes nothing
    if prev.kind == "update" and new.kind == "upsert":
        return None
    merged = dict(prev.cols)
    for col, value in new.cols.items():
        if prev.kind == "upsert" and isinstance(value, _EXPRESSIONS) and col not in prev.cols:
            return None  # the base value is in the database, not in this batch
        if col in merged:
            value = _merge_value(merged[col], value)
            if value is NotImplemented:
                return None
        merged[col] = value
    return Op(prev.kind, merged)


class TableChanges:
    """A handler's view of one table. Column names are checked when the batch is written."""

    __slots__ = ("_add", "_name", "table")

    def __init__(self, owner: Changes, table: Table) -> None:
        self.table, self._name, self._add = table, table.name, owner._add

    def upsert(self, key: Any, **cols: Any) -> None:
        """Insert the row, or update ``cols`` of the existing one (other columns untouched)."""
        self._add(self._name, key if type(key) is tuple else (key,), Op("upsert", cols))

    def update(self, key: Any, **cols: Any) -> None:
        """Update ``cols`` of the row if it exists (values, ``Add`` or ``Greatest``)."""
        if cols:
            self._add(self._name, key if type(key) is tuple else (key,), Op("update", cols))

    def delete(self, key: Any) -> None:
        self._add(self._name, key if type(key) is tuple else (key,), Op("delete", {}))


Segment = dict[str, dict[Key, Op]]  # table → key → what happens to the row


class Changes:
    """One batch's row changes, folded per row, in segments that are written in order."""

    def __init__(self, tables: Mapping[str, Table]) -> None:
        self.tables = tables
        self.segments: list[Segment] = [{name: {} for name in tables}]
        self._where: dict[tuple[str, Key], int] = {}
        self._views = {name: TableChanges(self, t) for name, t in tables.items()}

    def __getitem__(self, table: str) -> TableChanges:
        return self._views[table]

    def _add(self, table: str, key: Key, op: Op) -> None:
        at = (table, key)
        index = self._where.get(at)
        if index is None:  # the common case: a row's first change in the batch
            self.segments[0][table][key] = op
            self._where[at] = 0
            return
        rows = self.segments[index][table]
        merged = compose(rows[key], op)
        if merged is None:
            index += 1
            if index == len(self.segments):
                self.segments.append({name: {} for name in self.tables})
            merged = op
        self.segments[index][table][key] = merged
        self._where[at] = index

    def __bool__(self) -> bool:
        return bool(self._where)

    def rows(self) -> list[tuple[str, Key, Op]]:
        """Every (table, key, op), segment by segment (what the in-memory fake applies)."""
        return [
            (t, k, op) for seg in self.segments for t, rows in seg.items() for k, op in rows.items()
        ]

    def statements(self, schema: str) -> list[tuple[str, list[Any]]]:
        """The SQL that writes these changes into ``schema``, in order."""
        check_schema(schema)
        out: list[tuple[str, list[Any]]] = []
        for segment in self.segments:
            for name, rows in segment.items():
                if rows:
                    out += _table_statements(schema, self.tables[name], rows)
        return out


def _param(table: Table, column: str, values: list[Any]) -> tuple[str, str, list[Any]]:
    """(parameter cast, select expression suffix, values) for one column of an UNNEST."""
    kind = table.type_of(column)
    if kind.endswith("[]"):
        return "text[]", f"::{kind}", [None if v is None else _array_literal(v) for v in values]
    if kind in ("jsonb", "json"):
        return "text[]", f"::{kind}", [None if v is None else _json(v) for v in values]
    return f"{kind}[]", "", values


def _json(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode()
    return json.dumps(value, separators=(",", ":"))


def _array_literal(values: Iterable[Any]) -> str:
    """A one-dimensional PostgreSQL array literal of strings (each element quoted)."""
    parts = []
    for v in values:
        if v is None:
            parts.append("NULL")
        else:
            text = str(v).replace("\\", "\\\\").replace('"', '\\"')
            parts.append(f'"{text}"')
    return "{" + ",".join(parts) + "}"


def _unnest(
    table: Table, columns: Sequence[str], values: Sequence[list[Any]]
) -> tuple[str, list[list[Any]]]:
    """``SELECT … FROM unnest($1::t[], …)``: the rows as a relation with the table's column
    names and types (arrays and JSON travel as text and are cast back). ``values`` holds one
    list per column."""
    params, selects, args = [], [], []
    for column, column_values in zip(columns, values, strict=True):
        cast, back, encoded = _param(table, column, column_values)
        args.append(encoded)
        params.append(f"${len(args)}::{cast}")
        selects.append(f"u.{column}{back} AS {column}")
    relation = (
        f"SELECT {', '.join(selects)} FROM unnest({', '.join(params)}) AS u({', '.join(columns)})"
    )
    return relation, args


def _shape(table: Table, op: Op) -> tuple[Any, ...]:
    if op.kind == "update":
        return tuple(
            (c, type(v)) if isinstance(v, _EXPRESSIONS) else c for c, v in sorted(op.cols.items())
        )
    return tuple(sorted(op.cols))


def _check(
    table: Table, kind: str, shape: tuple[Any, ...], members: list[tuple[Key, Op]]
) -> list[str]:
    cols = [c if isinstance(c, str) else c[0] for c in shape]
    unknown = [c for c in cols if c not in table.columns or c in table.key]
    if unknown:
        raise ValueError(f"{table.name}: no (non-key) column(s) {unknown}")
    if kind == "upsert" and any(
        type(v) in _EXPRESSIONS for _, op in members for v in op.cols.values()
    ):
        raise ValueError(f"{table.name}: an upsert takes plain values")
    return cols


def _table_statements(
    schema: str, table: Table, rows: dict[Key, Op]
) -> list[tuple[str, list[Any]]]:
    target = f"{schema}.{table.name}"
    keys = ", ".join(table.key)
    width = len(table.key)
    for key in rows:
        if len(key) != width:
            raise ValueError(f"{table.name}: key {key!r} does not match {table.key}")
    out: list[tuple[str, list[Any]]] = []
    groups: dict[tuple[str, tuple[Any, ...]], list[tuple[Key, Op]]] = {}
    deletes: list[Key] = []
    # In key order: concurrent batches (other partitions) lock rows in one global order. (Key
    # columns are a primary key: never NULL.)
    for key, op in sorted(rows.items(), key=itemgetter(0)):
        if op.kind == "delete":
            deletes.append(key)
        else:
            groups.setdefault((op.kind, _shape(table, op)), []).append((key, op))
    if deletes:
        relation, args = _unnest(table, table.key, [list(k) for k in zip(*deletes, strict=True)])
        out.append((f"DELETE FROM {target} WHERE ({keys}) IN ({relation})", args))
    for (kind, shape), members in groups.items():
        first = members[0][1]
        cols = _check(table, kind, shape, members)
        columns = [*table.key, *cols]
        values = [[k[i] for k, _ in members] for i in range(width)]
        if kind == "update" and any(not isinstance(c, str) for c in shape):
            values += [[_plain(op.cols[c]) for _, op in members] for c in cols]
        else:
            values += [[op.cols[c] for _, op in members] for c in cols]
        relation, args = _unnest(table, columns, values)
        if kind == "upsert":
            sets = ", ".join(f"{c} = excluded.{c}" for c in cols)
            conflict = f"DO UPDATE SET {sets}" if sets else "DO NOTHING"
            sql = (
                f"INSERT INTO {target} ({', '.join(columns)}) {relation}"
                f" ON CONFLICT ({keys}) {conflict}"
            )
        else:
            sets = ", ".join(_set(c, first.cols[c]) for c in cols)
            match = " AND ".join(f"t.{k} = v.{k}" for k in table.key)
            sql = f"UPDATE {target} AS t SET {sets} FROM ({relation}) AS v WHERE {match}"
        out.append((sql, args))
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Add):
        return value.n
    if isinstance(value, Greatest):
        return value.value
    return value


def _set(column: str, sample: Any) -> str:
    if isinstance(sample, Add):
        # NULL counts as 0, as when the increment is folded onto a value of the same batch.
        return f"{column} = coalesce(t.{column}, 0) + v.{column}"
    if isinstance(sample, Greatest):
        return f"{column} = greatest(t.{column}, v.{column})"
    return f"{column} = v.{column}"


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

    def on(
        self, *types: type[E]
    ) -> Callable[[Callable[[E, Changes], None]], Callable[[E, Changes], None]]:
        def register(handler: Callable[[E, Changes], None]) -> Callable[[E, Changes], None]:
            for t in types:
                if t.ce_type() in self.handlers:
                    raise ValueError(f"{self.name}: {t.__name__} is handled twice")
                self.handlers[t.ce_type()] = handler
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
