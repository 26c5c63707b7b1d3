"""Hand-made events of the education model's tests (roster, visits, wellbeing): one short
builder per event with the fields a rule reads, the rest plausible defaults, and the model
folded in memory (``fold_rows``) or written into PostgreSQL (``write_model``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

import asyncpg

from tongxin_agencies.projections.education import EDUCATION
from tongxin_contracts import IntegrationEvent, Sealed, default_registry
from tongxin_contracts.calendar import CHINA
from tongxin_contracts.events.registry import (
    ClassOpened,
    Guardian,
    LeaveReason,
    SchoolRegistered,
    SchoolStage,
    StaffAssigned,
    StaffRole,
    StudentCategorised,
    StudentEnrolled,
    StudentLeft,
    StudentTransferred,
)
from tongxin_contracts.events.visits import (
    CancelReason,
    FollowUpClosed,
    FollowUpOpened,
    FollowUpOutcome,
    Measure,
    MonthlyFigures,
    MonthlyVisitReportSubmitted,
    VisitCancelled,
    VisitCompleted,
    VisitMode,
    Visitor,
)
from tongxin_contracts.events.wellbeing import (
    ConsentDecision,
    ConsentGivenBy,
    CrisisReferred,
    ReferralAcknowledged,
    ScreeningCompleted,
    ScreeningOffered,
    StudentAddedToAttentionList,
    StudentRemovedFromAttentionList,
    TrainingRecorded,
    TrainingTopic,
)
from tongxin_contracts.events.wellbeing import ConsentRecorded as Consent
from tongxin_contracts.events.wellbeing import RemovalReason as AttentionRemoval
from tongxin_platform.memory import MemoryDatabase, MemoryTables

DISTRICT = "d1"
SEALED = Sealed(subject="s", key_id="k", nonce="n", ciphertext="c")


def china_noon(d: date) -> datetime:
    return datetime.combine(d, time(12), CHINA)


def school(school_id: str = "sch1", *, room: bool = True, district: str = DISTRICT) -> Any:
    return SchoolRegistered(
        district=district,
        school_id=school_id,
        school_name=f"学校 {school_id}",
        stage=SchoolStage.primary,
        has_counselling_room=room,
    )


def klass(class_id: str, school_id: str = "sch1", head: str | None = None) -> Any:
    return ClassOpened(
        district=DISTRICT,
        school_id=school_id,
        class_id=class_id,
        class_name=class_id,
        grade=1,
        school_year="2026-2027",
        head_teacher_ref=head,
    )


def student(ref: str, class_id: str, school_id: str = "sch1") -> Any:
    return StudentEnrolled(
        district=DISTRICT,
        school_id=school_id,
        student_ref=ref,
        class_id=class_id,
        age_band=None,
        age_band_on=None,
        guardians=[Guardian(guardian_ref=f"g-{ref}", relation="mother")],
        personal=SEALED,
    )


def transferred(ref: str, class_id: str, school_id: str, frm: tuple[str, str]) -> Any:
    return StudentTransferred(
        district=DISTRICT,
        school_id=school_id,
        student_ref=ref,
        class_id=class_id,
        from_school_id=frm[0],
        from_class_id=frm[1],
    )


def left(ref: str, school_id: str = "sch1") -> Any:
    return StudentLeft(
        district=DISTRICT, school_id=school_id, student_ref=ref, reason=LeaveReason.moved_away
    )


def special(ref: str, flag: bool = True, school_id: str = "sch1") -> Any:
    return StudentCategorised(
        district=DISTRICT,
        school_id=school_id,
        student_ref=ref,
        groups=None,
        in_special_group=flag,
        care_groups=[],
    )


def staff(ref: str, *roles: str, school_id: str = "sch1", classes: Sequence[str] = ()) -> Any:
    return StaffAssigned(
        district=DISTRICT,
        school_id=school_id,
        staff_ref=ref,
        roles=[StaffRole(r) for r in roles],
        class_ids=list(classes),
        personal=SEALED,
    )


def visit(
    visit_id: str,
    ref: str,
    on: date | datetime,
    *visitors: tuple[str, str],
    mode: str = "in_home",
    class_id: str = "c1",
    school_id: str = "sch1",
) -> Any:
    started = on if isinstance(on, datetime) else china_noon(on)
    return VisitCompleted(
        district=DISTRICT,
        school_id=school_id,
        visit_id=visit_id,
        class_id=class_id,
        student_ref=ref,
        recorded_by=visitors[0][0] if visitors else "t1",
        visitors=[Visitor(staff_ref=s, role=StaffRole(r)) for s, r in visitors]
        or [Visitor(staff_ref="t1", role=StaffRole.subject_teacher)],
        mode=VisitMode(mode),
        started_at=started,
        duration_minutes=45,
        goals_covered=[],
        findings=None,
        referrals=[],
        followup_case_ids=[],
        parent_suggestions=[],
        notes=None,
        integrity_attested=True,
    )


def cancelled(visit_id: str, school_id: str = "sch1") -> Any:
    return VisitCancelled(
        district=DISTRICT,
        school_id=school_id,
        visit_id=visit_id,
        reason=CancelReason.family_declined,
        cancelled_by="t1",
    )


def followup(
    case_id: str, opened: date, due: date, class_id: str = "c1", school_id: str = "sch1"
) -> Any:
    return FollowUpOpened(
        district=DISTRICT,
        school_id=school_id,
        case_id=case_id,
        visit_id="v0",
        class_id=class_id,
        student_ref="s1",
        measure=Measure.learning_support,
        detail=None,
        owner_ref="t1",
        opened_on=opened,
        due_date=due,
    )


def closed(case_id: str, on: date, school_id: str = "sch1") -> Any:
    return FollowUpClosed(
        district=DISTRICT,
        school_id=school_id,
        case_id=case_id,
        outcome=FollowUpOutcome.resolved,
        closed_by="t1",
        closed_on=on,
    )


def report(
    month: str, submitted: datetime, *, late: bool, revision: int = 1, school_id: str = "sch1"
) -> Any:
    zero = MonthlyFigures(**dict.fromkeys(MonthlyFigures.model_fields, 0))
    return MonthlyVisitReportSubmitted(
        district=DISTRICT,
        school_id=school_id,
        month=month,
        revision=revision,
        figures=zero,
        submitted_by="p1",
        submitted_at=submitted,
        due_date=date(int(month[:4]), int(month[5:]), 28 if month.endswith("02") else 30),
        late=late,
    )


def offered(ref: str, sy: str = "2026-2027", school_id: str = "sch1") -> Any:
    return ScreeningOffered(district=DISTRICT, school_id=school_id, student_ref=ref, school_year=sy)


def consent(
    ref: str,
    on: date,
    yes: bool = True,
    sy: str = "2026-2027",
    *,
    school_id: str = "sch1",
    decision: ConsentDecision | None = None,
) -> Any:
    """Consented (or refused: ``yes=False``) unless another ``decision`` is given."""
    if decision is None:
        decision = ConsentDecision.consented if yes else ConsentDecision.refused
    return Consent(
        district=DISTRICT,
        school_id=school_id,
        student_ref=ref,
        school_year=sy,
        decision=decision,
        given_by=ConsentGivenBy.guardian,
        guardian_ref=f"g-{ref}",
        recorded_on=on,
    )


def screened(
    sid: str,
    ref: str,
    on: date,
    sy: str = "2026-2027",
    school_id: str = "sch1",
    *,
    instrument: str = "i1",
) -> Any:
    return ScreeningCompleted(
        district=DISTRICT,
        school_id=school_id,
        student_ref=ref,
        school_year=sy,
        screening_id=sid,
        instrument_id=instrument,
        completed_on=on,
    )


def listed(ref: str, class_id: str | None = "c1", school_id: str = "sch1") -> Any:
    return StudentAddedToAttentionList(
        district=DISTRICT,
        school_id=school_id,
        student_ref=ref,
        proposal_id=f"p-{ref}",
        class_id=class_id,
        signed_by=["w1", "w2"],
    )


def unlisted(ref: str, school_id: str = "sch1") -> Any:
    return StudentRemovedFromAttentionList(
        district=DISTRICT,
        school_id=school_id,
        student_ref=ref,
        reason=AttentionRemoval.improved,
        decided_by="w1",
    )


def referred(
    rid: str,
    at: datetime,
    school_id: str = "sch1",
    *,
    student: str = "s1",
    hospital: str = "h1",
    by: str = "w1",
) -> Any:
    return CrisisReferred(
        district=DISTRICT,
        school_id=school_id,
        referral_id=rid,
        student_ref=student,
        hospital_id=hospital,
        referred_by=by,
        referred_at=at,
        acknowledge_by=at + timedelta(hours=1),
        note=None,
    )


def acknowledged(
    rid: str, at: datetime, within: bool, school_id: str = "sch1", *, hospital: str = "h1"
) -> Any:
    return ReferralAcknowledged(
        district=DISTRICT,
        school_id=school_id,
        referral_id=rid,
        hospital_id=hospital,
        acknowledged_at=at,
        within_deadline=within,
    )


def trained(
    tid: str, on: date, *refs: str, topic: str = "crisis_identification", school_id: str = "sch1"
) -> Any:
    return TrainingRecorded(
        district=DISTRICT,
        school_id=school_id,
        school_year="2026-2027",
        training_id=tid,
        topic=TrainingTopic(topic),
        held_on=on,
        staff_refs=list(refs),
        parent_count=0,
    )


def fold_rows(events: Sequence[IntegrationEvent]) -> MemoryTables:
    """The education model folded in memory (the projection's own batch semantics)."""
    tables = MemoryTables(MemoryDatabase(default_registry()), EDUCATION.tables)
    tables.apply_changes("education", EDUCATION.fold(events))
    return tables


async def write_model(pool: asyncpg.Pool, events: Sequence[IntegrationEvent]) -> None:
    """The education model's tables created (if missing) and ``events`` written into them, the
    way the worker writes a batch (one statement per table and kind of change)."""
    async with pool.acquire() as conn:
        await EDUCATION.create_tables(conn)
        async with conn.transaction():
            await EDUCATION.write(conn, "education", EDUCATION.fold(events))
