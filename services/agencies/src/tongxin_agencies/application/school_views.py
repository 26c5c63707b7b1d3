"""A school's page, for its staff (a head teacher sees their class's part) and the bureau: the
school's KPIs, home-visit coverage by class and by teacher, the follow-up ledger, monthly
reports, wellbeing aggregates (the attention list's size; who is on it only for the wellbeing
team), and the committees' and safety figures of A3's parts — every figure linking to its
``school.*`` list. The bureau's answers hold no student_ref or staff_ref."""

from __future__ import annotations

from typing import Any

import asyncpg

from tongxin_agencies.application import district_views as dv
from tongxin_agencies.application import kpis_visits, kpis_wellbeing
from tongxin_agencies.application.education_queries import Periods, S, fetch, school
from tongxin_agencies.application.kpis import plain
from tongxin_agencies.application.policy import BUREAU, POLICY, Action
from tongxin_agencies.application.scoped import coverage_cells
from tongxin_agencies.application.views import LISTS, ViewContext, dashboard, item_list
from tongxin_platform.http import ProblemError, not_found
from tongxin_platform.policy import Scope
from tongxin_web.views import (
    Cell,
    Column,
    Dashboard,
    Figure,
    ItemList,
    L,
    Label,
    Panel,
    Table,
    list_link,
)

# The KPIs a school's page shows in its own panels (the rest: the committees and safety panel).
EDUCATION_KPIS = {d.key for m in (kpis_visits, kpis_wellbeing) for d in m.DEFS}


async def school_in_scope(ctx: ViewContext) -> tuple[dict[str, Any], str | None]:
    """The school asked for (``school_id``) and the class the caller is limited to (a head
    teacher's); 403 for a role that may never read a school, 404 outside the caller's scope."""
    school_id = ctx.param("school_id")
    found = await school(ctx.pool, school_id)
    class_id = ctx.who.class_id
    where = Scope(
        district=found["district"] if found else None, school=school_id, class_id=class_id
    )
    dv.guard(ctx, Action.school_read, where, "school_id", "school")
    if found is None:
        raise not_found("school_id", "school")
    return found, class_id


def sees_people(ctx: ViewContext) -> bool:
    """Whether the caller may see pseudonyms (a school's staff; never the bureau)."""
    return ctx.who.role not in BUREAU


def link_for(ctx: ViewContext, key: str, school_id: str, **params: str | None) -> str:
    return list_link(key, school_id=school_id, **params)


def school_link(
    ctx: ViewContext, list_key: str | None, school_id: str, district: str
) -> str | None:
    """The list behind a KPI on a school's page: for the bureau, the district's list narrowed
    to the school (the bureau's lists name no person); for the school's staff, the school's own
    list (``school.<name>`` for a KPI whose district list is ``district.<name>``), if any."""
    if list_key is None:
        return None
    if not sees_people(ctx):
        return list_link(list_key, school_id=school_id, district=district)
    name = list_key.split(".", 1)[-1]
    if f"school.{name}" in LISTS:
        return list_link(f"school.{name}", school_id=school_id)
    return None


@dashboard("school")
async def school_page(ctx: ViewContext) -> Dashboard:
    sc, class_id = await school_in_scope(ctx)
    school_id = sc["school_id"]
    p = Periods.of(ctx.today)
    targets, defs = ctx.settings.targets, dv.kpi_defs()
    panels: list[Panel] = []

    coverage = await class_coverage(ctx.pool, school_id, class_id, p)
    if class_id is None:
        figs = (await dv.kpi_figures(ctx.pool, ctx.settings, [school_id], ctx.today, ctx.now)).get(
            school_id, {}
        )

        def fig(key: str, list_key: str | None) -> Figure:
            d = defs[key]
            return Figure(
                key=key,
                label=d.label,
                value=plain(figs.get(key)),
                unit=d.unit,
                target=d.target_of(targets),
                meets=d.meets(figs.get(key), targets),
                link=link_for(ctx, list_key, school_id) if list_key else None,
            )

        visit_keys = {
            "visit_coverage": "school.students_not_visited",
            "head_teacher_coverage": "school.classes",
            "special_group_coverage": "school.classes",
            "principal_visits": "school.visitors",
            "middle_leader_visits": "school.visitors",
            "reports_on_time": "school.reports",
            "followups_overdue": "school.followups_overdue",
        }
        visit_figures = [fig(k, v) for k, v in visit_keys.items()]
        if not sees_people(ctx):  # the bureau: the leaders' list without their pseudonyms
            for f in visit_figures:
                if f.key in ("principal_visits", "middle_leader_visits"):
                    f.link = list_link(
                        "district.leaders", school_id=school_id, district=sc["district"]
                    )
        panels.append(
            Panel(
                key="visits",
                label=L("家访", "Home visits"),
                figures=visit_figures,
                tables=[coverage],
            )
        )
        if sees_people(ctx):
            panels[-1].tables.append(await by_teacher(ctx.pool, school_id, p))
        well = [
            fig("screening_coverage", "school.screening"),
            fig("counselling_room", "school.profile"),
            fig(
                "attention_list",
                "school.attention_list"
                if POLICY.admits(ctx.who, Action.attention_read).allowed
                else None,
            ),
            fig("referral_sla", "school.referrals"),
            fig("training_coverage", "school.training"),
        ]
        panels.append(
            Panel(
                key="wellbeing",
                label=L("心理健康", "Wellbeing"),
                figures=well,
                tables=[await screening_counts(ctx.pool, school_id, p)],
            )
        )
        others = [
            Figure(
                key=d.key,
                label=d.label,
                value=plain(figs.get(d.key)),
                unit=d.unit,
                target=d.target_of(targets),
                meets=d.meets(figs.get(d.key), targets),
                link=school_link(ctx, d.list_key, school_id, sc["district"]),
            )
            for d in defs.values()
            if d.key not in EDUCATION_KPIS
        ]
        if others:
            panels.append(
                Panel(
                    key="community",
                    label=L("家校社协同与安全", "Committees and safety"),
                    figures=others,
                )
            )
    else:
        row = coverage.rows[0] if coverage.rows else None
        enrolled = int(row[1].value or 0) if row else 0  # type: ignore[arg-type]
        visited = int(row[2].value or 0) if row else 0  # type: ignore[arg-type]
        overdue = len(
            await dv.overdue_followups(ctx.pool, ctx.today, sc["district"], school_id, class_id)
        )
        share = visited / enrolled if enrolled else None
        panels.append(
            Panel(
                key="visits",
                label=L("本班家访", "My class's home visits"),
                figures=[
                    Figure(
                        key="visit_coverage",
                        label=defs["visit_coverage"].label,
                        value=share,
                        unit="share",
                        target=targets.visit_coverage,
                        meets=defs["visit_coverage"].meets(share, targets),
                        link=link_for(
                            ctx, "school.students_not_visited", school_id, class_id=class_id
                        ),
                    ),
                    Figure(
                        key="followups_overdue",
                        label=defs["followups_overdue"].label,
                        value=overdue,
                        unit="count",
                        target=targets.followups_overdue,
                        meets=overdue <= targets.followups_overdue,
                        link=link_for(
                            ctx, "school.followups_overdue", school_id, class_id=class_id
                        ),
                    ),
                ],
                tables=[coverage],
            )
        )
    panels.append(
        Panel(
            key="followups",
            label=L("跟进事项台账", "Follow-up ledger"),
            tables=[await ledger(ctx.pool, school_id, class_id, ctx.today)],
        )
    )
    if class_id is None:
        panels.append(
            Panel(
                key="reports",
                label=L("家访月报", "Monthly reports"),
                tables=[await reports_table(ctx, school_id)],
            )
        )
    return Dashboard(
        page="school",
        title=L("学校家校共育", "School–family collaboration"),
        scope=sc["school_name"],
        as_of=ctx.today,
        panels=panels,
    )


def _cols(*cols: tuple[str, Label, str]) -> list[Column]:
    return [Column(key=k, label=lab, unit=u) for k, lab, u in cols]


async def class_coverage(
    pool: asyncpg.Pool, school_id: str, class_id: str | None, p: Periods
) -> Table:
    records = await fetch(
        pool,
        f"""SELECT st.class_id, count(*) AS enrolled,
                count(*) FILTER (WHERE EXISTS (
                    SELECT 1 FROM {S}.visits v WHERE v.student_ref = st.student_ref
                      AND v.mode = 'in_home' AND v.visited_on BETWEEN $3 AND $4)) AS visited,
                count(*) FILTER (WHERE EXISTS (
                    SELECT 1 FROM {S}.visit_visitors vv WHERE vv.student_ref = st.student_ref
                      AND vv.staff_ref = c.head_teacher_ref
                      AND vv.visited_on BETWEEN $5 AND $4)) AS head_teacher_visited
            FROM {S}.students st LEFT JOIN {S}.classes c ON c.class_id = st.class_id
            WHERE st.enrolled AND st.school_id = $1 AND ($2::text IS NULL OR st.class_id = $2)
            GROUP BY st.class_id ORDER BY st.class_id""",
        school_id,
        class_id,
        p.sy_start,
        p.day,
        p.sem_start,
    )
    rows = [
        [
            Cell(value=r["class_id"]),
            *coverage_cells(
                r["enrolled"],
                r["visited"],
                list_link(
                    "school.students_not_visited", school_id=school_id, class_id=r["class_id"]
                ),
            ),
            Cell(value=r["head_teacher_visited"]),
        ]
        for r in records
    ]
    return Table(
        key="coverage_by_class",
        label=L("各班家访覆盖", "Coverage by class"),
        columns=_cols(
            ("class_id", L("班级", "Class"), "text"),
            ("enrolled", L("在籍学生", "Enrolled"), "count"),
            ("visited", L("已入户家访", "Visited in home"), "count"),
            ("not_visited", L("未家访", "Not visited"), "count"),
            ("head_teacher_visited", L("班主任本学期已访", "Head teacher (semester)"), "count"),
        ),
        rows=rows,
    )


async def by_teacher(pool: asyncpg.Pool, school_id: str, p: Periods) -> Table:
    records = await fetch(
        pool,
        f"""SELECT vv.staff_ref, string_agg(DISTINCT vv.role, ',') AS roles,
                count(DISTINCT vv.visit_id) AS visits,
                count(DISTINCT vv.student_ref) AS students
            FROM {S}.visit_visitors vv
            WHERE vv.school_id = $1 AND vv.visited_on BETWEEN $2 AND $3
            GROUP BY vv.staff_ref ORDER BY vv.staff_ref""",
        school_id,
        p.sy_start,
        p.day,
    )
    return Table(
        key="visits_by_teacher",
        label=L("各教师家访", "Visits by teacher"),
        columns=_cols(
            ("staff_ref", L("教师（化名）", "Teacher (pseudonym)"), "text"),
            ("roles", L("身份", "Role"), "text"),
            ("visits", L("家访次数", "Visits"), "count"),
            ("students", L("家访学生数", "Students visited"), "count"),
        ),
        rows=[
            [
                Cell(value=r["staff_ref"]),
                Cell(value=r["roles"]),
                Cell(value=r["visits"]),
                Cell(value=r["students"]),
            ]
            for r in records
        ],
    )


async def ledger(pool: asyncpg.Pool, school_id: str, class_id: str | None, day: Any) -> Table:
    records = await fetch(
        pool,
        f"""SELECT measure,
                count(*) FILTER (WHERE closed_on IS NULL OR closed_on > $3) AS open,
                count(*) FILTER (WHERE due_date < $3 AND (closed_on IS NULL OR closed_on > $3))
                    AS overdue,
                count(*) FILTER (WHERE closed_on <= $3) AS closed
            FROM {S}.followups
            WHERE school_id = $1 AND ($2::text IS NULL OR class_id = $2) AND opened_on <= $3
            GROUP BY measure ORDER BY measure""",
        school_id,
        class_id,
        day,
    )
    return Table(
        key="followup_ledger",
        label=L("跟进事项（按措施）", "Follow-ups by measure"),
        columns=_cols(
            ("measure", L("措施", "Measure"), "text"),
            ("open", L("未办结", "Open"), "count"),
            ("overdue", L("逾期", "Overdue"), "count"),
            ("closed", L("已办结", "Closed"), "count"),
        ),
        rows=[
            [
                Cell(value=r["measure"]),
                Cell(value=r["open"]),
                Cell(
                    value=r["overdue"],
                    meets=r["overdue"] == 0,
                    link=list_link(
                        "school.followups_overdue",
                        school_id=school_id,
                        class_id=class_id,
                        measure=r["measure"],
                    ),
                ),
                Cell(value=r["closed"]),
            ]
            for r in records
        ],
    )


async def reports_table(ctx: ViewContext, school_id: str) -> Table:
    listed = await school_reports(ctx, school_id)
    return Table(key="reports", label=listed.title, columns=listed.columns, rows=listed.rows)


async def school_reports(ctx: ViewContext, school_id: str) -> ItemList:
    p = Periods.of(ctx.today)
    months = p.months_due(ctx.settings.targets.report_due_day)
    records = await fetch(
        ctx.pool,
        f"""SELECT m.month, f.submitted_on, f.late, f.revisions
            FROM unnest($2::text[]) AS m(month)
            LEFT JOIN LATERAL (
                SELECT r.submitted_on, r.late,
                    (SELECT count(*) FROM {S}.monthly_reports x
                     WHERE x.school_id = $1 AND x.month = m.month) AS revisions
                FROM {S}.monthly_reports r
                WHERE r.school_id = $1 AND r.month = m.month
                ORDER BY r.revision LIMIT 1) f ON true
            ORDER BY m.month""",
        school_id,
        months,
    )
    rows = []
    for r in records:
        missing = r["submitted_on"] is None or r["submitted_on"] > ctx.today
        status = "missing" if missing else ("late" if r["late"] else "on_time")
        rows.append(
            [
                Cell(value=r["month"]),
                Cell(value=None if missing else r["submitted_on"]),
                Cell(value=status, meets=status == "on_time"),
                Cell(value=r["revisions"] or 0),
            ]
        )
    return ItemList(
        key="school.reports",
        title=L("家访月报报送", "Monthly visit reports"),
        scope=school_id,
        as_of=ctx.today,
        columns=_cols(
            ("month", L("月份", "Month"), "text"),
            ("submitted_on", L("首次报送日期", "First submitted on"), "date"),
            ("status", L("状态", "Status"), "text"),
            ("revisions", L("修订次数", "Revisions"), "count"),
        ),
        rows=rows,
    )


async def screening_counts(pool: asyncpg.Pool, school_id: str, p: Periods) -> Table:
    r = await pool.fetchrow(
        f"""SELECT count(*) FILTER (WHERE offered) AS offered,
                count(*) FILTER (WHERE consent = 'consented' AND consent_on <= $3) AS consented,
                count(*) FILTER (WHERE consent = 'refused' AND consent_on <= $3) AS refused,
                (SELECT count(DISTINCT x.student_ref) FROM {S}.screenings x
                 WHERE x.school_id = $1 AND x.school_year = $2 AND x.completed_on <= $3)
                    AS screened
            FROM {S}.screening_offers WHERE school_id = $1 AND school_year = $2""",
        school_id,
        p.school_year,
        p.day,
    )
    assert r is not None
    return Table(
        key="screening_counts",
        label=L("本学年心理筛查", "Screening this school year"),
        columns=_cols(
            ("offered", L("已通知", "Offered"), "count"),
            ("consented", L("同意", "Consented"), "count"),
            ("refused", L("拒绝", "Refused"), "count"),
            ("screened", L("已筛查", "Screened"), "count"),
        ),
        rows=[[Cell(value=r[k]) for k in ("offered", "consented", "refused", "screened")]],
    )


# --- the lists behind the school's figures --------------------------------------------------


def _only(ctx: ViewContext, class_id: str | None) -> str | None:
    """The class a list is narrowed to: the caller's own (a head teacher's), else the param."""
    asked = ctx.params.get("class_id") or None
    if class_id is not None and asked is not None and asked != class_id:
        raise not_found("class_id", "class")
    return class_id or asked


@item_list("school.students_not_visited")
async def students_not_visited(ctx: ViewContext) -> ItemList:
    sc, own = await school_in_scope(ctx)
    class_id = _only(ctx, own)
    p = Periods.of(ctx.today)
    records = await fetch(
        ctx.pool,
        f"""SELECT st.class_id, st.student_ref, st.in_special_group FROM {S}.students st
            WHERE st.enrolled AND st.school_id = $1 AND ($2::text IS NULL OR st.class_id = $2)
              AND NOT EXISTS (
                SELECT 1 FROM {S}.visits v WHERE v.student_ref = st.student_ref
                  AND v.mode = 'in_home' AND v.visited_on BETWEEN $3 AND $4)
            ORDER BY st.class_id, st.student_ref""",
        sc["school_id"],
        class_id,
        p.sy_start,
        ctx.today,
    )
    people = sees_people(ctx)
    cols = [("class_id", L("班级", "Class"), "text")]
    if people:
        cols.append(("student_ref", L("学生（化名）", "Student (pseudonym)"), "text"))
    cols.append(("in_special_group", L("特殊群体", "Special group"), "flag"))
    rows = [
        [Cell(value=r["class_id"])]
        + ([Cell(value=r["student_ref"])] if people else [])
        + [Cell(value=r["in_special_group"])]
        for r in records
    ]
    return ItemList(
        key="school.students_not_visited",
        title=L("本学年未入户家访的学生", "Students not visited in home this school year"),
        scope=sc["school_id"],
        as_of=ctx.today,
        columns=_cols(*cols),
        rows=rows,
    )


@item_list("school.followups_overdue")
async def school_followups_overdue(ctx: ViewContext) -> ItemList:
    sc, own = await school_in_scope(ctx)
    class_id = _only(ctx, own)
    measure = ctx.params.get("measure") or None
    records = [
        r
        for r in await dv.overdue_followups(
            ctx.pool, ctx.today, sc["district"], sc["school_id"], class_id
        )
        if measure is None or r["measure"] == measure
    ]
    people = sees_people(ctx)
    keys = ["case_id", "class_id"] + (["student_ref"] if people else [])
    keys += ["measure", "due_date", "days_overdue"]
    labels = {
        "case_id": (L("事项编号", "Case"), "text"),
        "class_id": (L("班级", "Class"), "text"),
        "student_ref": (L("学生（化名）", "Student (pseudonym)"), "text"),
        "measure": (L("措施", "Measure"), "text"),
        "due_date": (L("应办结日期", "Due"), "date"),
        "days_overdue": (L("逾期天数", "Days overdue"), "days"),
    }
    return ItemList(
        key="school.followups_overdue",
        title=L("逾期跟进事项", "Overdue follow-ups"),
        scope=sc["school_id"],
        as_of=ctx.today,
        columns=_cols(*((k, *labels[k]) for k in keys)),
        rows=[[Cell(value=r[k]) for k in keys] for r in records],
    )


@item_list("school.reports")
async def reports_list(ctx: ViewContext) -> ItemList:
    sc, own = await school_in_scope(ctx)
    if own is not None:
        raise not_found("school_id", "school")
    return await school_reports(ctx, sc["school_id"])


@item_list("school.classes")
async def classes_list(ctx: ViewContext) -> ItemList:
    sc, own = await school_in_scope(ctx)
    t = await class_coverage(ctx.pool, sc["school_id"], own, Periods.of(ctx.today))
    return ItemList(
        key="school.classes",
        title=t.label,
        scope=sc["school_id"],
        as_of=ctx.today,
        columns=t.columns,
        rows=t.rows,
    )


@item_list("school.visitors")
async def visitors_list(ctx: ViewContext) -> ItemList:
    # the bureau sees no staff pseudonym: refused before any school is looked up
    if POLICY.admits(ctx.who, Action.school_read).allowed and not sees_people(ctx):
        raise ProblemError(
            403, "Forbidden", "the bureau sees no staff pseudonyms", rule="school.visitors"
        )
    sc, own = await school_in_scope(ctx)
    if own is not None:
        raise not_found("school_id", "school")
    t = await by_teacher(ctx.pool, sc["school_id"], Periods.of(ctx.today))
    return ItemList(
        key="school.visitors",
        title=t.label,
        scope=sc["school_id"],
        as_of=ctx.today,
        columns=t.columns,
        rows=t.rows,
    )


@item_list("school.screening")
async def screening_list(ctx: ViewContext) -> ItemList:
    sc, _own = await school_in_scope(ctx)
    t = await screening_counts(ctx.pool, sc["school_id"], Periods.of(ctx.today))
    return ItemList(
        key="school.screening",
        title=t.label,
        scope=sc["school_id"],
        as_of=ctx.today,
        columns=t.columns,
        rows=t.rows,
    )


@item_list("school.attention_list")
async def attention_list(ctx: ViewContext) -> ItemList:
    # a role that may never see who is listed is refused before any school is looked up
    decision = POLICY.admits(ctx.who, Action.attention_read)
    if not decision.allowed:
        raise ProblemError(403, "Forbidden", decision.reason, rule=str(Action.attention_read))
    sc, _ = await school_in_scope(ctx)
    ctx.require(Action.attention_read, Scope(sc["district"], sc["school_id"], ctx.who.class_id))
    records = await fetch(
        ctx.pool,
        f"""SELECT coalesce(a.class_id, st.class_id) AS class_id, a.student_ref
            FROM {S}.attention a LEFT JOIN {S}.students st ON st.student_ref = a.student_ref
            WHERE a.listed AND a.school_id = $1
            ORDER BY 1, a.student_ref""",
        sc["school_id"],
    )
    return ItemList(
        key="school.attention_list",
        title=L("重点关注名单", "Attention list"),
        scope=sc["school_id"],
        as_of=ctx.today,
        columns=_cols(
            ("class_id", L("班级", "Class"), "text"),
            ("student_ref", L("学生（化名）", "Student (pseudonym)"), "text"),
        ),
        rows=[[Cell(value=r["class_id"]), Cell(value=r["student_ref"])] for r in records],
    )


@item_list("school.referrals")
async def referrals_list(ctx: ViewContext) -> ItemList:
    sc, own = await school_in_scope(ctx)
    if own is not None:
        raise not_found("school_id", "school")
    title, cols, rows = await dv.referral_rows(ctx.pool, sc["district"], sc["school_id"], ctx.today)
    return ItemList(
        key="school.referrals",
        title=title,
        scope=sc["school_id"],
        as_of=ctx.today,
        columns=cols,
        rows=rows,
    )


@item_list("school.training")
async def training_list(ctx: ViewContext) -> ItemList:
    sc, own = await school_in_scope(ctx)
    if own is not None:
        raise not_found("school_id", "school")
    p = Periods.of(ctx.today)
    people = sees_people(ctx)
    records = await fetch(
        ctx.pool,
        f"""SELECT sf.staff_ref, array_to_string(sf.roles, ',') AS roles,
                EXISTS (SELECT 1 FROM {S}.training_attendance ta
                        WHERE ta.staff_ref = sf.staff_ref AND ta.topic = 'crisis_identification'
                          AND ta.held_on BETWEEN $2 AND $3) AS trained
            FROM {S}.staff sf
            WHERE sf.school_id = $1 AND sf.roles && ARRAY['head_teacher', 'psych_teacher']
            ORDER BY sf.staff_ref""",
        sc["school_id"],
        p.sy_start,
        ctx.today,
    )
    keys = (["staff_ref"] if people else []) + ["roles", "trained"]
    labels = {
        "staff_ref": (L("教师（化名）", "Teacher (pseudonym)"), "text"),
        "roles": (L("身份", "Role"), "text"),
        "trained": (L("已培训", "Trained"), "flag"),
    }
    return ItemList(
        key="school.training",
        title=L("危机识别培训", "Crisis-identification training"),
        scope=sc["school_id"],
        as_of=ctx.today,
        columns=_cols(*((k, *labels[k]) for k in keys)),
        rows=[
            [Cell(value=r[k], meets=r[k] if k == "trained" else None) for k in keys]
            for r in records
        ],
    )


@item_list("school.profile")
async def profile(ctx: ViewContext) -> ItemList:
    """The school as registered: its stage and whether it has a counselling room."""
    sc, _ = await school_in_scope(ctx)
    return ItemList(
        key="school.profile",
        title=L("学校概况", "The school"),
        scope=sc["school_id"],
        as_of=ctx.today,
        columns=_cols(
            ("school", L("学校", "School"), "text"),
            ("stage", L("学段", "Stage"), "text"),
            ("has_counselling_room", L("心理辅导室", "Counselling room"), "flag"),
        ),
        rows=[
            [
                Cell(value=sc["school_name"]),
                Cell(value=sc["stage"]),
                Cell(value=sc["has_counselling_room"], meets=sc["has_counselling_room"]),
            ]
        ],
    )
