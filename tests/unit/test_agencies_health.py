"""The health agency's model (referrals and screening counts, from registry + wellbeing) and the
rules of its views: a hospital's own queue, its figures and statuses, screening coverage."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import pytest

from tests.support import agencies_education as ev
from tests.support.agencies_fold import CannedPool, fold_rows, one_by_one
from tongxin_agencies.application.health_views import (
    coverage,
    deadline_cell,
    hospital_for,
    hospital_page,
    pooled,
    queue_figures,
    queue_of,
    referral_status,
    referrals_list,
    screening_list,
    screening_page,
    sees_referral,
    shows_student,
)
from tongxin_agencies.application.views import ViewContext
from tongxin_agencies.config import AgenciesSettings
from tongxin_agencies.projections.health import HEALTH
from tongxin_contracts.base import Sealed
from tongxin_contracts.events.registry import (
    Guardian,
    LeaveReason,
    SchoolRegistered,
    SchoolStage,
    StudentEnrolled,
    StudentLeft,
    StudentTransferred,
)
from tongxin_contracts.events.wellbeing import (
    ConsentDecision,
    ConsentRecorded,
    CrisisReferred,
    ReferralAcknowledged,
    ReferralEscalated,
    ReferralOutcome,
    ReferralResolved,
    RiskFlag,
    ScreeningCompleted,
    ScreeningFlagged,
    ScreeningOffered,
)
from tongxin_platform.auth import Principal, Role
from tongxin_platform.http import ProblemError
from tongxin_web.render import table_body

D = "d1"
SY = "2026-2027"
T0 = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)  # 10:00 in China, 12 October
SEALED = Sealed(subject="stu_1", key_id="k", nonce="n", ciphertext="c")
HOSPITAL = Principal("doc-h1", Role.hospital, D, org="h1")


def referred(
    rid: str, hospital: str = "h1", at: datetime = T0, school: str = "s1"
) -> CrisisReferred:
    return cast(
        CrisisReferred,
        ev.referred(rid, at, school, student=f"stu-{rid}", hospital=hospital, by="psy1"),
    )


def acknowledged(rid: str, after: timedelta, hospital: str = "h1") -> ReferralAcknowledged:
    within = after <= timedelta(hours=1)
    return cast(
        ReferralAcknowledged, ev.acknowledged(rid, T0 + after, within, "s1", hospital=hospital)
    )


def enrolled(ref: str, school: str = "s1") -> StudentEnrolled:
    return StudentEnrolled(
        district=D,
        school_id=school,
        student_ref=ref,
        class_id=f"{school}-c1",
        age_band=None,
        age_band_on=None,
        guardians=[Guardian(guardian_ref=f"g-{ref}", relation="mother")],
        personal=SEALED,
    )


def offered(ref: str, school: str = "s1") -> ScreeningOffered:
    return cast(ScreeningOffered, ev.offered(ref, SY, school))


def consent(ref: str, decision: ConsentDecision, on: date = date(2026, 9, 20)) -> ConsentRecorded:
    return cast(ConsentRecorded, ev.consent(ref, on, sy=SY, school_id="s1", decision=decision))


def completed(ref: str, sid: str, on: date = date(2026, 10, 1)) -> ScreeningCompleted:
    return cast(ScreeningCompleted, ev.screened(sid, ref, on, SY, "s1", instrument="phq"))


SCHOOL = SchoolRegistered(
    district=D,
    school_id="s1",
    school_name="First School",
    stage=SchoolStage.primary,
    has_counselling_room=True,
)


# --- the model --------------------------------------------------------------------------------


def test_a_referral_is_queued_for_its_hospital_with_its_deadline_and_acknowledgement() -> None:
    rows = fold_rows(HEALTH, [referred("r1"), acknowledged("r1", timedelta(minutes=20))])
    r = rows["referrals"][("r1",)]
    assert r["hospital_id"] == "h1"
    assert r["acknowledge_by"] == T0 + timedelta(hours=1)
    assert r["acknowledged_at"] == T0 + timedelta(minutes=20)
    assert r["within_deadline"] is True
    assert r["student_ref"] == "stu-r1"


def test_escalation_and_resolution_complete_the_referrals_timeline() -> None:
    escalated = ReferralEscalated(
        district=D,
        school_id="s1",
        referral_id="r1",
        hospital_id="h1",
        acknowledge_by=T0 + timedelta(hours=1),
        escalated_at=T0 + timedelta(hours=1, minutes=1),
        escalated_to=[],
    )
    resolved = ReferralResolved(
        district=D,
        school_id="s1",
        referral_id="r1",
        outcome=ReferralOutcome.admitted,
        resolved_on=date(2026, 10, 14),
    )
    rows = fold_rows(HEALTH, [referred("r1")], [escalated], [resolved])
    r = rows["referrals"][("r1",)]
    assert r["escalated_at"] == T0 + timedelta(hours=1, minutes=1)
    assert (r["resolved_on"], r["outcome"]) == (date(2026, 10, 14), "admitted")
    assert r["acknowledged_at"] is None


def test_the_roster_gives_the_enrolled_students_of_each_school() -> None:
    moved = StudentTransferred(
        district=D,
        school_id="s2",
        student_ref="a",
        class_id="s2-c1",
        from_school_id="s1",
        from_class_id="s1-c1",
    )
    left = StudentLeft(district=D, school_id="s1", student_ref="b", reason=LeaveReason.moved_away)
    rows = fold_rows(HEALTH, [SCHOOL, enrolled("a"), enrolled("b")], [moved, left])
    students = rows["students"]
    assert (students[("a",)]["school_id"], students[("a",)]["enrolled"]) == ("s2", True)
    assert students[("b",)]["enrolled"] is False
    assert rows["schools"][("s1",)]["school_name"] == "First School"


def test_screening_keeps_the_offer_the_latest_consent_and_each_screening_of_a_student() -> None:
    rows = fold_rows(
        HEALTH,
        [offered("a"), consent("a", ConsentDecision.refused)],
        [consent("a", ConsentDecision.consented, date(2026, 9, 25))],
        [completed("a", "x1"), completed("a", "x2", date(2026, 10, 3))],
    )
    s = rows["screening"][(SY, "a")]
    assert (s["offered"], s["consent"], s["consent_on"]) == (True, "consented", date(2026, 9, 25))
    assert sorted(k[2] for k in rows["screened"]) == ["x1", "x2"]


def test_a_screenings_band_and_flag_are_not_stored_anywhere() -> None:
    flagged = ScreeningFlagged(
        district=D,
        school_id="s1",
        student_ref="a",
        school_year=SY,
        screening_id="x1",
        instrument_id="phq",
        band="severe",
        risk=RiskFlag.high,
    )
    rows = fold_rows(HEALTH, [completed("a", "x1"), flagged])
    values = {str(v) for table in rows.values() for row in table.values() for v in row.values()}
    assert "severe" not in values
    assert not HEALTH.handles(ScreeningFlagged.ce_type())


def test_the_health_models_columns_hold_no_band_score_flag_note_or_attention() -> None:
    columns = re.findall(r"[(,]\s*([a-z_]+) [a-z]", HEALTH.ddl())
    assert "referral_id" in columns  # the scan reads the columns
    forbidden = re.compile(r"band|score|flag|risk|note|instrument|attention|answer|reason")
    assert [c for c in columns if forbidden.search(c)] == []


def test_a_rebuild_event_by_event_gives_the_rows_of_one_batch() -> None:
    events = [
        SCHOOL,
        enrolled("a"),
        referred("r1"),
        acknowledged("r1", timedelta(minutes=90)),
        offered("a"),
        consent("a", ConsentDecision.consented),
        completed("a", "x1"),
    ]
    assert one_by_one(HEALTH, events) == fold_rows(HEALTH, events)


# --- who sees which hospital ------------------------------------------------------------------


def test_a_hospital_reads_its_own_queue_by_default_and_by_its_own_id() -> None:
    assert hospital_for(HOSPITAL, None) == "h1"
    assert hospital_for(HOSPITAL, "h1") == "h1"


def test_another_hospitals_queue_is_answered_like_a_missing_one() -> None:
    with pytest.raises(ProblemError) as e:
        hospital_for(HOSPITAL, "h2")
    assert (e.value.status, e.value.extra["field"]) == (404, "hospital_id")


def test_a_hospital_token_without_its_hospital_is_refused_naming_the_rule() -> None:
    with pytest.raises(ProblemError) as e:
        hospital_for(Principal("doc", Role.hospital, D), None)
    assert (e.value.status, e.value.extra["rule"]) == (403, "hospital_org")


def test_an_auditor_names_the_hospital_and_never_sees_the_student() -> None:
    auditor = Principal("aud", Role.auditor, D)
    with pytest.raises(ProblemError) as e:
        hospital_for(auditor, None)
    assert (e.value.status, e.value.extra["field"]) == (422, "hospital_id")
    assert hospital_for(auditor, "h2") == "h2"
    assert not shows_student(auditor)
    assert shows_student(HOSPITAL)


# --- the queue's rules ------------------------------------------------------------------------


def row(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "referral_id": "r1",
        "district": D,
        "school_id": "s1",
        "hospital_id": "h1",
        "school_name": "First School",
        "student_ref": "stu-r1",
        "referred_at": T0,
        "acknowledge_by": T0 + timedelta(hours=1),
        "acknowledged_at": None,
        "within_deadline": None,
        "escalated_at": None,
        "resolved_on": None,
        "outcome": None,
    }
    return base | over


DAY = date(2026, 10, 12)


def test_an_unacknowledged_referral_is_awaiting_then_overdue_once_its_deadline_passed() -> None:
    assert referral_status(row(), DAY, T0 + timedelta(minutes=30)) == {"all", "open", "awaiting"}
    assert "overdue" in referral_status(row(), DAY, T0 + timedelta(minutes=61))


def test_an_acknowledged_referral_is_on_time_or_late_and_resolved_ones_leave_the_open_queue() -> (
    None
):
    on_time = row(acknowledged_at=T0 + timedelta(minutes=5), within_deadline=True)
    late = row(acknowledged_at=T0 + timedelta(hours=2), within_deadline=False)
    done = row(resolved_on=DAY)
    later = T0 + timedelta(hours=3)
    assert {"open", "acknowledged", "on_time"} <= referral_status(on_time, DAY, later)
    assert {"acknowledged", "late"} <= referral_status(late, DAY, later)
    assert "overdue" not in referral_status(late, DAY, later)
    assert "resolved" in referral_status(done, DAY, later)
    assert "open" not in referral_status(done, DAY, later)


def test_a_referral_made_after_the_day_is_not_counted_on_it() -> None:
    assert referral_status(row(), DAY - timedelta(days=1), T0) == set()


def test_the_sla_counts_acknowledged_within_the_deadline_over_acknowledged_and_overdue() -> None:
    rows = [
        row(referral_id="a", acknowledged_at=T0, within_deadline=True),
        row(referral_id="b", acknowledged_at=T0 + timedelta(hours=2), within_deadline=False),
        row(referral_id="c"),  # overdue
        row(referral_id="d", acknowledge_by=T0 + timedelta(hours=9)),  # not yet due
    ]
    f = queue_figures(rows, DAY, T0 + timedelta(hours=3))
    assert (f.open, f.overdue, f.on_time, f.judged) == (4, 1, 1, 3)
    assert f.sla == pytest.approx(1 / 3)
    assert queue_figures([], DAY, T0).sla is None


# --- whose part of a hospital's queue a reader sees -------------------------------------------


def test_an_auditor_sees_only_the_referrals_of_schools_in_their_own_district() -> None:
    auditor = Principal("aud", Role.auditor, D)
    mine, theirs = row(referral_id="a"), row(referral_id="b", district="d2", school_id="s9")
    assert sees_referral(auditor, "h1", mine)
    assert not sees_referral(auditor, "h1", theirs)
    assert queue_of(auditor, "h1", [mine, theirs]) == [mine]


def test_a_school_level_auditor_sees_only_their_schools_referrals() -> None:
    auditor = Principal("aud", Role.auditor, D, school="s1")
    assert sees_referral(auditor, "h1", row(school_id="s1"))
    assert not sees_referral(auditor, "h1", row(school_id="s2"))


def test_a_city_auditor_sees_every_district_and_nobody_sees_another_hospitals_referral() -> None:
    city = Principal("aud", Role.auditor, None)
    assert sees_referral(city, "h1", row(district="d2"))
    assert not sees_referral(city, "h1", row(hospital_id="h2"))
    assert not sees_referral(HOSPITAL, "h1", row(hospital_id="h2"))


def test_a_hospital_sees_every_referral_made_to_it_whatever_its_district() -> None:
    assert sees_referral(HOSPITAL, "h1", row(district="d2", school_id="s9"))


def test_a_hospital_with_no_referral_in_an_auditors_district_is_answered_like_a_missing_one() -> (
    None
):
    auditor = Principal("aud", Role.auditor, D)
    for rows in ([row(district="d2")], []):
        with pytest.raises(ProblemError) as e:
            queue_of(auditor, "h1", rows)
        assert (e.value.status, e.value.extra["field"]) == (404, "hospital_id")
        assert e.value.detail == "hospital_id: no such hospital"


def test_a_hospitals_own_empty_queue_is_no_404() -> None:
    assert queue_of(HOSPITAL, "h1", []) == []


# --- the deadline cell ------------------------------------------------------------------------


def test_an_open_unacknowledged_referrals_deadline_counts_down_and_is_red_once_passed() -> None:
    due = T0 + timedelta(hours=1)
    before = deadline_cell(row(), DAY, T0 + timedelta(minutes=30))
    after = deadline_cell(row(), DAY, T0 + timedelta(hours=3))
    assert (before.value, before.unit, before.meets) == (due, None, None)  # the column's deadline
    assert (after.value, after.unit, after.meets) == (due, None, False)


def test_an_acknowledged_referral_shows_its_acknowledgement_time_and_no_countdown() -> None:
    at = T0 + timedelta(minutes=5)
    later = T0 + timedelta(days=30)
    for r in (
        row(acknowledged_at=at, within_deadline=True),
        row(acknowledged_at=at, within_deadline=True, resolved_on=DAY),
    ):
        cell = deadline_cell(r, DAY, later)
        assert (cell.value, cell.unit, cell.meets) == (at, "text", True)
    late = deadline_cell(row(acknowledged_at=at, within_deadline=False), DAY, later)
    assert (late.unit, late.meets) == ("text", False)


def test_a_resolved_never_acknowledged_referral_shows_its_deadline_without_a_countdown() -> None:
    cell = deadline_cell(row(resolved_on=DAY), DAY, T0 + timedelta(days=30))
    assert (cell.value, cell.unit) == (T0 + timedelta(hours=1), "text")


def test_screening_coverage_is_screened_over_enrolled_and_pooled_over_schools() -> None:
    a = {"enrolled": 4, "offered": 4, "consented": 3, "refused": 1, "screened": 3}
    b = {"enrolled": 0, "offered": 0, "consented": 0, "refused": 0, "screened": 0}
    assert coverage(a) == 0.75
    assert coverage(b) is None
    assert pooled([a, b])["screened"] == 3


# --- the providers, on canned rows ------------------------------------------------------------


def ctx(who: Principal, pool: CannedPool, **params: str) -> ViewContext:
    now = T0 + timedelta(hours=3)
    return ViewContext(pool, AgenciesSettings(), who, params, DAY, now)


async def test_the_hospital_page_counts_its_queue_and_links_every_figure_to_its_list() -> None:
    pool = CannedPool(
        {"health.referrals": [row(referral_id="a"), row(referral_id="b", resolved_on=DAY)]}
    )
    page = await hospital_page(ctx(HOSPITAL, pool))
    figures = {f.key: f for f in page.panels[0].figures}
    assert figures["open"].value == 1
    assert figures["overdue"].value == 1
    assert figures["overdue"].meets is False
    assert figures["overdue"].link == "/lists/health.referrals?hospital_id=h1&status=overdue"
    assert figures["referral_sla"].value == 0.0
    open_table = page.panels[0].tables[0]
    assert [c.key for c in open_table.columns][2] == "student_ref"
    assert open_table.columns[4].unit == "deadline"
    assert [r[0].value for r in open_table.rows] == ["a"]
    assert pool.asked[0] == ("h1", None)  # its own hospital, whatever the district


async def test_an_auditors_queue_hides_the_student_and_stays_in_the_auditors_district() -> None:
    pool = CannedPool({"health.referrals": [row()]})
    auditor = Principal("aud", Role.auditor, D)
    listed = await referrals_list(ctx(auditor, pool, hospital_id="h1", status="all"))
    assert "student_ref" not in [c.key for c in listed.columns]
    assert pool.asked[0] == ("h1", D)


async def test_another_districts_auditor_gets_a_404_for_the_hospitals_page_and_list() -> None:
    pool = CannedPool({"health.referrals": [row()]})
    outsider = Principal("aud", Role.auditor, "d2")
    with pytest.raises(ProblemError) as page:
        await hospital_page(ctx(outsider, pool, hospital_id="h1"))
    with pytest.raises(ProblemError) as listed:
        await referrals_list(ctx(outsider, pool, hospital_id="h1", status="all"))
    for e in (page, listed):
        assert (e.value.status, e.value.extra["field"]) == (404, "hospital_id")


async def test_the_hospital_pages_acknowledged_referral_shows_no_countdown() -> None:
    acked = row(referral_id="a", acknowledged_at=T0 + timedelta(minutes=5), within_deadline=True)
    page = await hospital_page(ctx(HOSPITAL, CannedPool({"health.referrals": [acked, row()]})))
    table = page.panels[0].tables[0]
    at = [c.key for c in table.columns].index("acknowledge_by")
    assert [(r[0].value, r[at].unit) for r in table.rows] == [("a", "text"), ("r1", None)]


async def test_roles_that_may_not_read_a_queue_are_refused_naming_the_rule() -> None:
    for role in (Role.police, Role.principal, Role.bureau_officer, Role.committee_member):
        with pytest.raises(ProblemError) as e:
            await hospital_page(ctx(Principal("x", role, D), CannedPool({})))
        assert (e.value.status, e.value.extra["rule"]) == (403, "health.read")


async def test_an_unknown_status_is_refused_naming_the_parameter() -> None:
    with pytest.raises(ProblemError) as e:
        await referrals_list(ctx(HOSPITAL, CannedPool({}), status="best"))
    assert (e.value.status, e.value.extra["field"]) == (422, "status")


async def test_another_districts_screening_is_not_found_and_a_school_may_not_read_it() -> None:
    with pytest.raises(ProblemError) as e:
        await screening_page(ctx(HOSPITAL, CannedPool({}), district="d9"))
    assert e.value.status == 404
    with pytest.raises(ProblemError) as e:
        await screening_page(
            ctx(Principal("p", Role.principal, D, "s1"), CannedPool({}), district=D)
        )
    assert e.value.status == 403


async def test_the_screening_page_gives_counts_per_school_and_the_pooled_coverage() -> None:
    counts = [
        {
            "school_id": "s1",
            "school_name": "One",
            "enrolled": 4,
            "offered": 4,
            "consented": 3,
            "refused": 1,
            "screened": 3,
        },
        {
            "school_id": "s2",
            "school_name": "Two",
            "enrolled": 6,
            "offered": 6,
            "consented": 6,
            "refused": 0,
            "screened": 6,
        },
    ]
    officer = Principal("o", Role.bureau_officer, D)
    page = await screening_page(ctx(officer, CannedPool({"health.schools": counts}), district=D))
    figures = {f.key: f for f in page.panels[0].figures}
    assert figures["screening_coverage"].value == pytest.approx(0.9)
    assert figures["screening_coverage"].meets is False
    table = page.panels[0].tables[0]
    assert [r[-1].value for r in table.rows] == [0.75, 1.0]
    assert table.rows[0][-1].link == "/lists/health.screening?district=d1&school_id=s1"


async def test_a_school_outside_the_district_asked_of_the_screening_list_is_not_found() -> None:
    officer = Principal("o", Role.bureau_officer, D)
    with pytest.raises(ProblemError) as e:
        await screening_list(ctx(officer, CannedPool({}), district=D, school_id="s9"))
    assert (e.value.status, e.value.extra["field"]) == (404, "school_id")


def test_a_cells_own_unit_overrides_its_columns_on_the_rendered_page() -> None:
    columns = [{"key": "acknowledge_by", "unit": "deadline"}]
    due = "2026-10-12T03:00:00+00:00"
    now = datetime(2026, 11, 28, tzinfo=UTC)
    counting = str(table_body(columns, [[{"value": due, "unit": None}]], now))
    stopped = str(table_body(columns, [[{"value": due, "unit": "text"}]], now))
    assert 'class="deadline passed"' in counting
    assert "deadline" not in stopped
    assert "2026-10-12 11:00" in stopped  # China's wall clock
