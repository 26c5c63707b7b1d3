"""What a page shows, as data: a dashboard is panels of figures, tables and month series; every
figure may link to the list behind it. The JSON API answers these models, the HTML pages render
the very same ones (server-side, then refreshed live by the page's script), so a page can never
show a figure the API would not give its reader.

Each read model's queries register their providers here:

    @dashboard("district")
    async def district_page(ctx: ViewContext) -> Dashboard: ...

    @item_list("followups_overdue")
    async def overdue_followups(ctx: ViewContext) -> ItemList: ...

A provider checks the caller's role and scope itself (``ctx.require``; a record outside the
scope is a 404 like a missing one) and reads its parameters from ``ctx.params`` (a missing or
malformed one is a 422 naming it: ``ctx.param``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from urllib.parse import urlencode

import asyncpg
from pydantic import BaseModel, Field

from tongxin_agencies.application.policy import POLICY
from tongxin_agencies.config import AgenciesSettings
from tongxin_platform.auth import Principal
from tongxin_platform.http import ProblemError, require
from tongxin_platform.policy import Scope


class Label(BaseModel):
    """A label in both languages (the pages show Chinese, with an English toggle)."""

    zh: str
    en: str


def L(zh: str, en: str) -> Label:  # noqa: N802 - reads like a literal in the providers
    return Label(zh=zh, en=en)


Unit = Literal["count", "share", "hours", "seconds", "days", "text", "date", "deadline", "flag"]


class Figure(BaseModel):
    key: str = Field(description="Stable id of the figure, e.g. `followups_overdue`.")
    label: Label
    value: float | int | str | bool | None
    unit: Unit = "count"
    target: float | int | None = Field(default=None, description="The city's target, if any.")
    meets: bool | None = Field(default=None, description="False: shown red. None: no target.")
    link: str | None = Field(default=None, description="The JSON list behind the figure.")


class Column(BaseModel):
    key: str
    label: Label
    unit: Unit = "text"


class Cell(BaseModel):
    value: float | int | str | bool | datetime | date | None
    meets: bool | None = None
    link: str | None = None
    unit: Unit | None = Field(
        default=None,
        description="This cell's unit where it differs from its column's (e.g. a `deadline` "
        "column's cell that no longer counts down).",
    )


class Table(BaseModel):
    key: str
    label: Label
    columns: list[Column]
    rows: list[list[Cell]]


class Series(BaseModel):
    """A month trend: one value per month (``None`` where nothing is known)."""

    key: str
    label: Label
    unit: Unit = "share"
    months: list[str]  # "2026-09"
    lines: dict[str, list[float | None]]  # one line per school (or one "all")
    target: float | int | None = None


class Panel(BaseModel):
    key: str
    label: Label
    figures: list[Figure] = []
    tables: list[Table] = []
    charts: list[Series] = []


class Dashboard(BaseModel):
    page: str
    title: Label
    scope: str = Field(description="Whose figures: a district, a school, a hospital…")
    as_of: date
    panels: list[Panel]


class ItemList(BaseModel):
    """The list behind a figure (a drill-down): never more than the figure counts."""

    key: str
    title: Label
    scope: str
    as_of: date
    columns: list[Column]
    rows: list[list[Cell]]


@dataclass(frozen=True)
class ViewContext:
    pool: asyncpg.Pool  # every agency's model (each in its own schema)
    settings: AgenciesSettings
    who: Principal
    params: Mapping[str, str]
    today: date  # the caller's ``as_of``, else today in China
    now: datetime

    def param(self, name: str, default: str | None = None) -> str:
        """A query parameter; 422 naming it when it is missing."""
        value = self.params.get(name, default)
        if value is None or value == "":
            raise ProblemError(
                422,
                "Missing parameter",
                f"{name}: this view needs it",
                field=name,
                rule="param.required",
            )
        return value

    def require(self, action: str, where: Scope) -> None:
        """403 naming the rule unless the caller may ``action`` at ``where``."""
        require(POLICY, self.who, action, where)


DashboardProvider = Callable[[ViewContext], Awaitable[Dashboard]]
ListProvider = Callable[[ViewContext], Awaitable[ItemList]]

DASHBOARDS: dict[str, DashboardProvider] = {}
LISTS: dict[str, ListProvider] = {}


def dashboard(key: str) -> Callable[[DashboardProvider], DashboardProvider]:
    def register(f: DashboardProvider) -> DashboardProvider:
        if key in DASHBOARDS:
            raise ValueError(f"dashboard {key!r} is provided twice")
        DASHBOARDS[key] = f
        return f

    return register


def item_list(key: str) -> Callable[[ListProvider], ListProvider]:
    def register(f: ListProvider) -> ListProvider:
        if key in LISTS:
            raise ValueError(f"list {key!r} is provided twice")
        LISTS[key] = f
        return f

    return register


def list_link(key: str, **params: str | None) -> str:
    """The JSON path of a list (the page turns it into its HTML page)."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"/lists/{key}" + (f"?{query}" if query else "")
