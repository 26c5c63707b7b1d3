"""The facts about schools, by id and day only: the schools (and whether each has a counselling
room), follow-up cases, crisis referrals' deadlines, parent-school sessions, open days, the
coordinators (as marks), guard shifts, hazards and incidents needing a mandatory report — no
note, no finding, no person."""

from __future__ import annotations

from tongxin_city.projections.facts_mark import MARK
from tongxin_contracts.events.committees import (
    CoordinatorAppointed,
    CoordinatorWithdrawn,
    OpenDayHeld,
    ParentSchoolSessionHeld,
)
from tongxin_contracts.events.registry import SchoolRegistered
from tongxin_contracts.events.safety import (
    GuardShiftCompleted,
    GuardShiftScheduled,
    HazardRectified,
    HazardReported,
    IncidentReported,
    MandatoryReportFiled,
)
from tongxin_contracts.events.visits import FollowUpClosed, FollowUpOpened
from tongxin_contracts.events.wellbeing import CrisisReferred, ReferralAcknowledged
from tongxin_platform.projection import Changes, Projection, Table

T, NN, D, TS = "text", "text NOT NULL", "date", "timestamptz"
DNN = "date NOT NULL"

TABLES: list[Table] = [
    Table(
        "schools",
        ("school_id",),
        {"school_id": T, "district": NN, "has_counselling_room": "boolean NOT NULL"},
        indexes={"schools_by_district": "(district)"},
    ),
    Table(
        "followups",
        ("case_id",),
        {
            "case_id": T,
            "district": NN,
            "school_id": T,
            "opened_on": D,
            "due_date": D,
            "closed_on": D,
        },
    ),
    Table(
        "referrals",
        ("referral_id",),
        {
            "referral_id": T,
            "district": NN,
            "school_id": T,
            "referred_at": TS,
            "acknowledge_by": TS,
            "acknowledged_at": TS,
            "within_deadline": "boolean",
        },
    ),
    Table(
        "parent_school_sessions",
        ("session_id",),
        {
            "session_id": T,
            "district": NN,
            "school_id": NN,
            "school_year": NN,
            "kind": NN,
            "held_on": DNN,
            "class_hours": "double precision NOT NULL",
        },
        indexes={"sessions_by_school": "(school_id, school_year)"},
    ),
    Table(
        "open_days",
        ("meeting_id",),
        {"meeting_id": T, "district": NN, "school_id": NN, "held_on": DNN},
        indexes={"open_days_by_school": "(school_id, held_on)"},
    ),
    Table(
        "coordinators",
        ("school_id", "mark", "changed_on"),
        {"school_id": T, "mark": T, "changed_on": D, "district": NN, "change": NN},
    ),
    Table(
        "guard_shifts",
        ("shift_id",),
        {
            "shift_id": T,
            "district": NN,
            "school_id": NN,
            "shift_on": DNN,
            "completed": "boolean NOT NULL DEFAULT false",
        },
        indexes={"shifts_by_district": "(district, shift_on)"},
    ),
    Table(
        "hazards",
        ("hazard_id",),
        {"hazard_id": T, "district": NN, "school_id": NN, "rectify_by": D, "rectified_on": D},
    ),
    Table(
        "incidents",
        ("incident_id",),
        {
            "incident_id": T,
            "district": NN,
            "school_id": NN,
            "required": "boolean",
            "recorded_at": TS,
            "report_due_at": TS,
            "filed_at": TS,
            "late": "boolean",
        },
    ),
]


def register(p: Projection) -> None:
    """The handlers of the schools' facts, on the city's facts model."""

    @p.on(SchoolRegistered)
    def _(e: SchoolRegistered, rows: Changes) -> None:
        rows["schools"].upsert(
            e.school_id, district=e.district, has_counselling_room=e.has_counselling_room
        )

    @p.on(FollowUpOpened)
    def _(e: FollowUpOpened, rows: Changes) -> None:
        rows["followups"].upsert(
            e.case_id,
            district=e.district,
            school_id=e.school_id,
            opened_on=e.opened_on,
            due_date=e.due_date,
        )

    @p.on(FollowUpClosed)
    def _(e: FollowUpClosed, rows: Changes) -> None:
        rows["followups"].upsert(e.case_id, district=e.district, closed_on=e.closed_on)

    @p.on(CrisisReferred)
    def _(e: CrisisReferred, rows: Changes) -> None:
        rows["referrals"].upsert(
            e.referral_id,
            district=e.district,
            school_id=e.school_id,
            referred_at=e.referred_at,
            acknowledge_by=e.acknowledge_by,
        )

    @p.on(ReferralAcknowledged)
    def _(e: ReferralAcknowledged, rows: Changes) -> None:
        rows["referrals"].upsert(
            e.referral_id,
            district=e.district,
            acknowledged_at=e.acknowledged_at,
            within_deadline=e.within_deadline,
        )

    @p.on(ParentSchoolSessionHeld)
    def _(e: ParentSchoolSessionHeld, rows: Changes) -> None:
        rows["parent_school_sessions"].upsert(
            e.session_id,
            district=e.district,
            school_id=e.school_id,
            school_year=e.school_year,
            kind=e.kind.value,
            held_on=e.held_on,
            class_hours=e.class_hours,
        )

    @p.on(OpenDayHeld)
    def _(e: OpenDayHeld, rows: Changes) -> None:
        rows["open_days"].upsert(
            e.meeting_id, district=e.district, school_id=e.school_id, held_on=e.held_on
        )

    @p.on(CoordinatorAppointed)
    def _(e: CoordinatorAppointed, rows: Changes) -> None:
        rows["coordinators"].upsert(
            (e.school_id, MARK(e.district, e.staff_ref), e.appointed_on),
            district=e.district,
            change="appointed",
        )

    @p.on(CoordinatorWithdrawn)
    def _(e: CoordinatorWithdrawn, rows: Changes) -> None:
        rows["coordinators"].upsert(
            (e.school_id, MARK(e.district, e.staff_ref), e.withdrawn_on),
            district=e.district,
            change="withdrawn",
        )

    @p.on(GuardShiftScheduled)
    def _(e: GuardShiftScheduled, rows: Changes) -> None:
        rows["guard_shifts"].upsert(
            e.shift_id, district=e.district, school_id=e.school_id, shift_on=e.on
        )

    @p.on(GuardShiftCompleted)
    def _(e: GuardShiftCompleted, rows: Changes) -> None:
        rows["guard_shifts"].upsert(
            e.shift_id, district=e.district, school_id=e.school_id, shift_on=e.on, completed=True
        )

    @p.on(HazardReported)
    def _(e: HazardReported, rows: Changes) -> None:
        rows["hazards"].upsert(
            e.hazard_id, district=e.district, school_id=e.school_id, rectify_by=e.rectify_by
        )

    @p.on(HazardRectified)
    def _(e: HazardRectified, rows: Changes) -> None:
        rows["hazards"].upsert(
            e.hazard_id, district=e.district, school_id=e.school_id, rectified_on=e.rectified_on
        )

    @p.on(IncidentReported)
    def _(e: IncidentReported, rows: Changes) -> None:
        rows["incidents"].upsert(
            e.incident_id,
            district=e.district,
            school_id=e.school_id,
            required=e.mandatory_report_required,
            recorded_at=e.recorded_at,
            report_due_at=e.report_due_at,
        )

    @p.on(MandatoryReportFiled)
    def _(e: MandatoryReportFiled, rows: Changes) -> None:
        rows["incidents"].upsert(
            e.incident_id,
            district=e.district,
            school_id=e.school_id,
            filed_at=e.filed_at,
            late=e.late,
        )
