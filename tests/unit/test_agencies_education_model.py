"""The education model's roster, visits and wellbeing parts: each handler's rows from small
hand-made event sequences, folded with the projection's own batch semantics (the in-memory
fake applies exactly what PostgreSQL would). The kit's roster part, extended for the education
model, leaves the other services' tables as they were."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tests.support import agencies_education as ev
from tongxin_agencies.projections.education import EDUCATION
from tongxin_contracts.calendar import CHINA
from tongxin_platform.roster_part import roster_tables

D = date(2026, 10, 15)


def rows(events: list, table: str) -> dict:
    return ev.fold_rows(events).rows("education", table)


# --- roster ----------------------------------------------------------------------------------


def test_the_other_services_roster_tables_keep_their_exact_shape() -> None:
    from tongxin_committees.projections.read_model import COMMITTEES
    from tongxin_safety.projections.read_model import SAFETY

    # Given the shapes of safety's and committees' models before the roster part was extended
    # Then their DDL hashes are unchanged (no rebuild of their read models is triggered)
    assert SAFETY.shape() == "9b4acbff703b923b20ecb3fa1092b10e96c66120ba802c62dcdfda2480cda7d7"
    assert COMMITTEES.shape() == "a759c20daf217c66c75f4484d92e6cbaf9d8f16cc39794afa0d8a054e67d9c35"
    assert "in_special_group" not in roster_tables()[2].columns
    assert "has_counselling_room" not in roster_tables()[0].columns


def test_a_school_keeps_its_stage_and_counselling_room() -> None:
    got = rows([ev.school("a", room=False)], "schools")[("a",)]
    assert (got["stage"], got["has_counselling_room"]) == ("primary", False)


def test_a_student_categorised_in_a_special_group_is_marked_and_can_be_unmarked() -> None:
    events = [ev.student("s1", "c1"), ev.special("s1")]
    assert rows(events, "students")[("s1",)]["in_special_group"] is True
    assert (
        rows([*events, ev.special("s1", False)], "students")[("s1",)]["in_special_group"] is False
    )


def test_a_student_who_left_is_no_longer_enrolled_and_a_transfer_moves_them() -> None:
    events = [ev.student("s1", "c1"), ev.transferred("s1", "c9", "sch2", ("sch1", "c1"))]
    got = rows(events, "students")[("s1",)]
    assert (got["school_id"], got["class_id"], got["enrolled"]) == ("sch2", "c9", True)
    assert rows([*events, ev.left("s1", "sch2")], "students")[("s1",)]["enrolled"] is False


# --- visits ----------------------------------------------------------------------------------


def test_a_completed_visit_is_dated_by_its_china_date_not_its_utc_date() -> None:
    # Given a visit that started at 23:30 UTC on 31 August = 07:30 on 1 September in China
    started = datetime(2026, 9, 1, 7, 30, tzinfo=CHINA).astimezone(UTC)
    got = rows([ev.visit("v1", "s1", started, ("h1", "head_teacher"))], "visits")[("v1",)]
    # Then it counts on 1 September (the first day of the school year)
    assert got["visited_on"] == date(2026, 9, 1)
    assert (got["mode"], got["visitor_refs"], got["cancelled"]) == ("in_home", ["h1"], False)


def test_each_visitor_of_a_completed_visit_is_a_row_with_the_visit_s_facts() -> None:
    e = ev.visit("v1", "s1", D, ("p1", "principal"), ("h1", "head_teacher"), mode="phone")
    got = rows([e], "visit_visitors")
    assert set(got) == {("v1", "p1"), ("v1", "h1")}
    assert got[("v1", "p1")]["role"] == "principal"
    assert got[("v1", "h1")]["student_ref"] == "s1"
    assert got[("v1", "h1")]["mode"] == "phone"
    assert got[("v1", "h1")]["visited_on"] == D


def test_a_cancelled_visit_is_marked_cancelled() -> None:
    from tongxin_contracts.events.visits import VisitPlanned

    planned = VisitPlanned(
        district="d1",
        school_id="sch1",
        visit_id="v1",
        class_id="c1",
        student_ref="s1",
        planned_by="t1",
        planned_for=D,
    )
    got = rows([planned, ev.cancelled("v1")], "visits")[("v1",)]
    assert (got["cancelled"], got["visited_on"], got["planned_for"]) == (True, None, D)


def test_a_follow_up_keeps_its_due_date_and_the_day_it_was_closed() -> None:
    events = [ev.followup("f1", D, D + timedelta(days=14))]
    got = rows(events, "followups")[("f1",)]
    assert (got["due_date"], got["closed_on"], got["measure"]) == (
        D + timedelta(days=14),
        None,
        "learning_support",
    )
    got = rows([*events, ev.closed("f1", D + timedelta(days=3))], "followups")[("f1",)]
    assert (got["closed_on"], got["outcome"]) == (D + timedelta(days=3), "resolved")


def test_every_revision_of_a_monthly_report_is_kept_with_its_china_submission_day() -> None:
    first = datetime(2026, 9, 29, 17, 0, tzinfo=UTC)
    events = [
        ev.report("2026-09", first, late=False),
        ev.report("2026-09", first + timedelta(days=5), late=True, revision=2),
    ]
    got = rows(events, "monthly_reports")
    assert got[("sch1", "2026-09", 1)]["submitted_on"] == date(2026, 9, 30)  # 01:00 in China
    assert got[("sch1", "2026-09", 1)]["late"] is False
    assert got[("sch1", "2026-09", 2)]["late"] is True


# --- wellbeing -------------------------------------------------------------------------------


def test_screening_offer_consent_and_completion_are_dated_per_student_and_year() -> None:
    events = [
        ev.offered("s1"),
        ev.consent("s1", D),
        ev.screened("x1", "s1", D + timedelta(days=2)),
        ev.offered("s2"),
        ev.consent("s2", D, yes=False),
    ]
    offers = rows(events, "screening_offers")
    assert offers[("s1", "2026-2027")]["offered"] is True
    assert offers[("s1", "2026-2027")]["consent"] == "consented"
    assert offers[("s2", "2026-2027")]["consent"] == "refused"
    assert rows(events, "screenings")[("x1",)]["completed_on"] == D + timedelta(days=2)


def test_the_screening_rows_hold_no_score_band_or_flag() -> None:
    columns = set(EDUCATION.tables["screenings"].columns) | set(
        EDUCATION.tables["screening_offers"].columns
    )
    assert not columns & {"band", "risk", "score", "flag"}


def test_the_attention_list_is_its_current_state() -> None:
    events = [ev.listed("s1"), ev.listed("s2"), ev.unlisted("s1")]
    got = rows(events, "attention")
    assert {k[0] for k, r in got.items() if r["listed"]} == {"s2"}
    got = rows([*events, ev.listed("s1")], "attention")
    assert {k[0] for k, r in got.items() if r["listed"]} == {"s1", "s2"}


def test_a_referral_keeps_its_deadline_and_acknowledgement() -> None:
    at = datetime(2026, 10, 15, 9, 0, tzinfo=CHINA)
    events = [ev.referred("r1", at), ev.acknowledged("r1", at + timedelta(minutes=20), True)]
    got = rows(events, "referrals")[("r1",)]
    assert got["acknowledge_by"] == at + timedelta(hours=1)
    assert got["acknowledged_at"] == at + timedelta(minutes=20)
    assert got["within_deadline"] is True
    assert "note" not in got


def test_a_training_records_each_attending_staff_member_once() -> None:
    got = rows([ev.trained("tr1", D, "h1", "h2", "h1")], "training_attendance")
    assert set(got) == {("tr1", "h1"), ("tr1", "h2")}
    assert got[("tr1", "h1")]["topic"] == "crisis_identification"
