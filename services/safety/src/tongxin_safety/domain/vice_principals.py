"""The school's vice-principals from outside and its fire-safety contacts (stream
``school-safety-<school_id>``).

- The legal vice-principal (法治副校长, MoE Order No. 52) comes from the police, a court, the
  procuratorate or the justice bureau; the fire vice-principal (消防副校长) from fire and
  rescue. A new appointment to a post replaces the one before.
- Law education (法治教育) is given by the appointed legal vice-principal — they record it
  themselves, or a leader records it for them — and counts in hours per school year against
  the district's target (≥ 4 by Order No. 52).
- The school's fire-safety contacts (消防安全明白人) are staff of the school, named and withdrawn.

A school shows up (``gaps``) without a legal vice-principal in office, short of law hours,
without a fire vice-principal in office, or without a fire-safety contact on its staff.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.safety import (
    AppointeeOrg,
    FireSafetyContactNamed,
    FireSafetyContactWithdrawn,
    LawLessonGiven,
    VicePost,
    VicePrincipalAppointed,
)
from tongxin_safety.domain.calendar import china_date, school_year_of
from tongxin_safety.domain.errors import NotEntitledError, SafetyError, UnknownRecordError

# Where each post's appointee may come from.
ORGS: dict[VicePost, frozenset[AppointeeOrg]] = {
    VicePost.legal: frozenset(
        {AppointeeOrg.police, AppointeeOrg.court, AppointeeOrg.procuratorate, AppointeeOrg.justice}
    ),
    VicePost.fire: frozenset({AppointeeOrg.fire_rescue}),
}
ORG_RULES = {
    VicePost.legal: "legal_vp_from_judicial_org",
    VicePost.fire: "fire_vp_from_fire_rescue",
}


# --- commands ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Appoint:
    district: str
    school_id: str
    post: VicePost
    appointee_ref: str
    from_org: AppointeeOrg
    appointed_on: date
    term_until: date | None


@dataclass(frozen=True, slots=True)
class RecordLesson:
    """A law lesson. ``recorder_ref`` is the caller; ``recorder_is_legal_vp`` whether they speak
    as a legal vice-principal (then they must be the school's, and it is their lesson)."""

    district: str
    school_id: str
    lesson_id: str
    school_year: str
    given_on: date
    hours: float
    recorder_ref: str
    recorder_is_legal_vp: bool


@dataclass(frozen=True, slots=True)
class NameContact:
    district: str
    school_id: str
    staff_ref: str
    school_staff: frozenset[str]  # the roster's staff of the school, as the command saw it


@dataclass(frozen=True, slots=True)
class WithdrawContact:
    district: str
    school_id: str
    staff_ref: str


# --- state ---------------------------------------------------------------------------------


@dataclass
class SchoolSafety:
    vps: dict[VicePost, VicePrincipalAppointed] = field(default_factory=dict)
    lessons: set[str] = field(default_factory=set)
    contacts: set[str] = field(default_factory=set)


def fold(history: Iterable[IntegrationEvent]) -> SchoolSafety:
    s = SchoolSafety()
    for e in history:
        if isinstance(e, VicePrincipalAppointed):
            s.vps[e.post] = e
        elif isinstance(e, LawLessonGiven):
            s.lessons.add(e.lesson_id)
        elif isinstance(e, FireSafetyContactNamed):
            s.contacts.add(e.staff_ref)
        elif isinstance(e, FireSafetyContactWithdrawn):
            s.contacts.discard(e.staff_ref)
    return s


# --- deciders ------------------------------------------------------------------------------


def decide_appoint(
    cmd: Appoint, history: Sequence[IntegrationEvent], now: datetime
) -> list[IntegrationEvent]:
    """Appoint to a post (replacing whoever held it); the same appointment again is a no-op."""
    if cmd.from_org not in ORGS[cmd.post]:
        allowed = ", ".join(sorted(o.value for o in ORGS[cmd.post]))
        raise SafetyError(
            f"a {cmd.post.value} vice-principal comes from {allowed}, not {cmd.from_org.value}",
            field="from_org",
            rule=ORG_RULES[cmd.post],
        )
    if cmd.appointed_on > china_date(now):
        raise SafetyError(
            f"{cmd.appointed_on} has not come yet: record an appointment made",
            field="appointed_on",
            rule="appointed_not_in_future",
        )
    if cmd.term_until is not None and cmd.term_until <= cmd.appointed_on:
        raise SafetyError(
            "the term ends after the appointment", field="term_until", rule="term_after_appointment"
        )
    current = fold(history).vps.get(cmd.post)
    if current is not None:
        same = (current.appointee_ref, current.from_org, current.appointed_on, current.term_until)
        if same == (cmd.appointee_ref, cmd.from_org, cmd.appointed_on, cmd.term_until):
            return []
        if cmd.appointed_on < current.appointed_on:
            raise SafetyError(
                f"the current {cmd.post.value} vice-principal was appointed on "
                f"{current.appointed_on}: a successor is appointed later",
                field="appointed_on",
                rule="appointed_after_predecessor",
            )
    return [
        VicePrincipalAppointed(
            district=cmd.district,
            school_id=cmd.school_id,
            post=cmd.post,
            appointee_ref=cmd.appointee_ref,
            from_org=cmd.from_org,
            appointed_on=cmd.appointed_on,
            term_until=cmd.term_until,
        )
    ]


def decide_lesson(
    cmd: RecordLesson, history: Sequence[IntegrationEvent], now: datetime
) -> list[IntegrationEvent]:
    """A law lesson by the school's legal vice-principal, within the school year, given while
    they held the post; the same lesson twice is recorded once."""
    state = fold(history)
    if cmd.lesson_id in state.lessons:
        return []
    vp = state.vps.get(VicePost.legal)
    if vp is None:
        raise SafetyError(
            "the school has no legal vice-principal to give law lessons",
            field="school_id",
            rule="legal_vp_appointed",
        )
    if cmd.recorder_is_legal_vp and cmd.recorder_ref != vp.appointee_ref:
        raise NotEntitledError(
            "only the school's appointed legal vice-principal records their own lessons",
            rule="lesson_by_appointed_legal_vp",
        )
    if school_year_of(cmd.given_on) != cmd.school_year:
        raise SafetyError(
            f"{cmd.given_on} is not in the school year {cmd.school_year}",
            field="given_on",
            rule="given_within_school_year",
        )
    if cmd.given_on > china_date(now):
        raise SafetyError(
            f"{cmd.given_on} has not come yet: record a lesson given",
            field="given_on",
            rule="given_not_in_future",
        )
    if cmd.given_on < vp.appointed_on or (
        vp.term_until is not None and cmd.given_on > vp.term_until
    ):
        raise SafetyError(
            "the lesson falls outside the legal vice-principal's term",
            field="given_on",
            rule="given_during_appointment",
        )
    return [
        LawLessonGiven(
            district=cmd.district,
            school_id=cmd.school_id,
            lesson_id=cmd.lesson_id,
            school_year=cmd.school_year,
            given_on=cmd.given_on,
            hours=cmd.hours,
            given_by=vp.appointee_ref,
        )
    ]


def decide_name_contact(
    cmd: NameContact, history: Sequence[IntegrationEvent], now: datetime
) -> list[IntegrationEvent]:
    """Name a staff member of the school a fire-safety contact; naming them again is a no-op."""
    if cmd.staff_ref not in cmd.school_staff:
        raise SafetyError(
            f"{cmd.staff_ref} is not on the staff of school {cmd.school_id}",
            field="staff_ref",
            rule="contact_on_school_staff",
        )
    if cmd.staff_ref in fold(history).contacts:
        return []
    return [
        FireSafetyContactNamed(
            district=cmd.district,
            school_id=cmd.school_id,
            staff_ref=cmd.staff_ref,
            named_on=china_date(now),
        )
    ]


def decide_withdraw_contact(
    cmd: WithdrawContact, history: Sequence[IntegrationEvent], now: datetime
) -> list[IntegrationEvent]:
    if cmd.staff_ref not in fold(history).contacts:
        raise UnknownRecordError(
            "no such fire-safety contact at this school", field="staff_ref", rule="contact_named"
        )
    return [
        FireSafetyContactWithdrawn(
            district=cmd.district,
            school_id=cmd.school_id,
            staff_ref=cmd.staff_ref,
            withdrawn_on=china_date(now),
        )
    ]


# --- what a school and its district see ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Appointment:
    """A post's current appointment, as the read model has it."""

    post: str
    appointee_ref: str
    from_org: str
    appointed_on: date
    term_until: date | None


@dataclass(frozen=True, slots=True)
class VicePrincipal:
    post: str
    appointee_ref: str
    from_org: str
    appointed_on: date
    term_until: date | None
    in_office: bool  # on the day asked: appointed and the term not ended


@dataclass(frozen=True, slots=True)
class Lesson:
    lesson_id: str
    given_on: date
    hours: float
    given_by: str


@dataclass(frozen=True, slots=True)
class SchoolVicePrincipals:
    school_id: str
    school_year: str
    legal: VicePrincipal | None
    fire: VicePrincipal | None
    law_hours: float
    law_hours_target: float
    law_hours_met: bool
    lessons: list[Lesson]
    fire_safety_contacts: list[str]  # staff of the school named (and still on its staff)
    gaps: list[str]  # no_legal_vp, law_hours_short, no_fire_vp, no_fire_safety_contact


def _vp(e: Appointment | None, today: date) -> VicePrincipal | None:
    if e is None:
        return None
    in_office = e.appointed_on <= today and (e.term_until is None or today <= e.term_until)
    return VicePrincipal(
        e.post, e.appointee_ref, e.from_org, e.appointed_on, e.term_until, in_office
    )


def school_status(
    school_id: str,
    school_year: str,
    appointments: Iterable[Appointment],
    lessons: Iterable[Lesson],
    contacts: Iterable[str],
    today: date,
    law_hours_target: float,
) -> SchoolVicePrincipals:
    """The school's vice-principals as of ``today``, its law hours of ``school_year`` (every
    lesson of the year counts, whoever of its legal vice-principals gave it) and its contacts."""
    by_post = {a.post: a for a in appointments}
    legal = _vp(by_post.get(VicePost.legal.value), today)
    fire = _vp(by_post.get(VicePost.fire.value), today)
    given = sorted(lessons, key=lambda x: (x.given_on, x.lesson_id))
    hours = round(sum(x.hours for x in given), 2)
    named = sorted(set(contacts))
    met = hours >= law_hours_target
    gaps = []
    if legal is None or not legal.in_office:
        gaps.append("no_legal_vp")
    if not met:
        gaps.append("law_hours_short")
    if fire is None or not fire.in_office:
        gaps.append("no_fire_vp")
    if not named:
        gaps.append("no_fire_safety_contact")
    return SchoolVicePrincipals(
        school_id=school_id,
        school_year=school_year,
        legal=legal,
        fire=fire,
        law_hours=hours,
        law_hours_target=law_hours_target,
        law_hours_met=met,
        lessons=given,
        fire_safety_contacts=named,
        gaps=gaps,
    )


@dataclass(frozen=True, slots=True)
class VicePrincipalTotals:
    schools: int
    with_legal_vp: int
    with_fire_vp: int
    with_fire_safety_contact: int
    law_hours: float
    law_hours_met: int
    schools_with_gaps: int


def district_totals(rows: Iterable[SchoolVicePrincipals]) -> VicePrincipalTotals:
    schools = list(rows)
    return VicePrincipalTotals(
        schools=len(schools),
        with_legal_vp=sum(1 for s in schools if "no_legal_vp" not in s.gaps),
        with_fire_vp=sum(1 for s in schools if "no_fire_vp" not in s.gaps),
        with_fire_safety_contact=sum(1 for s in schools if s.fire_safety_contacts),
        law_hours=round(sum(s.law_hours for s in schools), 2),
        law_hours_met=sum(1 for s in schools if s.law_hours_met),
        schools_with_gaps=sum(1 for s in schools if s.gaps),
    )
