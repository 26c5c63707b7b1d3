"""The carers' page: the caller's own pairings — civil affairs, the women's federation and
community workers their kind's (``sub`` = their carer_ref), a head teacher or principal the
school's own ``school`` pairings where they are the carer — with the contact due next (the
file's risk level sets the rhythm: ``settings.contact_days_*``; overdue shown red), the
left-behind notice and the parents' latest contact (stale after ``settings.parent_contact_days``).

Another carer's pairing is invisible: a list asked for one is a 404 like a missing one. An
auditor reads one carer's pairings by ``carer_ref`` within the auditor's scope.

The rules are plain functions over the rows (``carer_filter``, ``pairing_status``,
``next_contact_due``, ``parents_contact_stale``), tested without a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tongxin_agencies.application.policy import Action
from tongxin_agencies.application.scoped import choice_param
from tongxin_agencies.application.views import ViewContext, dashboard, item_list
from tongxin_agencies.config import AgenciesSettings
from tongxin_platform.auth import Principal, Role
from tongxin_platform.http import ProblemError, not_found
from tongxin_platform.policy import Scope
from tongxin_web.views import Cell, Column, Dashboard, Figure, ItemList, Panel, Table, list_link
from tongxin_web.views import L as Lbl

Row = Mapping[str, Any]
KIND_OF_ROLE = {
    Role.civil_affairs: "civil_affairs",
    Role.womens_federation: "womens_federation",
    Role.community_worker: "community",
    Role.head_teacher: "school",
    Role.principal: "school",
}
STATUSES = ("all", "pending", "accepted", "overdue", "parents_stale")


@dataclass(frozen=True)
class CarerFilter:
    carer_ref: str
    kinds: tuple[str, ...]
    school_id: str | None  # school staff: their school's pairings only
    district: str | None  # the caller's district (None: city level)


def carer_filter(who: Principal, params: Mapping[str, str]) -> CarerFilter:
    """Whose pairings the caller reads: their own (``sub``) of their kind; an auditor names
    the carer (``carer_ref``) and reads every kind within the auditor's scope."""
    kind = KIND_OF_ROLE.get(who.role)
    if kind is not None:
        school = who.school if kind == "school" else None
        if kind == "school" and school is None:
            raise ProblemError(
                403,
                "Forbidden",
                "a school's carer reads pairings with a school-scoped token",
                rule=str(Action.carers_read),
            )
        return CarerFilter(who.subject, (kind,), school, who.district)
    carer_ref = params.get("carer_ref")
    if not carer_ref:
        raise ProblemError(
            422,
            "Missing parameter",
            "carer_ref: this view needs it",
            field="carer_ref",
            rule="param.required",
        )
    kinds = ("school", "community", "civil_affairs", "womens_federation")
    return CarerFilter(carer_ref, kinds, who.school, who.district)


def active(r: Row, d: date) -> bool:
    """Paired by ``d``, not declined or released by then, on a file open on ``d``."""

    def by(col: str) -> bool:
        return r[col] is not None and r[col] <= d

    if not by("paired_on") or by("declined_on") or by("released_on"):
        return False
    return r["opened_on"] is not None and r["opened_on"] <= d and not by("closed_on")


def accepted(r: Row, d: date) -> bool:
    return r["accepted_on"] is not None and r["accepted_on"] <= d


def contact_days(settings: AgenciesSettings, risk_level: str | None) -> int:
    return {
        "high": settings.contact_days_high,
        "medium": settings.contact_days_medium,
    }.get(risk_level or "low", settings.contact_days_low)


def next_contact_due(r: Row, settings: AgenciesSettings, d: date) -> date | None:
    """Last contact (on or before ``d``; else the day the carer accepted) + the days the file's
    risk level allows (low when none was set). None before the carer accepted."""
    if not accepted(r, d):
        return None
    last = r["last_contact"] or r["accepted_on"]
    return last + timedelta(days=contact_days(settings, r["risk_level"]))  # type: ignore[no-any-return]


def contact_overdue(r: Row, settings: AgenciesSettings, d: date) -> bool:
    due = next_contact_due(r, settings, d)
    return due is not None and due < d


def left_behind(r: Row) -> bool:
    return "left_behind" in (r["care_groups"] or [])


def parents_contact_stale(r: Row, settings: AgenciesSettings, d: date) -> bool | None:
    """For a left-behind child: whether the parents' latest contact is older than
    ``parent_contact_days`` (or there is none). None where it does not apply."""
    if not left_behind(r):
        return None
    last = r["parents_contact_on"]
    if last is None:
        return True
    return bool(last + timedelta(days=settings.parent_contact_days) < d)


def pairing_status(r: Row, settings: AgenciesSettings, d: date) -> set[str]:
    if not active(r, d):
        return set()
    out = {"all", "accepted" if accepted(r, d) else "pending"}
    if contact_overdue(r, settings, d):
        out.add("overdue")
    if parents_contact_stale(r, settings, d):
        out.add("parents_stale")
    return out


# --- reads ------------------------------------------------------------------------------------


async def pairing_rows(
    ctx: ViewContext, f: CarerFilter, pairing_id: str | None = None
) -> list[dict[str, Any]]:
    rows = await ctx.pool.fetch(
        """SELECT p.*, s.school_name,
                  coalesce(st.class_id, cf.class_id) AS class_id,
                  cf.care_groups, cf.opened_on, cf.closed_on, cf.risk_level,
                  cf.notice_relation, cf.notice_on,
                  (SELECT max(pc.contact_on) FROM carers.parent_contacts pc
                   WHERE pc.school_id = p.school_id AND pc.student_ref = p.student_ref
                     AND pc.contact_on <= $5) AS parents_contact_on,
                  (SELECT max(c.contact_on) FROM carers.contacts c
                   WHERE c.pairing_id = p.pairing_id AND c.contact_on <= $5) AS last_contact
           FROM carers.pairings p
           LEFT JOIN carers.care_files cf
                  ON cf.school_id = p.school_id AND cf.student_ref = p.student_ref
           LEFT JOIN carers.students st
                  ON st.student_ref = p.student_ref AND st.school_id = p.school_id
           LEFT JOIN carers.schools s ON s.school_id = p.school_id
           WHERE p.carer_ref = $1 AND p.kind = ANY($2::text[])
             AND ($3::text IS NULL OR p.school_id = $3)
             AND ($4::text IS NULL OR p.district = $4)
             AND ($6::text IS NULL OR p.pairing_id = $6)
           ORDER BY p.school_id, coalesce(st.class_id, cf.class_id), p.paired_on, p.pairing_id""",
        f.carer_ref,
        list(f.kinds),
        f.school_id,
        f.district,
        ctx.today,
        pairing_id,
    )
    return [dict(r) for r in rows]


def _filter(ctx: ViewContext) -> CarerFilter:
    ctx.require(Action.carers_read, Scope(ctx.who.district, ctx.who.school, ctx.who.class_id))
    return carer_filter(ctx.who, ctx.params)


COLUMNS = [
    Column(key="school", label=Lbl("学校", "School")),
    Column(key="class_id", label=Lbl("班级", "Class")),
    Column(key="student_ref", label=Lbl("学生（化名）", "Student (pseudonym)")),
    Column(key="kind", label=Lbl("结对类型", "Kind")),
    Column(key="status", label=Lbl("状态", "Status")),
    Column(key="risk_level", label=Lbl("风险等级", "Risk level")),
    Column(key="last_contact", label=Lbl("最近联系", "Last contact"), unit="date"),
    Column(key="next_due", label=Lbl("下次联系截止", "Next contact due"), unit="date"),
    Column(key="notice", label=Lbl("委托照护告知", "Left-behind notice")),
    Column(
        key="parents_contact_on", label=Lbl("父母最近联系", "Parents' last contact"), unit="date"
    ),
]


def pairing_cells(r: Row, settings: AgenciesSettings, d: date) -> list[Cell]:
    status = pairing_status(r, settings, d)
    due = next_contact_due(r, settings, d)
    stale = parents_contact_stale(r, settings, d)
    notice = None
    if left_behind(r):
        known = r["notice_on"] is not None and r["notice_on"] <= d
        notice = f"{r['notice_relation']} {r['notice_on']}" if known else "-"
    return [
        Cell(value=r.get("school_name") or r["school_id"]),
        Cell(value=r["class_id"]),
        Cell(value=r["student_ref"]),
        Cell(value=r["kind"]),
        Cell(value="accepted" if "accepted" in status else "pending"),
        Cell(value=r["risk_level"] or "low"),
        Cell(value=r["last_contact"]),
        Cell(
            value=due,
            meets=None if due is None else "overdue" not in status,
            link=list_link("carers.contacts", pairing_id=r["pairing_id"]),
        ),
        Cell(value=notice, meets=None if notice is None else notice != "-"),
        Cell(
            value=r["parents_contact_on"] if left_behind(r) else None,
            meets=None if stale is None else not stale,
        ),
    ]


def _extra(f: CarerFilter, who: Principal) -> dict[str, str | None]:
    """The parameters a list link repeats (an auditor's ``carer_ref``)."""
    return {} if who.role in KIND_OF_ROLE else {"carer_ref": f.carer_ref}


@dashboard("carers")
async def carers_page(ctx: ViewContext) -> Dashboard:
    f = _filter(ctx)
    d, settings = ctx.today, ctx.settings
    rows = [r for r in await pairing_rows(ctx, f) if active(r, d)]
    statuses = [pairing_status(r, settings, d) for r in rows]
    extra = _extra(f, ctx.who)

    def count(status: str) -> int:
        return sum(status in s for s in statuses)

    def link(status: str) -> str:
        return list_link("carers.pairings", status=status, **extra)

    overdue, stale = count("overdue"), count("parents_stale")
    target = settings.targets.care_contacts_overdue
    figures = [
        Figure(
            key="pairings",
            label=Lbl("结对儿童", "Paired children"),
            value=len(rows),
            link=link("all"),
        ),
        Figure(
            key="pending",
            label=Lbl("待接受结对", "Awaiting acceptance"),
            value=count("pending"),
            link=link("pending"),
        ),
        Figure(
            key="contacts_overdue",
            label=Lbl("联系逾期", "Contacts overdue"),
            value=overdue,
            target=target,
            meets=overdue <= target,
            link=link("overdue"),
        ),
        Figure(
            key="parents_stale",
            label=Lbl("父母联系逾期（留守）", "Parents' contact stale (left-behind)"),
            value=stale,
            target=0,
            meets=stale == 0,
            link=link("parents_stale"),
        ),
    ]
    return Dashboard(
        page="carers",
        title=Lbl("结对关爱", "My paired children"),
        scope=f.carer_ref,
        as_of=d,
        panels=[
            Panel(
                key="pairings",
                label=Lbl("结对档案", "Care files paired to me"),
                figures=figures,
                tables=[
                    Table(
                        key="pairings",
                        label=Lbl("结对档案", "Pairings"),
                        columns=COLUMNS,
                        rows=[pairing_cells(r, settings, d) for r in rows],
                    )
                ],
            )
        ],
    )


@item_list("carers.pairings")
async def pairings_list(ctx: ViewContext) -> ItemList:
    """The caller's pairings with one status (all, pending, accepted, overdue, parents_stale)."""
    f = _filter(ctx)
    status = choice_param(ctx, STATUSES, "all")
    d, settings = ctx.today, ctx.settings
    rows = [r for r in await pairing_rows(ctx, f) if status in pairing_status(r, settings, d)]
    return ItemList(
        key="carers.pairings",
        title=Lbl("结对档案", "Pairings"),
        scope=f.carer_ref,
        as_of=d,
        columns=COLUMNS,
        rows=[pairing_cells(r, settings, d) for r in rows],
    )


@item_list("carers.contacts")
async def contacts_list(ctx: ViewContext) -> ItemList:
    """The contact days of one of the caller's pairings (another's: 404 like a missing one)."""
    f = _filter(ctx)
    pairing_id = ctx.param("pairing_id")
    found = await pairing_rows(ctx, f, pairing_id)
    if not found:
        raise not_found("pairing_id", "pairing")
    rows = await ctx.pool.fetch(
        """SELECT contact_on, mode FROM carers.contacts
           WHERE pairing_id = $1 AND contact_on <= $2 ORDER BY contact_on""",
        pairing_id,
        ctx.today,
    )
    return ItemList(
        key="carers.contacts",
        title=Lbl("联系记录", "Contacts"),
        scope=pairing_id,
        as_of=ctx.today,
        columns=[
            Column(key="contact_on", label=Lbl("联系日期", "Contact on"), unit="date"),
            Column(key="mode", label=Lbl("方式", "Mode")),
        ],
        rows=[[Cell(value=r["contact_on"]), Cell(value=r["mode"])] for r in rows],
    )
