"""The committee page: a parent committee's seats, vacancies and classes represented (counts),
its meetings and the school's open and reception days of the school year, and the feedback that
came through it (received, answered, on time, open, overdue). No student: the model has none.

Who sees which committee: a member (role ``committee_member``, ``sub`` = guardian_ref) the
committees they hold a current seat on (``committee_id`` optional: their first); the school's
principal and family-education coordinator their school's committees (default: the
school-level one). Any other committee is a 404 like a missing one.

The rules are plain functions over the rows (``holds_seat``, ``seat_figures``,
``feedback_status``, ``pick``), tested without a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from tongxin_agencies.application.policy import Action
from tongxin_agencies.application.scoped import choice_param
from tongxin_agencies.application.views import ViewContext, dashboard, item_list
from tongxin_contracts.calendar import school_year_of, year_period
from tongxin_platform.auth import Principal, Role
from tongxin_platform.http import ProblemError, not_found
from tongxin_platform.policy import Scope
from tongxin_web.views import Cell, Column, Dashboard, Figure, ItemList, Panel, list_link
from tongxin_web.views import L as Lbl

Row = Mapping[str, Any]
FEEDBACK_STATUSES = ("received", "answered", "on_time", "open", "overdue")
MEETING_KINDS = ("joint", "parent_meeting", "open_day", "reception_day")
SCHOOL_WIDE = ("open_day", "reception_day")  # the school's days, not linked to a committee
LEVEL_ORDER = {"school": 0, "grade": 1, "class": 2, "district": 3}


def holds_seat(m: Row, d: date) -> bool:
    """A seat is held from ``since`` until the day before ``ended_on``."""
    return bool(m["since"] <= d and (m["ended_on"] is None or d < m["ended_on"]))


@dataclass(frozen=True)
class SeatFigures:
    seats: int
    held: int
    classes: int

    @property
    def vacancies(self) -> int:
        return max(self.seats - self.held, 0)


def seat_figures(seats: int, members: Iterable[Row], d: date) -> SeatFigures:
    current = [m for m in members if holds_seat(m, d)]
    classes = {m["class_id"] or m["represents_school_id"] for m in current} - {None}
    return SeatFigures(seats, len(current), len(classes))


def feedback_status(f: Row, d: date) -> set[str]:
    """received (by ``d``), answered (by ``d``), on_time (answered by its due day), open (not
    answered by ``d``), overdue (open past its due day)."""
    if f["received_on"] > d:
        return set()
    if f["answered_on"] is not None and f["answered_on"] <= d:
        return {"received", "answered"} | ({"on_time"} if f["on_time"] else set())
    return {"received", "open"} | ({"overdue"} if f["due_on"] < d else set())


def pick(visible: Sequence[Row], asked: str | None) -> Row:
    """The committee shown: the one asked for if the caller may see it (else a 404 like a
    missing one), by default the first (school level first, then by id)."""
    if asked:
        for c in visible:
            if c["committee_id"] == asked:
                return c
        raise not_found("committee_id", "committee")
    if not visible:
        raise not_found("committee_id", "committee")
    return sorted(visible, key=lambda c: (LEVEL_ORDER.get(c["level"], 9), c["committee_id"]))[0]


def is_member(who: Principal) -> bool:
    return who.role is Role.committee_member


# --- reads ------------------------------------------------------------------------------------


async def visible_committees(ctx: ViewContext) -> list[dict[str, Any]]:
    """The committees the caller may see on the day."""
    who = ctx.who
    ctx.require(Action.committee_read, Scope(who.district, who.school, who.class_id))
    if is_member(who):
        rows = await ctx.pool.fetch(
            """SELECT c.* FROM committee.committees c
               JOIN committee.members m ON m.committee_id = c.committee_id
               WHERE m.guardian_ref = $1 AND m.since <= $2
                 AND (m.ended_on IS NULL OR $2 < m.ended_on)
               ORDER BY c.committee_id""",
            who.subject,
            ctx.today,
        )
    else:
        if who.school is None:
            raise ProblemError(
                403,
                "Forbidden",
                "a school's staff read its committees with a school-scoped token",
                rule=str(Action.committee_read),
            )
        rows = await ctx.pool.fetch(
            "SELECT * FROM committee.committees WHERE school_id = $1 ORDER BY committee_id",
            who.school,
        )
    return [dict(r) for r in rows if who.district in (None, r["district"])]


async def _committee(ctx: ViewContext) -> Row:
    return pick(await visible_committees(ctx), ctx.params.get("committee_id"))


async def _members(ctx: ViewContext, committee_id: str) -> list[dict[str, Any]]:
    rows = await ctx.pool.fetch(
        """SELECT class_id, represents_school_id, role, since, ended_on
           FROM committee.members WHERE committee_id = $1
           ORDER BY class_id NULLS LAST, since, role""",
        committee_id,
    )
    return [dict(r) for r in rows]


async def _meetings(ctx: ViewContext, c: Row) -> list[dict[str, Any]]:
    """The committee's meetings and its school's open and reception days, in the school year
    of the day, up to the day."""
    start = year_period(school_year_of(ctx.today)).start
    rows = await ctx.pool.fetch(
        """SELECT * FROM committee.meetings
           WHERE held_on BETWEEN $2 AND $3
             AND ($1 = ANY(committee_ids)
                  OR (kind = ANY($4::text[]) AND school_id = $5))
           ORDER BY held_on, meeting_id""",
        c["committee_id"],
        start,
        ctx.today,
        list(SCHOOL_WIDE),
        c["school_id"],
    )
    return [dict(r) for r in rows]


async def _feedback(ctx: ViewContext, committee_id: str) -> list[dict[str, Any]]:
    rows = await ctx.pool.fetch(
        """SELECT * FROM committee.feedback WHERE committee_id = $1
           ORDER BY received_on, item_id""",
        committee_id,
    )
    return [dict(r) for r in rows]


@dashboard("committee")
async def committee_page(ctx: ViewContext) -> Dashboard:
    c = await _committee(ctx)
    cid, d = c["committee_id"], ctx.today
    seats = seat_figures(c["seats"], await _members(ctx, cid), d)
    meetings = await _meetings(ctx, c)
    feedback = [feedback_status(f, d) for f in await _feedback(ctx, cid)]

    def fb(status: str) -> int:
        return sum(status in s for s in feedback)

    def kind_count(kind: str) -> int:
        return sum(m["kind"] == kind for m in meetings)

    seats_link = list_link("committee.seats", committee_id=cid)
    overdue = fb("overdue")
    return Dashboard(
        page="committee",
        title=Lbl("家长委员会", "Parent committee"),
        scope=cid,
        as_of=d,
        panels=[
            Panel(
                key="seats",
                label=Lbl("席位", "Seats"),
                figures=[
                    Figure(
                        key="seats", label=Lbl("席位", "Seats"), value=seats.seats, link=seats_link
                    ),
                    Figure(
                        key="held",
                        label=Lbl("在任委员", "Members"),
                        value=seats.held,
                        link=seats_link,
                    ),
                    Figure(
                        key="vacancies",
                        label=Lbl("空缺", "Vacancies"),
                        value=seats.vacancies,
                        target=0,
                        meets=seats.vacancies == 0,
                        link=seats_link,
                    ),
                    Figure(
                        key="classes",
                        label=Lbl("代表班级数", "Classes represented"),
                        value=seats.classes,
                        link=seats_link,
                    ),
                ],
            ),
            Panel(
                key="meetings",
                label=Lbl("会议与活动（本学年）", "Meetings (this school year)"),
                figures=[
                    Figure(
                        key=kind,
                        label=label,
                        value=kind_count(kind),
                        link=list_link("committee.meetings", committee_id=cid, kind=kind),
                    )
                    for kind, label in (
                        ("joint", Lbl("联席会议", "Joint meetings")),
                        ("parent_meeting", Lbl("家长会", "Parent meetings")),
                        ("open_day", Lbl("开放日", "Open days")),
                        ("reception_day", Lbl("接待日", "Reception days")),
                    )
                ],
            ),
            Panel(
                key="feedback",
                label=Lbl("意见与答复", "Feedback and answers"),
                figures=[
                    Figure(
                        key=f"feedback_{status}",
                        label=label,
                        value=fb(status),
                        target=0 if status == "overdue" else None,
                        meets=(overdue == 0) if status == "overdue" else None,
                        link=list_link("committee.feedback", committee_id=cid, status=status),
                    )
                    for status, label in (
                        ("received", Lbl("收到意见", "Received")),
                        ("answered", Lbl("已答复", "Answered")),
                        ("on_time", Lbl("按时答复", "Answered on time")),
                        ("open", Lbl("待答复", "Open")),
                        ("overdue", Lbl("逾期未答复", "Overdue")),
                    )
                ],
            ),
        ],
    )


@item_list("committee.seats")
async def seats_list(ctx: ViewContext) -> ItemList:
    """The committee's current seats: role, class (or school) represented, since — no guardian."""
    c = await _committee(ctx)
    d = ctx.today
    rows = [m for m in await _members(ctx, c["committee_id"]) if holds_seat(m, d)]
    return ItemList(
        key="committee.seats",
        title=Lbl("在任席位", "Current seats"),
        scope=c["committee_id"],
        as_of=d,
        columns=[
            Column(key="represents", label=Lbl("代表班级/学校", "Represents")),
            Column(key="role", label=Lbl("职务", "Role")),
            Column(key="since", label=Lbl("任职起", "Since"), unit="date"),
        ],
        rows=[
            [
                Cell(value=m["class_id"] or m["represents_school_id"]),
                Cell(value=m["role"]),
                Cell(value=m["since"]),
            ]
            for m in rows
        ],
    )


@item_list("committee.meetings")
async def meetings_list(ctx: ViewContext) -> ItemList:
    """The committee's meetings of the school year (``kind``: one kind)."""
    c = await _committee(ctx)
    kind = ctx.params.get("kind") or None
    if kind is not None and kind not in MEETING_KINDS:
        raise ProblemError(
            422,
            "Invalid parameter",
            f"kind: one of {', '.join(MEETING_KINDS)}",
            field="kind",
            rule="param.choice",
        )
    rows = [m for m in await _meetings(ctx, c) if kind is None or m["kind"] == kind]
    return ItemList(
        key="committee.meetings",
        title=Lbl("会议与活动", "Meetings"),
        scope=c["committee_id"],
        as_of=ctx.today,
        columns=[
            Column(key="held_on", label=Lbl("日期", "Held on"), unit="date"),
            Column(key="kind", label=Lbl("类型", "Kind")),
            Column(key="scope", label=Lbl("范围", "Scope")),
            Column(key="days", label=Lbl("天数", "Days"), unit="count"),
            Column(key="parents_attending", label=Lbl("家长人数", "Parents"), unit="count"),
        ],
        rows=[
            [
                Cell(value=m["held_on"]),
                Cell(value=m["kind"]),
                Cell(value=m["class_id"] or m["scope"]),
                Cell(value=m["days"]),
                Cell(value=m["parents_attending"]),
            ]
            for m in rows
        ],
    )


@item_list("committee.feedback")
async def feedback_list(ctx: ViewContext) -> ItemList:
    """The committee's feedback with one status (received, answered, on_time, open, overdue)."""
    c = await _committee(ctx)
    status = choice_param(ctx, FEEDBACK_STATUSES, "received")
    d = ctx.today
    rows = [f for f in await _feedback(ctx, c["committee_id"]) if status in feedback_status(f, d)]
    return ItemList(
        key="committee.feedback",
        title=Lbl("意见与答复", "Feedback"),
        scope=c["committee_id"],
        as_of=d,
        columns=[
            Column(key="item_id", label=Lbl("编号", "Item")),
            Column(key="channel", label=Lbl("渠道", "Channel")),
            Column(key="topic", label=Lbl("主题", "Topic")),
            Column(key="received_on", label=Lbl("收到", "Received"), unit="date"),
            Column(key="due_on", label=Lbl("答复期限", "Due"), unit="date"),
            Column(key="answered_on", label=Lbl("答复", "Answered"), unit="date"),
            Column(key="on_time", label=Lbl("按时", "On time"), unit="flag"),
        ],
        rows=[_feedback_row(f, d) for f in rows],
    )


def _feedback_row(f: Row, d: date) -> list[Cell]:
    status = feedback_status(f, d)
    answered = "answered" in status
    return [
        Cell(value=f["item_id"]),
        Cell(value=f["channel"]),
        Cell(value=f["topic"]),
        Cell(value=f["received_on"]),
        Cell(value=f["due_on"], meets=False if "overdue" in status else None),
        Cell(value=f["answered_on"] if answered else None),
        Cell(value=f["on_time"] if answered else None, meets=f["on_time"] if answered else None),
    ]
