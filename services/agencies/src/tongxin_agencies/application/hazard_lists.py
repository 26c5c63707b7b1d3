"""The hazards of a model that keeps the safety part's ``hazards`` table for its own kinds (the
police: order and traffic; market regulation: the shops): the ones open on D and those rectified
this school year, and the list behind each hazard figure, narrowed by ``status`` (open,
overdue, rectified) with the figure's own rule."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

from tongxin_agencies.application.scoped import Where, column, status_param, year_start
from tongxin_agencies.application.views import ViewContext
from tongxin_agencies.domain import safety_kpis as rules
from tongxin_web.views import Cell, ItemList, Label


def hazards_sql(schema: str) -> str:
    """The hazards of the school year starting on $2 (and every open one) of schools $1."""
    return f"""SELECT school_id, hazard_id, inspection_id, kind, severity, owner, rectify_by,
        rectified_on, within_deadline
    FROM {schema}.hazards
    WHERE school_id = ANY($1::text[]) AND (rectified_on IS NULL OR rectified_on >= $2)
    ORDER BY school_id, rectify_by, hazard_id"""


async def year_hazards(ctx: ViewContext, where: Where, schema: str) -> list[dict[str, Any]]:
    """Hazards open on D, and those rectified this school year (up to D)."""
    d = ctx.today
    return [
        dict(r)
        for r in await ctx.pool.fetch(hazards_sql(schema), where.school_ids, year_start(d))
        if not rules.hazard_rectified(dict(r), d) or r["rectified_on"] <= d
    ]


async def hazards_list(
    ctx: ViewContext, where: Where, schema: str, key: str, title: Label, *, kind: bool
) -> ItemList:
    """The hazards of ``year_hazards`` with one ``status``; ``kind``: with a column naming the
    hazard's kind (a model keeping more than one)."""
    d = ctx.today
    status = status_param(ctx, rules.HAZARD_STATES)
    rows = [
        [
            Cell(value=where.names[h["school_id"]]),
            Cell(value=h["hazard_id"]),
            *([Cell(value=h["kind"])] if kind else []),
            Cell(value=h["severity"]),
            Cell(value=h["owner"]),
            Cell(value=h["rectify_by"], meets=not rules.hazard_overdue(h, d)),
            Cell(value=h["rectified_on"] if rules.hazard_rectified(h, d) else None),
            Cell(value=(d - h["rectify_by"]).days if rules.hazard_overdue(h, d) else None),
        ]
        for h in await year_hazards(ctx, where, schema)
        if status is None or rules.HAZARD_STATES[status](h, d)
    ]
    cols = [
        column("school", "学校", "School"),
        column("hazard_id", "隐患编号", "Hazard"),
        *([column("kind", "类别", "Kind")] if kind else []),
        column("severity", "等级", "Severity"),
        column("owner", "整改责任方", "Owner"),
        column("rectify_by", "整改期限", "Rectify by", "date"),
        column("rectified_on", "整改日期", "Rectified on", "date"),
        column("days_overdue", "逾期天数", "Days overdue", "days"),
    ]
    return ItemList(key=key, title=title, scope=where.label, as_of=d, columns=cols, rows=rows)


def hazard_cells(
    hazards: Iterable[Mapping[str, Any]], d: date, link: Callable[[str], str]
) -> list[Cell]:
    """A school's hazards open, past their deadline (red unless none) and rectified on D, each
    cell opening the list of exactly those (``link(status)``)."""
    mine = list(hazards)
    n = {k: sum(1 for h in mine if rule(h, d)) for k, rule in rules.HAZARD_STATES.items()}
    return [
        Cell(value=n["open"], link=link("open")),
        Cell(value=n["overdue"], meets=n["overdue"] == 0, link=link("overdue")),
        Cell(value=n["rectified"], link=link("rectified")),
    ]
