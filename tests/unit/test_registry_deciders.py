"""Given the registry's state, when a command arrives, then these events (or this refusal)."""

from __future__ import annotations

from datetime import date

import pytest

from tongxin_contracts import Sealed
from tongxin_contracts.events.registry import (
    ClassOpened,
    Guardian,
    LeaveReason,
    SchoolRegistered,
    SchoolStage,
    SpecialGroup,
    StaffAssigned,
    StaffRole,
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
GUARDIANS = (Guardian(guardian_ref="gdn_1", relation="mother"),)


def place(
    class_id: str = "c1",
    school_id: str = "s1",
    groups: frozenset[SpecialGroup] = frozenset(),
    personal: Sealed | None = SEALED,
) -> PlaceStudent:
    return PlaceStudent(
        "330106", school_id, class_id, "stu_1", date(2016, 3, 1), GUARDIANS, groups, personal
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
    assert events[1].groups == [SpecialGroup.left_behind]


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
    state = enrolled(groups=frozenset({SpecialGroup.migrant}))
    assert (
        decide_student(CategoriseStudent("stu_1", frozenset({SpecialGroup.migrant})), state) == []
    )
    events = decide_student(CategoriseStudent("stu_1", frozenset()), state)
    assert isinstance(events[0], StudentCategorised)
    assert events[0].groups == []


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
