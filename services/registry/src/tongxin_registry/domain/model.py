"""Commands and state of the registry's aggregates: school, class, student, staff member."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from tongxin_contracts import Sealed
from tongxin_contracts.events.registry import (
    AgeBand,
    CareGroup,
    ErasureReason,
    Guardian,
    LeaveReason,
    SchoolStage,
    SpecialGroup,
    StaffRole,
)
from tongxin_platform.domain import DomainError, NotFoundError


class RegistryError(DomainError):
    """A command the registry refuses; the message says which rule."""


class StudentNotEnrolledError(RegistryError, NotFoundError):
    pass


class UnknownClassError(RegistryError, NotFoundError):
    pass


# --- commands -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegisterSchool:
    district: str
    school_id: str
    school_name: str
    stage: SchoolStage
    has_counselling_room: bool


@dataclass(frozen=True, slots=True)
class OpenClass:
    district: str
    school_id: str
    class_id: str
    class_name: str
    grade: int
    school_year: str
    head_teacher_ref: str | None


@dataclass(frozen=True, slots=True)
class PlaceStudent:
    """Enrol a student, or move them, or change their groups: whatever differs from the record."""

    district: str
    school_id: str
    class_id: str
    student_ref: str
    birth_date: date
    guardians: tuple[Guardian, ...]
    groups: frozenset[SpecialGroup]
    personal: Sealed | None  # sealed by the application only for students not yet enrolled
    today: date  # China time: the day the age band is computed for
    # ``groups`` sealed by the application, when they differ from what it could open of the
    # record; None when the student's key is gone (erased) or nothing changed.
    groups_sealed: Sealed | None = None


@dataclass(frozen=True, slots=True)
class RecordStudentLeft:
    student_ref: str
    reason: LeaveReason


@dataclass(frozen=True, slots=True)
class CategoriseStudent:
    student_ref: str
    groups: frozenset[SpecialGroup]
    groups_sealed: Sealed | None = None  # as in PlaceStudent


@dataclass(frozen=True, slots=True)
class EraseSubject:
    """Erase a student's personal data (the application deletes the key in the same step)."""

    student_ref: str
    reason: ErasureReason
    by_role: str


@dataclass(frozen=True, slots=True)
class TransferStudent:
    student_ref: str
    district: str
    school_id: str
    class_id: str


@dataclass(frozen=True, slots=True)
class AssignStaff:
    district: str
    school_id: str
    staff_ref: str
    roles: frozenset[StaffRole]
    class_ids: frozenset[str]
    personal: Sealed | None


# --- state ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SchoolState:
    school_name: str
    stage: SchoolStage
    has_counselling_room: bool


@dataclass(frozen=True, slots=True)
class ClassState:
    school_id: str
    class_name: str
    grade: int
    school_year: str
    head_teacher_ref: str | None


@dataclass(frozen=True, slots=True)
class StudentState:
    enrolled: bool = False
    district: str = ""
    school_id: str = ""
    class_id: str = ""
    # The groups as far as they are known: the events carry them sealed, so after a
    # ``StudentCategorised`` they are None until the application opens ``groups_sealed``
    # (``with_groups``); the clear coarse facts are always known.
    groups: frozenset[SpecialGroup] | None = field(default_factory=frozenset)
    erased: bool = False
    groups_sealed: Sealed | None = None
    in_special_group: bool = False
    care_groups: frozenset[CareGroup] = field(default_factory=frozenset)
    age_band: AgeBand | None = None


@dataclass(frozen=True, slots=True)
class StaffState:
    school_id: str
    roles: frozenset[StaffRole]
    class_ids: frozenset[str]
