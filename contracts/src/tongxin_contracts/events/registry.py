"""Events of the registry service (学籍与教职工), published on ``registry.events``.

Students and guardians appear only as pseudonyms (``student_ref``, ``guardian_ref``); their
names, contacts, addresses, birth dates and special groups travel sealed per subject (see
``Sealed``). What subscribers need in clear travels coarsened: an age band instead of the birth
date, "in a special group" and the two care groups instead of the groups
(``docs/privacy-on-the-wire.md`` has the decision per field).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from tongxin_contracts.base import IntegrationEvent, Sealed, StreamName

SERVICE = "registry"

# The registry's aggregates and how their stream ids are spelt.
school_stream = StreamName("school")
class_stream = StreamName("class")
student_stream = StreamName("student")
staff_stream = StreamName("staff")


class SchoolStage(StrEnum):
    kindergarten = "kindergarten"
    primary = "primary"
    junior = "junior"
    senior = "senior"
    nine_year = "nine_year"
    twelve_year = "twelve_year"
    vocational = "vocational"
    special = "special"


class StaffRole(StrEnum):
    principal = "principal"
    middle_leader = "middle_leader"
    head_teacher = "head_teacher"
    subject_teacher = "subject_teacher"
    psych_teacher = "psych_teacher"
    health_vp = "health_vp"
    school_doctor = "school_doctor"
    legal_vp = "legal_vp"
    fire_vp = "fire_vp"
    family_education_coordinator = "family_education_coordinator"


class SpecialGroup(StrEnum):
    """The eight special student groups (八类特殊学生群体)."""

    left_behind = "left_behind"
    migrant = "migrant"
    disabled = "disabled"
    low_income = "low_income"
    single_parent_or_reconstituted = "single_parent_or_reconstituted"
    orphan_or_unsupported = "orphan_or_unsupported"
    learning_difficulty = "learning_difficulty"
    psychological_or_behavioural = "psychological_or_behavioural"


class CareGroup(StrEnum):
    """The special groups the safety service keeps a care file for (一人一档): left-behind
    children (Minors Protection Law art. 23) and children without de-facto support (civil
    affairs). The only groups that travel in clear, because safety must act on them."""

    left_behind = "left_behind"
    orphan_or_unsupported = "orphan_or_unsupported"


def care_groups_of(groups: Iterable[SpecialGroup | str]) -> list[CareGroup]:
    """The care groups among ``groups``, sorted (what ``StudentCategorised`` shows in clear)."""
    return sorted({CareGroup(g) for g in groups if g in CareGroup.__members__})


class AgeBand(StrEnum):
    """Age in completed years, cut where the law changes what may be done with a minor's data:
    under 14 their personal information is sensitive and needs a guardian's consent (PIPL arts.
    28, 31); under 18 they are minors (Minors Protection Law art. 2)."""

    under_14 = "under_14"
    from_14_to_17 = "14_to_17"
    adult = "18_plus"


def age_on(birth_date: date, on: date) -> int:
    """Completed years (周岁) on ``on``: the birthday itself counts; someone born on 29 February
    completes a year on 1 March in other years."""
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - before_birthday


def age_band(birth_date: date, on: date) -> AgeBand:
    """The band of someone born on ``birth_date``, on the day ``on``."""
    age = age_on(birth_date, on)
    if age < 14:
        return AgeBand.under_14
    return AgeBand.from_14_to_17 if age < 18 else AgeBand.adult


class LeaveReason(StrEnum):
    graduated = "graduated"
    moved_away = "moved_away"
    dropped_out = "dropped_out"
    deceased = "deceased"
    other = "other"


class ErasureReason(StrEnum):
    """Why a subject's personal data was erased (PIPL arts. 19, 47)."""

    data_subject_request = "data_subject_request"
    retention_expired = "retention_expired"
    purpose_fulfilled = "purpose_fulfilled"
    legal_order = "legal_order"


class _RegistryEvent(IntegrationEvent):
    service: ClassVar[str] = SERVICE
    district: str = Field(description="District code (区县代码) of the school the fact belongs to.")
    school_id: str = Field(description="Stable id of the school (学校标识码).")


class SchoolRegistered(_RegistryEvent):
    """A school joined Tongxin (or changed its registration data)."""

    name: ClassVar[str] = "SchoolRegistered"
    school_name: str = Field(description="Official name of the school (public, not personal).")
    stage: SchoolStage = Field(description="Stage of schooling the school provides.")
    has_counselling_room: bool = Field(
        description="Whether the school has a counselling room (心理辅导室)."
    )

    def aggregate_id(self) -> str:
        return school_stream(self.school_id)


class ClassOpened(_RegistryEvent):
    """A class was opened for a school year, with its head teacher (班主任)."""

    name: ClassVar[str] = "ClassOpened"
    class_id: str = Field(description="Stable id of the class, unique within the district.")
    class_name: str = Field(description="Display name of the class, e.g. '三年级2班'.")
    grade: int = Field(
        ge=0, le=13, description="Grade: 0 kindergarten, 1–6 primary, 7–9 junior, 10–12 senior."
    )
    school_year: str = Field(pattern=r"^\d{4}-\d{4}$", description="School year, e.g. '2026-2027'.")
    head_teacher_ref: str | None = Field(
        default=None, description="staff_ref of the head teacher, if one is appointed."
    )

    def aggregate_id(self) -> str:
        return class_stream(self.class_id)


class Guardian(BaseModel):
    """A guardian of a student, by pseudonym; committees elect guardians."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    guardian_ref: str = Field(description="Pseudonym of the guardian, stable across re-imports.")
    relation: str = Field(description="Relation to the student, e.g. mother, father, grandparent.")


class StudentEnrolled(_RegistryEvent):
    """A student was enrolled in a class.

    v2: the birth date is sealed in ``personal``; ``age_band`` (as of ``age_band_on``) is what
    consent rules read. v1 payloads upcast with an unknown band (``None``) until the registry's
    next import records ``StudentAgeBandChanged``.
    """

    name: ClassVar[str] = "StudentEnrolled"
    version: ClassVar[int] = 2
    student_ref: str = Field(
        description="Pseudonym of the student (never the national student id)."
    )
    class_id: str = Field(description="Class the student is enrolled in.")
    age_band: AgeBand | None = Field(
        description=(
            "Age band on ``age_band_on`` (consent rules: PIPL art. 31's 14-year threshold); "
            "null only for students enrolled before v2, until the next import."
        )
    )
    age_band_on: date | None = Field(
        description="The day (China time) the band holds on: the day of enrolment."
    )
    guardians: list[Guardian] = Field(description="Guardians of the student, by pseudonym.")
    personal: Sealed = Field(
        description=(
            "Sealed personal data: student name, gender, birth date, address, guardians' names "
            "and phones."
        )
    )

    def aggregate_id(self) -> str:
        return student_stream(self.student_ref)


class StudentTransferred(_RegistryEvent):
    """A student moved to another class or school; ``school_id`` is the new school."""

    name: ClassVar[str] = "StudentTransferred"
    student_ref: str = Field(description="Pseudonym of the student.")
    class_id: str = Field(description="The class the student moved to.")
    from_school_id: str = Field(description="The school the student left.")
    from_class_id: str = Field(description="The class the student left.")

    def aggregate_id(self) -> str:
        return student_stream(self.student_ref)


class StudentLeft(_RegistryEvent):
    """A student left the school system of the district."""

    name: ClassVar[str] = "StudentLeft"
    student_ref: str = Field(description="Pseudonym of the student.")
    reason: LeaveReason = Field(description="Why the student left.")

    def aggregate_id(self) -> str:
        return student_stream(self.student_ref)


class StudentAgeBandChanged(_RegistryEvent):
    """A student's age band is no longer the one last published (a birthday passed a threshold,
    or the band was unknown): recorded by the registry when a roster import finds it."""

    name: ClassVar[str] = "StudentAgeBandChanged"
    student_ref: str = Field(description="Pseudonym of the student.")
    age_band: AgeBand = Field(description="Age band on ``age_band_on``.")
    age_band_on: date = Field(description="The day (China time) the band holds on.")

    def aggregate_id(self) -> str:
        return student_stream(self.student_ref)


class StudentCategorised(_RegistryEvent):
    """The special groups a student belongs to changed.

    v2: the groups are sealed with the student's key; in clear only what subscribers act on:
    whether the student is in any special group (visits' coverage rules) and the care groups
    (safety's care files). v1 payloads upcast with ``groups`` null.
    """

    name: ClassVar[str] = "StudentCategorised"
    version: ClassVar[int] = 2
    student_ref: str = Field(description="Pseudonym of the student.")
    groups: Sealed | None = Field(
        description=(
            "Every special group the student now belongs to, sealed with the student's key "
            '(``{"groups": [...]}``); null when it could not be sealed (erased student, v1).'
        )
    )
    in_special_group: bool = Field(
        description="Whether the student is in at least one special group (八类特殊学生)."
    )
    care_groups: list[CareGroup] = Field(
        description="The care groups among them (left-behind, unsupported): safety acts on them."
    )

    def aggregate_id(self) -> str:
        return student_stream(self.student_ref)


class StaffAssigned(_RegistryEvent):
    """A staff member holds these roles at a school (the full new set of roles and classes)."""

    name: ClassVar[str] = "StaffAssigned"
    staff_ref: str = Field(description="Pseudonym of the staff member.")
    roles: list[StaffRole] = Field(
        description="Every role the staff member now holds at the school."
    )
    class_ids: list[str] = Field(
        default_factory=list, description="Classes the staff member teaches or heads."
    )
    personal: Sealed = Field(description="Sealed personal data: the staff member's name and phone.")

    def aggregate_id(self) -> str:
        return staff_stream(self.staff_ref)


class SubjectErased(_RegistryEvent):
    """A student's personal data was erased: their data key is deleted (crypto-shredding).

    Every sealed field of this subject, in every event before this one, can no longer be opened;
    consumers drop whatever personal data of the subject they hold.
    """

    name: ClassVar[str] = "SubjectErased"
    student_ref: str = Field(description="Pseudonym of the student whose personal data is erased.")
    reason: ErasureReason = Field(description="Why the data was erased.")
    erased_by_role: str = Field(description="Role of the operator who erased it (not their name).")

    def aggregate_id(self) -> str:
        return student_stream(self.student_ref)


EVENTS: tuple[type[IntegrationEvent], ...] = (
    SchoolRegistered,
    ClassOpened,
    StudentEnrolled,
    StudentTransferred,
    StudentLeft,
    StudentCategorised,
    StudentAgeBandChanged,
    StaffAssigned,
    SubjectErased,
)
