"""The attention list and the plans (from ``wellbeing.events``): each student's place on the
list (proposed or listed, with the open proposal's sign-offs), their plan with the months
reviewed, each review still sealed (the head teacher's view opens the latest one's next step).

Nothing here is in clear that the events do not carry in clear: reasons and reviews stay sealed.
"""

from __future__ import annotations

from tongxin_contracts.events.wellbeing import (
    AttentionListProposed,
    AttentionListSignedOff,
    CarePlanClosed,
    CarePlanHandedOver,
    CarePlanOpened,
    CarePlanReviewed,
    StudentAddedToAttentionList,
    StudentRemovedFromAttentionList,
)
from tongxin_platform.projection import Changes, Projection, Table

T, NN = "text", "text NOT NULL"
TABLES = [
    Table(
        "attention",
        ("student_ref",),
        {
            "student_ref": T,
            "district": NN,
            "school_id": NN,
            "status": NN,  # proposed | listed | removed
            "proposal_id": T,
            "source": T,
            "listed_class_id": T,
            "signed_by": "text[] NOT NULL DEFAULT '{}'",
            "removal_reason": T,
            "decided_by": T,
        },
        indexes={"attention_by_school": "(school_id, status)"},
    ),
    Table(
        "attention_sign_offs",
        ("proposal_id", "role"),
        {"proposal_id": T, "role": T, "student_ref": NN, "staff_ref": NN},
    ),
    Table(
        "plans",
        ("student_ref",),
        {
            "student_ref": T,
            "plan_id": NN,
            "district": NN,
            "school_id": NN,
            "status": NN,  # open | closed
            "opened_on": "date NOT NULL",
            "owner_ref": NN,
            "closed_reason": T,
        },
        indexes={"plans_by_school": "(school_id, status)"},
    ),
    Table(
        "plan_reviews",
        ("plan_id", "month"),
        {
            "plan_id": T,
            "month": T,
            "student_ref": NN,
            "reviewed_by": NN,
            "review": "jsonb NOT NULL",  # sealed with the student's key
        },
    ),
]


def register(p: Projection) -> None:
    """The attention list's and the plans' handlers, on the service's one read model."""

    @p.on(AttentionListProposed)
    def _(e: AttentionListProposed, rows: Changes) -> None:
        rows["attention"].upsert(
            e.student_ref,
            district=e.district,
            school_id=e.school_id,
            status="proposed",
            proposal_id=e.proposal_id,
            source=e.source.value,
            listed_class_id=None,
            signed_by=[],
            removal_reason=None,
            decided_by=None,
        )

    @p.on(AttentionListSignedOff)
    def _(e: AttentionListSignedOff, rows: Changes) -> None:
        rows["attention_sign_offs"].upsert(
            (e.proposal_id, e.role.value), student_ref=e.student_ref, staff_ref=e.staff_ref
        )

    @p.on(StudentAddedToAttentionList)
    def _(e: StudentAddedToAttentionList, rows: Changes) -> None:
        rows["attention"].update(
            e.student_ref, status="listed", listed_class_id=e.class_id, signed_by=e.signed_by
        )

    @p.on(StudentRemovedFromAttentionList)
    def _(e: StudentRemovedFromAttentionList, rows: Changes) -> None:
        rows["attention"].update(
            e.student_ref, status="removed", removal_reason=e.reason.value, decided_by=e.decided_by
        )

    @p.on(CarePlanOpened)
    def _(e: CarePlanOpened, rows: Changes) -> None:
        rows["plans"].upsert(
            e.student_ref,
            plan_id=e.plan_id,
            district=e.district,
            school_id=e.school_id,
            status="open",
            opened_on=e.opened_on,
            owner_ref=e.owner_ref,
            closed_reason=None,
        )

    @p.on(CarePlanReviewed)
    def _(e: CarePlanReviewed, rows: Changes) -> None:
        rows["plan_reviews"].upsert(
            (e.plan_id, e.month),
            student_ref=e.student_ref,
            reviewed_by=e.reviewed_by,
            review=e.review.model_dump_json(),
        )

    @p.on(CarePlanHandedOver)
    def _(e: CarePlanHandedOver, rows: Changes) -> None:
        rows["plans"].update(e.student_ref, district=e.to_district, school_id=e.to_school_id)
        # The listing follows the student to the receiving school (same district).
        rows["attention"].update(e.student_ref, district=e.to_district, school_id=e.to_school_id)

    @p.on(CarePlanClosed)
    def _(e: CarePlanClosed, rows: Changes) -> None:
        rows["plans"].update(e.student_ref, status="closed", closed_reason=e.reason.value)
