"""The health agency's pages: a hospital's referral queue with live deadlines, and screening
coverage per school (counts, never a score, band or flag — the model holds none).

Who sees what: a hospital (role ``hospital``) sees the referrals made to it — its ``org`` claim;
another hospital's id is answered like a missing one (404). Only that queue shows the referred
student's pseudonym (the hospital receives the child); an auditor reading a hospital's queue
gets it without. Screening coverage: hospitals and the bureau, per school of a district in
their scope.

The figures are computed in plain functions over the rows (``queue_figures``,
``referral_status``, ``coverage``): the rules are tested without a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tongxin_agencies.application.policy import Action
from tongxin_agencies.application.scoped import choice_param
from tongxin_agencies.application.views import ViewContext, dashboard, item_list
from tongxin_contracts.calendar import china_date, school_year_of
from tongxin_platform.auth import Principal, Role
from tongxin_platform.http import ProblemError, not_found
from tongxin_platform.policy import Scope, in_scope
from tongxin_web.views import Cell, Column, Dashboard, Figure, ItemList, Panel, Table, list_link
from tongxin_web.views import L as Lbl

Row = Mapping[str, Any]
STATUSES = ("open", "overdue", "awaiting", "acknowledged", "on_time", "late", "resolved", "all")


# --- who may see which hospital ---------------------------------------------------------------


def own_scope(who: Principal) -> Scope:
    return Scope(who.district, who.school, who.class_id)


def hospital_for(who: Principal, asked: str | None) -> str:
    """The hospital whose queue the caller reads: a hospital its own (``org``; the parameter
    may only repeat it, another id is a 404 like a missing one); any other reader names one."""
    if who.role is Role.hospital:
        if who.org is None:
            raise ProblemError(
                403,
                "Forbidden",
                "a hospital token names its hospital (claim org)",
                rule="hospital_org",
            )
        if asked not in (None, "", who.org):
            raise not_found("hospital_id", "hospital")
        return who.org
    if not asked:
        raise ProblemError(
            422,
            "Missing parameter",
            "hospital_id: this view needs it",
            field="hospital_id",
            rule="param.required",
        )
    return asked


def sees_referral(who: Principal, hospital_id: str, r: Row) -> bool:
    """The one scope rule of a hospital's queue (its page and its list): a referral made to
    ``hospital_id``; the hospital itself (``hospital_for`` checked its ``org``) sees every one
    made to it, any other reader only those of schools in their own scope — a hospital's queue
    lies in the district(s) of the referrals made to it."""
    if r["hospital_id"] != hospital_id:
        return False
    if who.role is Role.hospital:
        return True
    return in_scope(who, Scope(r["district"], r["school_id"]))


def queue_of(who: Principal, hospital_id: str, rows: Iterable[Row]) -> list[Row]:
    """The referrals of ``hospital_id`` the caller sees. A reader other than the hospital who
    sees none of them is answered as for a hospital that does not exist (404, same body): an
    auditor learns nothing of another district's hospital."""
    seen = [r for r in rows if sees_referral(who, hospital_id, r)]
    if not seen and who.role is not Role.hospital:
        raise not_found("hospital_id", "hospital")
    return seen


def shows_student(who: Principal) -> bool:
    """Only the receiving hospital's own queue shows the referred student's pseudonym."""
    return who.role is Role.hospital


# --- the queue's rules ------------------------------------------------------------------------


def referred_by(r: Row, d: date) -> bool:
    return r["referred_at"] is not None and china_date(r["referred_at"]) <= d


def resolved_by(r: Row, d: date) -> bool:
    return r["resolved_on"] is not None and r["resolved_on"] <= d


def referral_status(r: Row, d: date, now: datetime) -> set[str]:
    """Every status a referral has on day ``d`` (at ``now``): open (referred, not resolved),
    awaiting (open, not acknowledged), overdue (awaiting with its deadline passed), acknowledged,
    on_time / late (acknowledged within / after the deadline), resolved."""
    if not referred_by(r, d):
        return set()
    out = {"all"}
    acknowledged = r["acknowledged_at"] is not None
    if resolved_by(r, d):
        out.add("resolved")
    else:
        out.add("open")
        if not acknowledged:
            out.add("awaiting")
            if r["acknowledge_by"] is not None and r["acknowledge_by"] < now:
                out.add("overdue")
    if acknowledged:
        out.add("acknowledged")
        out.add("on_time" if r["within_deadline"] else "late")
    return out


@dataclass(frozen=True)
class QueueFigures:
    open: int
    overdue: int
    on_time: int
    judged: int  # acknowledged + unacknowledged past their deadline

    @property
    def sla(self) -> float | None:
        """Acknowledged within the deadline ÷ (acknowledged + unacknowledged past it)."""
        return self.on_time / self.judged if self.judged else None


def queue_figures(rows: Iterable[Row], d: date, now: datetime) -> QueueFigures:
    open_ = overdue = on_time = judged = 0
    for r in rows:
        if not referred_by(r, d):
            continue
        status = referral_status(r, d, now)
        open_ += "open" in status
        overdue += "overdue" in status
        if r["acknowledged_at"] is not None:
            judged += 1
            on_time += bool(r["within_deadline"])
        elif r["acknowledge_by"] is not None and r["acknowledge_by"] < now:
            judged += 1
    return QueueFigures(open_, overdue, on_time, judged)


def share(num: int, den: int) -> float | None:
    return num / den if den else None


def meets(value: float | None, target: float) -> bool | None:
    return None if value is None else value >= target


# --- reads ------------------------------------------------------------------------------------


async def _referrals(ctx: ViewContext, hospital_id: str) -> list[Row]:
    """The caller's part of the hospital's queue (``queue_of``); the district filter in SQL
    only narrows what is read."""
    district = None if ctx.who.role is Role.hospital else ctx.who.district
    rows = await ctx.pool.fetch(
        """SELECT r.*, s.school_name FROM health.referrals r
           LEFT JOIN health.schools s ON s.school_id = r.school_id
           WHERE r.hospital_id = $1 AND ($2::text IS NULL OR r.district = $2)
           ORDER BY r.referred_at, r.referral_id""",
        hospital_id,
        district,
    )
    return queue_of(ctx.who, hospital_id, (dict(r) for r in rows))


def _hospital(ctx: ViewContext) -> str:
    ctx.require(Action.health_read, own_scope(ctx.who))
    return hospital_for(ctx.who, ctx.params.get("hospital_id"))


def _referral_columns(student: bool) -> list[Column]:
    cols = [
        Column(key="referral_id", label=Lbl("转介编号", "Referral")),
        Column(key="school", label=Lbl("学校", "School")),
    ]
    if student:
        cols.append(Column(key="student_ref", label=Lbl("学生（化名）", "Student (pseudonym)")))
    return [
        *cols,
        Column(key="referred_at", label=Lbl("转介时间", "Referred at"), unit="date"),
        Column(key="acknowledge_by", label=Lbl("确认截止", "Acknowledge by"), unit="deadline"),
        Column(key="acknowledged_at", label=Lbl("确认时间", "Acknowledged at"), unit="date"),
        Column(key="within_deadline", label=Lbl("按时确认", "Within deadline"), unit="flag"),
        Column(key="escalated_at", label=Lbl("已上报", "Escalated at"), unit="date"),
        Column(key="resolved_on", label=Lbl("结案日期", "Resolved on"), unit="date"),
        Column(key="outcome", label=Lbl("结果", "Outcome")),
    ]


def deadline_cell(r: Row, d: date, now: datetime) -> Cell:
    """The "acknowledge by" cell: a live countdown (the column's unit ``deadline``) only while
    the referral is open and unacknowledged (red once passed); an acknowledged one shows when
    it was acknowledged (green/red: within the deadline or not), and a resolved, never
    acknowledged one its deadline as a time — neither counts down any more."""
    status = referral_status(r, d, now)
    if "awaiting" in status:
        return Cell(value=r["acknowledge_by"], meets=False if "overdue" in status else None)
    if "acknowledged" in status:
        return Cell(value=r["acknowledged_at"], unit="text", meets=r["within_deadline"])
    return Cell(value=r["acknowledge_by"], unit="text")


def _referral_row(r: Row, student: bool, d: date, now: datetime) -> list[Cell]:
    status = referral_status(r, d, now)
    cells = [Cell(value=r["referral_id"]), Cell(value=r.get("school_name") or r["school_id"])]
    if student:
        cells.append(Cell(value=r["student_ref"]))
    resolved = "resolved" in status
    return [
        *cells,
        Cell(value=r["referred_at"]),
        deadline_cell(r, d, now),
        Cell(value=r["acknowledged_at"]),
        Cell(value=r["within_deadline"], meets=r["within_deadline"]),
        Cell(value=r["escalated_at"]),
        Cell(value=r["resolved_on"] if resolved else None),
        Cell(value=r["outcome"] if resolved else None),
    ]


@dashboard("hospital")
async def hospital_page(ctx: ViewContext) -> Dashboard:
    hospital_id = _hospital(ctx)
    rows = await _referrals(ctx, hospital_id)
    d, now, target = ctx.today, ctx.now, ctx.settings.targets.referral_sla
    f = queue_figures(rows, d, now)
    student = shows_student(ctx.who)

    def link(status: str) -> str:
        return list_link("health.referrals", hospital_id=hospital_id, status=status)

    figures = [
        Figure(
            key="open", label=Lbl("待处理转介", "Open referrals"), value=f.open, link=link("open")
        ),
        Figure(
            key="overdue",
            label=Lbl("超时未确认", "Overdue, unacknowledged"),
            value=f.overdue,
            target=0,
            meets=f.overdue == 0,
            link=link("overdue"),
        ),
        Figure(
            key="referral_sla",
            label=Lbl("一小时内确认率", "Acknowledged within the hour"),
            value=f.sla,
            unit="share",
            target=target,
            meets=meets(f.sla, target),
            link=link("acknowledged"),
        ),
    ]
    open_rows = [r for r in rows if "open" in referral_status(r, d, now)]
    done_rows = [r for r in rows if "resolved" in referral_status(r, d, now)]
    columns = _referral_columns(student)
    tables = [
        Table(
            key="open",
            label=Lbl("待处理转介", "Open referrals"),
            columns=columns,
            rows=[_referral_row(r, student, d, now) for r in open_rows],
        ),
        Table(
            key="resolved",
            label=Lbl("已结案", "Resolved"),
            columns=columns,
            rows=[_referral_row(r, student, d, now) for r in done_rows],
        ),
    ]
    return Dashboard(
        page="hospital",
        title=Lbl("医院转介队列", "Hospital referral queue"),
        scope=hospital_id,
        as_of=d,
        panels=[
            Panel(
                key="queue",
                label=Lbl("危机转介", "Crisis referrals"),
                figures=figures,
                tables=tables,
            )
        ],
    )


@item_list("health.referrals")
async def referrals_list(ctx: ViewContext) -> ItemList:
    """A hospital's referrals with one status (``status``: open, overdue, awaiting,
    acknowledged, on_time, late, resolved, all)."""
    hospital_id = _hospital(ctx)
    status = choice_param(ctx, STATUSES, "all")
    d, now, student = ctx.today, ctx.now, shows_student(ctx.who)
    rows = [r for r in await _referrals(ctx, hospital_id) if status in referral_status(r, d, now)]
    return ItemList(
        key="health.referrals",
        title=Lbl("转介", "Referrals"),
        scope=hospital_id,
        as_of=d,
        columns=_referral_columns(student),
        rows=[_referral_row(r, student, d, now) for r in rows],
    )


# --- screening coverage -----------------------------------------------------------------------

COUNTS = ("enrolled", "offered", "consented", "refused", "screened")


def coverage(row: Row) -> float | None:
    """Distinct enrolled students screened in the school year (by the day) ÷ enrolled."""
    return share(row["screened"], row["enrolled"])


def pooled(rows: Sequence[Row]) -> dict[str, int]:
    return {k: sum(int(r[k]) for r in rows) for k in COUNTS}


async def screening_rows(
    ctx: ViewContext, district: str, school_id: str | None = None
) -> list[dict[str, Any]]:
    rows = await ctx.pool.fetch(
        """SELECT s.school_id, s.school_name,
                  count(st.student_ref) AS enrolled,
                  count(*) FILTER (WHERE sc.offered) AS offered,
                  count(*) FILTER (WHERE sc.consent = 'consented' AND sc.consent_on <= $3)
                    AS consented,
                  count(*) FILTER (WHERE sc.consent = 'refused' AND sc.consent_on <= $3)
                    AS refused,
                  count(*) FILTER (WHERE EXISTS (
                      SELECT 1 FROM health.screened x
                      WHERE x.school_year = $2 AND x.student_ref = st.student_ref
                        AND x.completed_on <= $3)) AS screened
           FROM health.schools s
           LEFT JOIN health.students st ON st.school_id = s.school_id AND st.enrolled
           LEFT JOIN health.screening sc
                  ON sc.school_year = $2 AND sc.student_ref = st.student_ref
           WHERE s.district = $1 AND ($4::text IS NULL OR s.school_id = $4)
           GROUP BY s.school_id, s.school_name
           ORDER BY s.school_id""",
        district,
        school_year_of(ctx.today),
        ctx.today,
        school_id,
    )
    return [dict(r) for r in rows]


def _district(ctx: ViewContext) -> str:
    ctx.require(Action.screening_coverage, own_scope(ctx.who))
    district = ctx.param("district")
    if not in_scope(ctx.who, Scope(district)) or ctx.who.school is not None:
        raise not_found("district", "district")
    return district


SCREENING_COLUMNS = [
    Column(key="school", label=Lbl("学校", "School")),
    Column(key="enrolled", label=Lbl("在籍学生", "Enrolled"), unit="count"),
    Column(key="offered", label=Lbl("已邀请", "Offered"), unit="count"),
    Column(key="consented", label=Lbl("同意", "Consented"), unit="count"),
    Column(key="refused", label=Lbl("拒绝", "Refused"), unit="count"),
    Column(key="screened", label=Lbl("已筛查", "Screened"), unit="count"),
    Column(key="coverage", label=Lbl("覆盖率", "Coverage"), unit="share"),
]


def _screening_row(r: Row, district: str, target: float) -> list[Cell]:
    link = list_link("health.screening", district=district, school_id=r["school_id"])
    value = coverage(r)
    return [
        Cell(value=r["school_name"], link=link),
        *(Cell(value=int(r[k])) for k in COUNTS),
        Cell(value=value, meets=meets(value, target), link=link),
    ]


@dashboard("screening")
async def screening_page(ctx: ViewContext) -> Dashboard:
    district = _district(ctx)
    rows = await screening_rows(ctx, district)
    target = ctx.settings.targets.screening_coverage
    total = pooled(rows)
    value = share(total["screened"], total["enrolled"])
    sy = school_year_of(ctx.today)
    link = list_link("health.screening", district=district)
    figures = [
        Figure(
            key="screening_coverage",
            label=Lbl("心理筛查覆盖率", "Screening coverage"),
            value=value,
            unit="share",
            target=target,
            meets=meets(value, target),
            link=link,
        ),
        *(
            Figure(key=k, label=c.label, value=total[k], link=link)
            for k, c in zip(COUNTS, SCREENING_COLUMNS[1:], strict=False)
        ),
    ]
    return Dashboard(
        page="screening",
        title=Lbl(f"心理筛查覆盖（{sy}学年）", f"Screening coverage ({sy})"),
        scope=district,
        as_of=ctx.today,
        panels=[
            Panel(
                key="screening",
                label=Lbl("各校筛查覆盖", "Coverage per school"),
                figures=figures,
                tables=[
                    Table(
                        key="schools",
                        label=Lbl("各校", "Schools"),
                        columns=SCREENING_COLUMNS,
                        rows=[_screening_row(r, district, target) for r in rows],
                    )
                ],
            )
        ],
    )


@item_list("health.screening")
async def screening_list(ctx: ViewContext) -> ItemList:
    """Screening counts per school of a district (``school_id``: one school); no student."""
    district = _district(ctx)
    school_id = ctx.params.get("school_id") or None
    rows = await screening_rows(ctx, district, school_id)
    if school_id is not None and not rows:
        raise not_found("school_id", "school")
    target = ctx.settings.targets.screening_coverage
    return ItemList(
        key="health.screening",
        title=Lbl("心理筛查覆盖", "Screening coverage"),
        scope=school_id or district,
        as_of=ctx.today,
        columns=SCREENING_COLUMNS,
        rows=[_screening_row(r, district, target) for r in rows],
    )
