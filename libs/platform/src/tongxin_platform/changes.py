"""A batch's row changes, folded in memory: each row's changes compose into one (an upsert then
an update is one upsert; increments add up); the rare sequence that cannot be composed (an
update before the row's upsert, a delete then an upsert) starts a new segment, written after
the first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tongxin_platform.statements import table_statements
from tongxin_platform.tables import (
    EXPRESSIONS,
    Add,
    Greatest,
    Key,
    Op,
    Table,
    check_schema,
    greatest,
)


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
            return Greatest(greatest(old.value, new.value))
        if isinstance(old, Add):
            return NotImplemented
        return greatest(old, new.value)
    return new


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
        if prev.kind == "upsert" and isinstance(value, EXPRESSIONS) and col not in prev.cols:
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
                    out += table_statements(schema, self.tables[name], rows)
        return out
