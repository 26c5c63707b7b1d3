"""Guard posts (校家警护学岗) and the school's vice-principals from outside, in memory: given a
post's, a shift's or a school's history, when a command comes, then these events (or this
refusal naming the field and the rule); the completion rate counted by hand; the school's and
the district's vice-principal figures; the read model folded from the events."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tongxin_contracts import IntegrationEvent, default_registry
from tongxin_contracts.events.safety import (
    AppointeeOrg,
    FireSafetyContactNamed,
    FireSafetyContactWithdrawn,
    Guard,
    GuardKind,
    GuardPostEstablished,
    GuardShiftCompleted,
    GuardShiftMissed,
    GuardShiftScheduled,
    LawLessonGiven,
    MissedReason,
    PostPlace,
    ShiftPeriod,
    VicePost,
    VicePrincipalAppointed,
)
from tongxin_platform.domain import ConflictError, DomainError
from tongxin_platform.memory import MemoryDatabase, MemoryTables
from tongxin_safety.application.guard import shift_id_of
from tongxin_safety.domain.errors import NotEntitledError, SafetyError, UnknownRecordError
from tongxin_safety.domain.guard import (
    CompleteShift,
    EstablishPost,
    MissShift,
    ScheduleShift,
    ShiftStatus,
    combined,
    completion,
    decide_complete,
    decide_establish,
    decide_miss,
    decide_schedule,
    status_of,
    term_start,
)
from tongxin_safety.domain.vice_principals import (
    Appoint,
    Appointment,
    Lesson,
    NameContact,
    RecordLesson,
    WithdrawContact,
    decide_appoint,
    decide_lesson,
    decide_name_contact,
    decide_withdraw_contact,
    district_totals,
    school_status,
)
from tongxin_safety.projections.read_model import SAFETY

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in China, Friday 20 November 2026
TODAY = date(2026, 11, 20)
DISTRICT, SCHOOL = "330106", "330106001"
STAFF = frozenset({"t01", "t02", "pri"})
GUARDIANS = frozenset({"g-1", "g-2"})
POST = "post-1"
ROTA = (
    Guard(kind=GuardKind.police, ref="officer-7"),
    Guard(kind=GuardKind.staff, ref="t01"),
    Guard(kind=GuardKind.parent_volunteer, ref="g-1"),
)


def refused(
    error: type[DomainError], field: str, rule: str, decide: Any, *args: Any
) -> DomainError:
    with pytest.raises(error) as caught:
        decide(*args)
    assert (caught.value.field, caught.value.rule) == (field, rule)
    return caught.value


# --- posts and shifts ------------------------------------------------------------------------


def established(on: date = date(2026, 9, 1)) -> GuardPostEstablished:
    return GuardPostEstablished(
        district=DISTRICT,
        school_id=SCHOOL,
        post_id=POST,
        place=PostPlace.school_gate,
        police_station="ps-12",
        established_on=on,
    )


def schedule(**over: Any) -> ScheduleShift:
    base = ScheduleShift(
        "shift-1", POST, date(2026, 11, 19), ShiftPeriod.morning, ROTA, STAFF, GUARDIANS
    )
    return replace(base, **over)


def scheduled(on: date = date(2026, 11, 19), guards: tuple[Guard, ...] = ROTA) -> list[Any]:
    events = decide_schedule(schedule(on=on, guards=guards), [established()], [], NOW)
    assert [type(e) for e in events] == [GuardShiftScheduled]
    return events


def test_a_post_is_established_once_and_not_for_a_day_to_come() -> None:
    cmd = EstablishPost(DISTRICT, SCHOOL, POST, PostPlace.crossing, None, date(2026, 9, 1))
    [e] = decide_establish(cmd, [], NOW)
    assert isinstance(e, GuardPostEstablished)
    assert (e.school_id, e.place, e.police_station) == (SCHOOL, PostPlace.crossing, None)
    assert decide_establish(cmd, [e], NOW) == []
    tomorrow = replace(cmd, established_on=TODAY + timedelta(days=1))
    refused(
        SafetyError,
        "established_on",
        "established_not_in_future",
        decide_establish,
        tomorrow,
        [],
        NOW,
    )


def test_a_shift_is_scheduled_at_an_existing_post_with_its_schools_people() -> None:
    [e] = scheduled()
    assert isinstance(e, GuardShiftScheduled)
    assert (e.district, e.school_id, e.post_id) == (DISTRICT, SCHOOL, POST)
    assert e.guards == list(ROTA)
    twice = (*ROTA, ROTA[1])
    [once] = decide_schedule(schedule(guards=twice), [established()], [], NOW)
    assert isinstance(once, GuardShiftScheduled)
    assert once.guards == list(ROTA), "each person once"
    refused(UnknownRecordError, "post_id", "post_exists", decide_schedule, schedule(), [], [], NOW)


@pytest.mark.parametrize(
    ("guards", "field", "rule"),
    [
        ((), "guards", "shift_has_guards"),
        (
            (ROTA[0], Guard(kind=GuardKind.staff, ref="t99")),
            "guards.1.ref",
            "staff_guard_on_school_staff",
        ),
        (
            (Guard(kind=GuardKind.parent_volunteer, ref="g-9"),),
            "guards.0.ref",
            "volunteer_is_guardian_of_school",
        ),
        (
            (Guard(kind=GuardKind.parent_volunteer, ref="t01"),),
            "guards.0.ref",
            "volunteer_is_guardian_of_school",
        ),
    ],
)
def test_a_shifts_guards_must_be_of_the_posts_school(
    guards: tuple[Guard, ...], field: str, rule: str
) -> None:
    refused(
        SafetyError, field, rule, decide_schedule, schedule(guards=guards), [established()], [], NOW
    )


def test_one_shift_per_post_day_and_period_the_same_rota_again_is_a_no_op() -> None:
    history = scheduled()
    assert decide_schedule(schedule(), [established()], history, NOW) == []
    refused(
        ConflictError,
        "period",
        "one_shift_per_post_period",
        decide_schedule,
        schedule(guards=ROTA[:2]),
        [established()],
        history,
        NOW,
    )
    assert shift_id_of(POST, TODAY, ShiftPeriod.morning) == shift_id_of(
        POST, TODAY, ShiftPeriod.morning
    )
    assert shift_id_of(POST, TODAY, ShiftPeriod.morning) != shift_id_of(
        POST, TODAY, ShiftPeriod.afternoon
    )
    assert shift_id_of(POST, TODAY, ShiftPeriod.morning) != shift_id_of(
        "post-2", TODAY, ShiftPeriod.morning
    )


def test_a_shift_falls_between_the_posts_first_day_and_a_year_ahead() -> None:
    before = schedule(on=date(2026, 8, 31))
    refused(
        SafetyError,
        "on",
        "shift_after_post_established",
        decide_schedule,
        before,
        [established()],
        [],
        NOW,
    )
    far = schedule(on=TODAY + timedelta(days=367))
    refused(
        SafetyError, "on", "scheduled_within_a_year", decide_schedule, far, [established()], [], NOW
    )


def test_a_shift_is_completed_by_the_kinds_scheduled_once_and_not_before_its_day() -> None:
    history = scheduled()
    [done] = decide_complete(
        CompleteShift((GuardKind.police, GuardKind.staff, GuardKind.police), "pri"), history, NOW
    )
    assert isinstance(done, GuardShiftCompleted)
    assert done.guards_present == [GuardKind.police, GuardKind.staff]
    assert (done.on, done.recorded_by, done.school_id) == (date(2026, 11, 19), "pri", SCHOOL)
    refused(
        ConflictError,
        "shift_id",
        "shift_recorded_once",
        decide_complete,
        CompleteShift((GuardKind.staff,), "pri"),
        [*history, done],
        NOW,
    )
    refused(
        ConflictError,
        "shift_id",
        "shift_recorded_once",
        decide_miss,
        MissShift(MissedReason.weather, "pri"),
        [*history, done],
        NOW,
    )
    tomorrow = scheduled(on=TODAY + timedelta(days=1))
    refused(
        SafetyError,
        "on",
        "not_before_shift_day",
        decide_complete,
        CompleteShift((GuardKind.staff,), "pri"),
        tomorrow,
        NOW,
    )
    # on its own day (China time), it may be recorded
    assert decide_complete(CompleteShift((GuardKind.staff,), "pri"), scheduled(on=TODAY), NOW)


def test_a_completion_names_kinds_that_were_scheduled() -> None:
    history = scheduled(guards=ROTA[:2])
    refused(
        SafetyError,
        "guards_present",
        "present_kinds_named",
        decide_complete,
        CompleteShift((), "pri"),
        history,
        NOW,
    )
    refused(
        SafetyError,
        "guards_present.1",
        "present_kind_scheduled",
        decide_complete,
        CompleteShift((GuardKind.staff, GuardKind.parent_volunteer), "pri"),
        history,
        NOW,
    )


def test_a_missed_shift_keeps_its_reason_and_cannot_then_be_completed() -> None:
    history = scheduled()
    [missed] = decide_miss(MissShift(MissedReason.no_show, "officer-7"), history, NOW)
    assert isinstance(missed, GuardShiftMissed)
    assert (missed.reason, missed.recorded_by) == (MissedReason.no_show, "officer-7")
    refused(
        ConflictError,
        "shift_id",
        "shift_recorded_once",
        decide_complete,
        CompleteShift((GuardKind.staff,), "pri"),
        [*history, missed],
        NOW,
    )
    refused(
        UnknownRecordError,
        "shift_id",
        "shift_exists",
        decide_miss,
        MissShift(MissedReason.other, "pri"),
        [],
        NOW,
    )


# --- the completion rate -------------------------------------------------------------------


def test_an_unrecorded_past_shift_counts_against_the_rate_a_pending_one_nowhere() -> None:
    yesterday, tomorrow = TODAY - timedelta(days=1), TODAY + timedelta(days=1)
    assert status_of(yesterday, None, TODAY) is ShiftStatus.unrecorded
    assert status_of(TODAY, None, TODAY) is ShiftStatus.pending
    assert status_of(tomorrow, "missed", TODAY) is ShiftStatus.missed
    shifts = [
        (yesterday, "completed"),
        (yesterday, "completed"),
        (yesterday, "completed"),
        (yesterday, "missed"),
        (yesterday, None),  # unrecorded
        (TODAY, None),  # pending
        (TODAY, "completed"),
        (tomorrow, None),  # pending
    ]
    c = completion(shifts, TODAY, 0.95)
    # by hand: 4 completed of 4 + 1 missed + 1 unrecorded = 6
    assert (c.scheduled, c.completed, c.missed, c.unrecorded, c.pending) == (8, 4, 1, 1, 2)
    assert c.rate == pytest.approx(4 / 6)
    assert c.target_met is False
    assert completion([(yesterday, "completed")], TODAY, 0.95).target_met is True


def test_nothing_to_count_has_no_rate_and_neither_meets_nor_misses_the_target() -> None:
    c = completion([(TODAY, None)], TODAY, 0.95)
    assert (c.rate, c.target_met, c.pending) == (None, None, 1)
    assert completion([], TODAY, 0.5).scheduled == 0


def test_a_districts_rate_adds_up_its_schools_shifts_not_their_rates() -> None:
    past = TODAY - timedelta(days=2)
    a = completion([(past, "completed")], TODAY, 0.9)  # 1 of 1
    b = completion([(past, "completed"), (past, "missed"), (past, None)], TODAY, 0.9)  # 1 of 3
    d = combined([a, b], 0.9)
    assert (d.completed, d.missed, d.unrecorded, d.scheduled) == (2, 1, 1, 4)
    assert d.rate == pytest.approx(0.5)  # not (1 + 1/3) / 2
    assert combined([], 0.9).rate is None


# --- vice-principals ---------------------------------------------------------------------------


def appoint(**over: Any) -> Appoint:
    base = Appoint(
        DISTRICT, SCHOOL, VicePost.legal, "lvp-1", AppointeeOrg.police, date(2026, 9, 1), None
    )
    return replace(base, **over)


def appointed(**over: Any) -> VicePrincipalAppointed:
    [e] = decide_appoint(appoint(**over), [], NOW)
    assert isinstance(e, VicePrincipalAppointed)
    return e


@pytest.mark.parametrize(
    ("post", "org", "allowed"),
    [
        (VicePost.legal, AppointeeOrg.police, True),
        (VicePost.legal, AppointeeOrg.court, True),
        (VicePost.legal, AppointeeOrg.procuratorate, True),
        (VicePost.legal, AppointeeOrg.justice, True),
        (VicePost.legal, AppointeeOrg.fire_rescue, False),
        (VicePost.fire, AppointeeOrg.fire_rescue, True),
        (VicePost.fire, AppointeeOrg.police, False),
        (VicePost.fire, AppointeeOrg.court, False),
    ],
)
def test_a_vice_principal_comes_from_the_organisations_of_the_post(
    post: VicePost, org: AppointeeOrg, allowed: bool
) -> None:
    cmd = appoint(post=post, from_org=org)
    if allowed:
        [e] = decide_appoint(cmd, [], NOW)
        assert isinstance(e, VicePrincipalAppointed)
        assert e.from_org is org
    else:
        rule = {
            VicePost.legal: "legal_vp_from_judicial_org",
            VicePost.fire: "fire_vp_from_fire_rescue",
        }
        refused(SafetyError, "from_org", rule[post], decide_appoint, cmd, [], NOW)


def test_a_new_appointment_replaces_the_old_the_same_one_again_is_a_no_op() -> None:
    first = appointed()
    assert decide_appoint(appoint(), [first], NOW) == []
    [second] = decide_appoint(
        appoint(appointee_ref="lvp-2", from_org=AppointeeOrg.court, appointed_on=TODAY),
        [first],
        NOW,
    )
    assert isinstance(second, VicePrincipalAppointed)
    assert second.appointee_ref == "lvp-2"
    earlier = appoint(appointee_ref="lvp-3", appointed_on=date(2026, 8, 1))
    refused(
        SafetyError,
        "appointed_on",
        "appointed_after_predecessor",
        decide_appoint,
        earlier,
        [first],
        NOW,
    )
    refused(
        SafetyError,
        "appointed_on",
        "appointed_not_in_future",
        decide_appoint,
        appoint(appointed_on=TODAY + timedelta(days=1)),
        [],
        NOW,
    )
    refused(
        SafetyError,
        "term_until",
        "term_after_appointment",
        decide_appoint,
        appoint(term_until=date(2026, 9, 1)),
        [],
        NOW,
    )


def lesson(**over: Any) -> RecordLesson:
    base = RecordLesson(
        DISTRICT, SCHOOL, "lesson-1", "2026-2027", date(2026, 10, 9), 2.0, "lvp-1", True
    )
    return replace(base, **over)


def test_law_lessons_are_given_by_the_schools_appointed_legal_vice_principal() -> None:
    history: list[IntegrationEvent] = [appointed()]
    [given] = decide_lesson(lesson(), history, NOW)
    assert isinstance(given, LawLessonGiven)
    assert (given.given_by, given.hours, given.school_year) == ("lvp-1", 2.0, "2026-2027")
    assert decide_lesson(lesson(), [*history, given], NOW) == [], "the same lesson once"
    # a leader records for the legal vice-principal: the lesson is still theirs
    [for_them] = decide_lesson(
        lesson(lesson_id="l-2", recorder_ref="pri", recorder_is_legal_vp=False), history, NOW
    )
    assert isinstance(for_them, LawLessonGiven)
    assert for_them.given_by == "lvp-1"
    with pytest.raises(NotEntitledError) as caught:
        decide_lesson(lesson(recorder_ref="lvp-other"), history, NOW)
    assert caught.value.rule == "lesson_by_appointed_legal_vp"
    fire_only = [
        appointed(post=VicePost.fire, appointee_ref="fvp", from_org=AppointeeOrg.fire_rescue)
    ]
    refused(SafetyError, "school_id", "legal_vp_appointed", decide_lesson, lesson(), fire_only, NOW)


@pytest.mark.parametrize(
    ("over", "rule"),
    [
        ({"given_on": date(2026, 8, 31)}, "given_within_school_year"),
        ({"given_on": TODAY + timedelta(days=1)}, "given_not_in_future"),
        ({"given_on": date(2026, 9, 1)}, None),
    ],
)
def test_a_lesson_is_of_its_school_year_and_already_given(
    over: dict[str, Any], rule: str | None
) -> None:
    history = [appointed()]
    if rule is None:
        assert decide_lesson(lesson(**over), history, NOW)
    else:
        refused(SafetyError, "given_on", rule, decide_lesson, lesson(**over), history, NOW)


def test_a_lesson_falls_within_the_legal_vice_principals_term() -> None:
    history = [appointed(appointed_on=date(2026, 10, 1), term_until=date(2026, 11, 1))]
    for day in (date(2026, 9, 30), date(2026, 11, 2)):
        refused(
            SafetyError,
            "given_on",
            "given_during_appointment",
            decide_lesson,
            lesson(given_on=day),
            history,
            NOW,
        )


def test_fire_safety_contacts_are_staff_of_the_school_named_once_and_withdrawn() -> None:
    name = NameContact(DISTRICT, SCHOOL, "t01", STAFF)
    [named] = decide_name_contact(name, [], NOW)
    assert isinstance(named, FireSafetyContactNamed)
    assert named.named_on == TODAY
    assert decide_name_contact(name, [named], NOW) == []
    refused(
        SafetyError,
        "staff_ref",
        "contact_on_school_staff",
        decide_name_contact,
        replace(name, staff_ref="stranger"),
        [],
        NOW,
    )
    withdraw = WithdrawContact(DISTRICT, SCHOOL, "t01")
    [gone] = decide_withdraw_contact(withdraw, [named], NOW)
    assert isinstance(gone, FireSafetyContactWithdrawn)
    refused(
        UnknownRecordError,
        "staff_ref",
        "contact_named",
        decide_withdraw_contact,
        withdraw,
        [named, gone],
        NOW,
    )
    assert decide_name_contact(name, [named, gone], NOW), "named again after the withdrawal"


def test_a_school_without_a_vice_principal_in_office_short_of_hours_or_contacts_shows_up() -> None:
    legal = Appointment("legal", "lvp-1", "police", date(2026, 9, 1), None)
    fire = Appointment("fire", "fvp-1", "fire_rescue", date(2025, 9, 1), date(2026, 8, 31))
    lessons = [
        Lesson("l1", date(2026, 10, 9), 1.5, "lvp-1"),
        Lesson("l2", date(2026, 9, 20), 1.5, "lvp-0"),  # the predecessor's hours count too
    ]
    s = school_status(SCHOOL, "2026-2027", [legal, fire], lessons, ["t01"], TODAY, 4.0)
    assert s.legal is not None
    assert s.legal.in_office
    assert s.fire is not None
    assert not s.fire.in_office  # its term ended
    assert (s.law_hours, s.law_hours_met) == (3.0, False)
    assert [x.lesson_id for x in s.lessons] == ["l2", "l1"]
    assert s.gaps == ["law_hours_short", "no_fire_vp"]
    more = [*lessons, Lesson("l3", date(2026, 11, 1), 1.0, "lvp-1")]
    full = school_status(SCHOOL, "2026-2027", [legal], more, [], TODAY, 4.0)
    assert full.law_hours_met
    assert full.gaps == ["no_fire_vp", "no_fire_safety_contact"]
    empty = school_status("330106002", "2026-2027", [], [], [], TODAY, 4.0)
    assert empty.gaps == ["no_legal_vp", "law_hours_short", "no_fire_vp", "no_fire_safety_contact"]
    t = district_totals([s, full, empty])
    assert (t.schools, t.with_legal_vp, t.with_fire_vp, t.with_fire_safety_contact) == (3, 2, 0, 1)
    assert (t.law_hours, t.law_hours_met, t.schools_with_gaps) == (7.0, 1, 3)


# --- the read model ----------------------------------------------------------------------------


async def test_the_read_model_keeps_shifts_outcomes_appointments_lessons_and_contacts() -> None:
    [shift] = scheduled()
    other = decide_schedule(
        schedule(shift_id="shift-2", period=ShiftPeriod.afternoon), [established()], [], NOW
    )
    done = decide_complete(CompleteShift((GuardKind.police,), "pri"), [shift], NOW)
    missed = decide_miss(MissShift(MissedReason.weather, "pri"), other, NOW)
    first = appointed()
    second = appointed(appointee_ref="lvp-2", appointed_on=TODAY)
    [given] = decide_lesson(lesson(recorder_ref="lvp-2", given_on=TODAY), [second], NOW)
    named = decide_name_contact(NameContact(DISTRICT, SCHOOL, "t01", STAFF), [], NOW)
    kept = decide_name_contact(NameContact(DISTRICT, SCHOOL, "t02", STAFF), [], NOW)
    gone = decide_withdraw_contact(WithdrawContact(DISTRICT, SCHOOL, "t01"), named, NOW)
    events = [
        established(),
        shift,
        *other,
        *done,
        *missed,
        first,
        second,
        given,
        *named,
        *kept,
        *gone,
    ]
    tables = MemoryTables(MemoryDatabase(default_registry()), SAFETY.tables)
    await SAFETY.write(tables, SAFETY.schema, SAFETY.fold(events))
    posts = tables.rows(SAFETY.schema, "guard_posts")
    assert posts[(POST,)]["police_station"] == "ps-12"
    shifts = tables.rows(SAFETY.schema, "guard_shifts")
    assert shifts[("shift-1",)]["outcome"] == "completed"
    assert shifts[("shift-1",)]["guards_present"] == ["police"]
    assert shifts[("shift-1",)]["guard_kinds"] == ["police", "staff", "parent_volunteer"]
    assert shifts[("shift-2",)]["outcome"] == "missed"
    assert shifts[("shift-2",)]["missed_reason"] == "weather"
    vps = tables.rows(SAFETY.schema, "vice_principals")
    assert vps[(SCHOOL, "legal")]["appointee_ref"] == "lvp-2", "the new appointment replaces"
    assert tables.rows(SAFETY.schema, "law_lessons")[("lesson-1",)]["hours"] == 2.0
    assert set(tables.rows(SAFETY.schema, "fire_safety_contacts")) == {(SCHOOL, "t02")}


@pytest.mark.parametrize(
    ("day", "start"),
    [
        (date(2026, 11, 20), date(2026, 9, 1)),
        (date(2027, 1, 31), date(2026, 9, 1)),
        (date(2027, 2, 1), date(2027, 2, 1)),
        (date(2027, 8, 31), date(2027, 2, 1)),
        (date(2027, 9, 1), date(2027, 9, 1)),
    ],
)
def test_a_range_without_a_first_day_starts_with_the_term(day: date, start: date) -> None:
    assert term_start(day) == start
