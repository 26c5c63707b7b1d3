"""Civil affairs', the women's federation's and community workers' model: the care files paired to
each carer and the contacts due.

From ``registry.events``: schools (names) and each student's current class (a pairing's class).
From ``safety.events``: the pairings (who, of which kind, for which file, paired / accepted /
declined / released on), the care files (opened and closed or handed over on, care groups, the
latest risk level, the left-behind notice's relation and day), the days of the parents' contacts
and of every carer's contact per pairing (so that the last contact is known for any day). Never a
note, a reason or an entrusted person (they travel sealed and are not stored); nothing from
wellbeing (the model reads no wellbeing topic).
"""

from __future__ import annotations

from tongxin_contracts.events.registry import StudentEnrolled, StudentTransferred
from tongxin_contracts.events.safety import (
    CareContactLogged,
    CareFileClosed,
    CareFileHandedOver,
    CareFileOpened,
    CareGroupsChanged,
    CareNoticeRecorded,
    CarerAccepted,
    CarerDeclined,
    CarerPaired,
    CarerReleased,
    ParentContactRecorded,
    RiskLevelSet,
)
from tongxin_platform.projection import Changes, Projection, Table
from tongxin_platform.roster_part import SCHOOLS, register_schools

T, NN, DAY = "text", "text NOT NULL", "date"

TABLES: list[Table] = [
    SCHOOLS,
    Table(
        "students",  # the current class of each student (a pairing shows its class)
        ("student_ref",),
        {"student_ref": T, "district": NN, "school_id": NN, "class_id": NN},
    ),
    Table(
        "pairings",
        ("pairing_id",),
        {
            "pairing_id": T,
            "carer_ref": T,
            "kind": NN,
            "org": T,
            "district": NN,
            "school_id": NN,
            "student_ref": NN,
            "paired_on": DAY,
            "accepted_on": DAY,
            "declined_on": DAY,
            "released_on": DAY,
        },
        indexes={
            "pairings_by_carer": "(carer_ref)",
            "pairings_by_file": "(school_id, student_ref)",
        },
    ),
    Table(
        "care_files",  # one per student and school (a handover closes it; the next school opens)
        ("school_id", "student_ref"),
        {
            "school_id": T,
            "student_ref": T,
            "district": NN,
            "class_id": T,
            "care_groups": "text[] NOT NULL DEFAULT '{}'",
            "opened_on": DAY,
            "closed_on": DAY,  # closed or handed over on
            "closed_how": T,  # closed:<reason> | handed_over
            "risk_level": T,  # the latest (low when none was set)
            "risk_set_on": DAY,
            "notice_relation": T,  # the left-behind notice: to whom the child is entrusted
            "notice_on": DAY,
        },
    ),
    Table(
        "parent_contacts",  # the days a left-behind child's parents were in contact
        ("school_id", "student_ref", "contact_on"),
        {"school_id": T, "student_ref": T, "contact_on": "date", "mode": NN},
    ),
    Table(
        "contacts",  # the days a pairing's carer was in contact (several a day count once)
        ("pairing_id", "contact_on"),
        {"pairing_id": T, "contact_on": "date", "mode": NN},
    ),
]

CARERS = Projection(
    "carers",
    group="agencies.carers",
    sources=("registry", "safety"),
    description=__doc__,
    tables=TABLES,
)
register_schools(CARERS)


@CARERS.on(StudentEnrolled)
def _(e: StudentEnrolled, rows: Changes) -> None:
    rows["students"].upsert(
        e.student_ref, district=e.district, school_id=e.school_id, class_id=e.class_id
    )


@CARERS.on(StudentTransferred)
def _(e: StudentTransferred, rows: Changes) -> None:
    rows["students"].upsert(
        e.student_ref, district=e.district, school_id=e.school_id, class_id=e.class_id
    )


@CARERS.on(CareFileOpened)
def _(e: CareFileOpened, rows: Changes) -> None:
    rows["care_files"].upsert(
        (e.school_id, e.student_ref),
        district=e.district,
        class_id=e.class_id,
        care_groups=sorted(g.value for g in e.care_groups),
        opened_on=e.opened_on,
        closed_on=None,
        closed_how=None,
    )


@CARERS.on(CareGroupsChanged)
def _(e: CareGroupsChanged, rows: Changes) -> None:
    rows["care_files"].update(
        (e.school_id, e.student_ref), care_groups=sorted(g.value for g in e.care_groups)
    )


@CARERS.on(CareFileClosed)
def _(e: CareFileClosed, rows: Changes) -> None:
    rows["care_files"].update(
        (e.school_id, e.student_ref), closed_on=e.closed_on, closed_how=f"closed:{e.reason.value}"
    )


@CARERS.on(CareFileHandedOver)
def _(e: CareFileHandedOver, rows: Changes) -> None:
    rows["care_files"].update(
        (e.school_id, e.student_ref), closed_on=e.handed_over_on, closed_how="handed_over"
    )


@CARERS.on(RiskLevelSet)
def _(e: RiskLevelSet, rows: Changes) -> None:
    rows["care_files"].update(
        (e.school_id, e.student_ref), risk_level=e.level.value, risk_set_on=e.set_on
    )


@CARERS.on(CareNoticeRecorded)
def _(e: CareNoticeRecorded, rows: Changes) -> None:
    rows["care_files"].update(
        (e.school_id, e.student_ref), notice_relation=e.relation.value, notice_on=e.notice_on
    )


@CARERS.on(ParentContactRecorded)
def _(e: ParentContactRecorded, rows: Changes) -> None:
    rows["parent_contacts"].upsert((e.school_id, e.student_ref, e.contact_on), mode=e.mode.value)


@CARERS.on(CarerPaired)
def _(e: CarerPaired, rows: Changes) -> None:
    rows["pairings"].upsert(
        e.pairing_id,
        carer_ref=e.carer_ref,
        kind=e.kind.value,
        org=e.org,
        district=e.district,
        school_id=e.school_id,
        student_ref=e.student_ref,
        paired_on=e.paired_on,
    )


@CARERS.on(CarerAccepted)
def _(e: CarerAccepted, rows: Changes) -> None:
    rows["pairings"].update(e.pairing_id, accepted_on=e.accepted_on)


@CARERS.on(CarerDeclined)
def _(e: CarerDeclined, rows: Changes) -> None:
    rows["pairings"].update(e.pairing_id, declined_on=e.declined_on)


@CARERS.on(CarerReleased)
def _(e: CarerReleased, rows: Changes) -> None:
    rows["pairings"].update(e.pairing_id, released_on=e.released_on)


@CARERS.on(CareContactLogged)
def _(e: CareContactLogged, rows: Changes) -> None:
    rows["contacts"].upsert((e.pairing_id, e.contact_on), mode=e.mode.value)
