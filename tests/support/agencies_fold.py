"""Fold events through one agency model's handlers into rows in memory (the kit's in-memory
tables: the same defaults and column checks as on PostgreSQL), for the unit tests of the
agencies' read models and of the rules their views apply to the rows; and a canned pool that
answers the views' queries with given rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tests.support.events import proof_registry
from tongxin_contracts import IntegrationEvent
from tongxin_platform.memory import MemoryDatabase, MemoryTables
from tongxin_platform.projection import Projection

Rows = dict[str, dict[tuple[Any, ...], dict[str, Any]]]


def fold_rows(
    model: Projection, *batches: Sequence[IntegrationEvent] | Iterable[IntegrationEvent]
) -> Rows:
    """The model's tables after each batch was folded and written in turn (table → key → row)."""
    db = MemoryDatabase(proof_registry())
    tables = MemoryTables(db, model.tables)
    for batch in batches:
        tables.apply_changes(model.schema, model.fold(batch))
    return {name: tables.rows(model.schema, name) for name in model.tables}


def one_by_one(model: Projection, events: Sequence[IntegrationEvent]) -> Rows:
    """The same events, each in its own batch (a rebuild batches differently: equal rows)."""
    return fold_rows(model, *([e] for e in events))


class CannedPool:
    """Answers ``fetch`` with the rows of the first table named in the SQL; ``calls`` keeps each
    query with its arguments, ``asked`` the arguments alone."""

    def __init__(self, rows: Mapping[str, list[dict[str, Any]]]) -> None:
        self.rows = rows
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    @property
    def asked(self) -> list[tuple[Any, ...]]:
        return [args for _, args in self.calls]

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        self.calls.append((sql, args))
        for name, rows in self.rows.items():
            if name in sql:
                return rows
        return []
