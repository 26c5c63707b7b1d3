"""The SQL the projection engine writes: ``Changes.statements(schema)``, executed on a fresh
schema of a real PostgreSQL, leaves exactly the rows that the row operations, applied one at a
time in order, would leave (the reference model of ``tests.support.row_model``) — with text
arrays and JSON full of quotes, backslashes, commas, braces, NULLs and unicode, dates,
booleans, integers and a composite key."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.support.row_model import (
    ITEMS,
    RowOp,
    folded,
    model,
    normal_rows,
    row_ops,
)
from tongxin_contracts import default_registry
from tongxin_platform.memory import MemoryDatabase, MemoryTables
from tongxin_platform.projection import Add, Changes, Greatest, Projection, Table

pytestmark = pytest.mark.integration

SCHEMA = "rows_sql"
ROWS = Projection("rows", group="tests.rows", sources=(), tables=[ITEMS])
# The database fixture is made once per test; every example writes into a schema of its own,
# created in a transaction that is rolled back.
SQL_PROPERTIES = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
NULL_MAXIMUM = [
    RowOp("upsert", ("a", 1), (("day", None), ("high", 5))),
    RowOp("update", ("a", 1), (("count", Add(1)), ("high", Greatest(None)))),
]


class _Done(Exception):  # noqa: N818 - not an error: it carries the rows out of a rollback
    def __init__(self, rows: list[asyncpg.Record]) -> None:
        super().__init__("rolled back")
        self.rows = rows


async def on_postgres(
    url: str, projection: Projection, table: str, batches: list[Changes]
) -> list[dict[str, Any]]:
    """The rows of ``table`` after each batch's statements ran in order, on a fresh schema."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await projection.create_tables(conn, SCHEMA)
            for changes in batches:
                for sql, args in changes.statements(SCHEMA):
                    await conn.execute(sql, *args)
            raise _Done(await conn.fetch(f"SELECT * FROM {SCHEMA}.{table}"))
    except _Done as done:
        return [dict(r) for r in done.rows]
    finally:
        await conn.close()


async def items_on_postgres(url: str, *batches: list[RowOp]) -> list[tuple[Any, ...]]:
    return normal_rows(await on_postgres(url, ROWS, "items", [folded(b) for b in batches]))


@SQL_PROPERTIES
@given(ops=row_ops())
@example(ops=NULL_MAXIMUM)
async def test_a_batchs_statements_leave_the_rows_the_operations_leave_one_at_a_time(
    migrated_db: str, ops: list[RowOp]
) -> None:
    assert await items_on_postgres(migrated_db, ops) == normal_rows(model(ops).values())


@SQL_PROPERTIES
@given(ops=row_ops(), cuts=st.lists(st.integers(0, 25), max_size=5))
@example(ops=NULL_MAXIMUM, cuts=[1])
async def test_any_split_into_consecutive_batches_leaves_the_same_rows_on_postgres(
    migrated_db: str, ops: list[RowOp], cuts: list[int]
) -> None:
    bounds = sorted({min(c, len(ops)) for c in cuts})
    batches = [ops[a:b] for a, b in zip([0, *bounds], [*bounds, len(ops)], strict=True)]
    assert await items_on_postgres(migrated_db, *batches) == normal_rows(model(ops).values())


AWKWARD_TAGS = ['a"b', "back\\slash", "com,ma", "{brace}", "", "NULL", None, "同心 😀", "it's"]
AWKWARD_DOC = {'q"uote': ["back\\slash", None, "{,}"], "同心": {"'": True, "n": -1}}


async def test_awkward_text_arrays_and_json_come_back_exactly_as_written(migrated_db: str) -> None:
    key = ('k"{,}\\', 3)
    ops = [
        RowOp("upsert", key, (("doc", AWKWARD_DOC), ("tags", tuple(AWKWARD_TAGS)))),
        RowOp("upsert", ("b", 1), (("doc", json.dumps(["x", None, 1])), ("tags", ()))),
        RowOp("upsert", ("c", 1), (("doc", "null"), ("tags", (None,)))),
    ]
    rows = await items_on_postgres(migrated_db, ops)
    assert rows == normal_rows(model(ops).values())
    by_key = {(r[0], r[1]): r for r in rows}
    assert by_key[key][6] == AWKWARD_TAGS
    assert by_key[("c", 1)][6] == [None]
    assert by_key[("c", 1)][7] == ("json", "null")  # JSON null, not a SQL NULL


# --- the in-memory fake is PostgreSQL's twin -------------------------------------------------

COUNTERS = Table("counters", ("k",), {"k": "text", "total": "integer"})
COUNTING = Projection("counting", group="tests.counting", sources=(), tables=[COUNTERS])


def _changes(*steps: tuple[str, dict[str, Any]]) -> Changes:
    changes = Changes({"counters": COUNTERS})
    for kind, cols in steps:
        getattr(changes["counters"], kind)("x", **cols)
    return changes


def _in_memory(batches: list[Changes]) -> Any:
    tables = MemoryTables(MemoryDatabase(default_registry()), {"counters": COUNTERS})
    for changes in batches:
        tables.apply_changes(SCHEMA, changes)
    return tables.rows(SCHEMA, "counters")[("x",)]["total"]


async def test_an_increment_of_a_null_column_gives_one_value_whatever_the_batches_and_the_store(
    migrated_db: str,
) -> None:
    # A row written with a NULL counter, then incremented: in one batch, or in two (a rebuild's
    # batches need not be the live group's), in memory or on PostgreSQL.
    upsert, increment = ("upsert", {"total": None}), ("update", {"total": Add(1)})
    results = {
        "postgres, one batch": (
            await on_postgres(migrated_db, COUNTING, "counters", [_changes(upsert, increment)])
        )[0]["total"],
        "postgres, two batches": (
            await on_postgres(
                migrated_db, COUNTING, "counters", [_changes(upsert), _changes(increment)]
            )
        )[0]["total"],
        "memory, one batch": _in_memory([_changes(upsert, increment)]),
        "memory, two batches": _in_memory([_changes(upsert), _changes(increment)]),
    }
    assert len(set(results.values())) == 1, results


DEFAULTED = Table(
    "defaulted",
    ("k",),
    {
        "k": "text",
        "n": "integer NOT NULL DEFAULT 0",
        "m": "integer DEFAULT -3",
        "tags": "text[] NOT NULL DEFAULT '{}'",
        "list_doc": "jsonb NOT NULL DEFAULT '[]'",
        "object_doc": "jsonb NOT NULL DEFAULT '{}'",
        "yes": "boolean NOT NULL DEFAULT true",
        "no": "boolean NOT NULL DEFAULT false",
        "word": "text DEFAULT 'none'",
        "nothing": "text",
    },
)
JSONB = ("list_doc", "object_doc")


async def test_a_row_upserted_without_values_has_the_same_defaults_in_memory_and_on_postgres(
    migrated_db: str,
) -> None:
    projection = Projection("defaults", group="tests.defaults", sources=(), tables=[DEFAULTED])
    changes = Changes({"defaulted": DEFAULTED})
    changes["defaulted"].upsert("x")
    [stored] = await on_postgres(migrated_db, projection, "defaulted", [changes])
    postgres = {c: json.loads(v) if c in JSONB else v for c, v in stored.items()}
    tables = MemoryTables(MemoryDatabase(default_registry()), {"defaulted": DEFAULTED})
    tables.apply_changes(SCHEMA, changes)
    assert tables.rows(SCHEMA, "defaulted")[("x",)] == postgres
