"""Demo users (development only), as a service with pages declares them: for each demo role a
REAL person of the service's read models — the same pick every time — with the scope their token
carries and the page they start on. ``/demo/<role>`` signs one in at once, so that a page can be
opened by its URL alone after ``make run``.

A role whose people are not in the models yet (no events projected) is ``DemoDataMissingError``:
the page says so and how to get the demo data, instead of signing in a person who does not
exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import asyncpg

from tongxin_platform.auth import Principal, Role
from tongxin_web.views import Label


@dataclass(frozen=True)
class DemoRole:
    key: str  # the URL's: /demo/<key> (the role's name, as `make run` prints them)
    role: Role
    label: Label
    source: str  # the read model table the person comes from (for the "missing" page)


@dataclass(frozen=True)
class DemoUser:
    demo: DemoRole
    principal: Principal
    home: str  # the page they start on, with its parameters


class DemoDataMissingError(Exception):
    """No person of this role in the read models yet."""

    def __init__(self, demo: DemoRole) -> None:
        super().__init__(f"{demo.key}: nobody in {demo.source} yet")
        self.demo = demo


# The service's picker: the demo person of a key of its demo roles (``KeyError`` for another
# key), or ``DemoDataMissingError``.
DemoPicker = Callable[[asyncpg.Pool, str], Awaitable[DemoUser]]


def page(key: str, **params: str | None) -> str:
    """The path of the page ``key`` with its parameters (those None or empty left out)."""
    given = {k: v for k, v in params.items() if v}
    return f"/pages/{key}" + (f"?{urlencode(given)}" if given else "")


async def first_row(pool: asyncpg.Pool, sql: str, *args: object) -> asyncpg.Record | None:
    """The first row of ``sql``; None also when its table is not built yet (no demo data)."""
    try:
        row: asyncpg.Record | None = await pool.fetchrow(sql, *args)
    except (
        asyncpg.UndefinedTableError,
        asyncpg.UndefinedColumnError,
        asyncpg.InvalidSchemaNameError,
    ):
        return None
    return row
