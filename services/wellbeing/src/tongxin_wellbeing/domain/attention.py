"""The attention list (关注名单) and the plan it opens (一生一策), decided on the student's two
streams together: ``attention-<student_ref>`` and ``plan-<student_ref>``.

Rules (seed 004: the head teacher, the psychology teacher and the health vice-principal form the
list together):

- a proposal — from a screening flag, a member of staff, a home visit's mental-health finding or
  a mental-health follow-up case — is recorded once while a proposal is open or the student is
  listed: a staff member proposing again is refused (``one_open_proposal``, ``already_listed``),
  a reaction seeing the same student again changes nothing;
- a listing needs three sign-offs by three distinct people holding the three roles in the
  student's school (the roster is checked by the application, which passes what it found): the
  same person twice (``distinct_signers``), a role not held (``role_held``) and a role signed
  already (``one_sign_off_per_role``) are refused;
- the third sign-off lists the student and opens the plan, owned by the psychology teacher who
  signed (a plan already open is kept: one student, one plan);
- removal records the reason and who decided, withdraws an open proposal, and closes the plan;
- a transfer to another school of the same district hands the plan over to the receiving school
  and the listing follows the student (the receiving school's team takes it over); a move to
  another district, or a student leaving, removes the student and closes the plan.

Pure: no I/O, no clock (``now`` is given), no ids (given by the caller).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from tongxin_contracts import IntegrationEvent, Sealed
from tongxin_contracts.events.wellbeing import (
    AttentionListProposed,
    AttentionListSignedOff,
    CarePlanClosed,
    CarePlanHandedOver,
    CarePlanOpened,
    CarePlanReviewed,
    PlanClosedReason,
    ProposalSource,
    RemovalReason,
    SignOffRole,
    StudentAddedToAttentionList,
    StudentRemovedFromAttentionList,
    TargetedVisitRequested,
    attention_stream,
    plan_stream,
)
from tongxin_platform.domain import ConflictError
from tongxin_wellbeing.domain.calendar import china_date
from tongxin_wellbeing.domain.errors import NotEntitledError, UnknownRecordError, WellbeingError

SERVICE_DECIDER = "wellbeing-service"  # who decided a removal the service made (a transfer)


class AlreadyDecidedError(WellbeingError, ConflictError):
    """409: the thing was done already (a proposal open, a role signed, a month reviewed)."""


@dataclass(frozen=True, slots=True)
class Where:
    """Where the student is enrolled, from the roster, when the command is decided."""

    district: str
    school_id: str
    class_id: str | None = None


@dataclass(slots=True)
class AttentionState:
    status: str = "none"  # none | proposed | listed
    proposal_id: str | None = None
    signed: dict[SignOffRole, str] = field(default_factory=dict)  # role → staff_ref
    district: str | None = None
    school_id: str | None = None


@dataclass(slots=True)
class PlanState:
    plan_id: str | None = None
    status: str = "none"  # none | open | closed
    district: str | None = None
    school_id: str | None = None
    opened_on: str | None = None  # ISO day
    months: set[str] = field(default_factory=set)  # months reviewed

    @property
    def open(self) -> bool:
        return self.status == "open"


def fold_attention(history: list[IntegrationEvent]) -> AttentionState:
    s = AttentionState()
    for e in history:
        if isinstance(e, AttentionListProposed):
            s.status, s.proposal_id, s.signed = "proposed", e.proposal_id, {}
            s.district, s.school_id = e.district, e.school_id
        elif isinstance(e, AttentionListSignedOff):
            s.signed[e.role] = e.staff_ref
        elif isinstance(e, StudentAddedToAttentionList):
            s.status = "listed"
            s.district, s.school_id = e.district, e.school_id
        elif isinstance(e, StudentRemovedFromAttentionList):
            s.status, s.proposal_id, s.signed = "none", None, {}
    return s


def fold_plan(history: list[IntegrationEvent]) -> PlanState:
    s = PlanState()
    for e in history:
        if isinstance(e, CarePlanOpened):
            s.plan_id, s.status, s.months = e.plan_id, "open", set()
            s.district, s.school_id, s.opened_on = e.district, e.school_id, e.opened_on.isoformat()
        elif isinstance(e, CarePlanReviewed):
            s.months.add(e.month)
        elif isinstance(e, CarePlanHandedOver):
            s.district, s.school_id = e.to_district, e.to_school_id
        elif isinstance(e, CarePlanClosed):
            s.status = "closed"
    return s


def streams_of(student_ref: str) -> tuple[str, str]:
    return attention_stream(student_ref), plan_stream(student_ref)


def _states(
    student_ref: str, histories: Mapping[str, list[IntegrationEvent]]
) -> tuple[AttentionState, PlanState]:
    a, p = streams_of(student_ref)
    return fold_attention(histories.get(a, [])), fold_plan(histories.get(p, []))


# --- commands --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Propose:
    student_ref: str
    where: Where
    proposal_id: str
    source: ProposalSource
    proposed_by: str | None = None
    reason: Sealed | None = None


@dataclass(frozen=True, slots=True)
class SignOff:
    student_ref: str
    where: Where
    proposal_id: str
    role: SignOffRole
    staff_ref: str
    token_role: str  # the role of the caller's token
    holds_role: bool  # the roster: the staff member holds ``role`` for this student's school
    plan_id: str  # the id of the plan, if this sign-off lists the student


@dataclass(frozen=True, slots=True)
class Remove:
    student_ref: str
    reason: RemovalReason
    decided_by: str


@dataclass(frozen=True, slots=True)
class Move:
    """The registry's ``StudentTransferred`` (``where``: the new school) or ``StudentLeft``
    (``where`` is ``None``)."""

    student_ref: str
    where: Where | None


def decide_proposal(
    cmd: Propose, histories: Mapping[str, list[IntegrationEvent]], now: datetime
) -> list[IntegrationEvent]:
    """Staff proposals are refused while one is open or the student is listed; reactions call
    ``decide_proposal_once`` instead, which records nothing in that case."""
    attention, _ = _states(cmd.student_ref, histories)
    if attention.status == "listed":
        raise AlreadyDecidedError(
            "the student is on the attention list already", "student_ref", rule="already_listed"
        )
    if attention.status == "proposed":
        raise AlreadyDecidedError(
            f"proposal {attention.proposal_id} is open for the student",
            "student_ref",
            rule="one_open_proposal",
        )
    return [
        AttentionListProposed(
            district=cmd.where.district,
            school_id=cmd.where.school_id,
            student_ref=cmd.student_ref,
            proposal_id=cmd.proposal_id,
            source=cmd.source,
            proposed_by=cmd.proposed_by,
            reason=cmd.reason,
        )
    ]


def decide_proposal_once(
    cmd: Propose, histories: Mapping[str, list[IntegrationEvent]], now: datetime
) -> list[IntegrationEvent]:
    """A reaction's proposal: once per student while a proposal is open or they are listed,
    however many visits, cases or screenings say so."""
    try:
        return decide_proposal(cmd, histories, now)
    except AlreadyDecidedError:
        return []


def decide_sign_off(
    cmd: SignOff, histories: Mapping[str, list[IntegrationEvent]], now: datetime
) -> list[IntegrationEvent]:
    attention, plan = _states(cmd.student_ref, histories)
    if attention.status != "proposed" or attention.proposal_id != cmd.proposal_id:
        raise UnknownRecordError("no open proposal with this id for the student", "proposal_id")
    if cmd.token_role != cmd.role.value:
        raise NotEntitledError(
            f"a {cmd.token_role} token may not sign as {cmd.role.value}",
            "role",
            rule="sign_as_own_role",
        )
    if not cmd.holds_role:
        raise NotEntitledError(
            f"the roster does not give {cmd.staff_ref} the role {cmd.role.value} for this "
            "student's school (a head teacher: the student's class)",
            "role",
            rule="role_held",
        )
    if cmd.role in attention.signed:
        raise AlreadyDecidedError(
            f"{cmd.role.value} has signed this proposal off already",
            "role",
            rule="one_sign_off_per_role",
        )
    if cmd.staff_ref in attention.signed.values():
        raise WellbeingError(
            "three distinct people sign a listing off: this person signed already",
            "role",
            rule="distinct_signers",
        )
    where = cmd.where
    out: list[IntegrationEvent] = [
        AttentionListSignedOff(
            district=where.district,
            school_id=where.school_id,
            student_ref=cmd.student_ref,
            proposal_id=cmd.proposal_id,
            role=cmd.role,
            staff_ref=cmd.staff_ref,
        )
    ]
    signed = {**attention.signed, cmd.role: cmd.staff_ref}
    if len(signed) < len(SignOffRole):
        return out
    out.append(
        StudentAddedToAttentionList(
            district=where.district,
            school_id=where.school_id,
            student_ref=cmd.student_ref,
            proposal_id=cmd.proposal_id,
            class_id=where.class_id,
            signed_by=[signed[r] for r in SignOffRole],
        )
    )
    if not plan.open:
        out.append(
            CarePlanOpened(
                district=where.district,
                school_id=where.school_id,
                student_ref=cmd.student_ref,
                plan_id=cmd.plan_id,
                opened_on=china_date(now),
                owner_ref=signed[SignOffRole.psych_teacher],
            )
        )
    return out


def _removed(
    attention: AttentionState,
    plan: PlanState,
    student_ref: str,
    reason: RemovalReason,
    closed: PlanClosedReason,
    decided_by: str,
) -> list[IntegrationEvent]:
    out: list[IntegrationEvent] = []
    if attention.status != "none":
        out.append(
            StudentRemovedFromAttentionList(
                district=attention.district or "",
                school_id=attention.school_id or "",
                student_ref=student_ref,
                reason=reason,
                decided_by=decided_by,
            )
        )
    if plan.open and plan.plan_id is not None:
        out.append(
            CarePlanClosed(
                district=plan.district or "",
                school_id=plan.school_id or "",
                student_ref=student_ref,
                plan_id=plan.plan_id,
                reason=closed,
            )
        )
    return out


def decide_removal(
    cmd: Remove, histories: Mapping[str, list[IntegrationEvent]], now: datetime
) -> list[IntegrationEvent]:
    """Removal from the list (or withdrawal of an open proposal), with the reason and who
    decided; the plan is closed because the student is no longer listed."""
    attention, plan = _states(cmd.student_ref, histories)
    if attention.status == "none":
        raise UnknownRecordError(
            "the student is neither listed nor proposed", "student_ref", rule="listed_to_remove"
        )
    closed = {
        RemovalReason.transferred: PlanClosedReason.transferred,
        RemovalReason.left_school: PlanClosedReason.left_school,
    }.get(cmd.reason, PlanClosedReason.no_longer_listed)
    return _removed(attention, plan, cmd.student_ref, cmd.reason, closed, cmd.decided_by)


def decide_move(
    cmd: Move, histories: Mapping[str, list[IntegrationEvent]], now: datetime
) -> list[IntegrationEvent]:
    """A transfer or a departure (the registry's), decided by the service:

    - leaving: removed (``left_school``) and the plan closed (``left_school``);
    - to another class of the same school: nothing changes;
    - to another school of the same district: the plan is handed over and the listing follows
      the student (the receiving school's team takes it over); an open proposal, signed by the
      old school's staff, is withdrawn (``transferred``) — the new team may propose again;
    - to another district: removed and the plan closed (``transferred``): the plan does not
      leave the district's team; the receiving district may propose anew.
    """
    attention, plan = _states(cmd.student_ref, histories)
    by = SERVICE_DECIDER
    if cmd.where is None:
        return _removed(
            attention,
            plan,
            cmd.student_ref,
            RemovalReason.left_school,
            PlanClosedReason.left_school,
            by,
        )
    here = cmd.where
    known_school = plan.school_id if plan.open else attention.school_id
    known_district = plan.district if plan.open else attention.district
    if known_school is None or known_school == here.school_id:
        return []
    if known_district != here.district:
        return _removed(
            attention,
            plan,
            cmd.student_ref,
            RemovalReason.transferred,
            PlanClosedReason.transferred,
            by,
        )
    out: list[IntegrationEvent] = []
    if attention.status == "proposed":
        out += _removed(
            attention,
            PlanState(),
            cmd.student_ref,
            RemovalReason.transferred,
            PlanClosedReason.transferred,
            by,
        )
    if plan.open and plan.plan_id is not None:
        out.append(
            CarePlanHandedOver(
                district=plan.district or "",
                school_id=plan.school_id or "",
                student_ref=cmd.student_ref,
                plan_id=plan.plan_id,
                to_school_id=here.school_id,
                to_district=here.district,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class RequestVisit:
    """A targeted home visit (重点家访) for a listed or high-risk student: once per student and
    school year (the stream ``visit-request-<student_ref>-<school_year>``)."""

    student_ref: str
    school_year: str
    where: Where
    request_id: str


def decide_targeted_visit(
    cmd: RequestVisit, history: list[IntegrationEvent], now: datetime
) -> list[IntegrationEvent]:
    if history:
        return []  # asked for this school year already
    return [
        TargetedVisitRequested(
            district=cmd.where.district,
            school_id=cmd.where.school_id,
            student_ref=cmd.student_ref,
            school_year=cmd.school_year,
            class_id=cmd.where.class_id,
            request_id=cmd.request_id,
            requested_on=china_date(now),
        )
    ]
