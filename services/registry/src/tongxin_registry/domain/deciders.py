"""Deciders: ``decide(command, state) -> events`` and ``evolve(state, event) -> state``.

Re-importing an unchanged roster decides no events at all: that is what makes imports
idempotent. The clock and ids are the application's business, not the domain's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from functools import singledispatch
from typing import TypeVar

from tongxin_contracts import IntegrationEvent, Sealed
from tongxin_contracts.events.registry import (
    ClassOpened,
    SchoolRegistered,
    SpecialGroup,
    StaffAssigned,
    StudentAgeBandChanged,
    StudentCategorised,
    StudentEnrolled,
    StudentLeft,
    StudentTransferred,
    SubjectErased,
    age_band,
    care_groups_of,
)
from tongxin_registry.domain.model import (
    AssignStaff,
    CategoriseStudent,
    ClassState,
    EraseSubject,
    OpenClass,
    PlaceStudent,
    RecordStudentLeft,
    RegisterSchool,
    RegistryError,
    SchoolState,
    StaffState,
    StudentNotEnrolledError,
    StudentState,
    TransferStudent,
)

S = TypeVar("S")


def decide_school(cmd: RegisterSchool, state: SchoolState | None) -> list[IntegrationEvent]:
    new = SchoolState(cmd.school_name, cmd.stage, cmd.has_counselling_room)
    if state == new:
        return []
    return [
        SchoolRegistered(
            district=cmd.district,
            school_id=cmd.school_id,
            school_name=cmd.school_name,
            stage=cmd.stage,
            has_counselling_room=cmd.has_counselling_room,
        )
    ]


def decide_class(cmd: OpenClass, state: ClassState | None) -> list[IntegrationEvent]:
    if state is not None and state.school_id != cmd.school_id:
        raise RegistryError(
            f"class {cmd.class_id} belongs to school {state.school_id}, not {cmd.school_id}"
        )
    new = ClassState(
        cmd.school_id, cmd.class_name, cmd.grade, cmd.school_year, cmd.head_teacher_ref
    )
    if state == new:
        return []
    return [
        ClassOpened(
            district=cmd.district,
            school_id=cmd.school_id,
            class_id=cmd.class_id,
            class_name=cmd.class_name,
            grade=cmd.grade,
            school_year=cmd.school_year,
            head_teacher_ref=cmd.head_teacher_ref,
        )
    ]


def decide_student(
    cmd: PlaceStudent | RecordStudentLeft | CategoriseStudent | TransferStudent | EraseSubject,
    state: StudentState,
) -> list[IntegrationEvent]:
    if isinstance(cmd, PlaceStudent):
        return _place(cmd, state)
    if isinstance(cmd, EraseSubject):
        if not state.district:
            raise StudentNotEnrolledError(f"student {cmd.student_ref} is not in the registry")
        if state.erased:
            return []
        return [
            SubjectErased(
                district=state.district,
                school_id=state.school_id,
                student_ref=cmd.student_ref,
                reason=cmd.reason,
                erased_by_role=cmd.by_role,
            )
        ]
    if not state.enrolled:
        raise StudentNotEnrolledError(f"student {cmd.student_ref} is not enrolled")
    if isinstance(cmd, RecordStudentLeft):
        return [
            StudentLeft(
                district=state.district,
                school_id=state.school_id,
                student_ref=cmd.student_ref,
                reason=cmd.reason,
            )
        ]
    if isinstance(cmd, CategoriseStudent):
        if not _groups_change(cmd.groups, cmd.groups_sealed, state):
            return []
        return [_categorised(state.district, state.school_id, cmd.student_ref, cmd)]
    if (cmd.school_id, cmd.class_id) == (state.school_id, state.class_id):
        return []
    return [
        StudentTransferred(
            district=cmd.district,
            school_id=cmd.school_id,
            class_id=cmd.class_id,
            student_ref=cmd.student_ref,
            from_school_id=state.school_id,
            from_class_id=state.class_id,
        )
    ]


def _place(cmd: PlaceStudent, state: StudentState) -> list[IntegrationEvent]:
    events: list[IntegrationEvent] = []
    if not state.enrolled:
        if cmd.personal is None:
            raise RegistryError(f"enrolling {cmd.student_ref} needs their sealed personal data")
        events.append(
            StudentEnrolled(
                district=cmd.district,
                school_id=cmd.school_id,
                class_id=cmd.class_id,
                student_ref=cmd.student_ref,
                age_band=age_band(cmd.birth_date, cmd.today),
                age_band_on=cmd.today,
                guardians=list(cmd.guardians),
                personal=cmd.personal,
            )
        )
        state = StudentState()  # a new enrolment starts with no groups
    else:
        events += decide_student(
            TransferStudent(cmd.student_ref, cmd.district, cmd.school_id, cmd.class_id), state
        )
        band = age_band(cmd.birth_date, cmd.today)
        if band != state.age_band:
            events.append(
                StudentAgeBandChanged(
                    district=cmd.district,
                    school_id=cmd.school_id,
                    student_ref=cmd.student_ref,
                    age_band=band,
                    age_band_on=cmd.today,
                )
            )
    if _groups_change(cmd.groups, cmd.groups_sealed, state):
        events.append(_categorised(cmd.district, cmd.school_id, cmd.student_ref, cmd))
    return events


def _groups_change(
    groups: frozenset[SpecialGroup], sealed: Sealed | None, state: StudentState
) -> bool:
    """Whether ``groups`` differ from the record. When the record's groups cannot be opened
    (``None``), a change is recorded if it can be sealed, or if the clear facts differ."""
    if state.groups is not None:
        return groups != state.groups
    if sealed is not None:
        return True
    coarse = (bool(groups), frozenset(care_groups_of(groups)))
    return coarse != (state.in_special_group, state.care_groups)


def _categorised(
    district: str, school_id: str, student_ref: str, cmd: PlaceStudent | CategoriseStudent
) -> StudentCategorised:
    return StudentCategorised(
        district=district,
        school_id=school_id,
        student_ref=student_ref,
        groups=cmd.groups_sealed,
        in_special_group=bool(cmd.groups),
        care_groups=care_groups_of(cmd.groups),
    )


def decide_staff(cmd: AssignStaff, state: StaffState | None) -> list[IntegrationEvent]:
    new = StaffState(cmd.school_id, cmd.roles, cmd.class_ids)
    if state == new:
        return []
    if cmd.personal is None:
        raise RegistryError(f"assigning {cmd.staff_ref} needs their sealed personal data")
    return [
        StaffAssigned(
            district=cmd.district,
            school_id=cmd.school_id,
            staff_ref=cmd.staff_ref,
            roles=sorted(cmd.roles),
            class_ids=sorted(cmd.class_ids),
            personal=cmd.personal,
        )
    ]


# --- evolve ---------------------------------------------------------------------------------


@singledispatch
def evolve(event: IntegrationEvent, state: object) -> object:
    raise TypeError(f"no evolve for {type(event).__name__}")


@evolve.register
def _(event: SchoolRegistered, state: object) -> SchoolState:
    return SchoolState(event.school_name, event.stage, event.has_counselling_room)


@evolve.register
def _(event: ClassOpened, state: object) -> ClassState:
    return ClassState(
        event.school_id, event.class_name, event.grade, event.school_year, event.head_teacher_ref
    )


@evolve.register
def _(event: StudentEnrolled, state: object) -> StudentState:
    # A student enrolled again keeps an earlier erasure: the key is gone for good.
    erased = isinstance(state, StudentState) and state.erased
    return StudentState(
        True,
        event.district,
        event.school_id,
        event.class_id,
        frozenset(),
        erased,
        age_band=event.age_band,
    )


@evolve.register
def _(event: StudentAgeBandChanged, state: object) -> StudentState:
    assert isinstance(state, StudentState)
    return replace(state, age_band=event.age_band)


@evolve.register
def _(event: StudentTransferred, state: object) -> StudentState:
    assert isinstance(state, StudentState)
    return replace(
        state,
        enrolled=True,
        district=event.district,
        school_id=event.school_id,
        class_id=event.class_id,
    )


@evolve.register
def _(event: StudentLeft, state: object) -> StudentState:
    assert isinstance(state, StudentState)
    return replace(state, enrolled=False)


@evolve.register
def _(event: StudentCategorised, state: object) -> StudentState:
    assert isinstance(state, StudentState)
    return replace(
        state,
        groups=None,
        groups_sealed=event.groups,
        in_special_group=event.in_special_group,
        care_groups=frozenset(event.care_groups),
    )


@evolve.register
def _(event: SubjectErased, state: object) -> StudentState:
    assert isinstance(state, StudentState)
    return replace(state, erased=True)


@evolve.register
def _(event: StaffAssigned, state: object) -> StaffState:
    return StaffState(event.school_id, frozenset(event.roles), frozenset(event.class_ids))


def fold(events: Iterable[IntegrationEvent], initial: S) -> S:
    state: object = initial
    for e in events:
        state = evolve(e, state)
    return state  # type: ignore[return-value]
