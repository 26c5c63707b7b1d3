"""Where a list or page of a model is asked for: the schools it covers, checked against the
caller (a role that may never: 403 naming the rule; a school or district outside the caller's
scope: 404, the same answer as a missing one)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from tongxin_agencies.application.policy import POLICY
from tongxin_agencies.application.views import ViewContext
from tongxin_contracts.calendar import school_year_of, year_period
from tongxin_platform.http import ProblemError, not_found
from tongxin_platform.policy import Scope
from tongxin_web.views import Cell, Column, L, list_link


@dataclass(frozen=True)
class Where:
    district: str
    school_ids: list[str]
    names: dict[str, str]  # school_id → name
    label: str  # what the answer's ``scope`` says


async def schools_in(ctx: ViewContext, action: str, schema: str) -> Where:
    """``school_id`` (one school) or else ``district`` (every school of it), from the model's
    ``schools`` table in ``schema``; the caller must be allowed ``action`` there."""
    who = ctx.who
    ctx.require(action, Scope(who.district, who.school, who.class_id))  # the role, before lookups
    school_id = ctx.params.get("school_id")
    if school_id:
        row = await ctx.pool.fetchrow(
            f"SELECT district, school_name FROM {schema}.schools WHERE school_id = $1", school_id
        )
        if row is None or not _allowed(
            ctx, action, Scope(row["district"], school_id, who.class_id)
        ):
            raise not_found("school_id", "school")
        return Where(row["district"], [school_id], {school_id: row["school_name"]}, school_id)
    district = ctx.param("district", who.district)
    if not _allowed(ctx, action, Scope(district, who.school, who.class_id)) or who.school:
        raise not_found("district", "district")
    rows = await ctx.pool.fetch(
        f"SELECT school_id, school_name FROM {schema}.schools WHERE district = $1"
        " ORDER BY school_id",
        district,
    )
    names = {r["school_id"]: r["school_name"] for r in rows}
    return Where(district, list(names), names, district)


def scope_link(key: str, where: Where, school_id: str | None = None, **more: str) -> str:
    """The list for one school, else for what the page covers (a school or a district)."""
    if school_id is None and where.school_ids == [where.label]:
        school_id = where.label
    if school_id is not None:
        return list_link(key, school_id=school_id, **more)
    return list_link(key, district=where.district, **more)


def column(key: str, zh: str, en: str, unit: Any = "text") -> Column:
    """A list's or table's column with its label in both languages."""
    return Column(key=key, label=L(zh, en), unit=unit)


def year_start(d: date) -> date:
    """The first day of the school year containing ``d``."""
    return year_period(school_year_of(d)).start


def coverage_cells(total: int, done: int, link: str | None = None) -> list[Cell]:
    """How many, how many done, and how many not (red unless none; ``link``: the list of
    those not done)."""
    return [
        Cell(value=total),
        Cell(value=done),
        Cell(value=total - done, meets=total == done, link=link),
    ]


def _allowed(ctx: ViewContext, action: str, where: Scope) -> bool:
    return POLICY.authorize(ctx.who, action, where).allowed


@asynccontextmanager
async def custom_plans(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A connection whose statements are planned for their own parameters at every call.

    asyncpg prepares and caches every statement; after five calls PostgreSQL may switch a
    prepared statement to a generic plan, blind to the values of ``school_id = ANY($1)`` and
    the day: the KPI parts' statements then ran ten times slower (600 ms instead of 60 ms for
    100 schools). ``plan_cache_mode`` is read at each execution, so setting it for the
    transaction is enough. Without JIT too, as ``education_queries.fetch`` says why."""
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL jit = off")
        yield conn


def status_param(ctx: ViewContext, options: Iterable[str], name: str = "status") -> str | None:
    """A list's optional narrowing parameter (``status=missed``): None when absent (the whole
    list); one of ``options``, else 422 naming the parameter and what it may be."""
    value = ctx.params.get(name)
    if value is None or value == "":
        return None
    allowed = list(options)
    if value not in allowed:
        raise ProblemError(
            422,
            "Unknown parameter value",
            f"{name}: {value!r} is none of {', '.join(allowed)}",
            field=name,
            rule=f"{name}.one_of",
        )
    return value


def choice_param(
    ctx: ViewContext, options: Iterable[str], default: str, name: str = "status"
) -> str:
    """A list's narrowing parameter with a default (``status=overdue``): one of ``options``,
    else 422 naming the parameter and what it may be."""
    value = ctx.params.get(name, default)
    allowed = list(options)
    if value not in allowed:
        raise ProblemError(
            422,
            "Invalid parameter",
            f"{name}: one of {', '.join(allowed)}",
            field=name,
            rule="param.choice",
        )
    return value
