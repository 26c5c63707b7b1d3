"""Given the visits service's past events, when a command arrives, then these events (or this
refusal). Every rule of the deciders of ``tongxin_visits.domain.deciders`` in turn."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tongxin_contracts import IntegrationEvent, Sealed
from tongxin_contracts.calendar import CHINA
from tongxin_contracts.events.registry import StaffRole
from tongxin_contracts.events.visits import (
    CancelReason,
    ConfirmedBy,
    FindingCategory,
    FollowUpActionRecorded,
    FollowUpClosed,
    FollowUpOpened,
    FollowUpOutcome,
    Measure,
    MonthlyFigures,
    MonthlyVisitReportSubmitted,
    ParentSuggestion,
    Referral,
    SuggestionTopic,
    VisitCancelled,
    VisitCompleted,
    VisitConfirmed,
    VisitGoal,
    VisitMode,
    Visitor,
    VisitPlanned,
    VisitRulesSet,
    VisitScheduled,
)
from tongxin_visits.domain.deciders import (
    CLOCK_SKEW,
    LATE_APPOINTMENT,
    decide_followup,
    decide_open_followup,
    decide_report,
    decide_rules,
    decide_visit,
)
from tongxin_visits.domain.evolve import fold, rules_of
from tongxin_visits.domain.model import (
    CancelVisit,
    CloseFollowUp,
    CompleteVisit,
    ConfirmVisit,
    FindingInput,
    FollowUpState,
    NotAllowedError,
    OpenFollowUp,
    PlanVisit,
    RecordFollowUpAction,
    ReportState,
    ScheduleVisit,
    SetVisitRules,
    SubmitMonthlyReport,
    UnknownCaseError,
    UnknownVisitError,
    VisitCommand,
    VisitRules,
    VisitsError,
    VisitState,
)

DISTRICT, SCHOOL = "330106", "sch_1"
# 10:00 in Beijing on 15 October 2026.
NOW = datetime(2026, 10, 15, 2, 0, tzinfo=UTC)
SEALED = Sealed(subject="stu_1", key_id="k", nonce="n", ciphertext="c")
FINDINGS_SEALED = Sealed(subject="stu_1", key_id="k", nonce="n2", ciphertext="findings")
CATEGORY_SEALED = Sealed(subject="stu_1", key_id="k", nonce="n3", ciphertext="category")
HEAD = Visitor(staff_ref="stf_head", role=StaffRole.head_teacher)
CO = Visitor(staff_ref="stf_co", role=StaffRole.subject_teacher)
OUTSIDER = "stf_other"
RULES = VisitRules()


# --- given: past events folded into a state --------------------------------------------------


def given(*events: IntegrationEvent) -> VisitState:
    return fold(events, VisitState())


def given_case(*events: IntegrationEvent) -> FollowUpState:
    return fold(events, FollowUpState())


def given_report(*events: IntegrationEvent) -> ReportState:
    return fold(events, ReportState())


def planned(visit_id: str = "v1") -> VisitPlanned:
    return VisitPlanned(
        district=DISTRICT,
        school_id=SCHOOL,
        visit_id=visit_id,
        class_id="c1",
        student_ref="stu_1",
        planned_by="stf_head",
        planned_for=date(2026, 10, 20),
    )


def scheduled() -> VisitScheduled:
    return VisitScheduled(
        district=DISTRICT,
        school_id=SCHOOL,
        visit_id="v1",
        appointment_at=NOW + timedelta(days=2),
        mode=VisitMode.in_home,
        scheduled_by="stf_head",
    )


def completed(
    recorded_by: str = "stf_head", visitors: tuple[Visitor, ...] = (HEAD, CO)
) -> VisitCompleted:
    return VisitCompleted(
        district=DISTRICT,
        school_id=SCHOOL,
        visit_id="v1",
        class_id="c1",
        student_ref="stu_1",
        recorded_by=recorded_by,
        visitors=list(visitors),
        mode=VisitMode.in_home,
        started_at=NOW - timedelta(hours=2),
        duration_minutes=45,
        goals_covered=[VisitGoal.student_performance],
        parent_suggestions=[],
        notes=SEALED,
        integrity_attested=True,
    )


def cancelled() -> VisitCancelled:
    return VisitCancelled(
        district=DISTRICT,
        school_id=SCHOOL,
        visit_id="v1",
        reason=CancelReason.family_declined,
        cancelled_by="stf_head",
    )


def confirmed() -> VisitConfirmed:
    return VisitConfirmed(
        district=DISTRICT,
        school_id=SCHOOL,
        visit_id="v1",
        confirmed_by=ConfirmedBy.co_visitor,
        confirmer_ref="stf_co",
    )


def case_opened(opened_on: date = date(2026, 10, 15)) -> FollowUpOpened:
    return FollowUpOpened(
        district=DISTRICT,
        school_id=SCHOOL,
        case_id="case_1",
        visit_id="v1",
        class_id="c1",
        student_ref="stu_1",
        measure=Measure.learning_support,
        owner_ref="stf_head",
        opened_on=opened_on,
        due_date=opened_on + timedelta(days=30),
    )


def case_closed() -> FollowUpClosed:
    return FollowUpClosed(
        district=DISTRICT,
        school_id=SCHOOL,
        case_id="case_1",
        outcome=FollowUpOutcome.resolved,
        closed_by="stf_head",
        closed_on=date(2026, 11, 1),
    )


def figures(**counts: int) -> MonthlyFigures:
    names = MonthlyFigures.model_fields
    return MonthlyFigures(**{name: counts.get(name, 0) for name in names})


def report_submitted(revision: int, figs: MonthlyFigures) -> MonthlyVisitReportSubmitted:
    return MonthlyVisitReportSubmitted(
        district=DISTRICT,
        school_id=SCHOOL,
        month="2026-10",
        revision=revision,
        figures=figs,
        submitted_by="stf_principal",
        submitted_at=NOW,
        due_date=date(2026, 10, 30),
        late=False,
    )


# --- commands -----------------------------------------------------------------------------


def plan() -> PlanVisit:
    return PlanVisit("v1", DISTRICT, SCHOOL, "c1", "stu_1", "stf_head", date(2026, 10, 20))


def schedule(appointment_at: datetime = NOW + timedelta(days=2)) -> ScheduleVisit:
    return ScheduleVisit("v1", appointment_at, VisitMode.in_home, "stf_head")


def cancel() -> CancelVisit:
    return CancelVisit("v1", CancelReason.family_unreachable, "stf_head")


def complete(**changes: Any) -> CompleteVisit:
    cmd = CompleteVisit(
        visit_id="v1",
        recorded_by="stf_head",
        visitors=(HEAD, CO),
        mode=VisitMode.in_home,
        started_at=NOW - timedelta(hours=1),
        duration_minutes=50,
        goals=frozenset({VisitGoal.family_situation, VisitGoal.student_performance}),
        findings=(),
        suggestions=(),
        notes=SEALED,
        integrity_attested=True,
        followup_due=date(2026, 11, 14),
    )
    return replace(cmd, **changes)


def confirm(by: ConfirmedBy = ConfirmedBy.co_visitor, ref: str | None = "stf_co") -> ConfirmVisit:
    return ConfirmVisit("v1", by, ref)


def submit(month: str, figs: MonthlyFigures | None = None) -> SubmitMonthlyReport:
    return SubmitMonthlyReport(DISTRICT, SCHOOL, month, figs or figures(), "stf_principal")


def in_china(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CHINA)


# --- planning and scheduling ----------------------------------------------------------------


def test_a_new_visit_is_planned_for_its_student() -> None:
    assert decide_visit(plan(), given(), NOW) == [planned()]


def test_a_visit_cannot_be_planned_twice() -> None:
    with pytest.raises(VisitsError) as refused:
        decide_visit(plan(), given(planned()), NOW)
    assert refused.value.field == "visit_id"


@pytest.mark.parametrize(
    "cmd",
    [schedule(), cancel(), complete(), confirm()],
    ids=["schedule", "cancel", "complete", "confirm"],
)
def test_a_command_on_an_unknown_visit_is_refused(cmd: VisitCommand) -> None:
    with pytest.raises(UnknownVisitError) as refused:
        decide_visit(cmd, given(), NOW)
    assert refused.value.field == "visit_id"


def test_a_planned_visit_is_scheduled_with_the_family() -> None:
    [event] = decide_visit(schedule(), given(planned()), NOW)
    assert isinstance(event, VisitScheduled)
    assert (event.visit_id, event.district, event.school_id) == ("v1", DISTRICT, SCHOOL)
    assert event.appointment_at == NOW + timedelta(days=2)
    assert event.mode is VisitMode.in_home


def test_a_scheduled_visit_can_be_rescheduled() -> None:
    later = NOW + timedelta(days=5)
    [event] = decide_visit(schedule(later), given(planned(), scheduled()), NOW)
    assert isinstance(event, VisitScheduled)
    assert event.appointment_at == later


def test_an_appointment_entered_a_day_after_it_was_agreed_is_accepted() -> None:
    [event] = decide_visit(schedule(NOW - LATE_APPOINTMENT), given(planned()), NOW)
    assert isinstance(event, VisitScheduled)


def test_an_appointment_more_than_a_day_in_the_past_is_refused() -> None:
    too_late = NOW - LATE_APPOINTMENT - timedelta(minutes=1)
    with pytest.raises(VisitsError) as refused:
        decide_visit(schedule(too_late), given(planned()), NOW)
    assert refused.value.field == "appointment_at"


@pytest.mark.parametrize(
    "history", [[planned()], [planned(), scheduled()]], ids=["planned", "scheduled"]
)
def test_a_planned_or_scheduled_visit_is_cancelled(history: list[IntegrationEvent]) -> None:
    [event] = decide_visit(cancel(), given(*history), NOW)
    assert isinstance(event, VisitCancelled)
    assert event.reason is CancelReason.family_unreachable
    assert event.cancelled_by == "stf_head"


@pytest.mark.parametrize(
    "cmd", [schedule(), cancel(), complete()], ids=["schedule", "cancel", "complete"]
)
@pytest.mark.parametrize(
    "history",
    [[planned(), completed()], [planned(), cancelled()]],
    ids=["completed", "cancelled"],
)
def test_a_completed_or_cancelled_visit_cannot_be_scheduled_cancelled_or_completed(
    cmd: VisitCommand, history: list[IntegrationEvent]
) -> None:
    with pytest.raises(VisitsError) as refused:
        decide_visit(cmd, given(*history), NOW)
    assert refused.value.field == "status"


# --- completing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "history", [[planned()], [planned(), scheduled()]], ids=["planned", "scheduled"]
)
def test_a_visit_is_completed_with_its_record(history: list[IntegrationEvent]) -> None:
    suggestion = ParentSuggestion(
        suggestion_id="sug_1",
        topic=SuggestionTopic.teaching,
        text=SEALED,
        answer_due=date(2026, 10, 29),
    )
    cmd = complete(suggestions=(suggestion,))
    [event] = decide_visit(cmd, given(*history), NOW)
    assert isinstance(event, VisitCompleted)
    assert (event.class_id, event.student_ref) == ("c1", "stu_1")
    assert event.recorded_by == "stf_head"
    assert event.visitors == [HEAD, CO]
    assert event.started_at == NOW - timedelta(hours=1)
    assert event.duration_minutes == 50
    assert event.goals_covered == [VisitGoal.family_situation, VisitGoal.student_performance]
    assert event.parent_suggestions == [suggestion]
    assert event.notes == SEALED
    assert event.findings is None
    assert (event.referrals, event.followup_case_ids) == ([], [])
    assert event.integrity_attested is True


def test_a_visit_without_the_integrity_attestation_is_refused() -> None:
    with pytest.raises(VisitsError) as refused:
        decide_visit(complete(integrity_attested=False), given(planned()), NOW)
    assert refused.value.field == "integrity_attested"


def test_a_recorder_who_is_not_among_the_visitors_is_refused() -> None:
    with pytest.raises(NotAllowedError) as refused:
        decide_visit(complete(recorded_by=OUTSIDER), given(planned()), NOW)
    assert refused.value.field == "visitors"


def test_a_visitor_listed_twice_is_refused() -> None:
    twice = Visitor(staff_ref="stf_head", role=StaffRole.subject_teacher)
    with pytest.raises(VisitsError) as refused:
        decide_visit(complete(visitors=(HEAD, twice)), given(planned()), NOW)
    assert refused.value.field == "visitors"
    assert not isinstance(refused.value, NotAllowedError)


def test_a_visit_started_a_few_minutes_ahead_of_the_clock_is_believed() -> None:
    events = decide_visit(complete(started_at=NOW + CLOCK_SKEW), given(planned()), NOW)
    assert [type(e) for e in events] == [VisitCompleted]


def test_a_visit_started_in_the_future_beyond_the_clock_skew_is_refused() -> None:
    future = NOW + CLOCK_SKEW + timedelta(minutes=1)
    with pytest.raises(VisitsError) as refused:
        decide_visit(complete(started_at=future), given(planned()), NOW)
    assert refused.value.field == "started_at"


def test_a_visit_recorded_more_than_a_year_after_it_took_place_is_refused() -> None:
    long_ago = NOW - timedelta(days=367)
    with pytest.raises(VisitsError) as refused:
        decide_visit(complete(started_at=long_ago), given(planned()), NOW)
    assert refused.value.field == "started_at"


def test_an_appointment_more_than_a_year_ahead_is_refused() -> None:
    with pytest.raises(VisitsError) as refused:
        decide_visit(schedule(NOW + timedelta(days=367)), given(planned()), NOW)
    assert refused.value.field == "appointment_at"


def test_a_visit_that_covered_none_of_the_five_goals_is_refused() -> None:
    with pytest.raises(VisitsError) as refused:
        decide_visit(complete(goals=frozenset()), given(planned()), NOW)
    assert refused.value.field == "goals_covered"


def test_a_finding_with_a_measure_opens_a_follow_up_case_owned_by_the_recorder() -> None:
    late_evening_utc = datetime(2026, 10, 15, 17, 0, tzinfo=UTC)  # 01:00 on the 16th in China
    finding = FindingInput(
        FindingCategory.learning_difficulty,
        Measure.learning_support,
        case_id="case_1",
        detail=CATEGORY_SEALED,
    )
    cmd = complete(
        findings=(finding,),
        started_at=late_evening_utc - timedelta(hours=2),
        findings_sealed=FINDINGS_SEALED,
    )
    visit, case = decide_visit(cmd, given(planned(), scheduled()), late_evening_utc)
    assert isinstance(visit, VisitCompleted)
    # The categories travel sealed; in clear only the case it opened and no referral.
    assert visit.findings == FINDINGS_SEALED
    assert (visit.followup_case_ids, visit.referrals) == (["case_1"], [])
    assert isinstance(case, FollowUpOpened)
    assert (case.case_id, case.visit_id) == ("case_1", "v1")
    assert (case.district, case.school_id, case.class_id) == (DISTRICT, SCHOOL, "c1")
    assert case.student_ref == "stu_1"
    assert case.measure is Measure.learning_support
    assert case.detail == CATEGORY_SEALED
    assert case.owner_ref == "stf_head"
    assert case.opened_on == date(2026, 10, 16)
    assert case.due_date == date(2026, 11, 14)


def test_a_finding_with_a_measure_and_an_owner_opens_a_case_owned_by_that_owner() -> None:
    finding = FindingInput(
        FindingCategory.mental_health,
        Measure.mental_health_counselling,
        case_id="case_9",
        owner_ref="stf_psych",
    )
    _, case = decide_visit(complete(findings=(finding,)), given(planned()), NOW)
    assert isinstance(case, FollowUpOpened)
    assert case.owner_ref == "stf_psych"
    assert case.case_id == "case_9"
    assert case.opened_on == date(2026, 10, 15)


def test_a_finding_without_a_measure_opens_no_case() -> None:
    with_measure = FindingInput(
        FindingCategory.family_hardship, Measure.hardship_assistance, case_id="case_1"
    )
    without = FindingInput(FindingCategory.physical_health)
    events = decide_visit(complete(findings=(without, with_measure)), given(planned()), NOW)
    assert [type(e) for e in events] == [VisitCompleted, FollowUpOpened]
    visit = events[0]
    assert isinstance(visit, VisitCompleted)
    assert visit.followup_case_ids == ["case_1"]
    only_without = decide_visit(complete(findings=(without,)), given(planned()), NOW)
    assert [type(e) for e in only_without] == [VisitCompleted]


def test_only_mental_health_and_safety_findings_are_referred_outside_the_school() -> None:
    findings = tuple(FindingInput(c) for c in FindingCategory)
    [visit] = decide_visit(complete(findings=findings), given(planned()), NOW)
    assert isinstance(visit, VisitCompleted)
    assert visit.referrals == [Referral.safety, Referral.wellbeing]
    assert "mental_health" not in visit.model_dump_json()


def test_a_finding_with_a_measure_but_no_case_id_is_refused() -> None:
    finding = FindingInput(FindingCategory.family_education, Measure.family_education_guidance)
    with pytest.raises(VisitsError) as refused:
        decide_visit(
            complete(findings=(FindingInput(FindingCategory.other), finding)),
            given(planned()),
            NOW,
        )
    assert refused.value.field == "findings.1"


# --- confirming -----------------------------------------------------------------------------


def test_a_completed_visit_is_confirmed_by_a_co_visitor() -> None:
    assert decide_visit(confirm(), given(planned(), completed()), NOW) == [confirmed()]


def test_a_completed_visit_is_confirmed_by_the_family() -> None:
    [event] = decide_visit(
        confirm(ConfirmedBy.family, ref="stf_co"), given(planned(), completed()), NOW
    )
    assert isinstance(event, VisitConfirmed)
    assert event.confirmed_by is ConfirmedBy.family
    assert event.confirmer_ref is None


def test_a_visit_cannot_be_confirmed_by_its_recorder() -> None:
    with pytest.raises(NotAllowedError):
        decide_visit(confirm(ref="stf_head"), given(planned(), completed()), NOW)


def test_a_visit_cannot_be_confirmed_by_someone_who_did_not_visit() -> None:
    with pytest.raises(NotAllowedError):
        decide_visit(confirm(ref=OUTSIDER), given(planned(), completed()), NOW)


def test_a_co_visitor_confirmation_without_a_name_is_refused() -> None:
    with pytest.raises(NotAllowedError):
        decide_visit(confirm(ref=None), given(planned(), completed()), NOW)


def test_a_visit_recorded_alone_can_only_be_confirmed_by_the_family() -> None:
    alone = completed(visitors=(HEAD,))
    with pytest.raises(NotAllowedError):
        decide_visit(confirm(ref="stf_co"), given(planned(), alone), NOW)
    family = decide_visit(confirm(ConfirmedBy.family, None), given(planned(), alone), NOW)
    assert [type(e) for e in family] == [VisitConfirmed]


def test_confirming_a_confirmed_visit_again_decides_nothing() -> None:
    state = given(planned(), completed(), confirmed())
    assert decide_visit(confirm(), state, NOW) == []
    assert decide_visit(confirm(ConfirmedBy.family, None), state, NOW) == []


@pytest.mark.parametrize(
    "history",
    [[planned()], [planned(), scheduled()], [planned(), cancelled()]],
    ids=["planned", "scheduled", "cancelled"],
)
def test_a_visit_that_is_not_completed_cannot_be_confirmed(
    history: list[IntegrationEvent],
) -> None:
    with pytest.raises(VisitsError):
        decide_visit(confirm(), given(*history), NOW)


# --- follow-up cases ------------------------------------------------------------------------


def open_followup() -> OpenFollowUp:
    return OpenFollowUp(
        "case_2",
        "v1",
        Measure.family_education_guidance,
        FindingCategory.family_education,
        "stf_coord",
        date(2026, 12, 1),
    )


def test_a_case_is_opened_later_from_a_completed_visit_on_the_china_date() -> None:
    now = datetime(2026, 10, 31, 16, 30, tzinfo=UTC)  # 00:30 on 1 November in China
    [event] = decide_open_followup(
        open_followup(), given(planned(), completed()), given_case(), now
    )
    assert isinstance(event, FollowUpOpened)
    assert event.opened_on == date(2026, 11, 1)
    assert (event.case_id, event.visit_id, event.student_ref) == ("case_2", "v1", "stu_1")
    assert event.owner_ref == "stf_coord"
    assert event.due_date == date(2026, 12, 1)


def test_a_case_cannot_be_opened_from_a_visit_that_is_not_completed() -> None:
    with pytest.raises(VisitsError) as refused:
        decide_open_followup(open_followup(), given(planned()), given_case(), NOW)
    assert refused.value.field == "visit_id"


def test_a_case_cannot_be_opened_twice() -> None:
    with pytest.raises(VisitsError) as refused:
        decide_open_followup(
            open_followup(), given(planned(), completed()), given_case(case_opened()), NOW
        )
    assert refused.value.field == "case_id"


def action(taken_on: date = date(2026, 10, 20)) -> RecordFollowUpAction:
    return RecordFollowUpAction("case_1", "act_1", "stf_head", taken_on, SEALED)


def close(closed_on: date) -> CloseFollowUp:
    return CloseFollowUp("case_1", FollowUpOutcome.referred, "stf_head", closed_on)


def test_an_action_is_recorded_on_an_open_case() -> None:
    [event] = decide_followup(action(), given_case(case_opened()))
    assert isinstance(event, FollowUpActionRecorded)
    assert (event.case_id, event.action_id, event.recorded_by) == ("case_1", "act_1", "stf_head")
    assert (event.district, event.school_id) == (DISTRICT, SCHOOL)
    assert event.description == SEALED


def test_an_open_case_with_actions_is_closed() -> None:
    state = given_case(case_opened(), *decide_followup(action(), given_case(case_opened())))
    [event] = decide_followup(close(date(2026, 10, 25)), state)
    assert isinstance(event, FollowUpClosed)
    assert event.outcome is FollowUpOutcome.referred
    assert event.closed_on == date(2026, 10, 25)


@pytest.mark.parametrize("cmd", [action(), close(date(2026, 10, 25))], ids=["action", "close"])
def test_a_command_on_an_unknown_case_is_refused(cmd: RecordFollowUpAction | CloseFollowUp) -> None:
    with pytest.raises(UnknownCaseError) as refused:
        decide_followup(cmd, given_case())
    assert refused.value.field == "case_id"


@pytest.mark.parametrize("cmd", [action(), close(date(2026, 11, 5))], ids=["action", "close"])
def test_a_command_on_a_closed_case_is_refused(cmd: RecordFollowUpAction | CloseFollowUp) -> None:
    with pytest.raises(VisitsError) as refused:
        decide_followup(cmd, given_case(case_opened(), case_closed()))
    assert refused.value.field == "status"


def test_a_case_cannot_close_before_the_day_it_opened() -> None:
    state = given_case(case_opened(date(2026, 10, 15)))
    with pytest.raises(VisitsError) as refused:
        decide_followup(close(date(2026, 10, 14)), state)
    assert refused.value.field == "closed_on"
    [event] = decide_followup(close(date(2026, 10, 15)), state)
    assert isinstance(event, FollowUpClosed)


# --- monthly report -------------------------------------------------------------------------


def test_a_first_report_is_revision_one_with_its_due_date() -> None:
    figs = figures(visits_completed=3, visits_confirmed=2, visits_unconfirmed=1, in_home=2)
    [event] = decide_report(submit("2026-10", figs), given_report(), RULES, NOW)
    assert isinstance(event, MonthlyVisitReportSubmitted)
    assert (event.month, event.revision, event.figures) == ("2026-10", 1, figs)
    assert event.due_date == date(2026, 10, 30)
    assert event.submitted_at == NOW
    assert event.submitted_by == "stf_principal"
    assert event.late is False


def test_a_report_for_a_month_that_has_not_begun_is_refused() -> None:
    with pytest.raises(VisitsError) as refused:
        decide_report(submit("2026-11"), given_report(), RULES, NOW)
    assert refused.value.field == "month"


def test_a_month_begins_at_midnight_china_time() -> None:
    just_before = datetime(2026, 10, 31, 15, 59, tzinfo=UTC)  # 23:59 on 31 October in China
    with pytest.raises(VisitsError):
        decide_report(submit("2026-11"), given_report(), RULES, just_before)
    midnight = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)  # 00:00 on 1 November in China
    [event] = decide_report(submit("2026-11"), given_report(), RULES, midnight)
    assert isinstance(event, MonthlyVisitReportSubmitted)


def test_a_corrected_report_is_the_next_revision() -> None:
    first, second = figures(visits_cancelled=1), figures(visits_cancelled=2)
    state = given_report(report_submitted(1, first), report_submitted(2, second))
    [event] = decide_report(submit("2026-10", figures(visits_cancelled=3)), state, RULES, NOW)
    assert isinstance(event, MonthlyVisitReportSubmitted)
    assert event.revision == 3


def test_the_same_figures_submitted_again_decide_nothing() -> None:
    figs = figures(parent_suggestions=4)
    state = given_report(report_submitted(1, figs))
    assert decide_report(submit("2026-10", figs), state, RULES, NOW) == []


def lateness(month: str, now: datetime, rules: VisitRules = RULES) -> tuple[date, bool]:
    [event] = decide_report(submit(month), given_report(), rules, now)
    assert isinstance(event, MonthlyVisitReportSubmitted)
    return event.due_date, event.late


def test_a_report_on_its_due_day_is_on_time_and_the_day_after_it_is_late() -> None:
    assert lateness("2026-11", in_china(2026, 11, 30, 23, 59)) == (date(2026, 11, 30), False)
    assert lateness("2026-11", in_china(2026, 12, 1, 0, 0)) == (date(2026, 11, 30), True)


def test_a_report_sent_late_in_the_utc_evening_of_the_due_day_is_late_in_china() -> None:
    # 16:30 UTC on 30 November is 00:30 on 1 December in Beijing.
    assert lateness("2026-11", datetime(2026, 11, 30, 15, 59, tzinfo=UTC))[1] is False
    assert lateness("2026-11", datetime(2026, 11, 30, 16, 30, tzinfo=UTC))[1] is True


def test_a_february_report_is_due_on_the_months_last_day() -> None:
    assert lateness("2027-02", in_china(2027, 2, 28)) == (date(2027, 2, 28), False)
    assert lateness("2027-02", in_china(2027, 3, 1)) == (date(2027, 2, 28), True)
    assert lateness("2028-02", in_china(2028, 2, 29)) == (date(2028, 2, 29), False)


def test_a_districts_own_due_day_sets_the_due_date() -> None:
    tenth = VisitRules(report_due_day=10)
    assert lateness("2026-12", in_china(2026, 12, 10), tenth) == (date(2026, 12, 10), False)
    assert lateness("2026-12", in_china(2026, 12, 11), tenth) == (date(2026, 12, 10), True)
    last = VisitRules(report_due_day=31)
    assert lateness("2026-11", in_china(2026, 11, 30), last) == (date(2026, 11, 30), False)


# --- rules ----------------------------------------------------------------------------------


def test_a_districts_first_rules_are_set() -> None:
    rules = VisitRules(principal_students_per_year=8, report_due_day=25)
    [event] = decide_rules(SetVisitRules(DISTRICT, rules, "officer_1"), None)
    assert isinstance(event, VisitRulesSet)
    assert (event.district, event.set_by) == (DISTRICT, "officer_1")
    assert rules_of(event) == rules
    assert fold([event], VisitRules()) == rules


def test_changed_rules_are_set_again() -> None:
    events = decide_rules(SetVisitRules(DISTRICT, VisitRules(in_home_per_year=2), "o"), RULES)
    assert [type(e) for e in events] == [VisitRulesSet]


def test_unchanged_rules_decide_nothing() -> None:
    rules = VisitRules(middle_leader_students_per_year=12)
    assert decide_rules(SetVisitRules(DISTRICT, rules, "officer_1"), rules) == []
    assert decide_rules(SetVisitRules(DISTRICT, VisitRules(), "o"), VisitRules()) == []
