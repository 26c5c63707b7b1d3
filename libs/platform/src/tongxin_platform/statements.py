"""The SQL that writes a batch's changes: per table and kind of change (delete, upsert, update
with values or expressions), one statement over ``UNNEST`` arrays, rows in key order."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

from tongxin_platform.tables import EXPRESSIONS, Add, Greatest, Key, Op, Table


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
            (c, type(v)) if isinstance(v, EXPRESSIONS) else c for c, v in sorted(op.cols.items())
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
        type(v) in EXPRESSIONS for _, op in members for v in op.cols.values()
    ):
        raise ValueError(f"{table.name}: an upsert takes plain values")
    return cols


def table_statements(schema: str, table: Table, rows: dict[Key, Op]) -> list[tuple[str, list[Any]]]:
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
