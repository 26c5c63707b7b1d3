"""The vocabulary of read models: tables declared once (their DDL, the types of the batch
writes, the digest of a rebuild all come from the declaration), and what can happen to a row."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

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
    _types: dict[str, str] = field(init=False, repr=False, compare=False)

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
        return self._types[column]

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
EXPRESSIONS = (Add, Greatest)  # the values an update may take besides a plain one


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


def greatest(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
