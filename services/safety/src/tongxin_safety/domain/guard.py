"""Guard posts (校家警护学岗): a school's posts, the shifts scheduled at them with police, staff
and parent volunteers, each shift completed or missed — once — and the completion rate a school
and its district see.

A shift is recorded on or after its day, never before (the writer's clock, China time). A shift
nobody recorded by the end of its day is **unrecorded**, and counts against the rate as a shift
not shown to have been stood: the rate is completed / (completed + missed + unrecorded), over the
shifts of days already past or recorded. A shift of today or later that is not yet recorded is
**pending** and counts nowhere. A post, a school or a district with nothing to count has no rate
(``None``), neither meeting nor missing the target.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.safety import (
    Guard,
    GuardKind,
    GuardPostEstablished,
    GuardShiftCompleted,
    GuardShiftMissed,
    GuardShiftScheduled,
    MissedReason,
    PostPlace,
    ShiftPeriod,
)
from tongxin_platform.domain import ConflictError
from tongxin_safety.domain.calendar import china_date
from tongxin_safety.domain.errors import SafetyError, UnknownRecordError

MAX_GUARDS = 50  # one shift at one post: a handful of people, never a crowd
SCHEDULE_AHEAD = timedelta(days=366)  # a rota reaches a school year ahead at most


# --- commands ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EstablishPost:
    district: str
    school_id: str
    post_id: str
    place: PostPlace
    police_station: str | None
    established_on: date


@dataclass(frozen=True, slots=True)
class ScheduleShift:
    """A shift at ``post_id`` (whose school the post's history says). ``school_staff`` and
    ``school_guardians`` are the roster of the post's school as the command saw it: a staff
    guard must be on its staff, a parent volunteer a guardian of one of its pupils."""

    shift_id: str
    post_id: str
    on: date
    period: ShiftPeriod
    guards: tuple[Guard, ...]
    school_staff: frozenset[str]
    school_guardians: frozenset[str]


@dataclass(frozen=True, slots=True)
class CompleteShift:
    guards_present: tuple[GuardKind, ...]
    recorded_by: str


@dataclass(frozen=True, slots=True)
class MissShift:
    reason: MissedReason
    recorded_by: str


# --- states --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Post:
    district: str
    school_id: str
    post_id: str
    established_on: date


@dataclass(frozen=True, slots=True)
class Shift:
    scheduled: GuardShiftScheduled
    outcome: str | None  # "completed", "missed" or None


def post_of(history: Iterable[IntegrationEvent]) -> Post | None:
    for e in history:
        if isinstance(e, GuardPostEstablished):
            return Post(e.district, e.school_id, e.post_id, e.established_on)
    return None


def shift_of(history: Iterable[IntegrationEvent]) -> Shift | None:
    scheduled: GuardShiftScheduled | None = None
    outcome: str | None = None
    for e in history:
        if isinstance(e, GuardShiftScheduled):
            scheduled = e
        elif isinstance(e, GuardShiftCompleted):
            outcome = "completed"
        elif isinstance(e, GuardShiftMissed):
            outcome = "missed"
    return Shift(scheduled, outcome) if scheduled is not None else None


# --- deciders ------------------------------------------------------------------------------


def decide_establish(
    cmd: EstablishPost, history: Sequence[IntegrationEvent], now: datetime
) -> list[IntegrationEvent]:
    """A post of the school; the same post twice is established once."""
    if post_of(history) is not None:
        return []
    if cmd.established_on > china_date(now):
        raise SafetyError(
            f"{cmd.established_on} has not come yet: record a post that stands",
            field="established_on",
            rule="established_not_in_future",
        )
    return [
        GuardPostEstablished(
            district=cmd.district,
            school_id=cmd.school_id,
            post_id=cmd.post_id,
            place=cmd.place,
            police_station=cmd.police_station,
            established_on=cmd.established_on,
        )
    ]


def _guards(cmd: ScheduleShift) -> list[Guard]:
    if not cmd.guards:
        raise SafetyError(
            "a shift names who is to stand (police, staff or parent volunteers)",
            field="guards",
            rule="shift_has_guards",
        )
    seen: dict[tuple[GuardKind, str], Guard] = {}
    for n, g in enumerate(cmd.guards):
        if g.kind is GuardKind.staff and g.ref not in cmd.school_staff:
            raise SafetyError(
                f"{g.ref} is not on the staff of the post's school",
                field=f"guards.{n}.ref",
                rule="staff_guard_on_school_staff",
            )
        if g.kind is GuardKind.parent_volunteer and g.ref not in cmd.school_guardians:
            raise SafetyError(
                f"{g.ref} is not a guardian of a pupil of the post's school",
                field=f"guards.{n}.ref",
                rule="volunteer_is_guardian_of_school",
            )
        seen.setdefault((g.kind, g.ref), g)  # each person once, in the order given
    return list(seen.values())


def decide_schedule(
    cmd: ScheduleShift,
    post_history: Sequence[IntegrationEvent],
    shift_history: Sequence[IntegrationEvent],
    now: datetime,
) -> list[IntegrationEvent]:
    """A shift for one day and period at an existing post: one per post, day and period (the
    shift's id is made of them); scheduling the same again is a no-op, a different rota for a
    slot already scheduled a conflict."""
    post = post_of(post_history)
    if post is None:
        raise UnknownRecordError("no such guard post", field="post_id", rule="post_exists")
    guards = _guards(cmd)
    existing = shift_of(shift_history)
    if existing is not None:
        if existing.scheduled.guards == guards:
            return []
        raise ConflictError(
            f"a {cmd.period.value} shift on {cmd.on} is already scheduled at this post",
            field="period",
            rule="one_shift_per_post_period",
        )
    if cmd.on < post.established_on:
        raise SafetyError(
            f"the post stands from {post.established_on}",
            field="on",
            rule="shift_after_post_established",
        )
    if cmd.on > china_date(now) + SCHEDULE_AHEAD:
        raise SafetyError(
            "a rota reaches a year ahead at most", field="on", rule="scheduled_within_a_year"
        )
    return [
        GuardShiftScheduled(
            district=post.district,
            school_id=post.school_id,
            shift_id=cmd.shift_id,
            post_id=cmd.post_id,
            on=cmd.on,
            period=cmd.period,
            guards=guards,
        )
    ]


def _recordable(history: Sequence[IntegrationEvent], now: datetime) -> GuardShiftScheduled:
    shift = shift_of(history)
    if shift is None:
        raise UnknownRecordError("no such guard shift", field="shift_id", rule="shift_exists")
    if shift.outcome is not None:
        raise ConflictError(
            f"the shift is already recorded as {shift.outcome}",
            field="shift_id",
            rule="shift_recorded_once",
        )
    if china_date(now) < shift.scheduled.on:
        raise SafetyError(
            f"the shift is on {shift.scheduled.on}: record it on or after its day",
            field="on",
            rule="not_before_shift_day",
        )
    return shift.scheduled


def decide_complete(
    cmd: CompleteShift, history: Sequence[IntegrationEvent], now: datetime
) -> list[IntegrationEvent]:
    """The shift was stood by these kinds of guard (each one of the kinds scheduled)."""
    s = _recordable(history, now)
    if not cmd.guards_present:
        raise SafetyError(
            "a completed shift names the kinds of guard who stood (else it was missed)",
            field="guards_present",
            rule="present_kinds_named",
        )
    scheduled = {g.kind for g in s.guards}
    for n, kind in enumerate(cmd.guards_present):
        if kind not in scheduled:
            raise SafetyError(
                f"no {kind.value} guard was scheduled for this shift",
                field=f"guards_present.{n}",
                rule="present_kind_scheduled",
            )
    return [
        GuardShiftCompleted(
            district=s.district,
            school_id=s.school_id,
            shift_id=s.shift_id,
            post_id=s.post_id,
            on=s.on,
            guards_present=list(dict.fromkeys(cmd.guards_present)),
            recorded_by=cmd.recorded_by,
        )
    ]


def decide_miss(
    cmd: MissShift, history: Sequence[IntegrationEvent], now: datetime
) -> list[IntegrationEvent]:
    s = _recordable(history, now)
    return [
        GuardShiftMissed(
            district=s.district,
            school_id=s.school_id,
            shift_id=s.shift_id,
            post_id=s.post_id,
            on=s.on,
            reason=cmd.reason,
            recorded_by=cmd.recorded_by,
        )
    ]


# --- the completion rate -------------------------------------------------------------------


def term_start(day: date) -> date:
    """The first day of the term ``day`` falls in (as ``calendar.term_of`` counts terms):
    1 September for the autumn term (to January), 1 February for the spring term (to August).
    Figures over a range without a first day start there."""
    if day.month >= 9:
        return date(day.year, 9, 1)
    if day.month == 1:
        return date(day.year - 1, 9, 1)
    return date(day.year, 2, 1)


class ShiftStatus(StrEnum):
    completed = "completed"
    missed = "missed"
    unrecorded = "unrecorded"  # its day is over and nobody recorded it: counts as not stood
    pending = "pending"  # today or later, not yet recorded: counts nowhere


def status_of(on: date, outcome: str | None, today: date) -> ShiftStatus:
    if outcome is not None:
        return ShiftStatus(outcome)
    return ShiftStatus.unrecorded if on < today else ShiftStatus.pending


@dataclass(frozen=True, slots=True)
class Completion:
    """Shifts of a school (or a district) over a range of days, by status, and the rate."""

    scheduled: int
    completed: int
    missed: int
    unrecorded: int
    pending: int
    rate: float | None  # completed / (completed + missed + unrecorded); None: nothing to count
    target: float
    target_met: bool | None  # None when there is no rate


def _completion(counts: dict[ShiftStatus, int], target: float) -> Completion:
    done, missed = counts[ShiftStatus.completed], counts[ShiftStatus.missed]
    unrecorded, pending = counts[ShiftStatus.unrecorded], counts[ShiftStatus.pending]
    due = done + missed + unrecorded
    rate = done / due if due else None
    return Completion(
        scheduled=due + pending,
        completed=done,
        missed=missed,
        unrecorded=unrecorded,
        pending=pending,
        rate=rate,
        target=target,
        target_met=None if rate is None else rate >= target,
    )


def completion(shifts: Iterable[tuple[date, str | None]], today: date, target: float) -> Completion:
    """``shifts``: (day, outcome — "completed", "missed" or None) of each shift counted;
    ``today`` (China time) decides which unrecorded ones are past their day."""
    counts = dict.fromkeys(ShiftStatus, 0)
    for on, outcome in shifts:
        counts[status_of(on, outcome, today)] += 1
    return _completion(counts, target)


def combined(parts: Iterable[Completion], target: float) -> Completion:
    """A district's completion: its schools' shifts added up (not an average of rates)."""
    counts = dict.fromkeys(ShiftStatus, 0)
    for c in parts:
        counts[ShiftStatus.completed] += c.completed
        counts[ShiftStatus.missed] += c.missed
        counts[ShiftStatus.unrecorded] += c.unrecorded
        counts[ShiftStatus.pending] += c.pending
    return _completion(counts, target)
