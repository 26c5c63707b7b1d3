"""Referrals to the special education guidance committee (专门教育指导委员会, Prevention of
Juvenile Delinquency Law arts. 6, 38–44): a minor of the district with serious misbehaviour is
referred — by the leaders of the child's school, the police or the district bureau — optionally
from an incident; the committee records its decision once.

Who must sit: the committee is made of the political-legal committee, education, justice, the
police and psychologists. A decision needs at least education and the police present (the two
who act on it: the school's place and the public-security measures); a decision that sends the
child to a special school or to correctional education (专门学校 / 专门矫治教育) restricts the
child's schooling and needs the psychologists' assessment too, so a psychologist must sit.

Pure: the deciders get the referral's history and ``now`` and answer the events, or refuse
naming the field and the rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.safety import (
    CommitteeMember,
    GuidanceCommitteeDecided,
    GuidanceCommitteeReferral,
    GuidanceDecision,
    Misbehaviour,
)
from tongxin_platform.domain import ConflictError
from tongxin_safety.domain.calendar import china_date
from tongxin_safety.domain.errors import SafetyError, UnknownRecordError

ALWAYS_PRESENT: frozenset[CommitteeMember] = frozenset(
    {CommitteeMember.education, CommitteeMember.police}
)
RESTRICTIVE: frozenset[GuidanceDecision] = frozenset(
    {GuidanceDecision.special_school, GuidanceDecision.correctional_education}
)


@dataclass(frozen=True, slots=True)
class ReferToCommittee:
    referral_id: str
    district: str
    school_id: str
    student_ref: str
    misbehaviour: Misbehaviour
    referred_by: str
    incident_id: str | None = None


@dataclass(frozen=True, slots=True)
class RecordDecision:
    referral_id: str
    district: str  # the committee's district: another district's referral is not found
    decision: GuidanceDecision
    members_present: tuple[CommitteeMember, ...]


GuidanceCommand = ReferToCommittee | RecordDecision


@dataclass(frozen=True, slots=True)
class GuidanceState:
    referred: GuidanceCommitteeReferral | None = None
    decided: GuidanceCommitteeDecided | None = None


def fold(history: Iterable[IntegrationEvent]) -> GuidanceState:
    state = GuidanceState()
    for e in history:
        match e:
            case GuidanceCommitteeReferral():
                state = GuidanceState(referred=e)
            case GuidanceCommitteeDecided():
                state = replace(state, decided=e)
    return state


def required_members(decision: GuidanceDecision) -> frozenset[CommitteeMember]:
    """Who must sit for ``decision`` (see the module's docstring)."""
    if decision in RESTRICTIVE:
        return ALWAYS_PRESENT | {CommitteeMember.psychologist}
    return ALWAYS_PRESENT


def decide_guidance(
    cmd: GuidanceCommand, state: GuidanceState, now: datetime
) -> list[IntegrationEvent]:
    match cmd:
        case ReferToCommittee():
            if state.referred is not None:
                raise ConflictingReferralError(
                    "this referral was made already", field="referral_id", rule="referral_once"
                )
            return [
                GuidanceCommitteeReferral(
                    district=cmd.district,
                    school_id=cmd.school_id,
                    referral_id=cmd.referral_id,
                    student_ref=cmd.student_ref,
                    misbehaviour=cmd.misbehaviour,
                    incident_id=cmd.incident_id,
                    referred_on=china_date(now),
                    referred_by=cmd.referred_by,
                )
            ]
        case RecordDecision():
            return _decide(cmd, state, now)
    raise AssertionError(f"unknown command {cmd!r}")


class ConflictingReferralError(SafetyError, ConflictError):
    """409: the referral was made, or decided, already."""


def _decide(cmd: RecordDecision, state: GuidanceState, now: datetime) -> list[IntegrationEvent]:
    referred = state.referred
    if referred is None or referred.district != cmd.district:
        raise UnknownRecordError(
            "no such referral", field="referral_id", rule="guidance_referral_exists"
        )
    if state.decided is not None:
        raise ConflictingReferralError(
            "the committee decided this referral already", field="referral_id", rule="decide_once"
        )
    missing = sorted(required_members(cmd.decision) - set(cmd.members_present))
    if missing:
        raise SafetyError(
            f"the committee's decision {cmd.decision.value} needs "
            f"{', '.join(m.value for m in missing)} present",
            field="members_present",
            rule="guidance_members_present",
        )
    return [
        GuidanceCommitteeDecided(
            district=referred.district,
            school_id=referred.school_id,
            referral_id=referred.referral_id,
            decision=cmd.decision,
            decided_on=china_date(now),
            members_present=sorted(set(cmd.members_present)),
        )
    ]
