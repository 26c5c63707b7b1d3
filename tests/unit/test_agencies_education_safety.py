"""The education model's safety part: small hand-made event sequences folded into its tables
(however they are cut into batches), then the KPIs 18–22 on a day D computed from those rows —
met and missed, at every boundary (a hazard due yesterday vs today, a contact exactly on its
rhythm, a shift of today vs yesterday, a report due before vs after the clock)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from tests.support.agencies_safety import (
    DIST,
    OTHER,
    SCHOOL,
    STUDENT,
    D,
    accepted,
    at,
    completed,
    contact,
    file_opened,
    filed,
    fold,
    fully_paired,
    hazard,
    incident,
    missed,
    post,
    rectified,
    risk,
    scheduled,
)
from tongxin_agencies.application import kpis_safety
from tongxin_agencies.application.kpis import plain
from tongxin_agencies.config import AgenciesSettings
from tongxin_agencies.domain import safety_kpis as rules
from tongxin_agencies.projections.education import EDUCATION
from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.safety import (
    CareFileClosed,
    CareFileHandedOver,
    CarerDeclined,
    CarerKind,
    CarerReleased,
    DeclineReason,
    FileClosedReason,
    IncidentCategory,
    MandatoryReportEscalated,
    RiskLevel,
)

SETTINGS = AgenciesSettings()


async def kpis(
    events: Sequence[IntegrationEvent],
    d: date = D,
    now: datetime | None = None,
    settings: AgenciesSettings = SETTINGS,
) -> dict[str, Any]:
    """The safety KPIs of SCHOOL on ``d`` from the rows the events leave (``now``: the clock;
    by default the end of D)."""
    t = await fold(EDUCATION, events)
    rows = {
        "files": t["care_files"],
        "pairings": t["care_pairings"],
        "contacts": t["care_contacts"],
        "risks": t["care_risk_levels"],
        "shifts": t["guard_shifts"],
        "hazards": t["hazards"],
        "incidents": t["incidents"],
    }
    clock = now or at(d + timedelta(days=1), 23)
    figures = kpis_safety.figures(settings, [SCHOOL], d, clock, rows)[SCHOOL]
    return {key: plain(value) for key, value in figures.items()}


# --- the handlers -------------------------------------------------------------------------------


async def test_a_care_file_keeps_its_dates_its_pairings_and_their_contacts() -> None:
    start = date(2026, 9, 10)
    t = await fold(
        EDUCATION,
        [
            *fully_paired(start),
            contact("p_school", CarerKind.school, date(2026, 10, 1)),
            risk(RiskLevel.high, date(2026, 10, 2)),
            CarerReleased(
                district=DIST,
                school_id=SCHOOL,
                student_ref=STUDENT,
                pairing_id="p_community",
                kind=CarerKind.community,
                released_on=date(2026, 10, 5),
            ),
            CareFileClosed(
                district=DIST,
                school_id=SCHOOL,
                student_ref=STUDENT,
                reason=FileClosedReason.no_longer_in_need,
                closed_on=date(2026, 11, 1),
            ),
        ],
    )
    (f,) = t["care_files"]
    assert (f["opened_on"], f["closed_on"], f["close_reason"]) == (
        start,
        date(2026, 11, 1),
        "no_longer_in_need",
    )
    assert f["care_groups"] == ["left_behind"]
    pairings = {p["pairing_id"]: p for p in t["care_pairings"]}
    assert len(pairings) == 4
    assert pairings["p_community"]["released_on"] == date(2026, 10, 5)
    assert all(p["accepted_on"] == start for p in pairings.values())
    assert t["care_contacts"] == [
        {
            "pairing_id": "p_school",
            "contact_on": date(2026, 10, 1),
            "district": DIST,
            "school_id": SCHOOL,
            "mode": "phone",
        }
    ]
    assert [(r["set_on"], r["level"]) for r in t["care_risk_levels"]] == [
        (date(2026, 10, 2), "high")
    ]


async def test_guard_shifts_keep_their_day_and_outcome_even_recorded_unscheduled() -> None:
    t = await fold(
        EDUCATION,
        [
            post(),
            scheduled("sh_1", date(2026, 11, 2)),
            completed("sh_1", date(2026, 11, 2)),
            scheduled("sh_2", date(2026, 11, 3)),
            missed("sh_2", date(2026, 11, 3)),
            scheduled("sh_3", date(2026, 11, 4)),
            completed("sh_4", date(2026, 11, 5)),  # no schedule seen
        ],
    )
    shifts = {s["shift_id"]: s for s in t["guard_shifts"]}
    assert {k: s["status"] for k, s in shifts.items()} == {
        "sh_1": "completed",
        "sh_2": "missed",
        "sh_3": "scheduled",
        "sh_4": "completed",
    }
    assert (shifts["sh_1"]["guards"], shifts["sh_1"]["police_guards"]) == (2, 1)
    assert shifts["sh_2"]["missed_reason"] == "no_show"
    assert t["guard_posts"][0]["place"] == "school_gate"


async def test_an_incident_keeps_the_number_of_students_involved_never_who() -> None:
    t = await fold(
        EDUCATION,
        [
            incident("inc_1", at(date(2026, 11, 2))),
            filed("inc_1", at(date(2026, 11, 2), 15), 5 * 3600, False),
            MandatoryReportEscalated(
                district=DIST,
                school_id=SCHOOL,
                incident_id="inc_1",
                category=IncidentCategory.physical_abuse,
                report_due_at=at(date(2026, 11, 3)),
                escalated_at=at(date(2026, 11, 3), 11),
            ),
        ],
    )
    (i,) = t["incidents"]
    assert i["students_involved"] == 2
    assert i["filed_on"] == date(2026, 11, 2)
    assert i["departments"] == ["education", "police"]
    assert i["escalated_at"] == at(date(2026, 11, 3), 11)
    assert "stu_a" not in repr(t)
    assert "student_refs" not in i


# --- 18 care_files_complete ---------------------------------------------------------------------


async def test_a_file_with_an_accepted_carer_of_every_kind_is_complete() -> None:
    assert (await kpis(fully_paired(date(2026, 9, 10))))["care_files_complete"] == 1.0


async def test_a_declined_carer_leaves_a_file_incomplete_and_no_file_gives_none() -> None:
    events = [
        *fully_paired(date(2026, 9, 10)),
        CarerDeclined(
            district=DIST,
            school_id=SCHOOL,
            student_ref=STUDENT,
            pairing_id="p_civil_affairs",
            kind=CarerKind.civil_affairs,
            reason=DeclineReason.caseload_full,
            declined_on=date(2026, 9, 20),
        ),
    ]
    assert (await kpis(events))["care_files_complete"] == 0.0
    # …but before the decline it was complete
    assert (await kpis(events, d=date(2026, 9, 19)))["care_files_complete"] == 1.0
    assert (await kpis([]))["care_files_complete"] is None


async def test_a_pairing_accepted_after_d_does_not_count_yet() -> None:
    events = [*fully_paired(date(2026, 9, 10))]
    events[-1] = accepted("p_womens_federation", CarerKind.womens_federation, D + timedelta(1))
    assert (await kpis(events))["care_files_complete"] == 0.0
    assert (await kpis(events, d=D + timedelta(1)))["care_files_complete"] == 1.0


async def test_a_file_closed_or_handed_over_on_or_before_d_is_no_longer_open() -> None:
    closed = CareFileClosed(
        district=DIST,
        school_id=SCHOOL,
        student_ref=STUDENT,
        reason=FileClosedReason.left_school,
        closed_on=D,
    )
    assert (await kpis([file_opened(date(2026, 9, 1)), closed]))["care_files_complete"] is None
    before = await kpis([file_opened(date(2026, 9, 1)), closed], d=D - timedelta(1))
    assert before["care_files_complete"] == 0.0
    handed = CareFileHandedOver(
        district=DIST,
        school_id=SCHOOL,
        student_ref=STUDENT,
        to_school_id=OTHER,
        to_district=DIST,
        to_class_id=None,
        handed_over_on=D - timedelta(1),
    )
    assert (await kpis([file_opened(date(2026, 9, 1)), handed]))["care_files_complete"] is None


# --- 19 care_contacts_overdue -------------------------------------------------------------------


async def test_a_contact_exactly_on_its_rhythm_is_not_overdue_a_day_later_it_is() -> None:
    low = SETTINGS.contact_days_low
    events = [*fully_paired(date(2026, 9, 1))]
    for kind in CarerKind:
        events.append(contact(f"p_{kind.value}", kind, D - timedelta(days=low)))
    assert (await kpis(events))["care_contacts_overdue"] == 0
    assert (await kpis(events, d=D + timedelta(1)))["care_contacts_overdue"] == 4


async def test_without_a_contact_the_day_accepted_starts_the_rhythm() -> None:
    low = SETTINGS.contact_days_low
    events = fully_paired(D - timedelta(days=low + 1))
    assert (await kpis(events))["care_contacts_overdue"] == 4
    assert (await kpis(events, d=D - timedelta(1)))["care_contacts_overdue"] == 0


async def test_a_high_risk_level_shortens_the_rhythm_and_a_contact_after_d_does_not_count() -> None:
    high = SETTINGS.contact_days_high
    events = [*fully_paired(date(2026, 9, 1))]
    for kind in CarerKind:
        events.append(contact(f"p_{kind.value}", kind, D - timedelta(days=high + 1)))
    assert (await kpis(events))["care_contacts_overdue"] == 0  # low: 30 days
    events.append(risk(RiskLevel.high, date(2026, 10, 1)))
    assert (await kpis(events))["care_contacts_overdue"] == 4
    events.append(contact("p_school", CarerKind.school, D + timedelta(1)))
    assert (await kpis(events))["care_contacts_overdue"] == 4
    events.append(contact("p_school", CarerKind.school, D))
    assert (await kpis(events))["care_contacts_overdue"] == 3


async def test_a_released_pairing_has_no_contact_due() -> None:
    events = fully_paired(date(2026, 9, 1))
    events.append(
        CarerReleased(
            district=DIST,
            school_id=SCHOOL,
            student_ref=STUDENT,
            pairing_id="p_school",
            kind=CarerKind.school,
            released_on=D - timedelta(1),
        )
    )
    assert (await kpis(events))["care_contacts_overdue"] == 3


# --- 20 guard_completion ------------------------------------------------------------------------


async def test_guard_completion_counts_the_shifts_before_d_not_todays() -> None:
    events: list[IntegrationEvent] = [post()]
    for n, day in enumerate((D - timedelta(3), D - timedelta(2), D - timedelta(1), D)):
        events.append(scheduled(f"sh_{n}", day))
    events += [completed("sh_0", D - timedelta(3)), missed("sh_1", D - timedelta(2))]
    # sh_2 (yesterday) nothing recorded; sh_3 is today's: not counted yet
    assert (await kpis(events))["guard_completion"] == pytest.approx(1 / 3)
    events.append(completed("sh_2", D - timedelta(1)))
    assert (await kpis(events))["guard_completion"] == pytest.approx(2 / 3)


async def test_guard_completion_is_of_the_school_year_and_none_without_shifts() -> None:
    last_year = date(2026, 8, 31)
    events = [post(), scheduled("old", last_year), missed("old", last_year)]
    assert (await kpis(events))["guard_completion"] is None
    events += [scheduled("new", date(2026, 9, 1)), completed("new", date(2026, 9, 1))]
    figures = await kpis(events)
    assert figures["guard_completion"] == 1.0
    assert DEFS["guard_completion"].meets(figures["guard_completion"], SETTINGS.targets)
    assert DEFS["guard_completion"].meets(0.94, SETTINGS.targets) is False


# --- 21 hazards_overdue -------------------------------------------------------------------------


async def test_a_hazard_due_yesterday_is_overdue_one_due_today_is_not() -> None:
    events = [hazard("h_yesterday", D - timedelta(1)), hazard("h_today", D)]
    figures = await kpis(events)
    assert figures["hazards_overdue"] == 1
    assert DEFS["hazards_overdue"].meets(1, SETTINGS.targets) is False
    assert DEFS["hazards_overdue"].meets(0, SETTINGS.targets) is True


async def test_a_hazard_rectified_on_or_before_d_is_not_overdue_one_rectified_after_is() -> None:
    events = [hazard("h_1", date(2026, 10, 1)), rectified("h_1", D)]
    assert (await kpis(events))["hazards_overdue"] == 0
    assert (await kpis(events, d=D - timedelta(1)))["hazards_overdue"] == 1


# --- 22 mandatory_reports_late ------------------------------------------------------------------


async def test_a_report_filed_late_counts_one_filed_on_time_does_not() -> None:
    day = date(2026, 11, 2)
    events = [
        incident("inc_late", at(day)),
        filed("inc_late", at(day) + timedelta(hours=30), 30 * 3600, True),
        incident("inc_ok", at(day)),
        filed("inc_ok", at(day) + timedelta(hours=2), 7200, False),
        incident("inc_none", at(day), required=False),
    ]
    figures = await kpis(events)
    assert figures["mandatory_reports_late"] == 1
    assert figures["mandatory_report_longest_delay"] == 30 * 60


async def test_an_unfiled_report_is_late_once_its_deadline_has_passed() -> None:
    recorded = at(D, 9)  # due D+1 09:00
    events = [incident("inc_1", recorded)]
    assert (await kpis(events, d=D + timedelta(1), now=at(D + timedelta(1), 8)))[
        "mandatory_reports_late"
    ] == 0
    assert (await kpis(events, d=D + timedelta(1), now=at(D + timedelta(1), 10)))[
        "mandatory_reports_late"
    ] == 1
    # on a past day, the deadline is judged at the end of that day, not by today's clock
    assert (await kpis(events, d=D, now=at(D + timedelta(5))))["mandatory_reports_late"] == 0
    # an incident recorded after D does not count on D
    assert (await kpis(events, d=D - timedelta(1)))["mandatory_reports_late"] == 0


async def test_a_report_filed_after_d_is_unfiled_on_d() -> None:
    recorded = at(D - timedelta(3))
    events = [incident("inc_1", recorded), filed("inc_1", at(D + timedelta(1)), 99_999, True)]
    figures = await kpis(events)
    assert figures["mandatory_reports_late"] == 1  # due D-2, unfiled on D
    assert figures["mandatory_report_longest_delay"] is None


# --- the definitions -----------------------------------------------------------------------------

DEFS = {d.key: d for d in kpis_safety.DEFS}


def test_every_safety_kpi_has_labels_a_rule_a_target_of_the_city_and_a_list() -> None:
    assert set(DEFS) >= {
        "care_files_complete",
        "care_contacts_overdue",
        "guard_completion",
        "hazards_overdue",
        "mandatory_reports_late",
    }
    for d in kpis_safety.DEFS:
        assert d.label.zh
        assert d.label.en
        assert d.list_key
        if d.rule != "none":
            assert d.target_of(SETTINGS.targets) is not None
    assert {d.key for d in kpis_safety.DEFS if d.trend} == {"guard_completion", "hazards_overdue"}


def test_the_rules_read_dates_inclusively_on_d() -> None:
    f = {"opened_on": D, "closed_on": None, "handed_over_on": None}
    assert rules.file_open(f, D)
    assert not rules.file_open(f, D - timedelta(1))
    p = {"accepted_on": D, "declined_on": None, "released_on": D + timedelta(1)}
    assert rules.pairing_accepted(p, D)
    assert not rules.pairing_accepted(p, D + timedelta(1))


async def test_a_pairing_keeps_its_latest_contact_and_the_query_may_bring_it_on_the_row() -> None:
    low = SETTINGS.contact_days_low
    events = [*fully_paired(date(2026, 9, 1))]
    for kind in CarerKind:
        events.append(contact(f"p_{kind.value}", kind, D - timedelta(days=low)))
    events.append(contact("p_school", CarerKind.school, date(2026, 10, 1)))  # logged late
    t = await fold(EDUCATION, events)
    latest = {p["pairing_id"]: p["last_contact_on"] for p in t["care_pairings"]}
    assert set(latest.values()) == {D - timedelta(days=low)}
    # the rows as the query brings them: the last contact on D on the pairing, no contact rows
    pairings = [{**p, "last_contact": p["last_contact_on"]} for p in t["care_pairings"]]
    state = rules.care_state(t["care_files"], pairings, (), [], D, kpis_safety.rhythm(SETTINGS))
    assert state.overdue == []
    later = rules.care_state(
        t["care_files"], pairings, (), [], D + timedelta(1), kpis_safety.rhythm(SETTINGS)
    )
    assert len(later.overdue) == 4
