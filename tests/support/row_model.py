"""A reference model of what the set-based projection engine promises for one table's rows,
and hypothesis strategies of row operations on a small table with awkward types.

Row semantics, one operation at a time, in order:

- ``upsert(key, **cols)``: insert the row with ``cols`` and the other columns' defaults, or set
  ``cols`` on the existing row (other columns untouched);
- ``update(key, **cols)``: set ``cols`` if the row exists, nothing otherwise; ``Add(n)`` adds
  ``n``, ``Greatest(v)`` keeps the greater of the column and ``v`` (a NULL on either side is
  ignored);
- ``delete(key)``: the row is gone.

The unit tests compare the engine's in-memory fake with this model, the integration tests the
SQL the engine writes; both draw from the same strategies.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from hypothesis import strategies as st

from tongxin_platform.projection import Add, Changes, Greatest, Table

Key = tuple[str, int]
Row = dict[str, Any]


@dataclass(frozen=True)
class RowOp:
    kind: Literal["upsert", "update", "delete"]
    key: Key
    cols: tuple[tuple[str, Any], ...] = ()

    def write(self, changes: Changes, table: str = "items") -> None:
        """Say this operation to a batch, the way a projection's handler does."""
        view = changes[table]
        if self.kind == "upsert":
            view.upsert(self.key, **dict(self.cols))
        elif self.kind == "update":
            view.update(self.key, **dict(self.cols))
        else:
            view.delete(self.key)


# A composite key, the columns of every type the engine casts differently (text[] and jsonb
# travel as text), NOT NULL columns with defaults (an upsert may name none of them) and
# nullable ones.
ITEMS = Table(
    "items",
    ("k", "n"),
    {
        "k": "text",
        "n": "integer",
        "label": "text",
        "count": "integer NOT NULL DEFAULT 0",
        "high": "integer",
        "day": "date",
        "tags": "text[] NOT NULL DEFAULT '{}'",
        "doc": "jsonb",
        "flag": "boolean NOT NULL DEFAULT false",
    },
)
DEFAULTS: Row = {
    "label": None,
    "count": 0,
    "high": None,
    "day": None,
    "tags": [],
    "doc": None,
    "flag": False,
}

# Characters that need quoting somewhere: in array literals, in JSON, in SQL.
AWKWARD = ['"', "\\", ",", "{", "}", "'", " ", "NULL", "null", "é", "同心", "😀", "\n", "[", "]"]
TEXT = st.lists(
    st.one_of(
        st.sampled_from(AWKWARD), st.text(st.characters(codec="utf-8", exclude_characters="\x00"))
    ),
    max_size=4,
).map("".join)
KEYS: list[Key] = [("a", 1), ("a", 2), ("b", 1), ('q"{x},\\', 1), ("同心", -7)]
INTS = st.integers(-(2**31) // 2, 2**31 // 2 - 1)
DATES = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**12), 10**12), TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=8,
)
# A jsonb value is JSON text (a string is taken as JSON already), or a list or dict to dump.
DOCS = st.one_of(
    JSON_VALUES.map(lambda v: json.dumps(v, ensure_ascii=False)),
    st.lists(JSON_VALUES, max_size=3),
    st.dictionaries(TEXT, JSON_VALUES, max_size=3),
)

PLAIN: dict[str, st.SearchStrategy[Any]] = {
    "label": st.none() | TEXT,
    "count": INTS,
    "high": st.none() | INTS,
    "day": st.none() | DATES,
    "tags": st.lists(st.none() | TEXT, max_size=4),
    "doc": st.none() | DOCS,
    "flag": st.booleans(),
}
# What an update may say besides plain values: increments on the NOT NULL counter, maxima on
# the counter (never NULL) and on nullable columns (a NULL operand is ignored).
EXPRESSIONS: dict[str, st.SearchStrategy[Any]] = {
    "count": st.one_of(st.integers(-5, 5).map(Add), INTS.map(Greatest)),
    "high": (st.none() | INTS).map(Greatest),
    "day": (st.none() | DATES).map(Greatest),
}


@st.composite
def _cols(draw: st.DrawFn, *, expressions: bool, min_size: int) -> tuple[tuple[str, Any], ...]:
    names = draw(st.lists(st.sampled_from(sorted(PLAIN)), unique=True, min_size=min_size))
    out = []
    for name in sorted(names):
        options = [PLAIN[name]]
        if expressions and name in EXPRESSIONS:
            options.append(EXPRESSIONS[name])
        out.append((name, draw(st.one_of(options))))
    return tuple(out)


def row_ops(keys: Sequence[Key] = KEYS, max_size: int = 25) -> st.SearchStrategy[list[RowOp]]:
    key = st.sampled_from(list(keys))
    one = st.one_of(
        st.builds(RowOp, st.just("upsert"), key, _cols(expressions=False, min_size=0)),
        st.builds(RowOp, st.just("update"), key, _cols(expressions=True, min_size=1)),
        st.builds(RowOp, st.just("delete"), key),
    )
    return st.lists(one, max_size=max_size)


# --- the model -------------------------------------------------------------------------------


def _greatest(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def apply_op(rows: dict[Key, Row], op: RowOp) -> None:
    cols = dict(op.cols)
    if op.kind == "delete":
        rows.pop(op.key, None)
    elif op.kind == "upsert":
        if op.key in rows:
            rows[op.key].update(cols)
        else:
            rows[op.key] = {"k": op.key[0], "n": op.key[1], **DEFAULTS, **cols}
    elif op.key in rows:
        row = rows[op.key]
        for name, value in cols.items():
            if isinstance(value, Add):
                row[name] = row[name] + value.n
            elif isinstance(value, Greatest):
                row[name] = _greatest(row[name], value.value)
            else:
                row[name] = value


def model(ops: Iterable[RowOp], start: dict[Key, Row] | None = None) -> dict[Key, Row]:
    rows = {k: dict(r) for k, r in (start or {}).items()}
    for op in ops:
        apply_op(rows, op)
    return rows


def folded(ops: Iterable[RowOp], table: Table = ITEMS) -> Changes:
    """The whole sequence as one batch's changes."""
    changes = Changes({table.name: table})
    for op in ops:
        op.write(changes, table.name)
    return changes


# --- comparing with what PostgreSQL returns --------------------------------------------------


def normal(row: Row) -> tuple[Any, ...]:
    """A row as comparable values: jsonb as canonical JSON (a SQL NULL stays ``None``)."""
    doc = row["doc"]
    if doc is not None:
        parsed = json.loads(doc) if isinstance(doc, str) else doc
        doc = ("json", json.dumps(parsed, sort_keys=True, ensure_ascii=False))
    tags = row["tags"]
    return (
        row["k"],
        row["n"],
        row["label"],
        row["count"],
        row["high"],
        row["day"],
        None if tags is None else list(tags),
        doc,
        row["flag"],
    )


def normal_rows(rows: Iterable[Row]) -> list[tuple[Any, ...]]:
    return sorted((normal(r) for r in rows), key=lambda t: (t[0], t[1]))
