"""Released versions that the current models replaced, and the upcasters from each.

Events already in the stores and on the topics (kept forever) still read: ``decode`` upcasts
them to the current model. The old models stay here, frozen, so their JSON Schemas stay
published beside the new ones (``contracts/schemas/<service>/<Event>.v1.json``).

Upcasting cannot seal: a v1 payload's clear birth date, special groups and finding categories
are dropped, keeping only the coarse facts the current version shows in clear.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field

from tongxin_contracts.base import IntegrationEvent, Sealed
from tongxin_contracts.events import registry as reg
from tongxin_contracts.events import visits as vis
from tongxin_contracts.registry import EventRegistry


class StudentEnrolledV1(reg._RegistryEvent):
    """A student was enrolled in a class."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="StudentEnrolled")

    name: ClassVar[str] = "StudentEnrolled"
    student_ref: str = Field(
        description="Pseudonym of the student (never the national student id)."
    )
    class_id: str = Field(description="Class the student is enrolled in.")
    birth_date: date = Field(description="Birth date; consent rules depend on age (PIPL art. 31).")
    guardians: list[reg.Guardian] = Field(description="Guardians of the student, by pseudonym.")
    personal: Sealed = Field(
        description=(
            "Sealed personal data: student name, gender, address, guardians' names and phones."
        )
    )


class StudentCategorisedV1(reg._RegistryEvent):
    """The special groups a student belongs to changed; ``groups`` is the full new set."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="StudentCategorised")

    name: ClassVar[str] = "StudentCategorised"
    student_ref: str = Field(description="Pseudonym of the student.")
    groups: list[reg.SpecialGroup] = Field(
        description="Every special group the student now belongs to (empty: none)."
    )


class VisitCompletedV1(vis._VisitEvent):
    """A visit took place and was recorded, with the visitors' integrity attestation.

    It counts toward coverage only once ``VisitConfirmed`` follows. Subscribers: wellbeing reacts
    to a ``mental_health`` finding; committees opens a feedback item per parent suggestion.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", title="VisitCompleted")

    name: ClassVar[str] = "VisitCompleted"
    class_id: str = Field(description="The student's class at the time of the visit.")
    student_ref: str = Field(description="Pseudonym of the student whose family was visited.")
    recorded_by: str = Field(description="staff_ref of the visitor who recorded the visit.")
    visitors: list[vis.Visitor] = Field(
        min_length=1, description="Everyone who visited, with roles."
    )
    mode: vis.VisitMode = Field(description="How the visit took place.")
    started_at: datetime = Field(description="When the visit started (with time zone).")
    duration_minutes: int = Field(ge=1, le=600, description="How long the visit lasted.")
    goals_covered: list[vis.VisitGoal] = Field(description="Which of the five goals were covered.")
    findings: list[vis.Finding] = Field(description="What was found, by category.")
    parent_suggestions: list[vis.ParentSuggestion] = Field(
        description="Suggestions the family made, forwarded to the school to be answered."
    )
    notes: Sealed | None = Field(
        default=None, description="The visit notes (家访手记), sealed with the student's key."
    )
    integrity_attested: Literal[True] = Field(
        description="The visitors attest that no gift, money or meal was accepted (seed 002 §3.4)."
    )


class FollowUpOpenedV1(vis._FollowUpEvent):
    """A finding opened a case in the follow-up ledger (台账) under one of the four measures."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="FollowUpOpened")

    name: ClassVar[str] = "FollowUpOpened"
    visit_id: str = Field(description="The visit whose finding opened the case.")
    class_id: str = Field(description="The student's class when the case was opened.")
    student_ref: str = Field(description="Pseudonym of the student.")
    measure: vis.Measure = Field(description="The measure (四措施) the case falls under.")
    category: vis.FindingCategory = Field(description="The finding's category.")
    owner_ref: str = Field(description="staff_ref of the staff member who owns the case.")
    opened_on: date = Field(description="The day the case was opened (China time).")
    due_date: date = Field(description="The case should be closed by this date.")


RELEASED: tuple[type[IntegrationEvent], ...] = (
    StudentEnrolledV1,
    StudentCategorisedV1,
    VisitCompletedV1,
    FollowUpOpenedV1,
)


def student_enrolled_v1(data: dict[str, Any]) -> dict[str, Any]:
    # The band cannot be known without the day the event was recorded: unknown until the
    # registry's next import publishes it (StudentAgeBandChanged).
    out = {k: v for k, v in data.items() if k != "birth_date"}
    return {**out, "age_band": None, "age_band_on": None}


def student_categorised_v1(data: dict[str, Any]) -> dict[str, Any]:
    groups = data.get("groups", [])
    return {
        **data,
        "groups": None,
        "in_special_group": bool(groups),
        "care_groups": [g.value for g in reg.care_groups_of(groups)],
    }


def visit_completed_v1(data: dict[str, Any]) -> dict[str, Any]:
    findings = data.get("findings", [])
    return {
        **data,
        "findings": None,
        "referrals": [r.value for r in vis.referrals_of(f["category"] for f in findings)],
        "followup_case_ids": [f["case_id"] for f in findings if f.get("case_id")],
    }


def followup_opened_v1(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if k != "category"}
    return {**out, "detail": None}


def register_released(registry: EventRegistry) -> None:
    """Add the released old versions and their upcasters to ``registry``."""
    for model in RELEASED:
        registry.register_released(model)
    registry.upcaster("registry", "StudentEnrolled", 1)(student_enrolled_v1)
    registry.upcaster("registry", "StudentCategorised", 1)(student_categorised_v1)
    registry.upcaster("visits", "VisitCompleted", 1)(visit_completed_v1)
    registry.upcaster("visits", "FollowUpOpened", 1)(followup_opened_v1)
