"""One student's screening year: stream ``screening-<student_ref>-<school_year>`` — the offer, the
consent or refusal (latest decision wins), the screenings and their flags.

Consent (PIPL art. 31; not a seed rule): a student under 14 (or of unknown age) is screened only
with a guardian's recorded consent; a student of 14 or more with a guardian's or their own. A
recorded refusal refuses screening. Results are screenings, never diagnoses; on the wire only
that a screening took place (``ScreeningCompleted``) and, when it needs attention, the band and
the risk flag (``ScreeningFlagged``) — never an answer or a total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.wellbeing import (
    ConsentDecision,
    ConsentGivenBy,
    ConsentRecorded,
    ScreeningCompleted,
    ScreeningFlagged,
    ScreeningOffered,
)
from tongxin_wellbeing.domain.calendar import china_date, school_year_of
from tongxin_wellbeing.domain.campaigns import CampaignState
from tongxin_wellbeing.domain.errors import WellbeingError
from tongxin_wellbeing.domain.instruments import Instrument, Score, score

OWN_CONSENT_BANDS = frozenset({"14_to_17", "18_plus"})  # may consent for themself


@dataclass(frozen=True, slots=True)
class Student:
    """The student as the roster says (wellbeing's read model of ``registry.events``)."""

    student_ref: str
    district: str
    school_id: str
    enrolled: bool = True
    age_band: str | None = None  # under_14 / 14_to_17 / 18_plus; None: unknown (under 14)
    guardian_refs: tuple[str, ...] = ()

    @property
    def under_14(self) -> bool:
        return self.age_band not in OWN_CONSENT_BANDS


@dataclass(frozen=True, slots=True)
class Consent:
    decision: ConsentDecision
    given_by: ConsentGivenBy
    guardian_ref: str | None


@dataclass(frozen=True, slots=True)
class StudentYear:
    offered: bool = False
    consent: Consent | None = None  # the latest decision
    screening_ids: tuple[str, ...] = field(default_factory=tuple)


def fold(history: Sequence[IntegrationEvent]) -> StudentYear:
    state = StudentYear()
    for e in history:
        if isinstance(e, ScreeningOffered):
            state = replace(state, offered=True)
        elif isinstance(e, ConsentRecorded):
            state = replace(
                state, offered=True, consent=Consent(e.decision, e.given_by, e.guardian_ref)
            )
        elif isinstance(e, ScreeningCompleted):
            state = replace(state, screening_ids=(*state.screening_ids, e.screening_id))
    return state


# --- commands -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OfferScreening:
    student: Student
    school_year: str


@dataclass(frozen=True, slots=True)
class RecordConsent:
    student: Student
    school_year: str
    decision: ConsentDecision
    given_by: ConsentGivenBy
    guardian_ref: str | None = None


@dataclass(frozen=True, slots=True)
class RecordScreening:
    student: Student
    school_year: str
    screening_id: str
    instrument: Instrument
    answers: tuple[int, ...]
    campaign: CampaignState  # the school's campaign of that year
    completed_on: date | None = None  # default: today (China time)


@dataclass(frozen=True, slots=True)
class Screened:
    """What a screening decided: the events (no score in them) and the score, which the
    application stores sealed in the service's own table."""

    events: list[IntegrationEvent]
    score: Score
    completed_on: date


def _ids(s: Student, school_year: str) -> dict[str, str]:
    return {
        "district": s.district,
        "school_id": s.school_id,
        "student_ref": s.student_ref,
        "school_year": school_year,
    }


def _enrolled(s: Student) -> None:
    if not s.enrolled:
        raise WellbeingError("the student is no longer enrolled", "student_ref", "student_enrolled")


def decide_offer(cmd: OfferScreening, state: StudentYear) -> list[IntegrationEvent]:
    """Offered once a year: offering again offers nobody twice."""
    if state.offered or not cmd.student.enrolled:
        return []
    return [ScreeningOffered(**_ids(cmd.student, cmd.school_year))]


def decide_consent(cmd: RecordConsent, state: StudentYear, now: datetime) -> list[IntegrationEvent]:
    s = cmd.student
    _enrolled(s)
    if cmd.given_by is ConsentGivenBy.guardian:
        if not cmd.guardian_ref:
            raise WellbeingError(
                "a guardian's decision names the guardian", "guardian_ref", "guardian_ref_required"
            )
        if cmd.guardian_ref not in s.guardian_refs:
            raise WellbeingError(
                "the guardian is not one of the student's guardians on the roster",
                "guardian_ref",
                "guardian_of_student",
            )
    else:
        if s.under_14:
            raise WellbeingError(
                "a student under 14 (or of unknown age) needs a guardian's decision",
                "given_by",
                "guardian_consent_under_14",
            )
        if cmd.guardian_ref:
            raise WellbeingError(
                "a student's own decision names no guardian",
                "guardian_ref",
                "guardian_ref_only_for_guardian",
            )
    offer = [] if state.offered else [ScreeningOffered(**_ids(s, cmd.school_year))]
    return [
        *offer,
        ConsentRecorded(
            **_ids(s, cmd.school_year),
            decision=cmd.decision,
            given_by=cmd.given_by,
            guardian_ref=cmd.guardian_ref if cmd.given_by is ConsentGivenBy.guardian else None,
            recorded_on=china_date(now),
        ),
    ]


def consent_refusal(student: Student, state: StudentYear) -> WellbeingError | None:
    """Why the student may not be screened this year for want of consent, if so."""
    consent = state.consent
    if consent is not None and consent.decision is ConsentDecision.refused:
        return WellbeingError(
            "the screening was refused (the latest recorded decision)",
            "student_ref",
            "consent_refused",
        )
    if consent is None:
        if student.under_14:
            return WellbeingError(
                "a student under 14 (or of unknown age) is screened only with a guardian's "
                "recorded consent",
                "student_ref",
                "guardian_consent_under_14",
            )
        return WellbeingError(
            "a student is screened only with a recorded consent (a guardian's or their own)",
            "student_ref",
            "consent_before_screening",
        )
    if consent.given_by is ConsentGivenBy.student and student.under_14:
        return WellbeingError(
            "a student under 14 (or of unknown age) is screened only with a guardian's consent",
            "student_ref",
            "guardian_consent_under_14",
        )
    return None


def decide_screening(cmd: RecordScreening, state: StudentYear, now: datetime) -> Screened:
    s, campaign = cmd.student, cmd.campaign
    _enrolled(s)
    if not campaign.opened or campaign.school_year != cmd.school_year:
        raise WellbeingError(
            f"no screening campaign of the school is open for {cmd.school_year}",
            "school_year",
            "campaign_open",
        )
    if cmd.instrument.instrument_id not in campaign.instruments:
        raise WellbeingError(
            f"the campaign uses {', '.join(campaign.instruments)}",
            "instrument_id",
            "instrument_in_campaign",
        )
    today = china_date(now)
    completed_on = cmd.completed_on or today
    if completed_on > today:
        raise WellbeingError(
            "a screening is recorded once it took place", "completed_on", "completed_on_past"
        )
    if school_year_of(completed_on) != cmd.school_year:
        raise WellbeingError(
            f"the screening took place within the school year {cmd.school_year}",
            "completed_on",
            "completed_in_school_year",
        )
    refusal = consent_refusal(s, state)
    if refusal is not None:
        raise refusal
    result = score(cmd.instrument, cmd.answers)
    ids = _ids(s, cmd.school_year)
    events: list[IntegrationEvent] = [
        ScreeningCompleted(
            **ids,
            screening_id=cmd.screening_id,
            instrument_id=cmd.instrument.instrument_id,
            completed_on=completed_on,
        )
    ]
    if result.risk is not None:
        events.append(
            ScreeningFlagged(
                **ids,
                screening_id=cmd.screening_id,
                instrument_id=cmd.instrument.instrument_id,
                band=result.band,
                risk=result.risk,
            )
        )
    return Screened(events, result, completed_on)
