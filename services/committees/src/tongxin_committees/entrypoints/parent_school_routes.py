"""Parent-school routes: the school's parent school (家长学校) established or updated, headed by
its principal; its sessions with class hours and attendance; the school year's view (sessions,
the teaching rule's figures, the district's assessment, the coordinator); the district's
assessment; the family-education coordinator appointed (by the principal) and withdrawn; the
district's figures per school with its share of standard parent schools against the target."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi.encoders import jsonable_encoder
from pydantic import Field, StringConstraints

from tongxin_committees.application import school_queries
from tongxin_committees.application.policy import POLICY, Action
from tongxin_committees.domain.calendar import school_year_of
from tongxin_committees.domain.parent_school import (
    Appoint,
    Assess,
    Establish,
    RecordSession,
    TeachingRule,
)
from tongxin_committees.entrypoints.deps import (
    App,
    Body,
    Command,
    district_view,
    school_scope_for,
    today,
)
from tongxin_committees.entrypoints.meeting_routes import school_reader
from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.committees import (
    AssessmentCriterion,
    ParentSchoolSessionHeld,
    SessionKind,
    SessionMode,
    SessionTopic,
)
from tongxin_platform.edge import guard, service_router
from tongxin_platform.fields import Day, DistrictId, Ref, SchoolId, SchoolYear, SchoolYearQuery
from tongxin_platform.http import Caller

router = service_router(tags=["parent school"])

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000)]


class ParentSchoolBody(Body):
    head_ref: Ref = Field(description="staff_ref of its head: the school's principal.")
    management: list[Ref] = Field(
        max_length=50, description="staff_refs of its management committee (staff of the school)."
    )
    teachers: list[Ref] = Field(
        max_length=200,
        description="Its teaching staff: staff of the school, or outside lecturers by pseudonym.",
    )
    has_venue: bool = Field(description="A fixed office and teaching place.")
    curriculum_units: int = Field(ge=0, le=1000, description="Units in its curriculum.")
    curriculum: Text | None = Field(default=None, description="Sealed with the school's key.")


class SessionBody(Body):
    kind: SessionKind = Field(
        description="Lecture kinds are taught; practice, consultation, salon are activities."
    )
    mode: SessionMode = Field(description="In person or online.")
    held_on: Day = Field(description="The day (China time); counts in its school year.")
    class_hours: float = Field(gt=0, le=8, description="Class hours (课时).")
    topic: SessionTopic = Field(description="What it was about.")
    attendance: int = Field(ge=0, le=100_000, description="Parents attending.")
    title: Text | None = Field(default=None, description="Sealed with the school's key.")


class AssessmentBody(Body):
    school_year: SchoolYear
    standard: bool = Field(description="Assessed a standard parent school (规范化家长学校).")
    criteria_met: list[AssessmentCriterion] = Field(max_length=20, description="Criteria met.")


class CoordinatorBody(Body):
    staff_ref: Ref = Field(description="The coordinator: a staff member of the school.")
    led_by: Ref = Field(
        description="The school leader who leads the work (principal or middle leader: the "
        "roster has no vice-principal role)."
    )


class WithdrawalBody(Body):  # an empty body
    pass


def _held(events: Sequence[IntegrationEvent]) -> dict[str, Any]:
    held = next(e for e in events if isinstance(e, ParentSchoolSessionHeld))
    return {"session_id": held.session_id, "school_year": held.school_year}


def _rule(app: App) -> TeachingRule:
    s = app.settings
    return TeachingRule(s.parent_school_sessions, s.parent_school_hours, s.parent_school_activities)


@router.post(
    "/schools/{school_id}/parent-school",
    summary="Establish (or update) the school's parent school, headed by its principal",
)
@guard(POLICY, Action.parent_school_manage)
async def establish(school_id: SchoolId, body: ParentSchoolBody, cmd: Command) -> Any:
    app, who = cmd.app, cmd.who
    where = await school_scope_for(app, who, Action.parent_school_manage, school_id)
    established = Establish(
        where.district or "",
        school_id,
        body.head_ref,
        tuple(body.management),
        tuple(body.teachers),
        body.has_venue,
        body.curriculum_units,
    )
    return await cmd(
        lambda: app.service.parent_schools.establish(established, body.curriculum or None),
        school_id=school_id,
    )


@router.get(
    "/schools/{school_id}/parent-school",
    summary="The parent school, its sessions of a school year, the teaching rule's figures, "
    "the assessment and the coordinator",
)
@guard(POLICY, Action.parent_school_read)
async def parent_school(
    school_id: SchoolId, app: App, who: Caller, school_year: SchoolYearQuery = None
) -> Any:
    await school_reader(app, who, Action.parent_school_read, school_id)
    year = school_year or school_year_of(today(app))
    return jsonable_encoder(
        await school_queries.parent_school(app.pool, school_id, year, _rule(app))
    )


@router.post(
    "/schools/{school_id}/parent-school/sessions",
    summary="Record a parent-school session (lecture, practice, consultation, salon, …)",
)
@guard(POLICY, Action.session_record)
async def record_session(school_id: SchoolId, body: SessionBody, cmd: Command) -> Any:
    app, who = cmd.app, cmd.who
    where = await school_scope_for(app, who, Action.session_record, school_id)

    def session() -> RecordSession:  # a new id per run (not per request)
        return RecordSession(
            where.district or "",
            school_id,
            str(app.service.writer.new_id()),
            body.kind,
            body.mode,
            body.held_on,
            body.class_hours,
            body.topic,
            body.attendance,
            who.subject,
        )

    return await cmd(
        lambda: app.service.parent_schools.record_session(session(), body.title or None),
        tell=_held,
    )


@router.post(
    "/schools/{school_id}/parent-school/assessment",
    summary="The district's standard-parent-school assessment of a school year",
)
@guard(POLICY, Action.parent_school_assess)
async def assess(school_id: SchoolId, body: AssessmentBody, cmd: Command) -> Any:
    app, who = cmd.app, cmd.who
    where = await school_scope_for(app, who, Action.parent_school_assess, school_id)
    assessed = Assess(
        where.district or "",
        school_id,
        body.school_year,
        body.standard,
        tuple(body.criteria_met),
        who.subject,
    )
    return await cmd(lambda: app.service.parent_schools.assess(assessed), school_id=school_id)


@router.post(
    "/schools/{school_id}/family-education-coordinator",
    summary="Appoint the school's family-education coordinator (the principal appoints)",
)
@guard(POLICY, Action.coordinator_appoint)
async def appoint(school_id: SchoolId, body: CoordinatorBody, cmd: Command) -> Any:
    app, who = cmd.app, cmd.who
    where = await school_scope_for(app, who, Action.coordinator_appoint, school_id)
    appointed = Appoint(where.district or "", school_id, body.staff_ref, body.led_by)
    return await cmd(lambda: app.service.parent_schools.appoint(appointed), school_id=school_id)


@router.post(
    "/schools/{school_id}/family-education-coordinator/withdrawal",
    summary="Withdraw the school's family-education coordinator",
)
@guard(POLICY, Action.coordinator_appoint)
async def withdraw(school_id: SchoolId, body: WithdrawalBody, cmd: Command) -> Any:
    app, who = cmd.app, cmd.who
    where = await school_scope_for(app, who, Action.coordinator_appoint, school_id)
    return await cmd(
        lambda: app.service.parent_schools.withdraw(where.district or "", school_id),
        school_id=school_id,
    )


@router.get(
    "/districts/{district}/parent-school-figures",
    summary="Per school: the teaching rule, the assessment, the coordinator; the district's "
    "share of standard parent schools against the target",
)
@guard(POLICY, Action.parent_school_figures)
async def parent_school_figures(
    district: DistrictId, app: App, who: Caller, school_year: SchoolYearQuery = None
) -> Any:
    own = district_view(who, Action.parent_school_figures, district)
    year = school_year or school_year_of(today(app))
    return jsonable_encoder(
        await school_queries.parent_school_figures(
            app.pool, district, year, own, _rule(app), app.settings.standard_school_target
        )
    )
