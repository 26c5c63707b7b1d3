"""The child-safety KPIs of the education model (the layout's 18–22) for many schools on day D,
in five SQL statements whatever the number of schools (the rules: ``domain.safety_kpis``), and
the lists behind them: ``school.*`` (a school's staff: pseudonyms) and ``district.*`` (the
bureau: classes, case ids, dates — never a student_ref)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

import asyncpg

from tongxin_agencies.application.kpis import Figures, KpiDef, KpiPart, Ratio, now_for
from tongxin_agencies.application.policy import BUREAU, Action
from tongxin_agencies.application.scoped import Where, column, custom_plans, schools_in, year_start
from tongxin_agencies.application.views import ViewContext, item_list
from tongxin_agencies.config import AgenciesSettings
from tongxin_agencies.domain import safety_kpis as rules
from tongxin_contracts.calendar import CHINA
from tongxin_web.views import Cell, Column, ItemList, L

S = "education"
Rows = list[dict[str, Any]]

# Each statement narrows its rows to what the rules count on D (the rules check again): open
# files, their live accepted pairings with the last contact on or before D (the pairing's latest
# one, else the contacts' primary key backwards from D), the shifts of the school year before D
# counted by outcome.
OPEN_FILE = """opened_on <= $2 AND (closed_on IS NULL OR closed_on > $2)
    AND (handed_over_on IS NULL OR handed_over_on > $2)"""
SQL = {
    "files": f"""SELECT school_id, student_ref, class_id, opened_on, closed_on, handed_over_on
        FROM {S}.care_files WHERE school_id = ANY($1::text[]) AND {OPEN_FILE}""",
    "pairings": f"""SELECT p.pairing_id, p.school_id, p.student_ref, p.kind, p.accepted_on,
            p.declined_on, p.released_on,
            CASE WHEN p.last_contact_on IS NULL OR p.last_contact_on <= $2
                THEN p.last_contact_on
                ELSE (SELECT max(c.contact_on) FROM {S}.care_contacts c
                      WHERE c.pairing_id = p.pairing_id AND c.contact_on <= $2)
            END AS last_contact
        FROM {S}.care_pairings p JOIN {S}.care_files f USING (school_id, student_ref)
        WHERE p.school_id = ANY($1::text[]) AND p.accepted_on <= $2
          AND (p.declined_on IS NULL OR p.declined_on > $2)
          AND (p.released_on IS NULL OR p.released_on > $2) AND f.opened_on <= $2
          AND (f.closed_on IS NULL OR f.closed_on > $2)
          AND (f.handed_over_on IS NULL OR f.handed_over_on > $2)""",
    "risks": f"""SELECT DISTINCT ON (student_ref) student_ref, set_on, level
        FROM {S}.care_risk_levels WHERE school_id = ANY($1::text[]) AND set_on <= $2
        ORDER BY student_ref, set_on DESC""",
    "shifts": f"""SELECT school_id, status, count(*) AS n FROM {S}.guard_shifts
        WHERE school_id = ANY($1::text[]) AND shift_on < $2 AND shift_on >= $3
        GROUP BY school_id, status""",
    "hazards": f"""SELECT school_id, hazard_id, rectify_by, rectified_on FROM {S}.hazards
        WHERE school_id = ANY($1::text[]) AND rectify_by < $2
          AND (rectified_on IS NULL OR rectified_on > $2)""",
    "incidents": f"""SELECT school_id, incident_id, recorded_on, report_required, report_due_at,
        filed_on, late, delay_seconds FROM {S}.incidents
        WHERE school_id = ANY($1::text[]) AND report_required AND recorded_on <= $2""",
}


# The care figures of many schools in one statement, for the district page (its month trend asks
# for every month end): the rules of ``domain.safety_kpis.care_state`` in SQL — an open file is
# complete with a live accepted pairing of every kind; a live pairing is overdue when its last
# contact on or before D (else the day accepted) + the rhythm of the file's latest risk level
# (low when none) lies before D. The tests hold the two equal on every day of a school year.
CARE_SQL = f"""
WITH f AS (
    SELECT school_id, student_ref FROM {S}.care_files
    WHERE school_id = ANY($1::text[]) AND {OPEN_FILE}),
lvl AS (
    SELECT DISTINCT ON (student_ref) student_ref, level FROM {S}.care_risk_levels
    WHERE school_id = ANY($1::text[]) AND set_on <= $2 ORDER BY student_ref, set_on DESC),
p AS (
    SELECT p.school_id, p.student_ref, p.kind,
        coalesce(
            CASE WHEN p.last_contact_on IS NULL OR p.last_contact_on <= $2
                THEN p.last_contact_on
                ELSE (SELECT max(c.contact_on) FROM {S}.care_contacts c
                      WHERE c.pairing_id = p.pairing_id AND c.contact_on <= $2)
            END,
            p.accepted_on) AS seen
    FROM {S}.care_pairings p JOIN f USING (school_id, student_ref)
    WHERE p.accepted_on <= $2 AND (p.declined_on IS NULL OR p.declined_on > $2)
      AND (p.released_on IS NULL OR p.released_on > $2)),
per_file AS (
    SELECT f.school_id, f.student_ref,
        count(DISTINCT p.kind) FILTER (WHERE p.kind = ANY($3::text[]))
            = cardinality($3::text[]) AS complete,
        count(p.kind) FILTER (
            WHERE p.seen + CASE coalesce(lvl.level, 'low')
                WHEN 'high' THEN $4::int WHEN 'medium' THEN $5::int ELSE $6::int END < $2
        ) AS overdue
    FROM f LEFT JOIN p USING (school_id, student_ref) LEFT JOIN lvl USING (student_ref)
    GROUP BY f.school_id, f.student_ref)
SELECT school_id, count(*)::int AS open, (count(*) FILTER (WHERE complete))::int AS complete,
    sum(overdue)::int AS overdue
FROM per_file GROUP BY school_id"""
# What the district page's figures read (the care files counted in SQL); the lists read SQL's.
PART_KEYS = ("shifts", "hazards", "incidents")


async def care_counts(
    pool: asyncpg.Pool | asyncpg.Connection,
    settings: AgenciesSettings,
    schools: Sequence[str],
    d: date,
) -> Rows:
    r = rhythm(settings)
    found = await pool.fetch(
        CARE_SQL, list(schools), d, list(rules.CARER_KINDS), r["high"], r["medium"], r["low"]
    )
    return [dict(x) for x in found]


def rhythm(settings: AgenciesSettings) -> dict[str, int]:
    return {
        "low": settings.contact_days_low,
        "medium": settings.contact_days_medium,
        "high": settings.contact_days_high,
    }


def cutoff(d: date, now: datetime) -> datetime:
    """The moment a deadline is judged at on D: the clock, or the end of D when D is past."""
    end = datetime.combine(d + timedelta(days=1), time(), CHINA)
    return min(now, end)


async def fetch(
    pool: asyncpg.Pool | asyncpg.Connection, key: str, schools: Sequence[str], d: date
) -> Rows:
    args: list[Any] = [list(schools), d]
    if key == "shifts":
        args.append(year_start(d))
    return [dict(r) for r in await pool.fetch(SQL[key], *args)]


def figures(
    settings: AgenciesSettings,
    schools: Sequence[str],
    d: date,
    now: datetime,
    rows: dict[str, Rows],
) -> Figures:
    """The five figures (and the longest delay) per school, from the fetched rows: the care
    files' either from their rows (``files``, ``pairings``, ``risks``) or counted (``care``)."""
    care: dict[str, tuple[int, int, int]] = {}  # school → (open, complete, overdue)
    if "care" in rows:
        care = {r["school_id"]: (r["open"], r["complete"], r["overdue"]) for r in rows["care"]}
    else:
        state = rules.care_state(
            rows["files"],
            rows["pairings"],
            rows.get("contacts", ()),
            rows["risks"],
            d,
            rhythm(settings),
        )
        for school, files in rules.by_school(
            [{"school_id": f.school_id, "f": f} for f in state.files]
        ).items():
            complete = sum(1 for r in files if r["f"].complete)
            late = sum(1 for o in state.overdue if o.school_id == school)
            care[school] = (len(files), complete, late)
    shifts = rules.by_school(rows["shifts"])
    hazards = rules.by_school(rows["hazards"])
    incidents = rules.by_school(rows["incidents"])
    at = cutoff(d, now)
    out: Figures = {}
    for s in schools:
        n_open, n_complete, n_overdue = care.get(s, (0, 0, 0))
        guard = rules.guard_completion(shifts.get(s, []), d)
        mine = incidents.get(s, [])
        out[s] = {
            "care_files_complete": Ratio(n_complete, n_open) if n_open else None,
            "care_contacts_overdue": n_overdue,
            "guard_completion": Ratio(*guard) if guard else None,
            "hazards_overdue": sum(1 for h in hazards.get(s, []) if rules.hazard_overdue(h, d)),
            "mandatory_reports_late": sum(1 for i in mine if rules.report_late(i, d, at)),
            "mandatory_report_longest_delay": rules.longest_delay_minutes(mine, d),
        }
    return out


async def safety_part(
    pool: asyncpg.Pool, settings: AgenciesSettings, schools: Sequence[str], d: date
) -> Figures:
    async with custom_plans(pool) as conn:
        rows = {key: await fetch(conn, key, schools, d) for key in PART_KEYS}
        rows["care"] = await care_counts(conn, settings, schools, d)
    return figures(settings, schools, d, now_for(d), rows)


PART: KpiPart = safety_part

DEFS: list[KpiDef] = [
    KpiDef(
        "care_files_complete",
        L("关爱档案结对完整率", "Care files fully paired"),
        "share",
        "at_least",
        "care_files_complete",
        "school.care_files",
    ),
    KpiDef(
        "care_contacts_overdue",
        L("逾期未联系的结对", "Carer contacts overdue"),
        "count",
        "at_most",
        "care_contacts_overdue",
        "school.care_contacts_overdue",
    ),
    KpiDef(
        "guard_completion",
        L("护学岗执勤完成率", "Guard shifts completed"),
        "share",
        "at_least",
        "guard_completion",
        "school.guard_shifts",
        trend=True,
    ),
    KpiDef(
        "hazards_overdue",
        L("逾期未整改隐患", "Hazards past their deadline"),
        "count",
        "at_most",
        "hazards_overdue",
        "school.hazards_overdue",
        trend=True,
    ),
    KpiDef(
        "mandatory_reports_late",
        L("强制报告迟报", "Mandatory reports late"),
        "count",
        "at_most",
        "mandatory_reports_late",
        "school.mandatory_reports",
    ),
    KpiDef(
        "mandatory_report_longest_delay",
        L("强制报告最长用时（分钟）", "Longest mandatory report delay (minutes)"),
        "count",
        "none",
        None,
        "school.mandatory_reports_filed",
        pool="max",
    ),
]


# --- the lists behind the figures ---------------------------------------------------------------


SCHOOL_COL = column("school", "学校", "School")
CLASS_COL = column("class_id", "班级", "Class")
STUDENT_COL = column("student_ref", "学生（化名）", "Student (pseudonym)")


def _school_cell(where: Where, school_id: str) -> Cell:
    return Cell(value=where.names.get(school_id, school_id))


async def _where(ctx: ViewContext, bureau: bool) -> Where:
    return await schools_in(ctx, Action.district_read if bureau else Action.school_read, S)


def _class_visible(ctx: ViewContext, class_id: str | None) -> bool:
    """A head teacher (class scope) sees the items of their own class only."""
    return ctx.who.class_id is None or class_id == ctx.who.class_id


async def _care(ctx: ViewContext, where: Where) -> rules.CareState:
    keys = ("files", "pairings", "risks")
    async with custom_plans(ctx.pool) as conn:
        rows = {k: await fetch(conn, k, where.school_ids, ctx.today) for k in keys}
    return rules.care_state(
        rows["files"],
        rows["pairings"],
        (),  # each pairing's row brings its last contact on D
        rows["risks"],
        ctx.today,
        rhythm(ctx.settings),
    )


def _answer(
    key: str, title: Any, where: Where, ctx: ViewContext, cols: list[Column], rows: list[list[Cell]]
) -> ItemList:
    return ItemList(
        key=key, title=title, scope=where.label, as_of=ctx.today, columns=cols, rows=rows
    )


async def care_files_list(ctx: ViewContext, bureau: bool) -> ItemList:
    where = await _where(ctx, bureau)
    hide = bureau or ctx.who.role in BUREAU  # the bureau never sees a pseudonym
    care = await _care(ctx, where)
    cols = [SCHOOL_COL, CLASS_COL, *([] if hide else [STUDENT_COL])]
    cols += [
        column("opened_on", "建档日期", "Opened on", "date"),
        column("risk_level", "风险等级", "Risk level"),
        column("kinds", "已接受结对", "Accepted pairings", "count"),
        column("missing", "缺少结对", "Missing kinds"),
        column("complete", "结对完整", "Fully paired", "flag"),
    ]
    rows = []
    for f in care.files:
        if not _class_visible(ctx, f.class_id):
            continue
        rows.append(
            [
                _school_cell(where, f.school_id),
                Cell(value=f.class_id),
                *([] if hide else [Cell(value=f.student_ref)]),
                Cell(value=f.opened_on),
                Cell(value=f.risk_level),
                Cell(value=len(f.kinds)),
                Cell(value=", ".join(f.missing)),
                Cell(value=f.complete, meets=f.complete),
            ]
        )
    title = L("在册关爱档案", "Open care files")
    return _answer(
        ("district" if bureau else "school") + ".care_files", title, where, ctx, cols, rows
    )


async def contacts_overdue_list(ctx: ViewContext, bureau: bool) -> ItemList:
    where = await _where(ctx, bureau)
    hide = bureau or ctx.who.role in BUREAU  # the bureau never sees a pseudonym
    care = await _care(ctx, where)
    cols = [SCHOOL_COL, CLASS_COL, *([] if hide else [STUDENT_COL])]
    cols += [
        column("kind", "结对类型", "Carer kind"),
        column("risk_level", "风险等级", "Risk level"),
        column("last_contact", "最近联系", "Last contact", "date"),
        column("due", "应联系日期", "Due", "date"),
        column("days_overdue", "逾期天数", "Days overdue", "days"),
    ]
    rows = [
        [
            _school_cell(where, o.school_id),
            Cell(value=o.class_id),
            *([] if hide else [Cell(value=o.student_ref)]),
            Cell(value=o.kind),
            Cell(value=o.risk_level),
            Cell(value=o.last_contact),
            Cell(value=o.due, meets=False),
            Cell(value=o.days_overdue(ctx.today), meets=False),
        ]
        for o in care.overdue
        if _class_visible(ctx, o.class_id)
    ]
    title = L("逾期未联系的结对", "Carer contacts overdue")
    key = ("district" if bureau else "school") + ".care_contacts_overdue"
    return _answer(key, title, where, ctx, cols, rows)


SHIFTS_SQL = f"""SELECT s.school_id, s.shift_id, s.shift_on, s.period, s.status, s.missed_reason,
    p.place FROM {S}.guard_shifts s LEFT JOIN {S}.guard_posts p USING (post_id)
    WHERE s.school_id = ANY($1::text[]) AND s.shift_on < $2 AND s.shift_on >= $3
      AND s.status <> 'completed'
    ORDER BY s.school_id, s.shift_on, s.period, s.shift_id"""


async def guard_shifts_list(ctx: ViewContext, bureau: bool) -> ItemList:
    """The shifts counted and not completed (missed, or nothing recorded)."""
    where = await _where(ctx, bureau)
    start = year_start(ctx.today)
    found = await ctx.pool.fetch(SHIFTS_SQL, where.school_ids, ctx.today, start)
    cols = [
        SCHOOL_COL,
        column("shift_on", "日期", "Day", "date"),
        column("place", "岗位", "Post"),
        column("period", "时段", "Period"),
        column("status", "状态", "Status"),
        column("reason", "原因", "Reason"),
    ]
    rows = [
        [
            _school_cell(where, r["school_id"]),
            Cell(value=r["shift_on"]),
            Cell(value=r["place"]),
            Cell(value=r["period"]),
            Cell(value=rules.shift_state(r), meets=False),
            Cell(value=r["missed_reason"]),
        ]
        for r in found
    ]
    title = L("未完成的护学岗", "Guard shifts not completed")
    key = ("district" if bureau else "school") + ".guard_shifts"
    return _answer(key, title, where, ctx, cols, rows)


HAZARDS_SQL = f"""SELECT school_id, hazard_id, kind, severity, owner, rectify_by, rectified_on
    FROM {S}.hazards WHERE school_id = ANY($1::text[]) AND rectify_by < $2
      AND (rectified_on IS NULL OR rectified_on > $2)
    ORDER BY school_id, rectify_by, hazard_id"""


async def hazards_overdue_list(ctx: ViewContext, bureau: bool) -> ItemList:
    where = await _where(ctx, bureau)
    d = ctx.today
    found = [
        dict(r)
        for r in await ctx.pool.fetch(HAZARDS_SQL, where.school_ids, d)
        if rules.hazard_overdue(dict(r), d)
    ]
    cols = [
        SCHOOL_COL,
        column("hazard_id", "隐患编号", "Hazard"),
        column("kind", "类别", "Kind"),
        column("severity", "等级", "Severity"),
        column("owner", "整改责任方", "Owner"),
        column("rectify_by", "整改期限", "Rectify by", "date"),
        column("days_overdue", "逾期天数", "Days overdue", "days"),
    ]
    rows = [
        [
            _school_cell(where, h["school_id"]),
            Cell(value=h["hazard_id"]),
            Cell(value=h["kind"]),
            Cell(value=h["severity"]),
            Cell(value=h["owner"]),
            Cell(value=h["rectify_by"], meets=False),
            Cell(value=(d - h["rectify_by"]).days, meets=False),
        ]
        for h in found
    ]
    title = L("逾期未整改隐患", "Hazards past their deadline")
    key = ("district" if bureau else "school") + ".hazards_overdue"
    return _answer(key, title, where, ctx, cols, rows)


INCIDENTS_SQL = f"""SELECT school_id, incident_id, category, students_involved, recorded_on,
    report_required, report_due_at, filed_at, filed_on, late, delay_seconds, escalated_at
    FROM {S}.incidents WHERE school_id = ANY($1::text[]) AND report_required
      AND recorded_on <= $2
    ORDER BY school_id, recorded_on, incident_id"""


async def mandatory_reports_list(
    ctx: ViewContext, bureau: bool, filed_only: bool = False
) -> ItemList:
    """The required mandatory reports late on D (filed late, or unfiled past their deadline:
    what the figure counts); ``filed_only``: every report filed by D, with its delay (the
    longest delay's list)."""
    where = await _where(ctx, bureau)
    d, at = ctx.today, cutoff(ctx.today, ctx.now)
    found = [dict(r) for r in await ctx.pool.fetch(INCIDENTS_SQL, where.school_ids, d)]
    cols = [
        SCHOOL_COL,
        column("incident_id", "事件编号", "Incident"),
        column("category", "类别", "Category"),
        column("students", "涉及学生数", "Students involved", "count"),
        column("recorded_on", "登记日期", "Recorded on", "date"),
        column("due", "报告时限", "Report due", "deadline"),
        column("filed", "已报告", "Filed", "flag"),
        column("late", "迟报", "Late", "flag"),
        column("delay", "用时（分钟）", "Delay (minutes)", "count"),
        column("escalated", "已上报督办", "Escalated", "flag"),
    ]
    rows = []
    for i in found:
        filed = rules.report_filed(i, d)
        late = rules.report_late(i, d, at)
        if not (filed if filed_only else late):
            continue
        rows.append(
            [
                _school_cell(where, i["school_id"]),
                Cell(value=i["incident_id"]),
                Cell(value=i["category"]),
                Cell(value=i["students_involved"]),
                Cell(value=i["recorded_on"]),
                Cell(value=i["report_due_at"]),
                Cell(value=filed),
                Cell(value=late, meets=not late),
                Cell(value=i["delay_seconds"] // 60 if filed and i["delay_seconds"] else None),
                Cell(value=rules.report_escalated(i, d, at)),
            ]
        )
    if filed_only:
        title = L("已报送的强制报告", "Mandatory reports filed")
        suffix = "mandatory_reports_filed"
    else:
        title = L("迟报的强制报告", "Mandatory reports late")
        suffix = "mandatory_reports"
    key = ("district" if bureau else "school") + "." + suffix
    return _answer(key, title, where, ctx, cols, rows)


async def mandatory_reports_filed_list(ctx: ViewContext, bureau: bool) -> ItemList:
    return await mandatory_reports_list(ctx, bureau, filed_only=True)


def _register() -> None:
    for suffix, provider in (
        ("care_files", care_files_list),
        ("care_contacts_overdue", contacts_overdue_list),
        ("guard_shifts", guard_shifts_list),
        ("hazards_overdue", hazards_overdue_list),
        ("mandatory_reports", mandatory_reports_list),
        ("mandatory_reports_filed", mandatory_reports_filed_list),
    ):
        for bureau in (False, True):
            prefix = "district" if bureau else "school"

            async def view(ctx: ViewContext, p: Any = provider, b: bool = bureau) -> ItemList:
                result: ItemList = await p(ctx, b)
                return result

            item_list(f"{prefix}.{suffix}")(view)


_register()
