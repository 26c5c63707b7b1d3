"""Given a school's campaign and a student's screening year, when a command arrives, then these
events (or this refusal): campaigns, offers, consent (PIPL art. 31: under 14 a guardian's),
screenings and their flags. And the read model counts what coverage needs."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tongxin_contracts import IntegrationEvent, default_registry
from tongxin_contracts.events.wellbeing import (
    ConsentDecision,
    ConsentGivenBy,
    ConsentRecorded,
    RiskFlag,
    ScreeningCampaignOpened,
    ScreeningCompleted,
    ScreeningFlagged,
    ScreeningOffered,
)
from tongxin_platform.memory import MemoryDatabase, MemoryTables
from tongxin_wellbeing.application.screening import builtin_instruments
from tongxin_wellbeing.domain.campaigns import (
    CampaignExistsError,
    CampaignState,
    OpenCampaign,
    decide_campaign,
    fold_campaign,
)
from tongxin_wellbeing.domain.errors import WellbeingError
from tongxin_wellbeing.domain.screening import (
    OfferScreening,
    RecordConsent,
    RecordScreening,
    Student,
    decide_consent,
    decide_offer,
    decide_screening,
    fold,
)
from tongxin_wellbeing.projections.read_model import WELLBEING

NOW = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)  # 10:00 in China, a school day
YEAR = "2026-2027"
DISTRICT, SCHOOL = "330106", "330106001"
CHILD = Student("stu_child", DISTRICT, SCHOOL, True, "under_14", ("g_mother", "g_father"))
UNKNOWN_AGE = Student("stu_unknown", DISTRICT, SCHOOL, True, None, ("g_mother",))
TEEN = Student("stu_teen", DISTRICT, SCHOOL, True, "14_to_17", ("g_aunt",))
LEFT = Student("stu_left", DISTRICT, SCHOOL, False, "under_14", ("g_mother",))


def opening(**over: object) -> OpenCampaign:
    fields: dict[str, object] = {
        "district": DISTRICT,
        "school_id": SCHOOL,
        "school_year": YEAR,
        "instruments": ("phq9", "gad7"),
        "exam_from": date(2026, 10, 12),
        "exam_to": date(2026, 10, 23),
        "available": frozenset({"phq9", "gad7", "district-mood"}),
    }
    fields.update(over)
    return OpenCampaign(**fields)  # type: ignore[arg-type]


def campaign() -> CampaignState:
    return fold_campaign(decide_campaign(opening(), CampaignState()))


def consented(
    student: Student, by: ConsentGivenBy = ConsentGivenBy.guardian
) -> list[IntegrationEvent]:
    guardian = student.guardian_refs[0] if by is ConsentGivenBy.guardian else None
    return decide_consent(
        RecordConsent(student, YEAR, ConsentDecision.consented, by, guardian), fold([]), NOW
    )


def screening(
    student: Student, answers: list[int], instrument: str = "phq9", **over: object
) -> RecordScreening:
    fields: dict[str, object] = {
        "student": student,
        "school_year": YEAR,
        "screening_id": "scr-1",
        "instrument": builtin_instruments()[instrument],
        "answers": tuple(answers),
        "campaign": campaign(),
        "completed_on": None,
    }
    fields.update(over)
    return RecordScreening(**fields)  # type: ignore[arg-type]


def refused_with(error: pytest.ExceptionInfo[WellbeingError]) -> tuple[str, str]:
    return error.value.field, error.value.rule


# --- campaigns ------------------------------------------------------------------------------


def test_a_school_opens_its_campaign_for_a_year_bound_to_the_physical_examination() -> None:
    [e] = decide_campaign(opening(), CampaignState())
    assert isinstance(e, ScreeningCampaignOpened)
    assert (e.school_id, e.school_year, e.instruments) == (SCHOOL, YEAR, ["phq9", "gad7"])
    assert (e.exam_from, e.exam_to) == (date(2026, 10, 12), date(2026, 10, 23))
    assert e.aggregate_id() == f"campaign-{SCHOOL}-{YEAR}"


def test_a_second_campaign_for_the_same_school_year_is_a_conflict() -> None:
    with pytest.raises(CampaignExistsError) as refused:
        decide_campaign(opening(), campaign())
    assert refused.value.status == 409
    assert refused_with(refused) == ("school_year", "one_campaign_per_school_year")


def test_an_examination_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(WellbeingError) as refused:
        decide_campaign(opening(exam_to=date(2026, 10, 11)), CampaignState())
    assert refused_with(refused) == ("exam_to", "exam_dates_in_order")


def test_an_examination_of_one_day_is_accepted() -> None:
    day = date(2027, 3, 1)
    assert decide_campaign(opening(exam_from=day, exam_to=day), CampaignState())


@pytest.mark.parametrize(
    ("exam_from", "exam_to", "field"),
    [
        (date(2026, 8, 31), date(2026, 9, 5), "exam_from"),
        (date(2027, 8, 20), date(2027, 9, 1), "exam_to"),
    ],
)
def test_the_examination_falls_within_the_campaigns_school_year(
    exam_from: date, exam_to: date, field: str
) -> None:
    with pytest.raises(WellbeingError) as refused:
        decide_campaign(opening(exam_from=exam_from, exam_to=exam_to), CampaignState())
    assert refused_with(refused) == (field, "exam_within_school_year")


@pytest.mark.parametrize(
    ("instruments", "field", "rule"),
    [
        ((), "instruments", "campaign_instruments"),
        (("phq9", "phq9"), "instruments.1", "campaign_instruments"),
        (("phq9", "sdq"), "instruments.1", "instrument_known"),
    ],
)
def test_a_campaign_uses_known_instruments_each_once(
    instruments: tuple[str, ...], field: str, rule: str
) -> None:
    with pytest.raises(WellbeingError) as refused:
        decide_campaign(opening(instruments=instruments), CampaignState())
    assert refused_with(refused) == (field, rule)


def test_a_campaign_may_use_the_districts_own_instrument() -> None:
    [e] = decide_campaign(opening(instruments=("district-mood",)), CampaignState())
    assert isinstance(e, ScreeningCampaignOpened)
    assert e.instruments == ["district-mood"]


# --- offers ---------------------------------------------------------------------------------


def test_an_enrolled_student_not_yet_offered_is_offered_once() -> None:
    [e] = decide_offer(OfferScreening(CHILD, YEAR), fold([]))
    assert isinstance(e, ScreeningOffered)
    assert e.aggregate_id() == f"screening-{CHILD.student_ref}-{YEAR}"
    assert decide_offer(OfferScreening(CHILD, YEAR), fold([e])) == []


def test_a_student_who_left_is_not_offered() -> None:
    assert decide_offer(OfferScreening(LEFT, YEAR), fold([])) == []


def test_a_student_whose_consent_was_recorded_is_not_offered_again() -> None:
    assert decide_offer(OfferScreening(CHILD, YEAR), fold(consented(CHILD))) == []


# --- consent --------------------------------------------------------------------------------


def test_recording_consent_for_a_student_not_yet_offered_also_offers() -> None:
    events = consented(CHILD)
    assert [type(e) for e in events] == [ScreeningOffered, ConsentRecorded]
    recorded = events[1]
    assert isinstance(recorded, ConsentRecorded)
    assert (recorded.decision, recorded.given_by, recorded.guardian_ref) == (
        ConsentDecision.consented,
        ConsentGivenBy.guardian,
        "g_mother",
    )
    assert recorded.recorded_on == date(2026, 10, 12)


def test_consent_for_an_offered_student_records_only_the_decision() -> None:
    offered = decide_offer(OfferScreening(CHILD, YEAR), fold([]))
    cmd = RecordConsent(CHILD, YEAR, ConsentDecision.refused, ConsentGivenBy.guardian, "g_father")
    assert [type(e) for e in decide_consent(cmd, fold(offered), NOW)] == [ConsentRecorded]


@pytest.mark.parametrize("student", [CHILD, UNKNOWN_AGE])
def test_a_student_under_14_or_of_unknown_age_cannot_consent_for_themself(student: Student) -> None:
    cmd = RecordConsent(student, YEAR, ConsentDecision.consented, ConsentGivenBy.student)
    with pytest.raises(WellbeingError) as refused:
        decide_consent(cmd, fold([]), NOW)
    assert refused_with(refused) == ("given_by", "guardian_consent_under_14")


def test_a_student_of_14_or_more_may_consent_for_themself() -> None:
    events = consented(TEEN, ConsentGivenBy.student)
    recorded = events[-1]
    assert isinstance(recorded, ConsentRecorded)
    assert (recorded.given_by, recorded.guardian_ref) == (ConsentGivenBy.student, None)


def test_a_guardians_decision_names_one_of_the_students_guardians() -> None:
    missing = RecordConsent(CHILD, YEAR, ConsentDecision.consented, ConsentGivenBy.guardian)
    with pytest.raises(WellbeingError) as refused:
        decide_consent(missing, fold([]), NOW)
    assert refused_with(refused) == ("guardian_ref", "guardian_ref_required")
    stranger = RecordConsent(
        CHILD, YEAR, ConsentDecision.consented, ConsentGivenBy.guardian, "g_aunt"
    )
    with pytest.raises(WellbeingError) as refused:
        decide_consent(stranger, fold([]), NOW)
    assert refused_with(refused) == ("guardian_ref", "guardian_of_student")


def test_a_students_own_decision_names_no_guardian() -> None:
    cmd = RecordConsent(TEEN, YEAR, ConsentDecision.consented, ConsentGivenBy.student, "g_aunt")
    with pytest.raises(WellbeingError) as refused:
        decide_consent(cmd, fold([]), NOW)
    assert refused_with(refused) == ("guardian_ref", "guardian_ref_only_for_guardian")


def test_no_consent_is_recorded_for_a_student_who_left() -> None:
    cmd = RecordConsent(LEFT, YEAR, ConsentDecision.consented, ConsentGivenBy.guardian, "g_mother")
    with pytest.raises(WellbeingError) as refused:
        decide_consent(cmd, fold([]), NOW)
    assert refused_with(refused) == ("student_ref", "student_enrolled")


# --- screenings -----------------------------------------------------------------------------


def test_a_consented_student_is_screened_and_the_event_carries_no_score() -> None:
    done = decide_screening(
        screening(CHILD, [1, 1, 1, 1, 0, 0, 0, 0, 0]), fold(consented(CHILD)), NOW
    )
    [e] = done.events
    assert isinstance(e, ScreeningCompleted)
    assert (e.screening_id, e.instrument_id, e.completed_on) == (
        "scr-1",
        "phq9",
        date(2026, 10, 12),
    )
    assert (done.score.total, done.score.band, done.score.risk) == (4, "minimal", None)
    wire = e.model_dump(mode="json")
    assert not {"total", "answers", "band", "score", "risk"} & set(wire)


def test_a_screening_in_a_flagging_band_is_flagged_with_instrument_band_and_risk() -> None:
    done = decide_screening(
        screening(CHILD, [3, 3, 3, 3, 3, 0, 0, 0, 0]), fold(consented(CHILD)), NOW
    )
    completed, flagged = done.events
    assert isinstance(completed, ScreeningCompleted)
    assert isinstance(flagged, ScreeningFlagged)
    assert (flagged.instrument_id, flagged.band, flagged.risk) == (
        "phq9",
        "moderately_severe",
        RiskFlag.elevated,
    )
    assert flagged.screening_id == "scr-1"
    assert set(flagged.model_dump(mode="json")) == {
        "district",
        "school_id",
        "student_ref",
        "school_year",
        "screening_id",
        "instrument_id",
        "band",
        "risk",
    }


def test_a_self_harm_answer_is_flagged_high_whatever_the_total() -> None:
    done = decide_screening(
        screening(CHILD, [0, 0, 0, 0, 0, 0, 0, 0, 1]), fold(consented(CHILD)), NOW
    )
    flagged = done.events[-1]
    assert isinstance(flagged, ScreeningFlagged)
    assert (flagged.band, flagged.risk) == ("minimal", RiskFlag.high)


def test_gad7_severe_is_flagged_high() -> None:
    done = decide_screening(
        screening(CHILD, [3, 3, 3, 3, 3, 0, 0], "gad7"), fold(consented(CHILD)), NOW
    )
    flagged = done.events[-1]
    assert isinstance(flagged, ScreeningFlagged)
    assert (flagged.band, flagged.risk) == ("severe", RiskFlag.high)


@pytest.mark.parametrize("student", [CHILD, UNKNOWN_AGE])
def test_a_student_under_14_without_recorded_consent_is_not_screened(student: Student) -> None:
    offered = decide_offer(OfferScreening(student, YEAR), fold([]))
    with pytest.raises(WellbeingError) as refused:
        decide_screening(screening(student, [0] * 9), fold(offered), NOW)
    assert refused_with(refused) == ("student_ref", "guardian_consent_under_14")


def test_a_student_of_14_or_more_without_any_consent_is_not_screened() -> None:
    with pytest.raises(WellbeingError) as refused:
        decide_screening(screening(TEEN, [0] * 9), fold([]), NOW)
    assert refused_with(refused) == ("student_ref", "consent_before_screening")


def test_a_student_of_14_or_more_is_screened_on_their_own_consent() -> None:
    history = consented(TEEN, ConsentGivenBy.student)
    assert decide_screening(screening(TEEN, [0] * 9), fold(history), NOW).events


def test_the_latest_decision_counts_a_refusal_after_consent_refuses_screening() -> None:
    history = consented(CHILD)
    refusal = RecordConsent(
        CHILD, YEAR, ConsentDecision.refused, ConsentGivenBy.guardian, "g_father"
    )
    history += decide_consent(refusal, fold(history), NOW)
    with pytest.raises(WellbeingError) as refused:
        decide_screening(screening(CHILD, [0] * 9), fold(history), NOW)
    assert refused_with(refused) == ("student_ref", "consent_refused")


def test_a_consent_after_a_refusal_allows_screening_again() -> None:
    refusal = RecordConsent(
        CHILD, YEAR, ConsentDecision.refused, ConsentGivenBy.guardian, "g_father"
    )
    history = decide_consent(refusal, fold([]), NOW)
    again = RecordConsent(
        CHILD, YEAR, ConsentDecision.consented, ConsentGivenBy.guardian, "g_father"
    )
    history += decide_consent(again, fold(history), NOW)
    assert decide_screening(screening(CHILD, [0] * 9), fold(history), NOW).events


def test_no_screening_without_the_schools_campaign_of_that_year() -> None:
    with pytest.raises(WellbeingError) as refused:
        decide_screening(
            screening(CHILD, [0] * 9, campaign=CampaignState()), fold(consented(CHILD)), NOW
        )
    assert refused_with(refused) == ("school_year", "campaign_open")


def test_no_screening_with_an_instrument_the_campaign_does_not_use() -> None:
    only_phq9 = fold_campaign(decide_campaign(opening(instruments=("phq9",)), CampaignState()))
    with pytest.raises(WellbeingError) as refused:
        decide_screening(
            screening(CHILD, [0] * 7, "gad7", campaign=only_phq9), fold(consented(CHILD)), NOW
        )
    assert refused_with(refused) == ("instrument_id", "instrument_in_campaign")


@pytest.mark.parametrize(
    ("completed_on", "rule"),
    [(date(2026, 10, 13), "completed_on_past"), (date(2026, 8, 31), "completed_in_school_year")],
)
def test_a_screening_took_place_in_the_campaigns_year_and_not_in_the_future(
    completed_on: date, rule: str
) -> None:
    with pytest.raises(WellbeingError) as refused:
        decide_screening(
            screening(CHILD, [0] * 9, completed_on=completed_on), fold(consented(CHILD)), NOW
        )
    assert refused_with(refused) == ("completed_on", rule)


def test_answers_are_checked_before_anything_is_decided() -> None:
    with pytest.raises(WellbeingError) as refused:
        decide_screening(screening(CHILD, [0, 0, 4, 0, 0, 0, 0, 0, 0]), fold(consented(CHILD)), NOW)
    assert refused_with(refused) == ("answers.2", "answer_range")


def test_a_student_who_left_is_not_screened() -> None:
    with pytest.raises(WellbeingError) as refused:
        decide_screening(screening(LEFT, [0] * 9), fold([]), NOW)
    assert refused_with(refused) == ("student_ref", "student_enrolled")


# --- the read model -------------------------------------------------------------------------


async def test_the_read_model_counts_offers_the_latest_consent_screenings_and_flags() -> None:
    history = consented(CHILD)
    history += decide_screening(
        screening(CHILD, [0, 0, 0, 0, 0, 0, 0, 0, 2]), fold(history), NOW
    ).events
    refusal = RecordConsent(TEEN, YEAR, ConsentDecision.refused, ConsentGivenBy.student)
    events = [
        *decide_campaign(opening(), CampaignState()),
        *history,
        *decide_offer(OfferScreening(TEEN, YEAR), fold([])),
        *decide_consent(refusal, fold([]), NOW),
        *decide_offer(OfferScreening(UNKNOWN_AGE, YEAR), fold([])),
    ]
    db = MemoryDatabase(default_registry())
    tables = MemoryTables(db, WELLBEING.tables)
    await WELLBEING.write(tables, WELLBEING.schema, WELLBEING.fold(events))
    years = tables.rows("wellbeing", "screening_years")
    assert {
        k: (r["offered"], r["consent"], r["screenings"], r["flags"]) for k, r in years.items()
    } == {
        ("stu_child", YEAR): (True, "consented", 1, 1),
        ("stu_teen", YEAR): (True, "refused", 0, 0),
        ("stu_unknown", YEAR): (True, None, 0, 0),
    }
    [row] = tables.rows("wellbeing", "campaigns").values()
    assert (row["instruments"], row["exam_to"]) == (["phq9", "gad7"], date(2026, 10, 23))
