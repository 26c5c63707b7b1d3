"""What a page shows, as data: a dashboard is panels of figures, tables and month series; every
figure may link to the list behind it. The JSON API answers these models, the HTML pages render
the very same ones (server-side, then refreshed live by the page's script), so a page can never
show a figure the API would not give its reader.

Each service with pages keeps one registry of its views (``Views``), and its read models'
queries register their providers there:

    VIEWS = Views[ViewContext[AgenciesSettings]]()

    @VIEWS.dashboard("district")
    async def district_page(ctx: ViewContext[AgenciesSettings]) -> Dashboard: ...

    @VIEWS.item_list("followups_overdue")
    async def overdue_followups(ctx: ViewContext[AgenciesSettings]) -> ItemList: ...

A provider checks the caller's role and scope itself (``ctx.require``; a record outside the
scope is a 404 like a missing one) and reads its parameters from ``ctx.params`` (a missing or
malformed one is a 422 naming it: ``ctx.param``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import urlencode

import asyncpg
from pydantic import BaseModel, Field

from tongxin_platform.auth import Principal
from tongxin_platform.http import ProblemError, require
from tongxin_platform.policy import Policy, Scope
from tongxin_platform.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


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
class ViewContext(Generic[S]):
    """What a provider is given: the service's database and settings, the caller, the query's
    parameters, the day and the instant; ``policy`` is the service's (``require`` asks it)."""

    pool: asyncpg.Pool  # the service's read models
    settings: S
    who: Principal
    params: Mapping[str, str]
    today: date  # the caller's ``as_of``, else today in China
    now: datetime
    policy: Policy

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
        require(self.policy, self.who, action, where)


C = TypeVar("C", bound=ViewContext[Any])
DashboardProvider = Callable[[C], Awaitable[Dashboard]]
ListProvider = Callable[[C], Awaitable[ItemList]]


class Views(Generic[C]):
    """One service's dashboards and lists, by key (each key provided once)."""

    def __init__(self) -> None:
        self.dashboards: dict[str, DashboardProvider[C]] = {}
        self.lists: dict[str, ListProvider[C]] = {}

    def dashboard(self, key: str) -> Callable[[DashboardProvider[C]], DashboardProvider[C]]:
        def register(f: DashboardProvider[C]) -> DashboardProvider[C]:
            if key in self.dashboards:
                raise ValueError(f"dashboard {key!r} is provided twice")
            self.dashboards[key] = f
            return f

        return register

    def item_list(self, key: str) -> Callable[[ListProvider[C]], ListProvider[C]]:
        def register(f: ListProvider[C]) -> ListProvider[C]:
            if key in self.lists:
                raise ValueError(f"list {key!r} is provided twice")
            self.lists[key] = f
            return f

        return register


def list_link(key: str, **params: str | None) -> str:
    """The JSON path of a list (the page turns it into its HTML page)."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"/lists/{key}" + (f"?{query}" if query else "")
