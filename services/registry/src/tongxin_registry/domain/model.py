"""Commands and state of the registry's aggregates: school, class, student, staff member."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from tongxin_contracts import Sealed
from tongxin_contracts.events.registry import (
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


@dataclass(frozen=True, slots=True)
class RecordStudentLeft:
    student_ref: str
    reason: LeaveReason


@dataclass(frozen=True, slots=True)
class CategoriseStudent:
    student_ref: str
    groups: frozenset[SpecialGroup]


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
    groups: frozenset[SpecialGroup] = field(default_factory=frozenset)
    erased: bool = False


@dataclass(frozen=True, slots=True)
class StaffState:
    school_id: str
    roles: frozenset[StaffRole]
    class_ids: frozenset[str]
