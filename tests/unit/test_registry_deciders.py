"""Given the registry's state, when a command arrives, then these events (or this refusal)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from tongxin_contracts import Sealed
from tongxin_contracts.events.registry import (
    AgeBand,
    CareGroup,
    ClassOpened,
    Guardian,
    LeaveReason,
    SchoolRegistered,
    SchoolStage,
    SpecialGroup,
    StaffAssigned,
    StaffRole,
    StudentAgeBandChanged,
    StudentCategorised,
    StudentEnrolled,
    StudentLeft,
    StudentTransferred,
)
from tongxin_registry.domain.deciders import (
    decide_class,
    decide_school,
    decide_staff,
    decide_student,
    fold,
)
from tongxin_registry.domain.model import (
    AssignStaff,
    CategoriseStudent,
    OpenClass,
    PlaceStudent,
    RecordStudentLeft,
    RegisterSchool,
    RegistryError,
    StudentNotEnrolledError,
    StudentState,
)

SEALED = Sealed(subject="stu_1", key_id="k", nonce="n", ciphertext="c")
GROUPS_SEALED = Sealed(subject="stu_1", key_id="k", nonce="g", ciphertext="groups")
GUARDIANS = (Guardian(guardian_ref="gdn_1", relation="mother"),)
BIRTH = date(2016, 3, 1)
TODAY = date(2026, 9, 1)


def place(
    class_id: str = "c1",
    school_id: str = "s1",
    groups: frozenset[SpecialGroup] = frozenset(),
    personal: Sealed | None = SEALED,
    today: date = TODAY,
) -> PlaceStudent:
    # The application seals the groups when they differ from what it could open of the record.
    sealed = GROUPS_SEALED if groups else None
    return PlaceStudent(
        "330106", school_id, class_id, "stu_1", BIRTH, GUARDIANS, groups, personal, today, sealed
    )


def enrolled(**changes: object) -> StudentState:
    events = decide_student(place(**changes), StudentState())  # type: ignore[arg-type]
    return fold(events, StudentState())


def test_a_new_school_is_registered_and_an_unchanged_one_is_not_registered_again() -> None:
    cmd = RegisterSchool("330106", "s1", "同心第1小学", SchoolStage.primary, True)
    events = decide_school(cmd, None)
    assert [type(e) for e in events] == [SchoolRegistered]
    assert decide_school(cmd, fold(events, None)) == []


def test_a_changed_school_is_registered_again() -> None:
    cmd = RegisterSchool("330106", "s1", "同心第1小学", SchoolStage.primary, True)
    state = fold(decide_school(cmd, None), None)
    changed = RegisterSchool("330106", "s1", "同心第1小学", SchoolStage.primary, False)
    assert [type(e) for e in decide_school(changed, state)] == [SchoolRegistered]


def test_a_class_cannot_move_to_another_school() -> None:
    cmd = OpenClass("330106", "s1", "c1", "一年级1班", 1, "2026-2027", None)
    state = fold(decide_class(cmd, None), None)
    assert decide_class(cmd, state) == []
    moved = OpenClass("330106", "s2", "c1", "一年级1班", 1, "2026-2027", None)
    with pytest.raises(RegistryError, match="belongs to school s1"):
        decide_class(moved, state)
    assert isinstance(decide_class(cmd, None)[0], ClassOpened)


def test_a_new_student_is_enrolled_and_categorised_when_in_special_groups() -> None:
    events = decide_student(place(groups=frozenset({SpecialGroup.left_behind})), StudentState())
    assert [type(e) for e in events] == [StudentEnrolled, StudentCategorised]
    assert isinstance(events[1], StudentCategorised)
    assert events[1].groups == GROUPS_SEALED
    assert events[1].in_special_group is True
    assert events[1].care_groups == [CareGroup.left_behind]


def test_a_new_student_is_enrolled_with_an_age_band_and_no_birth_date_in_clear() -> None:
    [event] = decide_student(place(), StudentState())
    assert isinstance(event, StudentEnrolled)
    assert (event.age_band, event.age_band_on) == (AgeBand.under_14, TODAY)
    assert BIRTH.isoformat() not in event.model_dump_json()


def test_a_student_placed_again_after_turning_14_gets_a_new_age_band_once() -> None:
    later = date(2030, 3, 1)  # the 14th birthday
    events = decide_student(place(personal=None, today=later), enrolled())
    assert [type(e) for e in events] == [StudentAgeBandChanged]
    assert isinstance(events[0], StudentAgeBandChanged)
    assert (events[0].age_band, events[0].age_band_on) == (AgeBand.from_14_to_17, later)
    state = fold(events, enrolled())
    assert decide_student(place(personal=None, today=later), state) == []
    day_before = date(2030, 2, 28)
    assert decide_student(place(personal=None, today=day_before), enrolled()) == []


def test_groups_that_cannot_be_opened_are_compared_by_their_clear_facts() -> None:
    state = enrolled(groups=frozenset({SpecialGroup.migrant}))
    assert state.groups is None  # sealed: unknown to the domain until the application opens it
    same_facts = CategoriseStudent("stu_1", frozenset({SpecialGroup.disabled}))
    assert decide_student(same_facts, state) == []
    now_left_behind = CategoriseStudent("stu_1", frozenset({SpecialGroup.left_behind}))
    [event] = decide_student(now_left_behind, state)
    assert isinstance(event, StudentCategorised)
    assert (event.groups, event.care_groups) == (None, [CareGroup.left_behind])
    resealed = CategoriseStudent("stu_1", frozenset({SpecialGroup.disabled}), GROUPS_SEALED)
    assert decide_student(resealed, state)[0] == StudentCategorised(
        district="330106",
        school_id="s1",
        student_ref="stu_1",
        groups=GROUPS_SEALED,
        in_special_group=True,
        care_groups=[],
    )


def test_enrolling_without_sealed_personal_data_is_refused() -> None:
    with pytest.raises(RegistryError, match="sealed personal data"):
        decide_student(place(personal=None), StudentState())


def test_placing_an_enrolled_student_again_unchanged_decides_nothing() -> None:
    assert decide_student(place(personal=None), enrolled()) == []


def test_placing_an_enrolled_student_in_another_class_transfers_them() -> None:
    events = decide_student(place(class_id="c2", school_id="s2", personal=None), enrolled())
    assert len(events) == 1
    moved = events[0]
    assert isinstance(moved, StudentTransferred)
    assert (moved.from_school_id, moved.from_class_id, moved.school_id, moved.class_id) == (
        "s1",
        "c1",
        "s2",
        "c2",
    )


def test_a_student_who_left_and_comes_back_is_enrolled_again() -> None:
    state = enrolled()
    state = fold(decide_student(RecordStudentLeft("stu_1", LeaveReason.moved_away), state), state)
    assert not state.enrolled
    assert [type(e) for e in decide_student(place(), state)] == [StudentEnrolled]


def test_a_student_not_enrolled_cannot_leave_or_be_categorised() -> None:
    with pytest.raises(StudentNotEnrolledError):
        decide_student(RecordStudentLeft("stu_1", LeaveReason.other), StudentState())
    with pytest.raises(StudentNotEnrolledError):
        decide_student(CategoriseStudent("stu_1", frozenset()), StudentState())


def test_leaving_records_the_reason() -> None:
    events = decide_student(RecordStudentLeft("stu_1", LeaveReason.graduated), enrolled())
    assert isinstance(events[0], StudentLeft)
    assert events[0].reason is LeaveReason.graduated


def test_categorising_with_the_same_groups_decides_nothing() -> None:
    # As the application hands it over: the groups opened from the sealed record.
    state = replace(
        enrolled(groups=frozenset({SpecialGroup.migrant})), groups=frozenset({SpecialGroup.migrant})
    )
    same = CategoriseStudent("stu_1", frozenset({SpecialGroup.migrant}), GROUPS_SEALED)
    assert decide_student(same, state) == []
    events = decide_student(CategoriseStudent("stu_1", frozenset(), GROUPS_SEALED), state)
    assert isinstance(events[0], StudentCategorised)
    assert (events[0].in_special_group, events[0].care_groups) == (False, [])


def test_staff_are_assigned_once_until_their_roles_change() -> None:
    cmd = AssignStaff(
        "330106", "s1", "stf_1", frozenset({StaffRole.head_teacher}), frozenset({"c1"}), SEALED
    )
    events = decide_staff(cmd, None)
    assert [type(e) for e in events] == [StaffAssigned]
    state = fold(events, None)
    assert decide_staff(cmd, state) == []
    promoted = AssignStaff(
        "330106",
        "s1",
        "stf_1",
        frozenset({StaffRole.head_teacher, StaffRole.middle_leader}),
        frozenset({"c1"}),
        SEALED,
    )
    assert len(decide_staff(promoted, state)) == 1


def test_erasing_records_subject_erased_once() -> None:
    from tongxin_contracts.events.registry import ErasureReason, SubjectErased
    from tongxin_registry.domain.model import EraseSubject

    state = enrolled()
    cmd = EraseSubject("stu_1", ErasureReason.data_subject_request, "operator")
    events = decide_student(cmd, state)
    assert [type(e) for e in events] == [SubjectErased]
    after = fold(events, state)
    assert after.erased
    assert after.enrolled
    assert decide_student(cmd, after) == []


def test_erasing_an_unknown_student_is_refused() -> None:
    from tongxin_contracts.events.registry import ErasureReason
    from tongxin_registry.domain.model import EraseSubject

    with pytest.raises(StudentNotEnrolledError):
        decide_student(EraseSubject("stu_9", ErasureReason.legal_order, "operator"), StudentState())


def test_an_erased_student_stays_erased_after_leaving_and_coming_back() -> None:
    from tongxin_contracts.events.registry import ErasureReason
    from tongxin_registry.domain.model import EraseSubject

    state = enrolled()
    for cmd in (
        EraseSubject("stu_1", ErasureReason.legal_order, "operator"),
        RecordStudentLeft("stu_1", LeaveReason.moved_away),
    ):
        state = fold(decide_student(cmd, state), state)
    state = fold(decide_student(place(), state), state)
    assert state.enrolled
    assert state.erased
