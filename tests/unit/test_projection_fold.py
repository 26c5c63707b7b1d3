"""The set-based projection engine folds a batch's row operations into one op per row (in
segments when two cannot be one); written through the in-memory fake, the folded batch leaves
the rows that the operations, applied one at a time in order, would leave."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.support.row_model import ITEMS, KEYS, RowOp, folded, model, row_ops
from tongxin_contracts import default_registry
from tongxin_platform.memory import MemoryDatabase, MemoryTables
from tongxin_platform.projection import Add, Changes, Greatest, Op, compose

PROPERTIES = settings(max_examples=150, deadline=None)
SCHEMA = "fold"
# A maximum whose operand is NULL keeps the column as it is ("NULLs ignored"): rare enough in
# random sequences that each property is also given it explicitly.
NULL_MAXIMUM = [
    RowOp("upsert", ("a", 1), (("high", 5),)),
    RowOp("update", ("a", 1), (("count", Add(1)), ("high", Greatest(None)))),
]


def memory() -> MemoryTables:
    return MemoryTables(MemoryDatabase(default_registry()), {"items": ITEMS})


def written(*batches: list[RowOp]) -> dict[Any, dict[str, Any]]:
    """The rows after each batch is folded and written, in order, through the fake."""
    tables = memory()
    for batch in batches:
        tables.apply_changes(SCHEMA, folded(batch))
    return tables.rows(SCHEMA, "items")


def up(key: Any, **cols: Any) -> RowOp:
    return RowOp("upsert", key, tuple(sorted(cols.items())))


def upd(key: Any, **cols: Any) -> RowOp:
    return RowOp("update", key, tuple(sorted(cols.items())))


def rm(key: Any) -> RowOp:
    return RowOp("delete", key)


# --- the property -----------------------------------------------------------------------------


@PROPERTIES
@given(row_ops())
@example(NULL_MAXIMUM)
def test_a_whole_batch_folded_leaves_the_rows_the_operations_leave_one_at_a_time(
    ops: list[RowOp],
) -> None:
    assert written(ops) == model(ops)


@PROPERTIES
@given(row_ops(), st.lists(st.integers(0, 25), max_size=5))
@example(NULL_MAXIMUM, [1])
def test_any_split_of_the_operations_into_consecutive_batches_leaves_the_same_rows(
    ops: list[RowOp], cuts: list[int]
) -> None:
    bounds = sorted({min(c, len(ops)) for c in cuts})
    batches = [ops[a:b] for a, b in zip([0, *bounds], [*bounds, len(ops)], strict=True)]
    assert written(*batches) == model(ops)


@PROPERTIES
@given(row_ops())
@example(NULL_MAXIMUM)
def test_each_operation_written_as_its_own_batch_leaves_the_models_rows(ops: list[RowOp]) -> None:
    # The fake itself, without any folding, against the reference model.
    assert written(*([op] for op in ops)) == model(ops)


# --- composing and segments -------------------------------------------------------------------


def test_an_upsert_then_updates_of_the_same_row_are_one_upsert() -> None:
    changes = folded([up(("a", 1), count=1, label="x"), upd(("a", 1), count=Add(2), flag=True)])
    assert changes.rows() == [
        ("items", ("a", 1), Op("upsert", {"count": 3, "label": "x", "flag": True}))
    ]
    assert len(changes.segments) == 1


def test_increments_add_up_and_maxima_keep_the_greatest() -> None:
    changes = folded(
        [
            upd(("a", 1), count=Add(1), day=Greatest(date(2026, 10, 3))),
            upd(("a", 1), count=Add(2), day=Greatest(date(2026, 10, 1))),
            upd(("a", 1), count=Add(-1), day=Greatest(None)),
        ]
    )
    assert changes.rows() == [
        ("items", ("a", 1), Op("update", {"count": Add(2), "day": Greatest(date(2026, 10, 3))}))
    ]


def test_an_update_before_the_rows_upsert_starts_a_second_segment_written_after_the_first() -> None:
    ops = [upd(("a", 1), label="early"), up(("a", 1), label="late"), upd(("a", 1), flag=True)]
    changes = folded(ops)
    assert len(changes.segments) == 2
    assert changes.rows() == [
        ("items", ("a", 1), Op("update", {"label": "early"})),
        ("items", ("a", 1), Op("upsert", {"label": "late", "flag": True})),
    ]
    assert written(ops) == model(ops)
    assert written(ops)[("a", 1)]["label"] == "late"


def test_a_delete_then_an_upsert_is_two_segments_and_the_row_comes_back_with_defaults() -> None:
    ops = [up(("a", 1), label="x", count=5), rm(("a", 1)), up(("a", 1), flag=True)]
    changes = folded(ops)
    assert [op.kind for _, _, op in changes.rows()] == ["delete", "upsert"]
    assert written([up(("a", 1), label="before", count=9)], ops)[("a", 1)] == {
        "k": "a",
        "n": 1,
        "label": None,
        "count": 0,
        "high": None,
        "day": None,
        "tags": [],
        "doc": None,
        "flag": True,
    }


def test_an_increment_of_a_column_the_batch_did_not_set_waits_for_the_database_row() -> None:
    # The base value is in the table, not in the batch: it cannot be folded into the upsert.
    changes = folded([up(("a", 1), label="x"), upd(("a", 1), count=Add(1))])
    assert [op.kind for _, _, op in changes.rows()] == ["upsert", "update"]
    assert (
        written([up(("a", 1), count=41)], [up(("a", 1), label="x"), upd(("a", 1), count=Add(1))])[
            ("a", 1)
        ]["count"]
        == 42
    )


@pytest.mark.parametrize(("column", "value"), [("high", 5), ("day", date(2026, 10, 3))])
def test_a_maximum_with_a_null_operand_leaves_a_row_written_earlier_as_it_was(
    column: str, value: Any
) -> None:
    # Written in a batch of its own: the fake applies the maximum to the stored row.
    rows = written([up(("a", 1), **{column: value})], [upd(("a", 1), **{column: Greatest(None)})])
    assert rows[("a", 1)][column] == value


def test_an_update_of_a_deleted_row_changes_nothing_and_stays_a_delete() -> None:
    assert compose(Op("delete", {}), Op("update", {"label": "x"})) == Op("delete", {})
    assert written([up(("a", 1))], [rm(("a", 1)), upd(("a", 1), label="x")]) == {}


def test_a_batch_without_changes_is_false_and_writes_no_statement() -> None:
    changes = Changes({"items": ITEMS})
    changes["items"].update(("a", 1))  # no columns: nothing to say
    assert not changes
    assert changes.statements(SCHEMA) == []


def test_rows_of_other_keys_are_untouched() -> None:
    ops = [up(k, label=str(k)) for k in KEYS] + [rm(KEYS[0]), upd(KEYS[1], label="changed")]
    rows = written(ops)
    assert set(rows) == set(KEYS[1:])
    assert rows[KEYS[1]]["label"] == "changed"
    assert all(rows[k]["label"] == str(k) for k in KEYS[2:])


# --- refusals at write time -------------------------------------------------------------------


def refused(changes: Changes) -> str:
    tables = memory()
    with pytest.raises(ValueError, match=r"^items: ") as raised:
        tables.apply_changes(SCHEMA, changes)
    assert tables.rows(SCHEMA, "items") == {}, "a refused batch writes nothing"
    with pytest.raises(ValueError, match=r"^items: "):
        changes.statements(SCHEMA)
    return str(raised.value)


def test_an_upsert_with_an_increment_is_refused_when_the_batch_is_written() -> None:
    changes = Changes({"items": ITEMS})
    changes["items"].upsert(("a", 1), count=Add(1))  # said without complaint …
    assert "upsert takes plain values" in refused(changes)  # … refused at write time


def test_an_upsert_with_a_maximum_is_refused_when_the_batch_is_written() -> None:
    changes = Changes({"items": ITEMS})
    changes["items"].upsert(("a", 1), high=Greatest(3))
    assert "upsert takes plain values" in refused(changes)


@pytest.mark.parametrize("added", [("a", 0), ("z", 9)], ids=["sorting-first", "sorting-last"])
def test_an_upsert_with_an_increment_is_refused_whatever_other_upserts_share_its_batch(
    added: tuple[str, int],
) -> None:
    # Upserts of the same columns are written by one statement: each of them must be checked,
    # not only the one whose key sorts first.
    changes = Changes({"items": ITEMS})
    changes["items"].upsert(("m", 1), count=1)
    changes["items"].upsert(added, count=Add(1))
    assert "upsert takes plain values" in refused(changes)


@pytest.mark.parametrize("kind", ["upsert", "update"])
def test_an_unknown_column_is_refused_by_name(kind: str) -> None:
    changes = Changes({"items": ITEMS})
    getattr(changes["items"], kind)(("a", 1), label="x", colour="red")
    assert "colour" in refused(changes)


def test_a_key_column_cannot_be_set_as_a_value() -> None:
    changes = Changes({"items": ITEMS})
    changes["items"].upsert(("a", 1), n=2)
    assert "'n'" in refused(changes)


@pytest.mark.parametrize("key", ["a", ("a",), ("a", 1, 2)])
def test_a_key_of_the_wrong_length_is_refused(key: Any) -> None:
    changes = Changes({"items": ITEMS})
    changes["items"].upsert(key, label="x")
    assert "does not match" in refused(changes)


def test_a_wrong_key_is_refused_for_a_delete_too() -> None:
    changes = Changes({"items": ITEMS})
    changes["items"].delete("a")
    assert "does not match" in refused(changes)


def test_a_schema_that_is_not_a_plain_name_is_refused() -> None:
    with pytest.raises(ValueError, match="schema"):
        folded([up(("a", 1))]).statements("x; DROP TABLE y")
