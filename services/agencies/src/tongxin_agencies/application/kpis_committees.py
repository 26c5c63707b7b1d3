"""The committees' and parent school's KPIs of the education model (the layout's 12–16) for many
schools on day D, in a few SQL statements whatever the number of schools (the rules:
``domain.committee_kpis``), and the lists behind them: ``school.*`` (a school's staff: the
members' pseudonyms) and ``district.*`` (the bureau: classes, counts, dates — never a
guardian_ref or staff_ref). Classes come from the roster part's ``education.classes``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg

from tongxin_agencies.application.kpis import Figures, KpiDef, KpiPart, Ratio
from tongxin_agencies.application.policy import BUREAU, Action
from tongxin_agencies.application.scoped import Where, column, custom_plans, schools_in
from tongxin_agencies.application.views import ViewContext, item_list
from tongxin_agencies.config import AgenciesSettings
from tongxin_agencies.domain import committee_kpis as rules
from tongxin_agencies.domain.safety_kpis import by_school
from tongxin_contracts.calendar import school_year_of, year_period
from tongxin_web.views import Cell, Column, ItemList, L

S = "education"
Rows = list[dict[str, Any]]

SQL = {
    "classes": f"""SELECT school_id, class_id, grade FROM {S}.classes
        WHERE school_id = ANY($1::text[])""",
    "committees": f"""SELECT school_id, committee_id FROM {S}.committee_committees
        WHERE school_id = ANY($1::text[]) AND level = 'school'""",
    "seats": f"""SELECT s.school_id, s.committee_id, s.guardian_ref, s.started_on, s.round_no,
            s.role, s.class_id, s.how
        FROM {S}.committee_seats s JOIN {S}.committee_committees c USING (committee_id)
        WHERE c.level = 'school' AND c.school_id = ANY($1::text[]) AND s.started_on <= $2""",
    "terms": f"""SELECT t.committee_id, t.round_no, t.elected_on, t.term_start, t.term_end
        FROM {S}.committee_terms t JOIN {S}.committee_committees c USING (committee_id)
        WHERE c.level = 'school' AND c.school_id = ANY($1::text[]) AND t.elected_on <= $2""",
    "endings": f"""SELECT e.committee_id, e.guardian_ref, e.ended_on, e.how
        FROM {S}.committee_endings e JOIN {S}.committee_committees c USING (committee_id)
        WHERE c.level = 'school' AND c.school_id = ANY($1::text[]) AND e.ended_on <= $2""",
    "sessions": f"""SELECT school_id, session_id, school_year, kind, mode, topic, held_on,
            class_hours, attendance
        FROM {S}.parent_school_sessions
        WHERE school_id = ANY($1::text[]) AND school_year = $3 AND held_on <= $2""",
    "assessments": f"""SELECT school_id, school_year, assessed_on, standard, criteria_met
        FROM {S}.parent_school_assessments
        WHERE school_id = ANY($1::text[]) AND school_year = $3 AND assessed_on <= $2""",
    "open_days": f"""SELECT school_id, meeting_id, held_on, days, parents_attending,
            opinions_collected
        FROM {S}.open_days WHERE school_id = ANY($1::text[]) AND held_on <= $2
          AND held_on >= $3""",
    "coordinators": f"""SELECT school_id, staff_ref, changed_on, change FROM {S}.coordinators
        WHERE school_id = ANY($1::text[]) AND changed_on <= $2""",
}
# The parameters of each statement after $1 (the schools): by default $2 = D.
_PARAMS = {
    "classes": (),
    "committees": (),
    "sessions": ("day", "school_year"),
    "assessments": ("day", "school_year"),
    "open_days": ("day", "year_start"),
}


async def fetch(
    pool: asyncpg.Pool | asyncpg.Connection, key: str, schools: Sequence[str], d: date
) -> Rows:
    sy = school_year_of(d)
    values: dict[str, Any] = {"day": d, "school_year": sy, "year_start": year_period(sy).start}
    args = [values[name] for name in _PARAMS.get(key, ("day",))]
    return [dict(r) for r in await pool.fetch(SQL[key], list(schools), *args)]


def representation_of(school: str, rows: dict[str, Rows], d: date) -> rules.Representation:
    return rules.representation(
        [c["class_id"] for c in rows["classes"] if c["school_id"] == school],
        [c["committee_id"] for c in rows["committees"] if c["school_id"] == school],
        [s for s in rows["seats"] if s["school_id"] == school],
        rows["terms"],
        rows["endings"],
        d,
    )


def figures(
    settings: AgenciesSettings, schools: Sequence[str], d: date, rows: dict[str, Rows]
) -> Figures:
    grouped = {
        k: by_school(v)
        for k, v in rows.items()
        if k in ("sessions", "assessments", "open_days", "coordinators")
    }
    out: Figures = {}
    for s in schools:
        rule = rules.parent_school_rule(
            grouped["sessions"].get(s, []),
            d,
            settings.parent_school_sessions,
            settings.parent_school_hours,
            settings.parent_school_activities,
        )
        rep = representation_of(s, rows, d)
        out[s] = {
            "representation": Ratio(rep.count, len(rep.classes)) if rep.classes else None,
            "parent_school_rule": rule.met,
            "standard_parent_school": rules.standard_parent_school(
                grouped["assessments"].get(s, []), d
            ),
            "open_days": len(rules.open_days(grouped["open_days"].get(s, []), d)),
            "coordinator": bool(rules.coordinators(grouped["coordinators"].get(s, []), d)),
        }
    return out


async def committees_part(
    pool: asyncpg.Pool, settings: AgenciesSettings, schools: Sequence[str], d: date
) -> Figures:
    async with custom_plans(pool) as conn:
        rows = {key: await fetch(conn, key, schools, d) for key in SQL}
    return figures(settings, schools, d, rows)


PART: KpiPart = committees_part

DEFS: list[KpiDef] = [
    KpiDef(
        "representation",
        L("家委会班级代表覆盖率", "Classes represented on the school committee"),
        "share",
        "at_least",
        "representation",
        "school.representation",
    ),
    KpiDef(
        "parent_school_rule",
        L("家长学校教学达标", "Parent school teaching rule met"),
        "flag",
        "true",
        "parent_school_rule",
        "school.parent_school_sessions",
    ),
    KpiDef(
        "standard_parent_school",
        L("规范化家长学校", "Standard parent school"),
        "flag",
        "true",
        "standard_parent_schools",
        "school.parent_school_sessions",
    ),
    KpiDef(
        "open_days",
        L("学校开放日", "Open days"),
        "count",
        "at_least",
        "open_days_per_year",
        "school.open_days",
    ),
    KpiDef(
        "coordinator",
        L("家庭教育指导联络员", "Family-education coordinator"),
        "flag",
        "true",
        "coordinators",
        "school.coordinators",
    ),
]


# --- the lists behind the figures ---------------------------------------------------------------


SCHOOL_COL = column("school", "学校", "School")


async def _where(ctx: ViewContext, bureau: bool) -> Where:
    return await schools_in(ctx, Action.district_read if bureau else Action.school_read, S)


def _key(bureau: bool, suffix: str) -> str:
    return ("district" if bureau else "school") + "." + suffix


def _answer(
    key: str, title: Any, where: Where, ctx: ViewContext, cols: list[Column], rows: list[list[Cell]]
) -> ItemList:
    return ItemList(
        key=key, title=title, scope=where.label, as_of=ctx.today, columns=cols, rows=rows
    )


async def representation_list(ctx: ViewContext, bureau: bool) -> ItemList:
    """Every class of the school(s): represented on the school committee on D, by whom (the
    school's staff see the members' pseudonyms; the bureau the number of seats)."""
    where = await _where(ctx, bureau)
    hide = bureau or ctx.who.role in BUREAU  # the bureau never sees a pseudonym
    keys = ("classes", "committees", "seats", "terms", "endings")
    rows = {k: await fetch(ctx.pool, k, where.school_ids, ctx.today) for k in keys}
    cols = [
        SCHOOL_COL,
        column("class_id", "班级", "Class"),
        column("grade", "年级", "Grade", "count"),
    ]
    cols += [
        column("represented", "有代表", "Represented", "flag"),
        column("seats", "席位", "Seats", "count"),
    ]
    if not hide:
        cols.append(column("members", "委员（化名）", "Members (pseudonyms)"))
    grade = {c["class_id"]: c["grade"] for c in rows["classes"]}
    out = []
    for school in where.school_ids:
        rep = representation_of(school, rows, ctx.today)
        for class_id in rep.classes:
            if ctx.who.class_id is not None and class_id != ctx.who.class_id:
                continue
            seats = rep.represented.get(class_id, [])
            line = [
                Cell(value=where.names.get(school, school)),
                Cell(value=class_id),
                Cell(value=grade.get(class_id)),
                Cell(value=bool(seats), meets=bool(seats)),
                Cell(value=len(seats)),
            ]
            if not hide:
                line.append(Cell(value=", ".join(s["guardian_ref"] for s in seats)))
            out.append(line)
    title = L("班级代表", "Classes represented")
    return _answer(_key(bureau, "representation"), title, where, ctx, cols, out)


async def sessions_list(ctx: ViewContext, bureau: bool) -> ItemList:
    """The parent school's sessions of the school year up to D, and its latest assessment."""
    where = await _where(ctx, bureau)
    found = await fetch(ctx.pool, "sessions", where.school_ids, ctx.today)
    cols = [
        SCHOOL_COL,
        column("held_on", "日期", "Held on", "date"),
        column("kind", "形式", "Kind"),
        column("mode", "方式", "Mode"),
        column("topic", "主题", "Topic"),
        column("class_hours", "课时", "Class hours", "hours"),
        column("attendance", "参加人数", "Attendance", "count"),
    ]
    order = {s: i for i, s in enumerate(where.school_ids)}
    found.sort(key=lambda r: (order.get(r["school_id"], 0), r["held_on"], r["session_id"]))
    rows = [
        [
            Cell(value=where.names.get(r["school_id"], r["school_id"])),
            Cell(value=r["held_on"]),
            Cell(value=r["kind"]),
            Cell(value=r["mode"]),
            Cell(value=r["topic"]),
            Cell(value=r["class_hours"]),
            Cell(value=r["attendance"]),
        ]
        for r in found
    ]
    title = L("家长学校授课", "Parent school sessions")
    return _answer(_key(bureau, "parent_school_sessions"), title, where, ctx, cols, rows)


async def open_days_list(ctx: ViewContext, bureau: bool) -> ItemList:
    where = await _where(ctx, bureau)
    found = rules.open_days(
        await fetch(ctx.pool, "open_days", where.school_ids, ctx.today), ctx.today
    )
    cols = [
        SCHOOL_COL,
        column("held_on", "日期", "Held on", "date"),
        column("days", "天数", "Days", "count"),
        column("parents_attending", "参加家长", "Parents attending", "count"),
        column("opinions_collected", "收集意见", "Opinions collected", "count"),
    ]
    rows = [
        [
            Cell(value=where.names.get(r["school_id"], r["school_id"])),
            Cell(value=r["held_on"]),
            Cell(value=r["days"]),
            Cell(value=r["parents_attending"]),
            Cell(value=r["opinions_collected"]),
        ]
        for r in sorted(found, key=lambda r: (r["school_id"], r["held_on"], r["meeting_id"]))
    ]
    title = L("学校开放日", "Open days")
    return _answer(_key(bureau, "open_days"), title, where, ctx, cols, rows)


async def coordinators_list(ctx: ViewContext, bureau: bool) -> ItemList:
    """Per school: its coordinators in post on D (the school's staff see who; the bureau
    whether there is one, since when)."""
    where = await _where(ctx, bureau)
    hide = bureau or ctx.who.role in BUREAU  # the bureau never sees a pseudonym
    found = by_school(await fetch(ctx.pool, "coordinators", where.school_ids, ctx.today))
    cols = [
        SCHOOL_COL,
        column("in_post", "在岗", "In post", "flag"),
        column("since", "任命日期", "Since", "date"),
    ]
    if not hide:
        cols.append(column("staff_ref", "联络员（化名）", "Coordinator (pseudonym)"))
    rows = []
    for school in where.school_ids:
        posts = rules.coordinators(found.get(school, []), ctx.today)
        if not posts:
            rows.append(
                [
                    Cell(value=where.names.get(school, school)),
                    Cell(value=False, meets=False),
                    Cell(value=None),
                    *([] if hide else [Cell(value=None)]),
                ]
            )
        for ref, since in posts:
            rows.append(
                [
                    Cell(value=where.names.get(school, school)),
                    Cell(value=True, meets=True),
                    Cell(value=since),
                    *([] if hide else [Cell(value=ref)]),
                ]
            )
    title = L("家庭教育指导联络员", "Family-education coordinators")
    return _answer(_key(bureau, "coordinators"), title, where, ctx, cols, rows)


def _register() -> None:
    for suffix, provider in (
        ("representation", representation_list),
        ("parent_school_sessions", sessions_list),
        ("open_days", open_days_list),
        ("coordinators", coordinators_list),
    ):
        for bureau in (False, True):

            async def view(ctx: ViewContext, p: Any = provider, b: bool = bureau) -> ItemList:
                result: ItemList = await p(ctx, b)
                return result

            item_list(_key(bureau, suffix))(view)


_register()
