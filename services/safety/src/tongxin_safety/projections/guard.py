"""Guard posts and shifts, the school's vice-principals from outside, their law lessons and the
school's fire-safety contacts (from ``safety.events``): the rows a school's and a district's
completion rates and vice-principal figures are counted from. People appear by pseudonym."""

from __future__ import annotations

from tongxin_contracts.events.safety import (
    FireSafetyContactNamed,
    FireSafetyContactWithdrawn,
    GuardPostEstablished,
    GuardShiftCompleted,
    GuardShiftMissed,
    GuardShiftScheduled,
    LawLessonGiven,
    VicePrincipalAppointed,
)
from tongxin_platform.projection import Changes, Projection, Table

T, NN, DAY = "text", "text NOT NULL", "date NOT NULL"
TABLES = [
    Table(
        "guard_posts",
        ("post_id",),
        {
            "post_id": T,
            "district": NN,
            "school_id": NN,
            "place": NN,
            "police_station": T,
            "established_on": DAY,
        },
        indexes={"guard_posts_by_school": "(school_id)"},
    ),
    Table(
        "guard_shifts",
        ("shift_id",),
        {
            "shift_id": T,
            "post_id": NN,
            "district": NN,
            "school_id": NN,
            "on_day": DAY,
            "period": NN,
            # the guards, as two parallel arrays: kind and pseudonym of each
            "guard_kinds": "text[] NOT NULL DEFAULT '{}'",
            "guard_refs": "text[] NOT NULL DEFAULT '{}'",
            "outcome": T,  # completed, missed or NULL (not recorded)
            "guards_present": "text[]",
            "missed_reason": T,
            "recorded_by": T,
        },
        indexes={
            "guard_shifts_by_school": "(school_id, on_day)",
            "guard_shifts_by_district": "(district, on_day)",
        },
    ),
    Table(
        "vice_principals",
        ("school_id", "post"),
        {
            "school_id": T,
            "post": T,
            "district": NN,
            "appointee_ref": NN,
            "from_org": NN,
            "appointed_on": DAY,
            "term_until": "date",
        },
        indexes={"vice_principals_by_district": "(district)"},
    ),
    Table(
        "law_lessons",
        ("lesson_id",),
        {
            "lesson_id": T,
            "district": NN,
            "school_id": NN,
            "school_year": NN,
            "given_on": DAY,
            "hours": "double precision NOT NULL",
            "given_by": NN,
        },
        indexes={
            "law_lessons_by_school": "(school_id, school_year)",
            "law_lessons_by_district": "(district, school_year)",
        },
    ),
    Table(
        "fire_safety_contacts",
        ("school_id", "staff_ref"),
        {
            "school_id": T,
            "staff_ref": T,
            "district": NN,
            "named_on": DAY,
        },
        indexes={"fire_safety_contacts_by_district": "(district)"},
    ),
]


def register(p: Projection) -> None:
    """The handlers of guard posts and vice-principals, on the service's one read model."""

    @p.on(GuardPostEstablished)
    def _(e: GuardPostEstablished, rows: Changes) -> None:
        rows["guard_posts"].upsert(
            e.post_id,
            district=e.district,
            school_id=e.school_id,
            place=e.place.value,
            police_station=e.police_station,
            established_on=e.established_on,
        )

    @p.on(GuardShiftScheduled)
    def _(e: GuardShiftScheduled, rows: Changes) -> None:
        rows["guard_shifts"].upsert(
            e.shift_id,
            post_id=e.post_id,
            district=e.district,
            school_id=e.school_id,
            on_day=e.on,
            period=e.period.value,
            guard_kinds=[g.kind.value for g in e.guards],
            guard_refs=[g.ref for g in e.guards],
        )

    @p.on(GuardShiftCompleted)
    def _(e: GuardShiftCompleted, rows: Changes) -> None:
        rows["guard_shifts"].update(
            e.shift_id,
            outcome="completed",
            guards_present=[k.value for k in e.guards_present],
            recorded_by=e.recorded_by,
        )

    @p.on(GuardShiftMissed)
    def _(e: GuardShiftMissed, rows: Changes) -> None:
        rows["guard_shifts"].update(
            e.shift_id, outcome="missed", missed_reason=e.reason.value, recorded_by=e.recorded_by
        )

    @p.on(VicePrincipalAppointed)
    def _(e: VicePrincipalAppointed, rows: Changes) -> None:
        rows["vice_principals"].upsert(
            (e.school_id, e.post.value),
            district=e.district,
            appointee_ref=e.appointee_ref,
            from_org=e.from_org.value,
            appointed_on=e.appointed_on,
            term_until=e.term_until,
        )

    @p.on(LawLessonGiven)
    def _(e: LawLessonGiven, rows: Changes) -> None:
        rows["law_lessons"].upsert(
            e.lesson_id,
            district=e.district,
            school_id=e.school_id,
            school_year=e.school_year,
            given_on=e.given_on,
            hours=e.hours,
            given_by=e.given_by,
        )

    @p.on(FireSafetyContactNamed)
    def _(e: FireSafetyContactNamed, rows: Changes) -> None:
        rows["fire_safety_contacts"].upsert(
            (e.school_id, e.staff_ref), district=e.district, named_on=e.named_on
        )

    @p.on(FireSafetyContactWithdrawn)
    def _(e: FireSafetyContactWithdrawn, rows: Changes) -> None:
        rows["fire_safety_contacts"].delete((e.school_id, e.staff_ref))
