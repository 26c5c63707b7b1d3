"""The district education bureau's page: every KPI per school (red where a target is missed),
the district's totals (shares pooled, flags as the share of schools, counts summed) and the
month trend; and the lists behind the figures — per class, per month, per case, never a
student_ref, guardian_ref or staff_ref. Also the KPI parts of the education model in one place
(``KPI_MODULES``), which the school page shows too."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping, Sequence
from datetime import date, datetime
from functools import cache
from typing import Any

import asyncpg

from tongxin_agencies.application import (
    kpis_committees,
    kpis_safety,
    kpis_visits,
    kpis_wellbeing,
)
from tongxin_agencies.application.education_queries import Periods, S, district_schools, fetch
from tongxin_agencies.application.kpis import (
    Figures,
    KpiDef,
    Ratio,
    Value,
    definitions,
    measured_at,
    merge,
    plain,
)
from tongxin_agencies.application.policy import POLICY, Action
from tongxin_agencies.application.scoped import coverage_cells
from tongxin_agencies.application.views import ViewContext, dashboard, item_list
from tongxin_agencies.config import AgenciesSettings, Targets
from tongxin_platform.http import ProblemError, not_found
from tongxin_platform.policy import Scope, in_scope
from tongxin_web.views import (
    Cell,
    Column,
    Dashboard,
    Figure,
    ItemList,
    L,
    Panel,
    Series,
    Table,
    list_link,
)

# Every KPI part of the education model (A3's committees and safety parts included).
KPI_MODULES = (kpis_visits, kpis_wellbeing, kpis_committees, kpis_safety)
# The district's figure of a flag KPI is the share of schools where it holds, against these.
FLAG_TARGETS = {
    "counselling_room": "counselling_rooms",
    "standard_parent_school": "standard_parent_schools",
    "coordinator": "coordinators",
    "parent_school_rule": "parent_school_rule",
}


@cache
def kpi_defs() -> Mapping[str, KpiDef]:
    return definitions([m.DEFS for m in KPI_MODULES])


async def kpi_figures(
    pool: asyncpg.Pool,
    settings: AgenciesSettings,
    schools: Sequence[str],
    day: date,
    now: datetime,
    modules: Sequence[Any] = KPI_MODULES,
) -> Figures:
    """Every KPI of ``schools`` on ``day``: each part one statement for all the schools, the
    parts side by side on the pool."""
    if not schools:
        return {}
    with measured_at(now):
        parts = await asyncio.gather(*(m.PART(pool, settings, schools, day) for m in modules))
    return merge(parts)


async def kpi_trend(
    pool: asyncpg.Pool,
    settings: AgenciesSettings,
    schools: Sequence[str],
    day: date,
    now: datetime,
) -> dict[str, Figures]:
    """The trend KPIs of ``schools`` as of each month end of the school year up to ``day``
    (month → figures): a part's own ``TREND`` when it has one, else its ``PART`` per month."""
    if not schools:
        return {}
    ends = Periods.of(day).month_ends()
    jobs: list[Awaitable[dict[str, Figures]]] = []
    for m in KPI_MODULES:
        if not any(d.trend for d in m.DEFS):
            continue
        own = getattr(m, "TREND", None)
        if own is not None:
            jobs.append(own(pool, settings, schools, day))
        else:
            jobs.append(_per_month(pool, settings, schools, ends, now, m))
    out: dict[str, Figures] = {}
    with measured_at(now):
        for by_month in await asyncio.gather(*jobs):
            for month, figs in by_month.items():
                out[month] = merge([out.get(month, {}), figs])
    return out


async def _per_month(
    pool: asyncpg.Pool,
    settings: AgenciesSettings,
    schools: Sequence[str],
    ends: Sequence[tuple[str, date]],
    now: datetime,
    module: Any,
) -> dict[str, Figures]:
    with measured_at(now):
        got = await asyncio.gather(*(module.PART(pool, settings, schools, e) for _, e in ends))
    return {m: figs for (m, _), figs in zip(ends, got, strict=True)}


def guard(ctx: ViewContext, action: Action, where: Scope, field: str, what: str) -> None:
    """403 naming the rule for a role that may never; 404 outside the caller's scope."""
    decision = POLICY.admits(ctx.who, action)
    if not decision.allowed:
        raise ProblemError(403, "Forbidden", decision.reason, rule=str(action))
    if not in_scope(ctx.who, where):
        raise not_found(field, what)


def pooled(d: KpiDef, values: Sequence[Value], targets: Targets) -> tuple[Value, Any]:
    """The district's figure of one KPI over its schools, and its target."""
    present = [v for v in values if plain(v) is not None]
    if d.unit == "flag":
        flags = [bool(plain(v)) for v in values if plain(v) is not None]
        target = getattr(targets, FLAG_TARGETS.get(d.key, ""), 1.0)
        return Ratio(sum(flags), len(flags)), target
    if d.unit == "share":
        ratios = [v for v in present if isinstance(v, Ratio)]
        if ratios:
            return Ratio(sum(r.num for r in ratios), sum(r.den for r in ratios)), d.target_of(
                targets
            )
        shares = [float(v) for v in (plain(v) for v in present) if v is not None]
        return (sum(shares) / len(shares) if shares else None), d.target_of(targets)
    counts = [int(c) for c in (plain(v) for v in present) if c is not None]
    pooling = d.pooling()
    if pooling == "sum":
        return sum(counts), d.target_of(targets)
    if not counts:
        return None, d.target_of(targets)
    return (min(counts) if pooling == "min" else max(counts)), d.target_of(targets)


def total_meets(d: KpiDef, value: Value, per_school: Sequence[Value], targets: Targets) -> Any:
    """Whether the district's figure meets its target (a floor's figure is the fewest of its
    schools: it is met exactly when every school meets it)."""
    if d.rule == "none" or plain(value) is None:
        return None
    if d.unit == "flag":
        target = getattr(targets, FLAG_TARGETS.get(d.key, ""), 1.0)
        return float(plain(value) or 0) >= float(target) - 1e-9
    return d.meets(value, targets)


def extreme_school(d: KpiDef, ids: Sequence[str], per_school: Sequence[Value]) -> str | None:
    """The school whose figure is the district's when that figure is one school's (the fewest
    of a floor, the longest delay): its list is the one behind the district's figure. None: a
    figure of every school (a sum, a share), whose list is the district's."""
    if d.unit != "count" or d.pooling() == "sum":
        return None
    known = [(plain(v), s) for v, s in zip(per_school, ids, strict=True) if plain(v) is not None]
    if not known:
        return None
    pick = min if d.pooling() == "min" else max
    return pick(known, key=lambda vs: (float(vs[0] or 0), vs[1]))[1]


def cell_of(d: KpiDef, value: Value, targets: Targets, link: str | None) -> Cell:
    v = plain(value)
    return Cell(value=v, meets=d.meets(value, targets), link=link if d.list_key else None)


@dashboard("district")
async def district_page(ctx: ViewContext) -> Dashboard:
    district = ctx.param("district")
    guard(ctx, Action.district_read, Scope(district=district), "district", "district")
    schools = await district_schools(ctx.pool, district)
    ids = [s["school_id"] for s in schools]
    names = {s["school_id"]: s["school_name"] for s in schools}
    targets, defs = ctx.settings.targets, kpi_defs()
    month_ends = Periods.of(ctx.today).month_ends()
    now_figs, trend_figs = await asyncio.gather(
        kpi_figures(ctx.pool, ctx.settings, ids, ctx.today, ctx.now),
        kpi_trend(ctx.pool, ctx.settings, ids, ctx.today, ctx.now),
    )

    def link(d: KpiDef, school_id: str | None) -> str | None:
        if d.list_key is None:
            return None
        return list_link(d.list_key, school_id=school_id, district=district)

    columns = [Column(key="school", label=L("学校", "School"))] + [
        Column(key=d.key, label=d.label, unit=d.unit) for d in defs.values()
    ]
    rows = [
        [Cell(value=names[s], link=f"/dashboards/school?school_id={s}&district={district}")]
        + [cell_of(d, now_figs.get(s, {}).get(d.key), targets, link(d, s)) for d in defs.values()]
        for s in ids
    ]
    totals = []
    for d in defs.values():
        per_school = [now_figs.get(s, {}).get(d.key) for s in ids]
        value, target = pooled(d, per_school, targets)
        totals.append(
            Figure(
                key=d.key,
                label=d.label,
                value=plain(value),
                unit="share" if d.unit == "flag" else d.unit,
                target=target if d.rule != "none" else None,
                meets=total_meets(d, value, per_school, targets),
                link=link(d, extreme_school(d, ids, per_school)),
            )
        )
    charts = [
        Series(
            key=d.key,
            label=d.label,
            unit=d.unit,
            months=[m for m, _ in month_ends],
            lines={
                names[s]: [
                    _number(trend_figs.get(m, {}).get(s, {}).get(d.key)) for m, _ in month_ends
                ]
                for s in ids
            },
            target=d.target_of(targets),
        )
        for d in defs.values()
        if d.trend
    ]
    return Dashboard(
        page="district",
        title=L("区县家校共育指标", "District school–family KPIs"),
        scope=district,
        as_of=ctx.today,
        panels=[
            Panel(key="totals", label=L("全区合计", "District totals"), figures=totals),
            Panel(
                key="schools",
                label=L("各校指标", "KPIs by school"),
                tables=[
                    Table(
                        key="kpis",
                        label=L("各校指标", "KPIs by school"),
                        columns=columns,
                        rows=rows,
                    )
                ],
            ),
            Panel(key="trends", label=L("月度趋势", "Month trend"), charts=charts),
        ],
    )


def _number(v: Value) -> float | None:
    x = plain(v)
    return None if x is None else float(x)


# --- the lists behind the district's figures (no student_ref, guardian_ref or staff_ref) -----


async def _scope(ctx: ViewContext) -> tuple[str, str | None]:
    """The district (and optionally one of its schools) a district list is asked for."""
    district = ctx.param("district")
    guard(ctx, Action.district_read, Scope(district=district), "district", "district")
    school_id = ctx.params.get("school_id") or None
    if school_id is not None:
        found = await ctx.pool.fetchval(
            f"SELECT 1 FROM {S}.schools WHERE school_id = $1 AND district = $2",
            school_id,
            district,
        )
        if found is None:
            raise not_found("school_id", "school")
    return district, school_id


def _rows(records: Sequence[asyncpg.Record], keys: Sequence[str]) -> list[list[Cell]]:
    return [[Cell(value=r[k]) for k in keys] for r in records]


def _list(
    ctx: ViewContext,
    key: str,
    title: Any,
    scope: str,
    cols: Sequence[tuple[str, Any, str]],
    rows: list[list[Cell]],
) -> ItemList:
    return ItemList(
        key=key,
        title=title,
        scope=scope,
        as_of=ctx.today,
        columns=[Column(key=k, label=lab, unit=u) for k, lab, u in cols],
        rows=rows,
    )


SCHOOL_COL = ("school", L("学校", "School"), "text")
CLASS_COL = ("class_id", L("班级", "Class"), "text")


@item_list("district.classes_coverage")
async def classes_coverage(ctx: ViewContext) -> ItemList:
    district, school_id = await _scope(ctx)
    p = Periods.of(ctx.today)
    records = await fetch(
        ctx.pool,
        f"""SELECT sc.school_name AS school, st.class_id, count(*) AS enrolled,
                count(*) FILTER (WHERE EXISTS (
                    SELECT 1 FROM {S}.visits v WHERE v.student_ref = st.student_ref
                      AND v.mode = 'in_home' AND v.visited_on BETWEEN $3 AND $4)) AS visited,
                count(*) FILTER (WHERE EXISTS (
                    SELECT 1 FROM {S}.visit_visitors vv WHERE vv.student_ref = st.student_ref
                      AND vv.staff_ref = c.head_teacher_ref
                      AND vv.visited_on BETWEEN $5 AND $4)) AS head_teacher_visited,
                count(*) FILTER (WHERE st.in_special_group) AS special,
                count(*) FILTER (WHERE st.in_special_group AND EXISTS (
                    SELECT 1 FROM {S}.visits v WHERE v.student_ref = st.student_ref
                      AND v.mode = 'in_home' AND v.visited_on BETWEEN $5 AND $4))
                    AS special_visited
            FROM {S}.students st
            JOIN {S}.schools sc ON sc.school_id = st.school_id
            LEFT JOIN {S}.classes c ON c.class_id = st.class_id
            WHERE st.enrolled AND sc.district = $1 AND ($2::text IS NULL OR st.school_id = $2)
            GROUP BY sc.school_name, st.school_id, st.class_id
            ORDER BY st.school_id, st.class_id""",
        district,
        school_id,
        p.sy_start,
        ctx.today,
        p.sem_start,
    )
    rows = [
        [
            Cell(value=r["school"]),
            Cell(value=r["class_id"]),
            *coverage_cells(r["enrolled"], r["visited"]),
            Cell(value=r["head_teacher_visited"]),
            Cell(value=r["special"]),
            Cell(value=r["special_visited"]),
        ]
        for r in records
    ]
    return _list(
        ctx,
        "district.classes_coverage",
        L("各班家访覆盖", "Home-visit coverage by class"),
        school_id or district,
        [
            SCHOOL_COL,
            CLASS_COL,
            ("enrolled", L("在籍学生", "Enrolled"), "count"),
            ("visited", L("已入户家访", "Visited in home"), "count"),
            ("not_visited", L("未家访", "Not visited"), "count"),
            ("head_teacher_visited", L("班主任本学期已访", "Head teacher (semester)"), "count"),
            ("special", L("特殊群体", "Special groups"), "count"),
            ("special_visited", L("特殊群体本学期入户", "Special, in home (semester)"), "count"),
        ],
        rows,
    )


@item_list("district.reports")
async def reports(ctx: ViewContext) -> ItemList:
    district, school_id = await _scope(ctx)
    p = Periods.of(ctx.today)
    months = p.months_due(ctx.settings.targets.report_due_day)
    records = await fetch(
        ctx.pool,
        f"""SELECT sc.school_id, sc.school_name AS school, m.month, f.submitted_on, f.late
            FROM {S}.schools sc CROSS JOIN unnest($3::text[]) AS m(month)
            LEFT JOIN LATERAL (
                SELECT r.submitted_on, r.late FROM {S}.monthly_reports r
                WHERE r.school_id = sc.school_id AND r.month = m.month
                ORDER BY r.revision LIMIT 1) f ON true
            WHERE sc.district = $1 AND ($2::text IS NULL OR sc.school_id = $2)
            ORDER BY sc.school_id, m.month""",
        district,
        school_id,
        months,
    )

    def status(r: asyncpg.Record) -> Cell:
        if r["submitted_on"] is None or r["submitted_on"] > ctx.today:
            return Cell(value="missing", meets=False)
        return Cell(value="late" if r["late"] else "on_time", meets=not r["late"])

    rows = [
        [
            Cell(value=r["school"]),
            Cell(value=r["month"]),
            Cell(value=r["submitted_on"] if status(r).value != "missing" else None),
            status(r),
        ]
        for r in records
    ]
    return _list(
        ctx,
        "district.reports",
        L("家访月报报送", "Monthly visit reports"),
        school_id or district,
        [
            SCHOOL_COL,
            ("month", L("月份", "Month"), "text"),
            ("submitted_on", L("报送日期", "Submitted on"), "date"),
            ("status", L("状态", "Status"), "text"),
        ],
        rows,
    )


async def overdue_followups(
    pool: asyncpg.Pool, day: date, district: str, school_id: str | None, class_id: str | None
) -> list[asyncpg.Record]:
    return list(
        await fetch(
            pool,
            f"""SELECT f.case_id, sc.school_name AS school, f.class_id, f.student_ref, f.measure,
                    f.opened_on, f.due_date, ($2::date - f.due_date) AS days_overdue
                FROM {S}.followups f JOIN {S}.schools sc ON sc.school_id = f.school_id
                WHERE sc.district = $1 AND ($3::text IS NULL OR f.school_id = $3)
                  AND ($4::text IS NULL OR f.class_id = $4)
                  AND f.opened_on <= $2 AND f.due_date < $2
                  AND (f.closed_on IS NULL OR f.closed_on > $2)
                ORDER BY f.school_id, f.class_id, f.due_date, f.case_id""",
            district,
            day,
            school_id,
            class_id,
        )
    )


FOLLOWUP_COLS = [
    ("case_id", L("事项编号", "Case"), "text"),
    SCHOOL_COL,
    CLASS_COL,
    ("measure", L("措施", "Measure"), "text"),
    ("due_date", L("应办结日期", "Due"), "date"),
    ("days_overdue", L("逾期天数", "Days overdue"), "days"),
]


@item_list("district.followups_overdue")
async def district_followups_overdue(ctx: ViewContext) -> ItemList:
    district, school_id = await _scope(ctx)
    records = await overdue_followups(ctx.pool, ctx.today, district, school_id, None)
    keys = ["case_id", "school", "class_id", "measure", "due_date", "days_overdue"]
    return _list(
        ctx,
        "district.followups_overdue",
        L("逾期跟进事项", "Overdue follow-ups"),
        school_id or district,
        FOLLOWUP_COLS,
        _rows(records, keys),
    )


@item_list("district.screening")
async def screening(ctx: ViewContext) -> ItemList:
    district, school_id = await _scope(ctx)
    p = Periods.of(ctx.today)
    records = await fetch(
        ctx.pool,
        f"""SELECT sc.school_name AS school, count(st.*) AS enrolled,
                count(st.*) FILTER (WHERE EXISTS (
                    SELECT 1 FROM {S}.screenings x WHERE x.student_ref = st.student_ref
                      AND x.school_year = $3 AND x.completed_on <= $4)) AS screened
            FROM {S}.schools sc
            LEFT JOIN {S}.students st ON st.school_id = sc.school_id AND st.enrolled
            WHERE sc.district = $1 AND ($2::text IS NULL OR sc.school_id = $2)
            GROUP BY sc.school_id, sc.school_name ORDER BY sc.school_id""",
        district,
        school_id,
        p.school_year,
        ctx.today,
    )
    rows = [
        [
            Cell(value=r["school"]),
            *coverage_cells(r["enrolled"], r["screened"]),
        ]
        for r in records
    ]
    return _list(
        ctx,
        "district.screening",
        L("心理健康筛查", "Mental-health screening"),
        school_id or district,
        [
            SCHOOL_COL,
            ("enrolled", L("在籍学生", "Enrolled"), "count"),
            ("screened", L("已筛查", "Screened"), "count"),
            ("not_screened", L("未筛查", "Not screened"), "count"),
        ],
        rows,
    )


@item_list("district.schools")
async def schools_list(ctx: ViewContext) -> ItemList:
    district, school_id = await _scope(ctx)
    records = await fetch(
        ctx.pool,
        f"""SELECT school_name, stage, has_counselling_room FROM {S}.schools
            WHERE district = $1 AND ($2::text IS NULL OR school_id = $2) ORDER BY school_id""",
        district,
        school_id,
    )
    rows = [
        [
            Cell(value=r["school_name"]),
            Cell(value=r["stage"]),
            Cell(value=r["has_counselling_room"], meets=r["has_counselling_room"]),
        ]
        for r in records
    ]
    return _list(
        ctx,
        "district.schools",
        L("学校与心理辅导室", "Schools and counselling rooms"),
        school_id or district,
        [
            SCHOOL_COL,
            ("stage", L("学段", "Stage"), "text"),
            ("has_counselling_room", L("心理辅导室", "Counselling room"), "flag"),
        ],
        rows,
    )


async def referral_rows(
    pool: asyncpg.Pool, district: str, school_id: str | None, day: date
) -> tuple[Any, list[Column], list[list[Cell]]]:
    """Crisis referrals made up to the end of ``day`` (no student, no note)."""
    from tongxin_agencies.application.kpis_wellbeing import end_of

    records = await fetch(
        pool,
        f"""SELECT r.referral_id, sc.school_name AS school, r.referred_at, r.acknowledge_by,
                r.acknowledged_at, r.within_deadline, r.escalated_at IS NOT NULL AS escalated
            FROM {S}.referrals r JOIN {S}.schools sc ON sc.school_id = r.school_id
            WHERE sc.district = $1 AND ($2::text IS NULL OR r.school_id = $2)
              AND r.referred_at < $3
            ORDER BY r.school_id, r.referred_at, r.referral_id""",
        district,
        school_id,
        end_of(day),
    )
    rows = [
        [
            Cell(value=r["referral_id"]),
            Cell(value=r["school"]),
            Cell(value=r["referred_at"]),
            Cell(value=r["acknowledge_by"]),
            Cell(value=r["acknowledged_at"]),
            Cell(
                value=r["within_deadline"],
                meets=r["within_deadline"] if r["acknowledged_at"] is not None else None,
            ),
            Cell(value=r["escalated"]),
        ]
        for r in records
    ]
    cols = [
        Column(key=k, label=lab, unit=u)
        for k, lab, u in [
            ("referral_id", L("转介编号", "Referral"), "text"),
            SCHOOL_COL,
            ("referred_at", L("转介时间", "Referred at"), "date"),
            ("acknowledge_by", L("应响应时限", "Acknowledge by"), "deadline"),
            ("acknowledged_at", L("响应时间", "Acknowledged at"), "date"),
            ("within_deadline", L("按时响应", "In time"), "flag"),
            ("escalated", L("已升级", "Escalated"), "flag"),
        ]
    ]
    return L("危机转介", "Crisis referrals"), cols, rows


@item_list("district.referrals")
async def referrals(ctx: ViewContext) -> ItemList:
    district, school_id = await _scope(ctx)
    title, cols, rows = await referral_rows(ctx.pool, district, school_id, ctx.today)
    return ItemList(
        key="district.referrals",
        title=title,
        scope=school_id or district,
        as_of=ctx.today,
        columns=cols,
        rows=rows,
    )


@item_list("district.training")
async def training(ctx: ViewContext) -> ItemList:
    district, school_id = await _scope(ctx)
    p = Periods.of(ctx.today)
    records = await fetch(
        ctx.pool,
        f"""SELECT sc.school_name AS school, count(sf.*) AS staff,
                count(sf.*) FILTER (WHERE EXISTS (
                    SELECT 1 FROM {S}.training_attendance ta WHERE ta.staff_ref = sf.staff_ref
                      AND ta.topic = 'crisis_identification'
                      AND ta.held_on BETWEEN $3 AND $4)) AS trained
            FROM {S}.schools sc
            LEFT JOIN {S}.staff sf ON sf.school_id = sc.school_id
              AND sf.roles && ARRAY['head_teacher', 'psych_teacher']
            WHERE sc.district = $1 AND ($2::text IS NULL OR sc.school_id = $2)
            GROUP BY sc.school_id, sc.school_name ORDER BY sc.school_id""",
        district,
        school_id,
        p.sy_start,
        ctx.today,
    )
    rows = [
        [
            Cell(value=r["school"]),
            *coverage_cells(r["staff"], r["trained"]),
        ]
        for r in records
    ]
    return _list(
        ctx,
        "district.training",
        L("危机识别培训（班主任、心理教师）", "Crisis-identification training"),
        school_id or district,
        [
            SCHOOL_COL,
            ("staff", L("应培训人数", "Staff to train"), "count"),
            ("trained", L("已培训", "Trained"), "count"),
            ("untrained", L("未培训", "Not trained"), "count"),
        ],
        rows,
    )


@item_list("district.leaders")
async def leaders(ctx: ViewContext) -> ItemList:
    """Each principal's and middle leader's distinct students visited this school year, one
    row per leader (never who they are: the bureau sees no staff pseudonym)."""
    district, school_id = await _scope(ctx)
    p = Periods.of(ctx.today)
    records = await fetch(
        ctx.pool,
        f"""SELECT sc.school_name AS school, r.role, count(DISTINCT vv.student_ref) AS students
            FROM {S}.staff sf
            JOIN {S}.schools sc ON sc.school_id = sf.school_id
            CROSS JOIN unnest(ARRAY['principal', 'middle_leader']) AS r(role)
            LEFT JOIN {S}.visit_visitors vv
                ON vv.staff_ref = sf.staff_ref AND vv.visited_on BETWEEN $3 AND $4
            WHERE sc.district = $1 AND ($2::text IS NULL OR sf.school_id = $2)
              AND r.role = ANY(sf.roles)
            GROUP BY sf.school_id, sc.school_name, r.role, sf.staff_ref
            ORDER BY sf.school_id, r.role, students""",
        district,
        school_id,
        p.sy_start,
        ctx.today,
    )
    t = ctx.settings.targets
    floor = {"principal": t.principal_visits, "middle_leader": t.middle_leader_visits}
    rows = [
        [
            Cell(value=r["school"]),
            Cell(value=r["role"]),
            Cell(value=r["students"], meets=r["students"] >= floor[r["role"]]),
        ]
        for r in records
    ]
    return _list(
        ctx,
        "district.leaders",
        L("校领导家访", "Leaders' home visits"),
        school_id or district,
        [
            SCHOOL_COL,
            ("role", L("职务", "Role"), "text"),
            ("students", L("家访学生数", "Students visited"), "count"),
        ],
        rows,
    )
