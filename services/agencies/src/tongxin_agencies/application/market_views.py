"""Market regulation's page and lists, from its model only (schema ``market``): inspections of
the food and stationery shops near each school this school year and their hazards (open,
overdue, rectified). Nothing about a student."""

from __future__ import annotations

from typing import Any

from tongxin_agencies.application import hazard_lists
from tongxin_agencies.application.hazard_lists import hazard_cells, hazards_sql, year_hazards
from tongxin_agencies.application.policy import Action
from tongxin_agencies.application.scoped import (
    Where,
    column,
    schools_in,
    scope_link,
    status_param,
    year_start,
)
from tongxin_agencies.application.views import ViewContext, dashboard, item_list
from tongxin_agencies.domain import safety_kpis as rules
from tongxin_web.views import Cell, Dashboard, Figure, ItemList, L, Panel, Table

S = "market"

HAZARDS = hazards_sql(S)


async def _where(ctx: ViewContext) -> Where:
    return await schools_in(ctx, Action.market_read, S)


INSPECTIONS = f"""SELECT school_id, inspection_id, kind, inspector, inspected_on,
        reinspection_of, hazards_found
    FROM {S}.inspections WHERE school_id = ANY($1::text[]) AND inspected_on >= $2
      AND inspected_on <= $3
    ORDER BY school_id, inspected_on, inspection_id"""


async def _inspections(ctx: ViewContext, where: Where) -> list[dict[str, Any]]:
    d = ctx.today
    return [dict(r) for r in await ctx.pool.fetch(INSPECTIONS, where.school_ids, year_start(d), d)]


@dashboard("market")
async def market_page(ctx: ViewContext) -> Dashboard:
    where = await _where(ctx)
    d = ctx.today
    inspections = await _inspections(ctx, where)
    hazards = await year_hazards(ctx, where, S)
    by_school_i, by_school_h = rules.by_school(inspections), rules.by_school(hazards)
    hz = rules.HAZARD_STATES
    rows = []
    for school in where.school_ids:
        mine_i = by_school_i[school]

        def ilink(kind: str, school: str = school) -> str:
            return scope_link("market.inspections", where, school, kind=kind)

        def hlink(status: str, school: str = school) -> str:
            return scope_link("market.hazards", where, school, status=status)

        rows.append(
            [
                Cell(value=where.names[school]),
                Cell(
                    value=sum(1 for i in mine_i if i["kind"] == "food_shops"),
                    link=ilink("food_shops"),
                ),
                Cell(
                    value=sum(1 for i in mine_i if i["kind"] == "stationery_shops"),
                    link=ilink("stationery_shops"),
                ),
                *hazard_cells(by_school_h[school], d, hlink),
            ]
        )
    open_h = [h for h in hazards if hz["open"](h, d)]
    overdue = [h for h in hazards if hz["overdue"](h, d)]
    rectified = [h for h in hazards if hz["rectified"](h, d)]
    target = ctx.settings.targets.hazards_overdue
    ilink_all = scope_link("market.inspections", where)

    def hlink_all(status: str) -> str:
        return scope_link("market.hazards", where, status=status)

    panel = Panel(
        key="shops",
        label=L("校园周边食品、文具店检查", "Inspections of shops near schools"),
        figures=[
            Figure(
                key="inspections",
                label=L("本学年检查", "Inspections this school year"),
                value=len(inspections),
                link=ilink_all,
            ),
            Figure(
                key="hazards_open",
                label=L("未整改隐患", "Hazards open"),
                value=len(open_h),
                link=hlink_all("open"),
            ),
            Figure(
                key="hazards_overdue",
                label=L("逾期未整改", "Hazards past their deadline"),
                value=len(overdue),
                target=target,
                meets=len(overdue) <= target,
                link=hlink_all("overdue"),
            ),
            Figure(
                key="hazards_rectified",
                label=L("本学年已整改", "Rectified this school year"),
                value=len(rectified),
                link=hlink_all("rectified"),
            ),
        ],
        tables=[
            Table(
                key="shops_by_school",
                label=L("各校周边", "By school"),
                columns=[
                    column("school", "学校", "School"),
                    column("food_shops", "食品店检查", "Food shop inspections", "count"),
                    column(
                        "stationery_shops", "文具店检查", "Stationery shop inspections", "count"
                    ),
                    column("open", "未整改", "Open", "count"),
                    column("overdue", "逾期", "Overdue", "count"),
                    column("rectified", "已整改", "Rectified", "count"),
                ],
                rows=rows,
            )
        ],
    )
    return Dashboard(
        page="market",
        title=L("市场监管：校园周边", "Market regulation: shops near schools"),
        scope=where.label,
        as_of=d,
        panels=[panel],
    )


@item_list("market.inspections")
async def inspections_list(ctx: ViewContext) -> ItemList:
    """The shop inspections of the school year up to D; ``kind`` narrows them to one kind."""
    where = await _where(ctx)
    kind = status_param(ctx, ("food_shops", "stationery_shops"), "kind")
    rows = [
        [
            Cell(value=where.names[i["school_id"]]),
            Cell(value=i["inspection_id"]),
            Cell(value=i["kind"]),
            Cell(value=i["inspector"]),
            Cell(value=i["inspected_on"]),
            Cell(value=i["reinspection_of"]),
            Cell(value=i["hazards_found"]),
        ]
        for i in await _inspections(ctx, where)
        if kind is None or i["kind"] == kind
    ]
    cols = [
        column("school", "学校", "School"),
        column("inspection_id", "检查编号", "Inspection"),
        column("kind", "类别", "Kind"),
        column("inspector", "检查单位", "Inspector"),
        column("inspected_on", "检查日期", "Inspected on", "date"),
        column("reinspection_of", "复查", "Re-inspection of"),
        column("hazards_found", "发现隐患", "Hazards found", "count"),
    ]
    return ItemList(
        key="market.inspections",
        title=L("本学年检查", "Inspections this school year"),
        scope=where.label,
        as_of=ctx.today,
        columns=cols,
        rows=rows,
    )


@item_list("market.hazards")
async def hazards_list(ctx: ViewContext) -> ItemList:
    """Shop hazards open on D, and those rectified this school year; ``status`` (open,
    overdue, rectified) narrows them to what one figure counts, by the figure's own rule."""
    where = await _where(ctx)
    key = "market.hazards"
    return await hazard_lists.hazards_list(
        ctx, where, S, key, L("食品、文具店隐患", "Shop hazards"), kind=True
    )
