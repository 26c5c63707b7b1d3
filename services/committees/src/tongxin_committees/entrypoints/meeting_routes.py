"""Meeting routes: a school's joint meetings, parent meetings, open days and reception days (one
POST whose ``kind`` picks the body: a discriminated union, each body forbidding fields it does
not declare — a body with ``ranking``, ``rank`` or ``scores`` is a 422, nothing here can rank a
student), the school's meetings of a school year, the meetings a committee sat in, and the
district's figures per school.

A committee's meetings: staff of the committee's school (and the district) by scope; a committee
member only for a committee where they hold a current seat — any other committee is a 404, the
same body as a missing one (the committees part's ``committee_scope_for``). On the school's
lists (its meetings, its parent school) are its staff's and the district's: a head teacher reads
them for their school, a committee member reads their committee's meetings instead (403 naming
the rule ``member_reads_own_committee`` on the school's list)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi.encoders import jsonable_encoder
from pydantic import Field, StringConstraints

from tongxin_committees.application import queries, school_queries
from tongxin_committees.application.meetings import Meeting
from tongxin_committees.application.policy import POLICY, Action
from tongxin_committees.domain.calendar import school_year_of
from tongxin_committees.domain.meetings import Joint, OpenDay, Parent, Reception, Recorder
from tongxin_committees.entrypoints.deps import (
    App,
    Body,
    Command,
    committee_scope_for,
    district_view,
    school_scope_for,
    today,
)
from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.committees import (
    JointMeetingHeld,
    MeetingScope,
    OpenDayHeld,
    ParentMeetingHeld,
    ReceptionDayHeld,
)
from tongxin_platform.auth import Principal, Role
from tongxin_platform.edge import guard, service_router
from tongxin_platform.fields import Day, DistrictId, Ref, SchoolId, SchoolYearQuery
from tongxin_platform.http import Caller, ProblemError, not_found, require
from tongxin_platform.policy import Scope

router = service_router(tags=["meetings"])

Count = Annotated[int, Field(ge=0, le=100_000)]
Minutes = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000)]
CommitteeIds = Annotated[list[Ref], Field(max_length=50)]


class _Meeting(Body):
    held_on: Day = Field(description="The (first) day (China time).")


class JointBody(_Meeting):
    kind: Literal["joint"]
    committee_ids: CommitteeIds = Field(
        min_length=1, description="The school's committees that sat (家校联席会议)."
    )
    parents_attending: Count = Field(description="Committee members present.")
    staff_attending: Count = Field(description="Staff present.")
    resolutions: Count = Field(description="Resolutions adopted.")
    minutes: Minutes | None = Field(default=None, description="Sealed with the school's key.")


class ParentBody(_Meeting):
    kind: Literal["parent"]
    scope: MeetingScope = Field(description="School, grade or class.")
    grade: int | None = Field(default=None, ge=1, le=12, description="The grade (grade scope).")
    class_id: Ref | None = Field(default=None, description="The class (class scope).")
    families_invited: Count = Field(description="Families invited.")
    parents_attending: Count = Field(description="Parents present (at most those invited).")
    opinions_before: bool = Field(description="Parents' opinions collected beforehand.")
    opinions_after: bool = Field(description="Parents' opinions collected afterwards.")
    committee_ids: CommitteeIds = Field(default_factory=list, description="Committees taking part.")
    minutes: Minutes | None = Field(default=None, description="Sealed with the school's key.")


class OpenDayBody(_Meeting):
    kind: Literal["open_day"]
    days: int = Field(default=1, ge=1, le=7, description="1 for an open day, up to 7 for a week.")
    parents_attending: Count = Field(description="Parents who came.")
    opinions_collected: Count = Field(default=0, description="Written opinions collected.")


class ReceptionBody(_Meeting):
    kind: Literal["reception_day"]
    families_received: Count = Field(description="Families received.")
    received_by: list[Ref] = Field(
        min_length=1,
        max_length=20,
        description="staff_refs of the school's leaders (principal or middle leader) receiving.",
    )


MeetingBody = Annotated[
    JointBody | ParentBody | OpenDayBody | ReceptionBody, Field(discriminator="kind")
]


def _details(body: JointBody | ParentBody | OpenDayBody | ReceptionBody) -> Any:
    match body:
        case JointBody():
            return Joint(
                tuple(body.committee_ids),
                body.parents_attending,
                body.staff_attending,
                body.resolutions,
            )
        case ParentBody():
            return Parent(
                body.scope,
                body.families_invited,
                body.parents_attending,
                body.opinions_before,
                body.opinions_after,
                body.grade,
                body.class_id,
                tuple(body.committee_ids),
            )
        case OpenDayBody():
            return OpenDay(body.days, body.parents_attending, body.opinions_collected)
        case ReceptionBody():
            return Reception(body.families_received, tuple(body.received_by))


def meeting_id_of(e: IntegrationEvent) -> str:
    assert isinstance(e, JointMeetingHeld | ParentMeetingHeld | OpenDayHeld | ReceptionDayHeld)
    return e.meeting_id


async def school_reader(app: App, who: Principal, action: Action, school_id: str) -> Scope:
    """Where a school-level list lives, for a caller who may read it: the school's staff and
    the district by ``school_scope_for``; a head teacher for their own school (any class of it
    reads the school's lists); a committee member never (their committee's routes instead)."""
    if who.role is Role.committee_member:
        raise ProblemError(
            403,
            "Forbidden",
            "a committee member reads their own committee's meetings and feedback "
            "(/committees/{committee_id}/...), not the school's lists",
            field="school_id",
            rule="member_reads_own_committee",
        )
    if who.role is not Role.head_teacher:
        return await school_scope_for(app, who, action, school_id)
    require(POLICY, who, action, Scope(who.district, who.school, who.class_id))
    row = await queries.school(app.pool, school_id)
    if row is None:
        raise not_found("school_id", "school")
    where = Scope(row["district"], school_id, who.class_id)
    require(POLICY, who, action, where)
    return Scope(row["district"], school_id)


async def _class_scope(
    app: App,
    who: Principal,
    school_id: str,
    body: JointBody | ParentBody | OpenDayBody | ReceptionBody,
) -> Scope:
    """A head teacher records their own class's parent meetings only: any other meeting is a
    403 naming the rule ``head_teacher_own_class``."""
    if (
        not isinstance(body, ParentBody)
        or body.scope is not MeetingScope.class_
        or (body.class_id != who.class_id)
    ):
        raise ProblemError(
            403,
            "Forbidden",
            "a head teacher records their own class's parent meetings",
            field="class_id",
            rule="head_teacher_own_class",
        )
    require(POLICY, who, Action.meeting_record, Scope(who.district, who.school, who.class_id))
    row = await queries.school(app.pool, school_id)
    if row is None:
        raise not_found("school_id", "school")
    where = Scope(row["district"], school_id, body.class_id)
    require(POLICY, who, Action.meeting_record, where)
    return where


@router.post(
    "/schools/{school_id}/meetings",
    summary="Record a joint meeting, parent meeting, open day or reception day",
)
@guard(POLICY, Action.meeting_record)
async def record_meeting(school_id: SchoolId, body: MeetingBody, cmd: Command) -> Any:
    app, who = cmd.app, cmd.who
    head = who.role is Role.head_teacher
    where = await (
        _class_scope(app, who, school_id, body)
        if head
        else school_scope_for(app, who, Action.meeting_record, school_id)
    )
    recorder = Recorder(who.subject, who.class_id if head else None, head)
    minutes = getattr(body, "minutes", None)
    meeting = Meeting(
        where.district or "", school_id, body.held_on, recorder, _details(body), minutes
    )
    return await cmd(
        lambda: app.service.meetings.record(meeting),
        tell=lambda events: {"meeting_id": meeting_id_of(events[0]), "kind": body.kind},
    )


@router.get(
    "/schools/{school_id}/meetings",
    summary="The school's meetings of a school year (counts; minutes stay sealed)",
)
@guard(POLICY, Action.meeting_read)
async def school_meetings(
    school_id: SchoolId, app: App, who: Caller, school_year: SchoolYearQuery = None
) -> Any:
    await school_reader(app, who, Action.meeting_read, school_id)
    year = school_year or school_year_of(today(app))
    rows = await school_queries.school_meetings(app.pool, school_id, year)
    return jsonable_encoder({"school_id": school_id, "school_year": year, "meetings": rows})


@router.get(
    "/committees/{committee_id}/meetings",
    summary="The meetings a committee sat in (a member: their own committee's only)",
)
@guard(POLICY, Action.meeting_read)
async def committee_meetings(committee_id: Ref, app: App, who: Caller) -> Any:
    await committee_scope_for(app, who, Action.meeting_read, committee_id, today(app))
    rows = await school_queries.committee_meetings(app.pool, committee_id)
    return jsonable_encoder({"committee_id": committee_id, "meetings": rows})


@router.get(
    "/districts/{district}/meeting-figures",
    summary="Per school: joint and parent meetings (opinions before/after), open days, "
    "reception days",
)
@guard(POLICY, Action.meeting_figures)
async def meeting_figures(
    district: DistrictId, app: App, who: Caller, school_year: SchoolYearQuery = None
) -> Any:
    own = district_view(who, Action.meeting_figures, district)
    year = school_year or school_year_of(today(app))
    return jsonable_encoder(
        await school_queries.meeting_figures(
            app.pool, district, year, own, app.settings.open_days_per_year
        )
    )
