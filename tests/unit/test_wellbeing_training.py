"""Training and classes of seed 004 (心阳光), in memory: given a school's year of training and
class sessions, when one more is recorded, then this event (or this refusal naming the rule);
and the coverage the school and its district see, counted from the roster and what was held."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from tongxin_contracts import default_registry
from tongxin_contracts.events.wellbeing import (
    ClassSessionHeld,
    ClassSessionKind,
    TrainingRecorded,
    TrainingTopic,
)
from tongxin_platform.memory import MemoryDatabase, MemoryTables
from tongxin_wellbeing.domain.errors import WellbeingError
from tongxin_wellbeing.domain.training import (
    HoldClassSession,
    RecordTraining,
    Training,
    coverage,
    decide_class_session,
    decide_training,
    district_totals,
)
from tongxin_wellbeing.projections.read_model import WELLBEING

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in China, 20 November 2026
YEAR = "2026-2027"
SCHOOL, DISTRICT = "330106001", "330106"
STAFF = frozenset({"t01", "t02", "psy", "hvp", "pri"})
CLASSES = frozenset({"330106001-01", "330106001-02"})
Topic, Kind = TrainingTopic, ClassSessionKind


def training(**over: Any) -> RecordTraining:
    base = RecordTraining(
        DISTRICT,
        SCHOOL,
        YEAR,
        "tr-1",
        Topic.crisis_identification,
        date(2026, 10, 9),
        ("t01", "psy"),
        0,
        STAFF,
    )
    return replace(base, **over)


def session(**over: Any) -> HoldClassSession:
    base = HoldClassSession(
        DISTRICT,
        SCHOOL,
        YEAR,
        "cs-1",
        "330106001-01",
        Kind.psychology_class,
        date(2026, 10, 12),
        CLASSES,
    )
    return replace(base, **over)


def refusal(call: Any) -> tuple[str, str]:
    with pytest.raises(WellbeingError) as refused:
        call()
    return refused.value.field, refused.value.rule


# --- recording a training ---------------------------------------------------------------


def test_a_crisis_identification_training_is_recorded_with_its_attendees_by_pseudonym() -> None:
    [e] = decide_training(training(), [], NOW)
    assert isinstance(e, TrainingRecorded)
    assert (e.school_id, e.school_year, e.topic, e.staff_refs, e.parent_count) == (
        SCHOOL,
        YEAR,
        Topic.crisis_identification,
        ["t01", "psy"],
        0,
    )
    assert e.aggregate_id() == f"school-wellbeing-{SCHOOL}-{YEAR}"


def test_an_attendee_named_twice_is_recorded_once() -> None:
    [e] = decide_training(training(staff_refs=("psy", "t01", "psy")), [], NOW)
    assert isinstance(e, TrainingRecorded)
    assert e.staff_refs == ["psy", "t01"]


def test_the_same_training_recorded_again_adds_nothing() -> None:
    first = decide_training(training(), [], NOW)
    assert decide_training(training(), first, NOW) == []


def test_an_attendee_who_is_not_on_the_schools_staff_is_refused_naming_them() -> None:
    cmd = training(staff_refs=("t01", "someone-elsewhere"))
    assert refusal(lambda: decide_training(cmd, [], NOW)) == (
        "staff_refs.1",
        "attendee_on_school_staff",
    )


def test_a_staff_training_without_attendees_is_refused() -> None:
    cmd = training(topic=Topic.classroom_emotion_module, staff_refs=())
    assert refusal(lambda: decide_training(cmd, [], NOW)) == (
        "staff_refs",
        "staff_training_has_attendees",
    )


def test_parents_counted_at_a_staff_training_are_refused() -> None:
    cmd = training(parent_count=30)
    assert refusal(lambda: decide_training(cmd, [], NOW)) == (
        "parent_count",
        "parents_only_at_parent_sessions",
    )


def test_a_parent_session_is_recorded_with_its_parent_count_and_no_staff_needed() -> None:
    [e] = decide_training(
        training(topic=Topic.parent_session, staff_refs=(), parent_count=42), [], NOW
    )
    assert isinstance(e, TrainingRecorded)
    assert (e.topic, e.parent_count, e.staff_refs) == (Topic.parent_session, 42, [])


def test_a_parent_session_without_parents_is_refused() -> None:
    cmd = training(topic=Topic.parent_session, staff_refs=("psy",), parent_count=0)
    assert refusal(lambda: decide_training(cmd, [], NOW)) == (
        "parent_count",
        "parent_session_counts_parents",
    )


@pytest.mark.parametrize("held_on", [date(2026, 8, 31), date(2027, 9, 1)])
def test_a_training_outside_its_school_year_is_refused(held_on: date) -> None:
    assert refusal(lambda: decide_training(training(held_on=held_on), [], NOW)) == (
        "held_on",
        "held_within_school_year",
    )


def test_a_training_dated_after_today_in_china_is_refused_but_today_is_not() -> None:
    past_midnight = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)  # 00:30 on 21 November in China
    assert decide_training(training(held_on=date(2026, 11, 21)), [], past_midnight)
    assert refusal(lambda: decide_training(training(held_on=date(2026, 11, 21)), [], NOW)) == (
        "held_on",
        "held_not_in_future",
    )


# --- class sessions -----------------------------------------------------------------------


def test_a_psychology_class_for_a_class_of_the_school_is_recorded() -> None:
    [e] = decide_class_session(session(), [], NOW)
    assert isinstance(e, ClassSessionHeld)
    assert (e.class_id, e.kind, e.held_on) == (
        "330106001-01",
        Kind.psychology_class,
        date(2026, 10, 12),
    )


def test_a_session_for_a_class_of_another_school_is_refused() -> None:
    cmd = session(class_id="330106002-01")
    assert refusal(lambda: decide_class_session(cmd, [], NOW)) == ("class_id", "class_of_school")


def test_a_class_session_outside_its_school_year_is_refused() -> None:
    cmd = session(held_on=date(2025, 10, 12))
    assert refusal(lambda: decide_class_session(cmd, [], NOW)) == (
        "held_on",
        "held_within_school_year",
    )


def test_the_same_class_session_recorded_again_adds_nothing() -> None:
    first = decide_class_session(session(), [], NOW)
    assert decide_class_session(session(), first, NOW) == []


# --- coverage -----------------------------------------------------------------------------

ROSTER = {
    "pri": ["principal"],
    "psy": ["psych_teacher"],
    "hvp": ["health_vp"],
    "t01": ["head_teacher", "subject_teacher"],
    "t02": ["head_teacher", "subject_teacher"],
    "s01": ["subject_teacher"],
}


def test_crisis_identification_coverage_counts_head_and_psychology_teachers_only() -> None:
    held = [
        Training(Topic.crisis_identification, ("t01", "psy", "hvp", "gone"), 0),
        Training(Topic.crisis_identification, ("t01",), 0),
    ]
    c = coverage(SCHOOL, YEAR, ROSTER, held, [], [])
    ci = c.crisis_identification
    assert (ci.staff, ci.trained, ci.share, ci.not_trained) == (3, 2, 2 / 3, ["t02"])
    assert ci.target_roles == ["head_teacher", "psych_teacher"]


def test_the_emotion_module_counts_every_subject_teacher_head_teachers_included() -> None:
    held = [Training(Topic.classroom_emotion_module, ("s01", "t02", "pri"), 0)]
    em = coverage(SCHOOL, YEAR, ROSTER, held, [], []).classroom_emotion_module
    assert (em.staff, em.trained, em.not_trained) == (3, 2, ["t01"])
    assert em.share == pytest.approx(2 / 3)


def test_a_crisis_training_does_not_count_for_the_emotion_module() -> None:
    held = [Training(Topic.crisis_identification, ("t01", "t02", "s01"), 0)]
    assert coverage(SCHOOL, YEAR, ROSTER, held, [], []).classroom_emotion_module.trained == 0


def test_parent_sessions_and_parents_are_summed() -> None:
    held = [Training(Topic.parent_session, (), 40), Training(Topic.parent_session, ("psy",), 25)]
    c = coverage(SCHOOL, YEAR, ROSTER, held, [], [])
    assert (c.parent_sessions, c.parents) == (2, 65)


def test_a_school_without_anyone_a_topic_is_for_has_no_share_rather_than_zero() -> None:
    c = coverage(SCHOOL, YEAR, {"pri": ["principal"]}, [], [], [])
    assert (c.crisis_identification.staff, c.crisis_identification.share) == (0, None)


def test_classes_with_and_without_a_psychology_class_or_group_counselling() -> None:
    classes = ["c1", "c2", "c3"]
    held = [
        ("c1", Kind.psychology_class),
        ("c1", Kind.psychology_class),
        ("c1", Kind.group_counselling),
        ("c2", Kind.group_counselling),
        ("elsewhere", Kind.psychology_class),
    ]
    c = coverage(SCHOOL, YEAR, ROSTER, [], classes, held)
    assert (c.classes, c.classes_with_sessions, c.classes_without_sessions) == (3, 2, ["c3"])
    assert (c.classes_with_psychology_class, c.classes_with_group_counselling) == (1, 2)


def test_the_districts_totals_add_its_schools_up_and_share_over_all_their_staff() -> None:
    trained = coverage(
        "s1",
        YEAR,
        ROSTER,
        [Training(Topic.crisis_identification, ("t01", "t02", "psy"), 0)],
        ["c1", "c2"],
        [("c1", Kind.psychology_class)],
    )
    untrained = coverage(
        "s2", YEAR, {"x": ["head_teacher"]}, [Training(Topic.parent_session, (), 7)], ["c9"], []
    )
    t = district_totals([trained, untrained])
    assert (t.schools, t.crisis_identification_staff, t.crisis_identification_trained) == (2, 4, 3)
    assert t.crisis_identification_share == 0.75
    assert (t.parent_sessions, t.parents) == (1, 7)
    assert (t.classes, t.classes_with_sessions, t.classes_without_sessions) == (3, 1, 2)
    assert district_totals([]).crisis_identification_share is None


# --- the read model -----------------------------------------------------------------------


async def test_the_read_model_keeps_trainings_and_class_sessions_by_school_and_year() -> None:
    events = [
        *decide_training(training(), [], NOW),
        *decide_training(
            training(training_id="tr-2", topic=Topic.parent_session, staff_refs=(), parent_count=9),
            [],
            NOW,
        ),
        *decide_class_session(session(), [], NOW),
    ]
    tables = MemoryTables(MemoryDatabase(default_registry()), WELLBEING.tables)
    await WELLBEING.write(tables, WELLBEING.schema, WELLBEING.fold(events))
    trainings = tables.rows(WELLBEING.schema, "trainings")
    assert trainings[("tr-1",)]["staff_refs"] == ["t01", "psy"]
    assert trainings[("tr-2",)]["parent_count"] == 9
    assert trainings[("tr-1",)]["school_year"] == YEAR
    sessions = tables.rows(WELLBEING.schema, "class_sessions")
    assert sessions[("cs-1",)]["class_id"] == "330106001-01"
    assert sessions[("cs-1",)]["kind"] == "psychology_class"
