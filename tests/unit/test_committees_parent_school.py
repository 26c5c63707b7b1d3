"""The parent school's rules: headed by the principal, sessions only once it exists, the teaching
rule at its edges (3 vs 4 sessions, 7.5 vs 8 hours, a salon counted as an activity), the
district's standard share against its target, the coordinator from the roster."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tongxin_committees.domain.errors import CommitteesError
from tongxin_committees.domain.parent_school import (
    Appoint,
    Assess,
    Establish,
    RecordSession,
    Session,
    StaffFacts,
    TeachingRule,
    decide_appointment,
    decide_assessment,
    decide_establish,
    decide_session,
    decide_withdrawal,
    district_figures,
    teaching,
)
from tongxin_contracts.events.committees import (
    AssessmentCriterion,
    CoordinatorAppointed,
    CoordinatorWithdrawn,
    ParentSchoolEstablished,
    SessionKind,
    SessionMode,
    SessionTopic,
)

NOW = datetime(2026, 11, 20, 4, tzinfo=UTC)
K = SessionKind
RULE = TeachingRule(sessions=4, hours=8.0, activities=2)
FACTS = StaffFacts(
    {
        "p1": ("s1", frozenset({"principal"})),
        "m1": ("s1", frozenset({"middle_leader"})),
        "t1": ("s1", frozenset({"subject_teacher"})),
        "p2": ("s2", frozenset({"principal"})),
    }
)


def establish(head: str = "p1", **kw: object) -> Establish:
    base: dict[str, object] = {
        "district": "110101",
        "school_id": "s1",
        "head_ref": head,
        "management": ("p1", "m1"),
        "teachers": ("t1", "lecturer-1"),
        "has_venue": True,
        "curriculum_units": 6,
    }
    base.update(kw)
    return Establish(**base)  # type: ignore[arg-type]


def established() -> list[ParentSchoolEstablished]:
    return decide_establish(establish(), [], FACTS, NOW)  # type: ignore[return-value]


def session(
    kind: K = K.lecture, hours: float = 2.0, held_on: date = date(2026, 10, 1)
) -> RecordSession:
    return RecordSession(
        "110101",
        "s1",
        f"x-{kind}-{hours}",
        kind,
        SessionMode.online,
        held_on,
        hours,
        SessionTopic.reading,
        30,
        "p1",
    )


def refused(rule: str, call: object) -> None:
    with pytest.raises(CommitteesError) as e:
        call()  # type: ignore[operator]
    assert e.value.rule == rule


def test_a_parent_school_headed_by_the_principal_is_established() -> None:
    [e] = established()
    assert (e.head_ref, e.management, e.teachers) == ("p1", ["p1", "m1"], ["t1", "lecturer-1"])
    assert e.established_on == date(2026, 11, 20)


def test_a_parent_school_headed_by_a_middle_leader_is_refused_naming_principal_heads() -> None:
    refused("principal_heads", lambda: decide_establish(establish("m1"), [], FACTS, NOW))


def test_the_principal_of_another_school_does_not_head_this_one() -> None:
    refused("principal_heads", lambda: decide_establish(establish("p2"), [], FACTS, NOW))


def test_management_from_outside_the_school_is_refused() -> None:
    cmd = establish(management=("p1", "nobody"))
    refused("management_of_school", lambda: decide_establish(cmd, [], FACTS, NOW))


def test_teachers_may_be_outside_lecturers_but_not_staff_of_another_school() -> None:
    cmd = establish(teachers=("lecturer-9", "p2"))
    refused("teachers_of_school", lambda: decide_establish(cmd, [], FACTS, NOW))


def test_a_session_before_the_parent_school_exists_is_refused() -> None:
    refused("parent_school_established", lambda: decide_session(session(), [], NOW))


def test_a_session_counts_in_the_school_year_of_its_day() -> None:
    [e] = decide_session(session(held_on=date(2026, 8, 31)), established(), NOW)
    assert e.school_year == "2025-2026"  # type: ignore[attr-defined]


def test_a_session_in_the_future_is_refused() -> None:
    cmd = session(held_on=date(2026, 11, 21))
    refused("held_on_not_in_future", lambda: decide_session(cmd, established(), NOW))


@pytest.mark.parametrize("hours", [0.0, 8.5])
def test_class_hours_outside_0_to_8_are_refused(hours: float) -> None:
    refused("class_hours_range", lambda: decide_session(session(hours=hours), established(), NOW))


def s(kind: K, hours: float = 2.0) -> Session:
    return Session("s1", kind, hours)


def test_four_lectures_of_eight_hours_and_two_activities_meet_the_rule() -> None:
    sessions = [s(K.lecture), s(K.holiday_lecture), s(K.term_start_lecture), s(K.term_end_lecture)]
    sessions += [s(K.practice, 1), s(K.consultation, 1)]
    got = teaching(sessions, RULE)
    assert got == {
        "taught_sessions": 4,
        "taught_hours": 8.0,
        "activities": 2,
        "sessions_met": True,
        "hours_met": True,
        "activities_met": True,
        "rule_met": True,
    }


def test_three_taught_sessions_miss_the_rule_even_with_enough_hours() -> None:
    got = teaching(
        [s(K.lecture, 3), s(K.lecture, 3), s(K.term_mid_lecture, 3), s(K.salon), s(K.practice)],
        RULE,
    )
    assert (got["taught_sessions"], got["sessions_met"], got["hours_met"], got["rule_met"]) == (
        3,
        False,
        True,
        False,
    )


def test_seven_and_a_half_hours_miss_the_rule_and_eight_meet_it() -> None:
    acts = [s(K.practice), s(K.consultation)]
    short = [s(K.lecture, 2), s(K.lecture, 2), s(K.lecture, 2), s(K.lecture, 1.5)]
    enough = [s(K.lecture, 2), s(K.lecture, 2), s(K.lecture, 2), s(K.lecture, 2)]
    assert (
        teaching(short + acts, RULE)["hours_met"],
        teaching(short + acts, RULE)["rule_met"],
    ) == (False, False)
    assert teaching(enough + acts, RULE)["rule_met"] is True


def test_a_salon_counts_as_an_activity_and_its_hours_not_as_taught_hours() -> None:
    lectures = [s(K.lecture, 2)] * 4
    one = teaching([*lectures, s(K.salon, 3)], RULE)
    two = teaching([*lectures, s(K.salon, 3), s(K.salon, 1)], RULE)
    assert (one["activities"], one["taught_hours"], one["rule_met"]) == (1, 8.0, False)
    assert (two["activities"], two["rule_met"]) == (2, True)


def test_the_districts_share_of_standard_schools_is_over_every_school_of_its_roster() -> None:
    schools = ["s1", "s2", "s3", "s4"]
    standard = {"s1": True, "s2": True, "s3": False}
    got = district_figures("2026-2027", schools, [], standard, {"s1": "t1"}, ["s1"], RULE, 0.7)
    assert (got["standard_schools"], got["standard_share"], got["standard_target_met"]) == (
        2,
        0.5,
        False,
    )
    assert got["schools_without_coordinator"] == ["s2", "s3", "s4"]
    assert [r["assessed_standard"] for r in got["schools"]] == [True, True, False, None]
    three = district_figures(
        "2026-2027", schools[:3], [], {"s1": True, "s2": True, "s3": True}, {}, [], RULE, 0.7
    )
    assert (three["standard_share"], three["standard_target_met"]) == (1.0, True)


def test_a_later_assessment_of_the_same_year_replaces_the_earlier() -> None:
    from tongxin_committees.domain.parent_school import fold

    first = decide_assessment(Assess("110101", "s1", "2026-2027", False, (), "o1"), [], NOW)
    second = decide_assessment(
        Assess("110101", "s1", "2026-2027", True, (AssessmentCriterion.venue,), "o1"), first, NOW
    )
    assert fold([*first, *second]).assessments["2026-2027"].standard is True


def test_a_school_year_not_yet_begun_is_not_assessed() -> None:
    cmd = Assess("110101", "s1", "2027-2028", True, (), "o1")
    refused("school_year_begun", lambda: decide_assessment(cmd, [], NOW))


def test_a_coordinator_led_by_a_middle_leader_is_appointed_once() -> None:
    [e] = decide_appointment(Appoint("110101", "s1", "t1", "m1"), [], FACTS, NOW)
    assert isinstance(e, CoordinatorAppointed)
    assert (e.staff_ref, e.led_by) == ("t1", "m1")
    assert decide_appointment(Appoint("110101", "s1", "t1", "m1"), [e], FACTS, NOW) == []


def test_a_coordinator_from_another_school_or_led_by_a_teacher_is_refused() -> None:
    refused(
        "coordinator_of_school",
        lambda: decide_appointment(Appoint("110101", "s1", "p2", "m1"), [], FACTS, NOW),
    )
    refused(
        "led_by_school_leader",
        lambda: decide_appointment(Appoint("110101", "s1", "m1", "t1"), [], FACTS, NOW),
    )


def test_withdrawing_needs_a_coordinator() -> None:
    refused("coordinator_appointed", lambda: decide_withdrawal("110101", "s1", [], NOW))
    appointed = decide_appointment(Appoint("110101", "s1", "t1", "p1"), [], FACTS, NOW)
    [w] = decide_withdrawal("110101", "s1", appointed, NOW)
    assert isinstance(w, CoordinatorWithdrawn)
    assert w.staff_ref == "t1"
    refused(
        "coordinator_appointed", lambda: decide_withdrawal("110101", "s1", [*appointed, w], NOW)
    )


async def test_commands_seal_titles_and_the_read_model_keeps_the_latest_state() -> None:
    from tongxin_committees.application.parent_school import ParentSchools
    from tongxin_committees.projections.read_model import COMMITTEES
    from tongxin_contracts import default_registry
    from tongxin_platform.commands import Writer
    from tongxin_platform.memory import MemoryDatabase, MemoryTables, MemoryTransactions

    db = MemoryDatabase(default_registry())
    writer = Writer(MemoryTransactions(db), default_registry(), clock=lambda: NOW)
    schools = ParentSchools(writer, pool=None)  # type: ignore[arg-type]  # no roster read here

    def established_now(_: list[object], now: datetime) -> list[ParentSchoolEstablished]:
        return decide_establish(establish(), [], FACTS, now)  # type: ignore[return-value]

    await writer.run("parent-school-s1", established_now)  # type: ignore[arg-type]
    [held] = await schools.record_session(session(K.salon, 1.5), "亲子沟通沙龙")
    assert "亲子沟通" not in held.model_dump_json()
    await schools.assess(Assess("110101", "s1", "2026-2027", False, (), "o1"))
    await schools.assess(Assess("110101", "s1", "2026-2027", True, (), "o1"))

    def appointed(history: list[object], now: datetime) -> list[CoordinatorAppointed]:
        cmd = Appoint("110101", "s1", "t1", "m1")
        return decide_appointment(cmd, history, FACTS, now)  # type: ignore[arg-type, return-value]

    await writer.run("parent-school-s1", appointed)  # type: ignore[arg-type]

    tables = MemoryTables(db, COMMITTEES.tables)
    await COMMITTEES.write(tables, COMMITTEES.schema, COMMITTEES.fold(db.published()))
    assessments = tables.rows("committees", "parent_school_assessments")
    assert [r["standard"] for r in assessments.values()] == [True]
    [row] = tables.rows("committees", "parent_school_sessions").values()
    assert (row["kind"], row["class_hours"], row["school_year"]) == ("salon", 1.5, "2026-2027")
    assert tables.rows("committees", "coordinators")[("s1",)]["staff_ref"] == "t1"

    await schools.withdraw("110101", "s1")
    await COMMITTEES.write(tables, COMMITTEES.schema, COMMITTEES.fold(db.published()[-1:]))
    assert tables.rows("committees", "coordinators") == {}
