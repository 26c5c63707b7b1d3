"""The education model's committees part: hand-made event sequences folded into its tables, then
the KPIs 12–16 on a day D from those rows — met and missed at the boundaries (a seat ending the
day before D vs on D, a resignation on D, a new term not yet begun, 3 vs 4 lecture sessions,
7.5 vs 8 class hours, an open day of last school year, a coordinator withdrawn)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from tests.support.agencies_committees import CommitteeOf, class_parents_meeting
from tests.support.agencies_safety import fold
from tongxin_agencies.application import kpis_committees
from tongxin_agencies.application.kpis import Ratio, plain
from tongxin_agencies.config import AgenciesSettings
from tongxin_agencies.projections.education import EDUCATION
from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.committees import (
    AssessmentCriterion,
    CommitteeElected,
    CommitteeFormed,
    CommitteeLevel,
    CoordinatorAppointed,
    CoordinatorWithdrawn,
    EndingReason,
    MembershipEnding,
    OpenDayHeld,
    ParentSchoolAssessed,
    ParentSchoolSessionHeld,
    RemovalReason,
    ResignReason,
    Seat,
    SeatRole,
    SessionKind,
    SessionMode,
    SessionTopic,
)
from tongxin_contracts.events.registry import ClassOpened

DIST, SCHOOL = "330106", "sch_1"
D = date(2026, 11, 16)
SY = "2026-2027"
COMMITTEE = "com_school"
TERM = (date(2026, 9, 1), date(2027, 8, 31))
SETTINGS = AgenciesSettings()
OURS = CommitteeOf(DIST, SCHOOL, COMMITTEE)


def class_opened(class_id: str) -> ClassOpened:
    return ClassOpened(
        district=DIST,
        school_id=SCHOOL,
        class_id=class_id,
        class_name=class_id,
        grade=1,
        school_year=SY,
        head_teacher_ref=None,
    )


def formed(
    committee_id: str = COMMITTEE, level: CommitteeLevel = CommitteeLevel.school
) -> CommitteeFormed:
    return CommitteeOf(DIST, SCHOOL, committee_id).formed(
        seats=5,
        term=TERM,
        on=date(2026, 9, 1),
        by="stf_principal",
        level=level,
        class_id="cls_1" if level == CommitteeLevel.class_ else None,
    )


def seat(guardian: str, class_id: str) -> Seat:
    return Seat(guardian_ref=guardian, role=SeatRole.member, class_id=class_id)


def elected(
    members: Sequence[Seat],
    on: date = date(2026, 9, 10),
    term: tuple[date, date] = TERM,
    round_no: int = 1,
    committee_id: str = COMMITTEE,
    level: CommitteeLevel = CommitteeLevel.school,
) -> CommitteeElected:
    return CommitteeOf(DIST, SCHOOL, committee_id).elected(
        members, round_no=round_no, seats=5, term=term, on=on, by="stf_principal", level=level
    )


def session(
    sid: str, kind: SessionKind, hours: float, on: date = date(2026, 10, 1)
) -> ParentSchoolSessionHeld:
    return ParentSchoolSessionHeld(
        district=DIST,
        school_id=SCHOOL,
        session_id=sid,
        school_year=SY if on >= date(2026, 9, 1) else "2025-2026",
        kind=kind,
        mode=SessionMode.in_person,
        held_on=on,
        class_hours=hours,
        topic=SessionTopic.safety,
        attendance=30,
        recorded_by="stf_1",
        title=None,
    )


def open_day(mid: str, on: date) -> OpenDayHeld:
    return OpenDayHeld(
        district=DIST,
        school_id=SCHOOL,
        meeting_id=mid,
        held_on=on,
        recorded_by="stf_1",
        days=1,
        parents_attending=50,
        opinions_collected=12,
    )


def assessed(standard: bool, on: date, year: str = SY) -> ParentSchoolAssessed:
    return ParentSchoolAssessed(
        district=DIST,
        school_id=SCHOOL,
        school_year=year,
        standard=standard,
        criteria_met=[AssessmentCriterion.venue],
        assessed_on=on,
        assessed_by="bureau_1",
    )


async def kpis(events: Sequence[IntegrationEvent], d: date = D) -> dict[str, Any]:
    t = await fold(EDUCATION, events)
    rows: dict[str, list[dict[str, Any]]] = {
        "classes": [
            {"school_id": SCHOOL, "class_id": c["class_id"], "grade": 1}
            for c in t.get("classes", [])
        ],
        "committees": [
            {"school_id": c["school_id"], "committee_id": c["committee_id"]}
            for c in t["committee_committees"]
            if c["level"] == "school"
        ],
        "seats": t["committee_seats"],
        "terms": t["committee_terms"],
        "endings": t["committee_endings"],
        "sessions": t["parent_school_sessions"],
        "assessments": t["parent_school_assessments"],
        "open_days": t["open_days"],
        "coordinators": t["coordinators"],
    }
    if "classes" not in t:  # the roster part is A2's: the classes as its table would hold them
        rows["classes"] = [
            {"school_id": SCHOOL, "class_id": e.class_id, "grade": e.grade}
            for e in events
            if isinstance(e, ClassOpened)
        ]
    figures = kpis_committees.figures(SETTINGS, [SCHOOL], d, rows)[SCHOOL]
    return {key: plain(value) for key, value in figures.items()}


CLASSES = [class_opened("cls_1"), class_opened("cls_2")]


# --- the handlers -------------------------------------------------------------------------------


async def test_an_election_keeps_the_committee_its_term_and_each_seat_with_its_class() -> None:
    t = await fold(EDUCATION, [formed(), elected([seat("g1", "cls_1"), seat("g2", "cls_2")])])
    (c,) = t["committee_committees"]
    assert (c["level"], c["school_id"], c["seats"]) == ("school", SCHOOL, 5)
    terms = {r["round_no"]: r for r in t["committee_terms"]}
    assert (terms[0]["term_start"], terms[1]["elected_on"]) == (TERM[0], date(2026, 9, 10))
    assert [(s["guardian_ref"], s["class_id"], s["how"]) for s in t["committee_seats"]] == [
        ("g1", "cls_1", "elected"),
        ("g2", "cls_2", "elected"),
    ]


async def test_meetings_open_days_sessions_assessments_and_coordinators_are_kept_dated() -> None:
    t = await fold(
        EDUCATION,
        [
            open_day("od_1", date(2026, 10, 9)),
            class_parents_meeting(
                DIST, SCHOOL, "pm_1", date(2026, 10, 10), class_id="cls_1", grade=1, by="stf_1"
            ),
            session("s1", SessionKind.lecture, 2.0),
            assessed(True, date(2026, 11, 1)),
            CoordinatorAppointed(
                district=DIST,
                school_id=SCHOOL,
                staff_ref="stf_c",
                led_by="stf_principal",
                appointed_on=date(2026, 9, 2),
            ),
        ],
    )
    assert t["open_days"][0]["held_on"] == date(2026, 10, 9)
    assert (t["committee_meetings"][0]["kind"], t["committee_meetings"][0]["class_id"]) == (
        "parent_meeting",
        "cls_1",
    )
    assert t["parent_school_sessions"][0]["class_hours"] == 2.0
    assert t["parent_school_assessments"][0]["criteria_met"] == ["venue"]
    assert t["coordinators"] == [
        {
            "school_id": SCHOOL,
            "staff_ref": "stf_c",
            "changed_on": date(2026, 9, 2),
            "change": "appointed",
            "district": DIST,
        }
    ]


# --- 12 representation --------------------------------------------------------------------------


async def test_every_class_with_a_current_seat_on_the_school_committee_is_represented() -> None:
    events = [*CLASSES, formed(), elected([seat("g1", "cls_1"), seat("g2", "cls_2")])]
    assert (await kpis(events))["representation"] == 1.0
    t = await fold(EDUCATION, events)
    rows = {k: [] for k in kpis_committees.SQL} | {
        "classes": [{"school_id": SCHOOL, "class_id": c, "grade": 1} for c in ("cls_1", "cls_2")],
        "committees": [{"school_id": SCHOOL, "committee_id": COMMITTEE}],
        "seats": t["committee_seats"],
        "terms": t["committee_terms"],
    }
    figures = kpis_committees.figures(SETTINGS, [SCHOOL], D, rows)[SCHOOL]
    assert figures["representation"] == Ratio(2, 2)  # the district pools numerators
    # before the election no seat is current
    assert (await kpis(events, d=date(2026, 9, 9)))["representation"] == 0.0


async def test_a_seat_on_a_class_committee_does_not_represent_the_class_at_school_level() -> None:
    events = [
        *CLASSES,
        formed("com_class", CommitteeLevel.class_),
        elected([seat("g1", "cls_1")], committee_id="com_class", level=CommitteeLevel.class_),
    ]
    assert (await kpis(events))["representation"] == 0.0


async def test_a_membership_ending_the_day_before_d_ends_the_seat_one_ending_on_d_does_not() -> (
    None
):
    def ending(on: date) -> MembershipEnding:
        return OURS.ending("g2", on, EndingReason.last_child_left)

    base = [*CLASSES, formed(), elected([seat("g1", "cls_1"), seat("g2", "cls_2")])]
    assert (await kpis([*base, ending(D - timedelta(1))]))["representation"] == 0.5
    assert (await kpis([*base, ending(D)]))["representation"] == 1.0


async def test_a_resignation_or_removal_on_d_ends_the_seat_and_a_by_election_fills_it() -> None:
    base = [*CLASSES, formed(), elected([seat("g1", "cls_1"), seat("g2", "cls_2")])]
    resigned = OURS.resigned("g2", D, ResignReason.moved_away, by="stf_principal")
    assert (await kpis([*base, resigned]))["representation"] == 0.5
    assert (await kpis([*base, resigned], d=D - timedelta(1)))["representation"] == 1.0
    removed = OURS.removed("g1", D, RemovalReason.repeated_absence, by="stf_principal")
    assert (await kpis([*base, removed]))["representation"] == 0.5
    by_election = OURS.by_election(
        [seat("g3", "cls_2")], round_no=2, seats=5, on=D, by="stf_principal"
    )
    assert (await kpis([*base, resigned, by_election]))["representation"] == 1.0


async def test_seats_of_a_new_term_count_from_its_start_and_the_old_term_ends_with_its_end() -> (
    None
):
    old_term = (date(2025, 9, 1), date(2026, 8, 31))
    events = [
        *CLASSES,
        elected([seat("g1", "cls_1"), seat("g2", "cls_2")], date(2025, 9, 10), old_term, 1),
        elected([seat("g3", "cls_1")], date(2026, 6, 20), TERM, 2),
    ]
    assert (await kpis(events, d=date(2026, 7, 1)))["representation"] == 1.0  # the old term
    assert (await kpis(events))["representation"] == 0.5  # the new term: cls_1 only


async def test_a_school_without_classes_has_no_representation_figure() -> None:
    assert (await kpis([formed(), elected([seat("g1", "cls_1")])]))["representation"] is None


# --- 13 parent_school_rule, 14 standard_parent_school -------------------------------------------


def lectures(n: int, hours: float) -> list[IntegrationEvent]:
    return [session(f"l{i}", SessionKind.lecture, hours / n) for i in range(n)]


ACTIVITIES = [session("a1", SessionKind.practice, 1.0), session("a2", SessionKind.salon, 1.0)]


async def test_four_lecture_sessions_of_eight_hours_and_two_activities_meet_the_rule() -> None:
    assert (await kpis([*lectures(4, 8.0), *ACTIVITIES]))["parent_school_rule"] is True


async def test_three_lecture_sessions_do_not_meet_the_rule() -> None:
    assert (await kpis([*lectures(3, 9.0), *ACTIVITIES]))["parent_school_rule"] is False


async def test_seven_and_a_half_hours_do_not_meet_the_rule() -> None:
    assert (await kpis([*lectures(4, 7.5), *ACTIVITIES]))["parent_school_rule"] is False
    assert (await kpis([*lectures(5, 7.5), *ACTIVITIES]))["parent_school_rule"] is False


async def test_one_activity_or_sessions_after_d_or_of_last_year_do_not_meet_the_rule() -> None:
    assert (await kpis([*lectures(4, 8.0), ACTIVITIES[0]]))["parent_school_rule"] is False
    late = session("l_late", SessionKind.term_end_lecture, 2.0, D + timedelta(1))
    events = [*lectures(3, 6.0), late, *ACTIVITIES]
    assert (await kpis(events))["parent_school_rule"] is False
    assert (await kpis(events, d=D + timedelta(1)))["parent_school_rule"] is True
    old = session("l_old", SessionKind.lecture, 2.0, date(2026, 6, 1))
    assert (await kpis([*lectures(3, 6.0), old, *ACTIVITIES]))["parent_school_rule"] is False


async def test_the_latest_assessment_of_the_school_year_decides_the_standard() -> None:
    assert (await kpis([]))["standard_parent_school"] is False
    events = [assessed(True, date(2026, 10, 1)), assessed(False, date(2026, 11, 1))]
    assert (await kpis(events))["standard_parent_school"] is False
    assert (await kpis(events, d=date(2026, 10, 31)))["standard_parent_school"] is True
    assert (await kpis([assessed(True, date(2026, 6, 1), "2025-2026")]))[
        "standard_parent_school"
    ] is False


# --- 15 open_days, 16 coordinator ---------------------------------------------------------------


async def test_open_days_count_from_the_start_of_the_school_year_to_d() -> None:
    events = [
        open_day("od_old", date(2026, 8, 31)),
        open_day("od_1", date(2026, 9, 1)),
        open_day("od_2", D),
        open_day("od_later", D + timedelta(1)),
    ]
    figures = await kpis(events)
    assert figures["open_days"] == 2
    defs = {d.key: d for d in kpis_committees.DEFS}
    assert defs["open_days"].meets(0, SETTINGS.targets) is False
    assert defs["open_days"].meets(1, SETTINGS.targets) is True


async def test_a_coordinator_counts_until_withdrawn() -> None:
    appointed = CoordinatorAppointed(
        district=DIST,
        school_id=SCHOOL,
        staff_ref="stf_c",
        led_by="stf_principal",
        appointed_on=date(2026, 9, 2),
    )
    withdrawn = CoordinatorWithdrawn(
        district=DIST, school_id=SCHOOL, staff_ref="stf_c", withdrawn_on=D
    )
    assert (await kpis([]))["coordinator"] is False
    assert (await kpis([appointed]))["coordinator"] is True
    assert (await kpis([appointed, withdrawn]))["coordinator"] is False
    assert (await kpis([appointed, withdrawn], d=D - timedelta(1)))["coordinator"] is True


def test_every_committee_kpi_has_labels_a_rule_and_a_list_and_flags_name_the_district_share() -> (
    None
):
    defs = {d.key: d for d in kpis_committees.DEFS}
    assert set(defs) == {
        "representation",
        "parent_school_rule",
        "standard_parent_school",
        "open_days",
        "coordinator",
    }
    for d in defs.values():
        assert d.label.zh
        assert d.list_key
        assert d.target_of(SETTINGS.targets) is not None
    assert defs["standard_parent_school"].target_of(SETTINGS.targets) == 0.70
    assert not any(d.trend for d in defs.values())
