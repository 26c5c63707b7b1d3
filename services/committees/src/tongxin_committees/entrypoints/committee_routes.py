"""Committee routes: committees at class, grade and school level (and the district committee
where the district runs one), their charters, nominations, elections and by-elections,
resignations and removals; the committee views (members with their names opened for managers
and fellow members, vacancies, nominees, representation of every class), a member's own
committees, and the district's figures per school.

A committee member (role ``committee_member``, ``sub`` = their ``guardian_ref``) sees only the
committees where they hold a seat: any other is a 404 with the same body as a missing one. No
answer names a student.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, Literal

from fastapi.encoders import jsonable_encoder
from pydantic import Field, StringConstraints

from tongxin_committees.application import committee_queries, queries
from tongxin_committees.application.committees import NewCommittee
from tongxin_committees.application.policy import MANAGERS, POLICY, Action
from tongxin_committees.domain.committees import Choice
from tongxin_committees.entrypoints.deps import (
    App,
    Body,
    Command,
    CommitteeId,
    GuardianRef,
    committee_scope_for,
    district_view,
    school_scope_for,
    schools_own_work,
    today,
)
from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.committees import (
    CommitteeFormed,
    CommitteeLevel,
    RemovalReason,
    ResignReason,
    SeatRole,
)
from tongxin_platform import access
from tongxin_platform.auth import Principal, Role
from tongxin_platform.edge import guard, service_router
from tongxin_platform.fields import AsOf, Day, DistrictId, Ref, SchoolId
from tongxin_platform.http import Caller, ProblemError, not_found, require
from tongxin_platform.policy import Scope

router = service_router(tags=["committees"])

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class TermBody(Body):
    seats: int = Field(ge=1, le=99, description="Seats on the committee.")
    term_start: Day = Field(description="First day of the term (China time).")
    term_end: Day = Field(description="Last day of the term (after term_start).")


class FormBody(TermBody):
    level: Literal["class", "grade", "school"] = Field(description="三级家委会: the level.")
    grade: int | None = Field(default=None, ge=1, le=12, description="The grade (grade level).")
    class_id: Ref | None = Field(default=None, description="The class (class level).")


class CharterBody(Body):
    articles: int = Field(ge=1, le=999, description="Number of articles.")
    text: Text = Field(description="The charter: sealed with the school's (district's) key.")


class CandidateBody(Body):
    guardian_ref: Ref = Field(description="The guardian (the roster's pseudonym).")
    name: Name = Field(description="The guardian's name: sealed with the guardian's key.")
    class_id: Ref | None = Field(
        default=None,
        description="The class they represent: one of their children's classes in the scope "
        "(required when there are several).",
    )
    school_id: Ref | None = Field(
        default=None, description="District committee: the school they represent."
    )


class SeatBody(Body):
    guardian_ref: Ref = Field(description="A nominee of the round.")
    role: SeatRole = Field(default=SeatRole.member, description="The seat's role.")
    standing: bool = Field(default=False, description="District committee: a standing member.")


class ElectionBody(Body):
    elected_on: Day = Field(description="The day of the election (China time).")
    voters: int | None = Field(default=None, ge=0, le=1_000_000, description="Guardians voting.")
    members: list[SeatBody] = Field(min_length=1, max_length=99, description="The seats filled.")


class ByElectionBody(Body):
    held_on: Day = Field(description="The day of the by-election (China time).")
    seats: int | None = Field(
        default=None,
        ge=1,
        le=99,
        description="The seats after it, if the recorder states them (checked: the seats grow "
        "only by the unrepresented classes filled beyond the vacancies).",
    )
    members: list[SeatBody] = Field(min_length=1, max_length=99, description="The seats filled.")


class ResignBody(Body):
    reason: ResignReason = Field(description="Why.")


class RemovalBody(Body):
    reason: RemovalReason = Field(description="Why.")
    note: Note | None = Field(default=None, description="Sealed with the school's key.")


def _formed(events: Sequence[IntegrationEvent]) -> dict[str, Any]:
    return {"committee_id": next(e.committee_id for e in events if isinstance(e, CommitteeFormed))}


def _choices(members: list[SeatBody]) -> tuple[Choice, ...]:
    return tuple(Choice(m.guardian_ref, m.role, m.standing) for m in members)


def _sees_names(who: Principal, row: dict[str, Any]) -> bool:
    """Managers of the school (the bureau for a district committee) and fellow members."""
    if who.role in MANAGERS or who.role is Role.committee_member:
        return True
    return who.role is Role.bureau_officer and row["school_id"] is None


# --- committees ----------------------------------------------------------------------------------


@router.post("/schools/{school_id}/committees", summary="Form a class, grade or school committee")
@guard(POLICY, Action.committee_form)
async def form_committee(school_id: SchoolId, body: FormBody, cmd: Command) -> Any:
    app, who = cmd.app, cmd.who
    where = await school_scope_for(app, who, Action.committee_form, school_id)
    schools_own_work(who, Action.committee_form)
    return await cmd(
        lambda: app.service.committees.form(
            NewCommittee(
                district=where.district or "",
                school_id=school_id,
                level=CommitteeLevel(body.level),
                seats=body.seats,
                term_start=body.term_start,
                term_end=body.term_end,
                formed_on=today(app),
                formed_by=who.subject,
                grade=body.grade,
                class_id=body.class_id,
            ),
            district_runs_one=False,
        ),
        tell=_formed,
    )


@router.post(
    "/districts/{district}/committees",
    summary="Form the district committee (where the district runs one), by a bureau officer",
)
@guard(POLICY, Action.committee_form)
async def form_district_committee(district: DistrictId, body: TermBody, cmd: Command) -> Any:
    app, who = cmd.app, cmd.who
    district_view(who, Action.committee_form, district)
    if who.role is not Role.bureau_officer:
        raise ProblemError(
            403,
            "Forbidden",
            "caller: a district committee is formed by the district bureau",
            rule="district_committee_by_bureau",
        )
    return await cmd(
        lambda: app.service.committees.form(
            NewCommittee(
                district=district,
                school_id=None,
                level=CommitteeLevel.district,
                seats=body.seats,
                term_start=body.term_start,
                term_end=body.term_end,
                formed_on=today(app),
                formed_by=who.subject,
            ),
            district_runs_one=app.settings.runs_district_committee(district),
        ),
        tell=_formed,
    )


async def _mine_only(app: App, who: Principal, on: date) -> list[str] | None:
    """A committee member's own committees (ids); ``None`` for everyone else (no filter)."""
    if who.role is not Role.committee_member:
        return None
    return [r["committee_id"] for r in await committee_queries.mine(app.pool, who.subject, on)]


@router.get(
    "/schools/{school_id}/committees",
    summary="The school's committees: level, seats, members (by pseudonym), vacancies",
)
@guard(POLICY, Action.committee_read)
async def school_committees(school_id: SchoolId, app: App, who: Caller, as_of: AsOf = None) -> Any:
    day = as_of or today(app)
    if who.role is Role.head_teacher and who.class_id is not None:
        # a head teacher sees their own class's committee(s) of their school
        cls = await queries.class_(app.pool, who.class_id)
        where = Scope(who.district, cls["school_id"] if cls else None, who.class_id)
        require(POLICY, who, Action.committee_read, where)
        if where.school != school_id:
            raise not_found("school_id", "school")
        rows = await committee_queries.listed(app.pool, "school", school_id, day)
        only: list[str] | None = [r["committee_id"] for r in rows if r["class_id"] == who.class_id]
    else:
        await school_scope_for(app, who, Action.committee_read, school_id)
        only = await _mine_only(app, who, day)
    rows = await committee_queries.listed(app.pool, "school", school_id, day, only)
    return jsonable_encoder({"school_id": school_id, "as_of": day, "committees": rows})


@router.get("/districts/{district}/committees", summary="The district committee(s)")
@guard(POLICY, Action.committee_read)
async def district_committees(
    district: DistrictId, app: App, who: Caller, as_of: AsOf = None
) -> Any:
    if who.role is not Role.committee_member:
        district_view(who, Action.committee_read, district)
    elif who.district != district:
        raise ProblemError(
            403, "Forbidden", "committee.read outside the caller's scope", rule="committee.read"
        )
    day = as_of or today(app)
    only = await _mine_only(app, who, day)
    rows = await committee_queries.listed(app.pool, "district", district, day, only)
    return jsonable_encoder({"district": district, "as_of": day, "committees": rows})


@router.get("/committees/mine", summary="The caller's (a member's) committees and seats")
@guard(POLICY, Action.committee_mine)
async def my_committees(app: App, who: Caller, as_of: AsOf = None) -> Any:
    day = as_of or today(app)
    rows = await committee_queries.mine(app.pool, who.subject, day)
    return jsonable_encoder({"guardian_ref": who.subject, "as_of": day, "committees": rows})


@router.get(
    "/committees/{committee_id}",
    summary="One committee: charter version, term, members (names for managers and members), "
    "vacancies, the open round's nominees, representation (school level)",
)
@guard(POLICY, Action.committee_read)
async def committee(committee_id: CommitteeId, app: App, who: Caller, as_of: AsOf = None) -> Any:
    day = as_of or today(app)
    row = await committee_scope_for(app, who, Action.committee_read, committee_id, day)
    async with app.transactions.read() as uow:
        shown = await committee_queries.one(app.pool, uow, committee_id, day)
    if shown is None:  # formed a moment ago: not in the read model yet
        raise not_found("committee_id", "committee")
    if _sees_names(who, row):
        refs = sorted({m["guardian_ref"] for m in shown["members"] + shown["nominees"]})
        await access.log_reads(
            app.pool,
            who,
            Action.committee_read,
            [f"guardian-{g}" for g in refs],
            district=row["district"],
            purpose="committee",
        )
    else:
        for m in shown["members"] + shown["nominees"]:
            m["name"] = None
    return jsonable_encoder({"as_of": day, **shown})


@router.post("/committees/{committee_id}/charter", summary="Adopt the charter (or a new version)")
@guard(POLICY, Action.charter_adopt)
async def adopt_charter(committee_id: CommitteeId, body: CharterBody, cmd: Command) -> Any:
    app, who = cmd.app, cmd.who
    await committee_scope_for(app, who, Action.charter_adopt, committee_id, today(app))
    return await cmd(
        lambda: app.service.committees.adopt_charter(
            committee_id, articles=body.articles, text=body.text, on=today(app), by=who.subject
        ),
        tell=lambda events: {"version_no": getattr(events[0], "version_no", None)},
        committee_id=committee_id,
    )


@router.post(
    "/committees/{committee_id}/candidates",
    summary="Nominate a guardian of a child enrolled in the committee's scope (idempotent)",
)
@guard(POLICY, Action.candidate_nominate)
async def nominate(committee_id: CommitteeId, body: CandidateBody, cmd: Command) -> Any:
    app, who = cmd.app, cmd.who
    await committee_scope_for(app, who, Action.candidate_nominate, committee_id, today(app))
    return await cmd(
        lambda: app.service.committees.nominate(
            committee_id,
            guardian_ref=body.guardian_ref,
            name=body.name,
            on=today(app),
            by=who.subject,
            class_id=body.class_id,
            school_id=body.school_id,
        ),
        tell=lambda events: {
            "round_no": getattr(events[0], "round_no", None) if events else None,
            "nominated_already": not events,
        },
        committee_id=committee_id,
        guardian_ref=body.guardian_ref,
    )


@router.post("/committees/{committee_id}/election", summary="Record the election's result")
@guard(POLICY, Action.election_record)
async def election(committee_id: CommitteeId, body: ElectionBody, cmd: Command) -> Any:
    app, who = cmd.app, cmd.who
    await committee_scope_for(app, who, Action.election_record, committee_id, today(app))
    return await cmd(
        lambda: app.service.committees.elect(
            committee_id,
            members=_choices(body.members),
            elected_on=body.elected_on,
            by=who.subject,
            voters=body.voters,
        ),
        committee_id=committee_id,
    )


@router.post("/committees/{committee_id}/by-election", summary="Record a by-election (补选)")
@guard(POLICY, Action.election_record)
async def by_election(committee_id: CommitteeId, body: ByElectionBody, cmd: Command) -> Any:
    app, who = cmd.app, cmd.who
    await committee_scope_for(app, who, Action.election_record, committee_id, today(app))
    return await cmd(
        lambda: app.service.committees.by_election(
            committee_id,
            members=_choices(body.members),
            held_on=body.held_on,
            by=who.subject,
            seats=body.seats,
        ),
        tell=lambda events: {"seats": getattr(events[0], "seats", None) if events else None},
        committee_id=committee_id,
    )


@router.post(
    "/committees/{committee_id}/members/{guardian_ref}/resignation",
    summary="A member resigns (themself, or recorded by staff)",
)
@guard(POLICY, Action.member_resign)
async def resign(
    committee_id: CommitteeId, guardian_ref: GuardianRef, body: ResignBody, cmd: Command
) -> Any:
    app, who = cmd.app, cmd.who
    await committee_scope_for(app, who, Action.member_resign, committee_id, today(app))
    if who.role is Role.committee_member and who.subject != guardian_ref:
        raise ProblemError(
            403,
            "Forbidden",
            "caller: a member resigns their own seat only",
            rule="member_resigns_own_seat",
        )
    return await cmd(
        lambda: app.service.committees.resign(
            committee_id, guardian_ref, reason=body.reason, on=today(app), by=who.subject
        ),
        committee_id=committee_id,
    )


@router.post(
    "/committees/{committee_id}/members/{guardian_ref}/removal",
    summary="Remove a member, with the reason (and who decided)",
)
@guard(POLICY, Action.member_remove)
async def remove(
    committee_id: CommitteeId, guardian_ref: GuardianRef, body: RemovalBody, cmd: Command
) -> Any:
    app, who = cmd.app, cmd.who
    await committee_scope_for(app, who, Action.member_remove, committee_id, today(app))
    return await cmd(
        lambda: app.service.committees.remove(
            committee_id,
            guardian_ref,
            reason=body.reason,
            on=today(app),
            by=who.subject,
            note=body.note or None,
        ),
        committee_id=committee_id,
        decided_by=who.subject,
    )


@router.get(
    "/schools/{school_id}/representation",
    summary="Every class of the school and its representative(s) on the school committee, or none",
)
@guard(POLICY, Action.committee_read)
async def representation(school_id: SchoolId, app: App, who: Caller, as_of: AsOf = None) -> Any:
    await school_scope_for(app, who, Action.committee_read, school_id)
    day = as_of or today(app)
    found = await committee_queries.representation(app.pool, school_id, day)
    # A member sees the school committee's seats only if they sit on it (a school-level list:
    # a 403 naming the rule, as for the school's other lists).
    if who.role is Role.committee_member and not (
        found["committee_id"] is not None
        and await committee_queries.holds_seat(app.pool, found["committee_id"], who.subject, day)
    ):
        raise ProblemError(
            403,
            "Forbidden",
            "caller: a member reads the representation of the school committee they sit on",
            rule="member_reads_own_committee",
        )
    return jsonable_encoder(found)


@router.get(
    "/districts/{district}/committee-figures",
    summary="Per school: committees by level, school committee elected, classes unrepresented, "
    "vacancies, committees without a charter; totals",
)
@guard(POLICY, Action.committee_figures)
async def committee_figures(district: DistrictId, app: App, who: Caller, as_of: AsOf = None) -> Any:
    own = district_view(who, Action.committee_figures, district)
    day = as_of or today(app)
    return jsonable_encoder(await committee_queries.district_figures(app.pool, district, day, own))
