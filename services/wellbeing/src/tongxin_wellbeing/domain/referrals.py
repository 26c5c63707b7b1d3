"""Crisis referrals (1小时响应通道): the school's wellbeing team refers a student to a specialist
hospital; the hospital must acknowledge within the hour (a setting), else the referral is
escalated — once — to the district's education and health bureaus; the hospital then resolves it.

Pure: the deciders get the referral's history and ``now`` (the injected clock) and answer the
events, or refuse naming the field and the rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from tongxin_contracts import IntegrationEvent, Sealed
from tongxin_contracts.events.wellbeing import (
    Bureau,
    CrisisReferred,
    GuardianNotified,
    ReferralAcknowledged,
    ReferralEscalated,
    ReferralOutcome,
    ReferralResolved,
)
from tongxin_platform.domain import ConflictError
from tongxin_wellbeing.domain.calendar import china_date
from tongxin_wellbeing.domain.errors import UnknownRecordError, WellbeingError

ESCALATE_TO = (Bureau.district_education, Bureau.district_health)


@dataclass(frozen=True, slots=True)
class MakeReferral:
    referral_id: str
    district: str
    school_id: str
    student_ref: str
    hospital_id: str
    referred_by: str
    ack_seconds: int  # the hospital's time to acknowledge (settings.referral_ack_seconds)
    guardian_refs: tuple[str, ...] = ()  # each is told of the referral (GuardianNotified)
    note: Sealed | None = None  # sealed with the student's key before the decision


@dataclass(frozen=True, slots=True)
class AcknowledgeReferral:
    referral_id: str
    hospital_id: str  # the caller's organisation: another hospital's referral is not found


@dataclass(frozen=True, slots=True)
class ResolveReferral:
    referral_id: str
    hospital_id: str
    outcome: ReferralOutcome


@dataclass(frozen=True, slots=True)
class EscalateReferral:
    """The deadline fell due (the worker's deadline part, with its injected clock)."""

    referral_id: str


ReferralCommand = MakeReferral | AcknowledgeReferral | ResolveReferral | EscalateReferral


@dataclass(frozen=True, slots=True)
class ReferralState:
    referred: CrisisReferred | None = None
    acknowledged: ReferralAcknowledged | None = None
    escalated: ReferralEscalated | None = None
    resolved: ReferralResolved | None = None
    guardians_notified: frozenset[str] = field(default_factory=frozenset)

    @property
    def status(self) -> str:
        if self.referred is None:
            return "none"
        if self.resolved is not None:
            return "resolved"
        if self.acknowledged is not None:
            return "acknowledged"
        if self.escalated is not None:
            return "escalated"
        return "referred"


def evolve(state: ReferralState, e: IntegrationEvent) -> ReferralState:
    match e:
        case CrisisReferred():
            return ReferralState(referred=e)
        case GuardianNotified():
            return replace(state, guardians_notified=state.guardians_notified | {e.guardian_ref})
        case ReferralAcknowledged():
            return replace(state, acknowledged=e)
        case ReferralEscalated():
            return replace(state, escalated=e)
        case ReferralResolved():
            return replace(state, resolved=e)
    return state


def fold(history: Iterable[IntegrationEvent]) -> ReferralState:
    state = ReferralState()
    for e in history:
        state = evolve(state, e)
    return state


class ReferralConflictError(WellbeingError, ConflictError):
    """409: the referral is past the step asked for (acknowledged, resolved already)."""


class ReferralSettledError(ReferralConflictError):
    """The deadline's escalation has nothing to do: acknowledged, escalated or resolved."""


class NotYetDueError(WellbeingError):
    """The escalation was asked before the hospital's deadline."""


def _unknown() -> UnknownRecordError:
    return UnknownRecordError("no such referral", field="referral_id", rule="referral_exists")


def decide_referral(
    cmd: ReferralCommand, state: ReferralState, now: datetime
) -> list[IntegrationEvent]:
    match cmd:
        case MakeReferral():
            return _make(cmd, state, now)
        case AcknowledgeReferral():
            return _acknowledge(cmd, state, now)
        case ResolveReferral():
            return _resolve(cmd, state, now)
        case EscalateReferral():
            return _escalate(state, now)
    raise AssertionError(f"unknown command {cmd!r}")


def _make(cmd: MakeReferral, state: ReferralState, now: datetime) -> list[IntegrationEvent]:
    if state.referred is not None:
        raise ReferralConflictError(
            "this referral was made already", field="referral_id", rule="referral_once"
        )
    if cmd.ack_seconds < 1:
        raise WellbeingError(
            "the hospital needs a deadline in the future",
            field="ack_seconds",
            rule="referral_ack_deadline",
        )
    common = {
        "district": cmd.district,
        "school_id": cmd.school_id,
        "referral_id": cmd.referral_id,
    }
    referred: list[IntegrationEvent] = [
        CrisisReferred(
            **common,
            student_ref=cmd.student_ref,
            hospital_id=cmd.hospital_id,
            referred_by=cmd.referred_by,
            referred_at=now,
            acknowledge_by=now + timedelta(seconds=cmd.ack_seconds),
            note=cmd.note,
        )
    ]
    guardians = sorted(set(cmd.guardian_refs))
    return referred + [
        GuardianNotified(**common, student_ref=cmd.student_ref, guardian_ref=g) for g in guardians
    ]


def _received(state: ReferralState, hospital_id: str) -> CrisisReferred:
    """The referral, if it was made to this hospital: another hospital's is not found."""
    if state.referred is None or state.referred.hospital_id != hospital_id:
        raise _unknown()
    return state.referred


def _acknowledge(
    cmd: AcknowledgeReferral, state: ReferralState, now: datetime
) -> list[IntegrationEvent]:
    referred = _received(state, cmd.hospital_id)
    if state.acknowledged is not None:
        raise ReferralConflictError(
            "the referral was acknowledged already",
            field="referral_id",
            rule="acknowledge_once",
        )
    if state.resolved is not None:
        raise ReferralConflictError(
            "the referral is resolved", field="referral_id", rule="referral_resolved"
        )
    return [
        ReferralAcknowledged(
            district=referred.district,
            school_id=referred.school_id,
            referral_id=referred.referral_id,
            hospital_id=cmd.hospital_id,
            acknowledged_at=now,
            # Escalated means the deadline passed (by the worker's clock): never in time then.
            within_deadline=state.escalated is None and now <= referred.acknowledge_by,
        )
    ]


def _resolve(cmd: ResolveReferral, state: ReferralState, now: datetime) -> list[IntegrationEvent]:
    referred = _received(state, cmd.hospital_id)
    if state.acknowledged is None:
        raise WellbeingError(
            "a hospital acknowledges a referral before it resolves it",
            field="referral_id",
            rule="acknowledge_before_resolving",
        )
    if state.resolved is not None:
        raise ReferralConflictError(
            "the referral was resolved already", field="referral_id", rule="resolve_once"
        )
    return [
        ReferralResolved(
            district=referred.district,
            school_id=referred.school_id,
            referral_id=referred.referral_id,
            outcome=cmd.outcome,
            resolved_on=china_date(now),
        )
    ]


def _escalate(state: ReferralState, now: datetime) -> list[IntegrationEvent]:
    referred = state.referred
    if referred is None:
        raise _unknown()
    if state.escalated is not None:
        raise ReferralSettledError(
            "the referral was escalated already", field="referral_id", rule="escalate_once"
        )
    if state.acknowledged is not None or state.resolved is not None:
        raise ReferralSettledError(
            "the hospital acknowledged the referral", field="referral_id", rule="escalate_unacked"
        )
    if now < referred.acknowledge_by:
        raise NotYetDueError(
            "the hospital's deadline has not passed",
            field="acknowledge_by",
            rule="escalate_after_deadline",
        )
    return [
        ReferralEscalated(
            district=referred.district,
            school_id=referred.school_id,
            referral_id=referred.referral_id,
            hospital_id=referred.hospital_id,
            acknowledge_by=referred.acknowledge_by,
            escalated_at=now,
            escalated_to=list(ESCALATE_TO),
        )
    ]


# --- what the queue and the SLA figures show ---------------------------------------------------


def time_left(
    acknowledge_by: datetime, acknowledged: bool, now: datetime
) -> tuple[int | None, bool]:
    """Whole seconds until the hospital's deadline (negative: overdue by that much) and whether
    it is overdue; an acknowledged referral has no deadline left."""
    if acknowledged:
        return None, False
    left = (acknowledge_by - now).total_seconds()
    return int(left), left < 0


def compliance(acknowledged_in_time: int, referred: int, awaiting: int) -> float | None:
    """The share of referrals acknowledged in time among those whose deadline is decided
    (acknowledged, or past due: ``referred - awaiting``); ``None`` when there is none yet."""
    decided = referred - awaiting
    return acknowledged_in_time / decided if decided > 0 else None
