"""The police's page and lists, from the police's model only (schema ``police``): guard posts and
shifts (completion per school, missed, nothing recorded), incidents by category with their
mandatory reports (required, filed, late, escalated, delay), and the hazards of public order and
traffic around the schools (open, overdue). Nothing from wellbeing; no student pseudonym — an
incident gives the number of students involved."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from functools import partial
from typing import Any

from tongxin_agencies.application import hazard_lists
from tongxin_agencies.application.hazard_lists import hazard_cells, hazards_sql, year_hazards
from tongxin_agencies.application.kpis_safety import cutoff
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
from tongxin_contracts.calendar import month_bounds, month_of
from tongxin_web.views import (
    Cell,
    Column,
    Dashboard,
    Figure,
    ItemList,
    L,
    Label,
    Panel,
    Series,
    Table,
)

S = "police"

HAZARDS = hazards_sql(S)


async def _where(ctx: ViewContext) -> Where:
    return await schools_in(ctx, Action.police_read, S)


SHIFTS = f"""SELECT s.school_id, s.shift_id, s.post_id, s.shift_on, s.period, s.status,
        s.missed_reason, s.guards, s.police_guards, p.place, p.police_station
    FROM {S}.guard_shifts s LEFT JOIN {S}.guard_posts p USING (post_id)
    WHERE s.school_id = ANY($1::text[]) AND s.shift_on >= $2 AND s.shift_on < $3
    ORDER BY s.school_id, s.shift_on, s.period, s.shift_id"""
SHIFT_COUNTS = f"""SELECT school_id, status, count(*) AS n FROM {S}.guard_shifts
    WHERE school_id = ANY($1::text[]) AND shift_on >= $2 AND shift_on < $3
    GROUP BY school_id, status"""
SHIFT_DAYS = f"""SELECT shift_on, status, count(*) AS n FROM {S}.guard_shifts
    WHERE school_id = ANY($1::text[]) AND shift_on >= $2 AND shift_on < $3
    GROUP BY shift_on, status"""
POSTS = f"""SELECT school_id, count(*) AS posts FROM {S}.guard_posts
    WHERE school_id = ANY($1::text[]) AND established_on <= $2 GROUP BY school_id"""
INCIDENTS = f"""SELECT school_id, incident_id, category, students_involved, recorded_on,
        report_required, report_due_at, filed_at, filed_on, late, delay_seconds, escalated_at
    FROM {S}.incidents WHERE school_id = ANY($1::text[]) AND recorded_on >= $2
      AND recorded_on <= $3
    ORDER BY school_id, recorded_on, incident_id"""


async def _shifts(ctx: ViewContext, where: Where) -> list[dict[str, Any]]:
    d = ctx.today
    return [dict(r) for r in await ctx.pool.fetch(SHIFTS, where.school_ids, year_start(d), d)]


async def _incidents(ctx: ViewContext, where: Where) -> list[dict[str, Any]]:
    d = ctx.today
    return [dict(r) for r in await ctx.pool.fetch(INCIDENTS, where.school_ids, year_start(d), d)]


def month_ends(d: date) -> list[tuple[str, date]]:
    """Each month of D's school year up to D's, with the day its figure is taken on."""
    out, m = [], year_start(d)
    while m <= d:
        month = month_of(m)
        end = month_bounds(month)[1]
        out.append((month, min(end, d)))
        m = end + timedelta(days=1)
    return out


async def completion_trend(ctx: ViewContext, where: Where) -> Series:
    """Guard-shift completion as of each month end (the district's, pooled)."""
    d = ctx.today
    days = [dict(r) for r in await ctx.pool.fetch(SHIFT_DAYS, where.school_ids, year_start(d), d)]
    ends = month_ends(d)
    line: list[float | None] = []
    for _, end in ends:
        done = rules.guard_completion(days, end)
        line.append(done[0] / done[1] if done else None)
    return Series(
        key="guard_completion_trend",
        label=L("护学岗执勤完成率（月末）", "Guard shifts completed (month end)"),
        unit="share",
        months=[m for m, _ in ends],
        lines={"all": line},
        target=ctx.settings.targets.guard_completion,
    )


def _share(done: int, total: int) -> float | None:
    return done / total if total else None


@dashboard("police")
async def police_page(ctx: ViewContext) -> Dashboard:
    where = await _where(ctx)
    d, at = ctx.today, cutoff(ctx.today, ctx.now)
    target = ctx.settings.targets.guard_completion
    counts = await ctx.pool.fetch(SHIFT_COUNTS, where.school_ids, year_start(d), d)
    posts = {r["school_id"]: r["posts"] for r in await ctx.pool.fetch(POSTS, where.school_ids, d)}
    status: dict[str, Counter[str]] = defaultdict(Counter)
    for r in counts:
        status[r["school_id"]][rules.shift_state(r)] += r["n"]
    guard_rows = []
    for school in where.school_ids:
        c = status[school]
        total = sum(c.values())
        share = _share(c["completed"], total)
        link = scope_link("police.guard_shifts", where, school)
        guard_rows.append(
            [
                Cell(value=where.names[school]),
                Cell(value=posts.get(school, 0)),
                Cell(value=total, link=link),
                Cell(
                    value=c["completed"],
                    link=scope_link("police.guard_shifts", where, school, status="completed"),
                ),
                Cell(
                    value=c["missed"],
                    meets=c["missed"] == 0,
                    link=scope_link("police.guard_shifts", where, school, status="missed"),
                ),
                Cell(
                    value=c["unrecorded"],
                    meets=c["unrecorded"] == 0,
                    link=scope_link("police.guard_shifts", where, school, status="unrecorded"),
                ),
                Cell(
                    value=share,
                    meets=None if share is None else share >= target - 1e-9,
                    link=link,
                ),
            ]
        )
    all_status: Counter[str] = sum(status.values(), Counter())
    completion = _share(all_status["completed"], sum(all_status.values()))
    shifts_link = scope_link("police.guard_shifts", where)
    guard = Panel(
        key="guard",
        label=L("护学岗", "Guard posts and shifts"),
        figures=[
            Figure(
                key="guard_completion",
                label=L("执勤完成率", "Shifts completed"),
                value=completion,
                unit="share",
                target=target,
                meets=None if completion is None else completion >= target - 1e-9,
                link=shifts_link,
            ),
            Figure(
                key="shifts_missed",
                label=L("缺岗", "Shifts missed"),
                value=all_status["missed"],
                meets=all_status["missed"] == 0,
                link=scope_link("police.guard_shifts", where, status="missed"),
            ),
            Figure(
                key="shifts_unrecorded",
                label=L("未记录", "Shifts not recorded"),
                value=all_status["unrecorded"],
                meets=all_status["unrecorded"] == 0,
                link=scope_link("police.guard_shifts", where, status="unrecorded"),
            ),
        ],
        tables=[
            Table(
                key="guard_by_school",
                label=L("各校护学岗", "Guard shifts by school"),
                columns=[
                    column("school", "学校", "School"),
                    column("posts", "岗位", "Posts", "count"),
                    column("shifts", "应执勤", "Shifts", "count"),
                    column("completed", "已完成", "Completed", "count"),
                    column("missed", "缺岗", "Missed", "count"),
                    column("unrecorded", "未记录", "Not recorded", "count"),
                    column("completion", "完成率", "Completion", "share"),
                ],
                rows=guard_rows,
            )
        ],
        charts=[await completion_trend(ctx, where)],
    )

    incidents = await _incidents(ctx, where)
    states = rules.INCIDENT_STATES
    required = [i for i in incidents if states["required"](i, d, at)]
    late = [i for i in incidents if states["late"](i, d, at)]
    filed = [i for i in incidents if states["filed"](i, d, at)]
    escalated = [i for i in incidents if states["escalated"](i, d, at)]
    longest = rules.longest_delay_minutes(required, d)
    incidents_link = scope_link("police.incidents", where)

    def incidents_of(status: str) -> str:
        return scope_link("police.incidents", where, status=status)

    by_category: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for i in incidents:
        by_category[i["category"]].append(i)
    category_rows = []
    for category, items in sorted(by_category.items()):
        n = {k: sum(1 for i in items if rule(i, d, at)) for k, rule in states.items()}

        def of(status: str, category: str = category) -> str:
            return scope_link("police.incidents", where, category=category, status=status)

        category_rows.append(
            [
                Cell(value=category),
                Cell(
                    value=len(items), link=scope_link("police.incidents", where, category=category)
                ),
                Cell(value=sum(i["students_involved"] for i in items)),
                Cell(value=n["required"], link=of("required")),
                Cell(value=n["filed"], link=of("filed")),
                Cell(value=n["late"], meets=n["late"] == 0, link=of("late")),
                Cell(value=n["escalated"], link=of("escalated")),
            ]
        )
    incident_panel = Panel(
        key="incidents",
        label=L("学生伤害事件与强制报告", "Incidents and mandatory reports"),
        figures=[
            Figure(
                key="incidents",
                label=L("本学年事件", "Incidents this school year"),
                value=len(incidents),
                link=incidents_link,
            ),
            Figure(
                key="reports_required",
                label=L("应强制报告", "Mandatory reports required"),
                value=len(required),
                link=incidents_of("required"),
            ),
            Figure(
                key="reports_filed",
                label=L("已报告", "Reports filed"),
                value=len(filed),
                link=incidents_of("filed"),
            ),
            Figure(
                key="mandatory_reports_late",
                label=L("迟报", "Reports late"),
                value=len(late),
                target=ctx.settings.targets.mandatory_reports_late,
                meets=len(late) <= ctx.settings.targets.mandatory_reports_late,
                link=incidents_of("late"),
            ),
            Figure(
                key="reports_escalated",
                label=L("已督办", "Escalated"),
                value=len(escalated),
                link=incidents_of("escalated"),
            ),
            Figure(
                key="longest_delay",
                label=L("最长用时（分钟）", "Longest delay (minutes)"),
                value=longest,
                link=incidents_of("filed"),
            ),
        ],
        tables=[
            Table(
                key="incidents_by_category",
                label=L("按类别", "By category"),
                columns=[
                    column("category", "类别", "Category"),
                    column("incidents", "事件", "Incidents", "count"),
                    column("students", "涉及学生数", "Students involved", "count"),
                    column("required", "应报告", "Reports required", "count"),
                    column("filed", "已报告", "Filed", "count"),
                    column("late", "迟报", "Late", "count"),
                    column("escalated", "已督办", "Escalated", "count"),
                ],
                rows=category_rows,
            )
        ],
    )

    hazards = await year_hazards(ctx, where, S)
    hz = rules.HAZARD_STATES
    open_h = [h for h in hazards if hz["open"](h, d)]
    overdue = [h for h in hazards if hz["overdue"](h, d)]

    def hazards_of(status: str, school: str | None = None) -> str:
        return scope_link("police.hazards", where, school, status=status)

    per_school = rules.by_school(hazards)
    hazard_rows = [
        [
            Cell(value=where.names[school]),
            *hazard_cells(per_school[school], d, partial(hazards_of, school=school)),
        ]
        for school in where.school_ids
    ]
    hazard_panel = Panel(
        key="hazards",
        label=L("校园周边治安与交通隐患", "Order and traffic hazards around schools"),
        figures=[
            Figure(
                key="hazards_open",
                label=L("未整改", "Open"),
                value=len(open_h),
                link=hazards_of("open"),
            ),
            Figure(
                key="hazards_overdue",
                label=L("逾期未整改", "Past their deadline"),
                value=len(overdue),
                target=ctx.settings.targets.hazards_overdue,
                meets=len(overdue) <= ctx.settings.targets.hazards_overdue,
                link=hazards_of("overdue"),
            ),
        ],
        tables=[
            Table(
                key="hazards_by_school",
                label=L("各校隐患", "Hazards by school"),
                columns=[
                    column("school", "学校", "School"),
                    column("open", "未整改", "Open", "count"),
                    column("overdue", "逾期", "Overdue", "count"),
                    column("rectified", "本学年已整改", "Rectified this school year", "count"),
                ],
                rows=hazard_rows,
            )
        ],
    )
    return Dashboard(
        page="police",
        title=L("公安：校园安全", "Police: school safety"),
        scope=where.label,
        as_of=d,
        panels=[guard, incident_panel, hazard_panel],
    )


def _list(
    key: str,
    title: Label,
    where: Where,
    ctx: ViewContext,
    cols: list[Column],
    rows: list[list[Cell]],
) -> ItemList:
    return ItemList(
        key=key, title=title, scope=where.label, as_of=ctx.today, columns=cols, rows=rows
    )


@item_list("police.guard_shifts")
async def guard_shifts(ctx: ViewContext) -> ItemList:
    """The shifts of the school year before D (the ones the completion counts); ``status``
    (completed, missed, unrecorded) narrows them to what one figure counts."""
    where = await _where(ctx)
    status = status_param(ctx, rules.SHIFT_STATES)
    rows = [
        [
            Cell(value=where.names[s["school_id"]]),
            Cell(value=s["shift_on"]),
            Cell(value=s["place"]),
            Cell(value=s["police_station"]),
            Cell(value=s["period"]),
            Cell(value=s["guards"]),
            Cell(value=rules.shift_state(s), meets=rules.shift_state(s) == "completed"),
            Cell(value=s["missed_reason"]),
        ]
        for s in rules.shifts_counted(await _shifts(ctx, where), ctx.today)
        if status is None or rules.shift_state(s) == status
    ]
    cols = [
        column("school", "学校", "School"),
        column("shift_on", "日期", "Day", "date"),
        column("place", "岗位", "Post"),
        column("police_station", "派出所", "Police station"),
        column("period", "时段", "Period"),
        column("guards", "安排人数", "Guards scheduled", "count"),
        column("status", "状态", "Status"),
        column("reason", "原因", "Reason"),
    ]
    return _list(
        "police.guard_shifts",
        L("护学岗执勤", "Guard shifts"),
        where,
        ctx,
        cols,
        rows,
    )


@item_list("police.incidents")
async def incidents_list(ctx: ViewContext) -> ItemList:
    """Incidents of the school year up to D (optionally of one ``category``) with their
    mandatory reports; the number of students involved, never who. ``status`` (required, filed,
    late, escalated) narrows them to what one figure counts, by the figure's own rule."""
    where = await _where(ctx)
    d, at = ctx.today, cutoff(ctx.today, ctx.now)
    category = ctx.params.get("category")
    status = status_param(ctx, rules.INCIDENT_STATES)
    rows = []
    for i in await _incidents(ctx, where):
        if category and i["category"] != category:
            continue
        if status is not None and not rules.INCIDENT_STATES[status](i, d, at):
            continue
        filed = rules.report_filed(i, d)
        late = rules.report_late(i, d, at)
        rows.append(
            [
                Cell(value=where.names[i["school_id"]]),
                Cell(value=i["incident_id"]),
                Cell(value=i["category"]),
                Cell(value=i["students_involved"]),
                Cell(value=i["recorded_on"]),
                Cell(value=i["report_required"]),
                Cell(value=i["report_due_at"] if i["report_required"] and not filed else None),
                Cell(value=filed),
                Cell(value=late, meets=not late),
                Cell(
                    value=i["delay_seconds"] // 60
                    if filed and i["delay_seconds"] is not None
                    else None
                ),
                Cell(value=rules.report_escalated(i, d, at)),
            ]
        )
    cols = [
        column("school", "学校", "School"),
        column("incident_id", "事件编号", "Incident"),
        column("category", "类别", "Category"),
        column("students", "涉及学生数", "Students involved", "count"),
        column("recorded_on", "登记日期", "Recorded on", "date"),
        column("required", "应强制报告", "Report required", "flag"),
        column("due", "报告时限", "Report due", "deadline"),
        column("filed", "已报告", "Filed", "flag"),
        column("late", "迟报", "Late", "flag"),
        column("delay", "用时（分钟）", "Delay (minutes)", "count"),
        column("escalated", "已督办", "Escalated", "flag"),
    ]
    return _list(
        "police.incidents",
        L("事件与强制报告", "Incidents and mandatory reports"),
        where,
        ctx,
        cols,
        rows,
    )


@item_list("police.hazards")
async def hazards_list(ctx: ViewContext) -> ItemList:
    """Order and traffic hazards open on D, and those rectified this school year; ``status``
    (open, overdue, rectified) narrows them to what one figure counts."""
    where = await _where(ctx)
    key = "police.hazards"
    return await hazard_lists.hazards_list(
        ctx, where, S, key, L("治安与交通隐患", "Order and traffic hazards"), kind=False
    )
