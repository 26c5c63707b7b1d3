"""Incidents and the mandatory report (强制报告), given an incident's past events and an injected
``now``: a mandatory category is due for the report after the district's limit, the report goes
at least to the police, civil affairs and education, its delay is measured and it is late after
the due time (or after the escalation); an unreported incident is escalated once, never after
the report. The figures, counted by hand here. The guidance committee's referral and decision
(who must sit). Then the commands on the in-memory unit of work (the deadline row commits with
the incident, the report cancels it, the kit's deadline part escalates once under a moved
clock, the account travels sealed), the read model folded in memory, and the alert's message
(no child in it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from tongxin_contracts import IntegrationEvent, default_registry
from tongxin_contracts.events.safety import (
    CommitteeMember,
    Department,
    GuidanceCommitteeDecided,
    GuidanceCommitteeReferral,
    GuidanceDecision,
    IncidentCategory,
    IncidentReported,
    MandatoryReportEscalated,
    MandatoryReportFiled,
    Misbehaviour,
)
from tongxin_platform.commands import Writer
from tongxin_platform.deadlines import fire_due
from tongxin_platform.domain import ConflictError, NotFoundError
from tongxin_platform.memory import (
    MemoryDatabase,
    MemoryTables,
    MemoryTransactions,
    MemoryUnitOfWork,
)
from tongxin_platform.reaction import Reacting
from tongxin_safety.application.incidents import (
    INCIDENT_REPORT,
    REPORT_DEADLINE,
    Incident,
    Incidents,
)
from tongxin_safety.config import SafetySettings
from tongxin_safety.domain import guidance
from tongxin_safety.domain.errors import SafetyError
from tongxin_safety.domain.incidents import (
    EscalateReport,
    FileReport,
    IncidentRow,
    NotYetDueError,
    ReportIncident,
    ReportSettledError,
    decide_incident,
    figures,
    figures_by_school,
    fold,
)
from tongxin_safety.projections.read_model import SAFETY
from tongxin_safety.reactions.alerts import ALERTS

D, SCHOOL, STUDENT = "330106", "330106001", "stu_1"
RECORDED_AT = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)  # 10:00 in China
OCCURRED_AT = RECORDED_AT - timedelta(minutes=30)
LIMIT = timedelta(hours=2)
ALL_THREE = (Department.police, Department.civil_affairs, Department.education)
ACCOUNT = "课间在厕所发现该生手臂多处淤青，自述被继父殴打"


def report_cmd(
    category: IncidentCategory = IncidentCategory.physical_abuse,
    students: tuple[str, ...] = (STUDENT,),
    occurred_at: datetime = OCCURRED_AT,
) -> ReportIncident:
    return ReportIncident("i1", D, SCHOOL, category, students, occurred_at, "stf_p", 7200)


def recorded(
    category: IncidentCategory = IncidentCategory.physical_abuse,
) -> list[IntegrationEvent]:
    return decide_incident(report_cmd(category), fold([]), RECORDED_AT)


def filed_at(at: datetime, *more: IntegrationEvent) -> MandatoryReportFiled:
    history = [*recorded(), *more]
    (e,) = decide_incident(FileReport("i1", ALL_THREE, "stf_p"), fold(history), at)
    assert isinstance(e, MandatoryReportFiled)
    return e


def escalated(at: datetime) -> list[IntegrationEvent]:
    return decide_incident(EscalateReport("i1"), fold(recorded()), at)


# --- the deciders ------------------------------------------------------------------------------


def test_a_mandatory_category_is_due_for_the_report_after_the_districts_limit() -> None:
    (e,) = recorded()
    assert isinstance(e, IncidentReported)
    assert e.mandatory_report_required is True
    assert e.recorded_at == RECORDED_AT
    assert e.report_due_at == RECORDED_AT + LIMIT
    assert (e.occurred_at, e.student_refs, e.recorded_by) == (OCCURRED_AT, [STUDENT], "stf_p")


@pytest.mark.parametrize(
    "category",
    [
        IncidentCategory.sexual_abuse,
        IncidentCategory.physical_abuse,
        IncidentCategory.neglect_or_abandonment,
        IncidentCategory.domestic_violence,
        IncidentCategory.trafficking_or_abduction,
        IncidentCategory.unexplained_injury,
        IncidentCategory.serious_bullying,
    ],
)
def test_abuse_neglect_violence_trafficking_injury_and_serious_bullying_need_the_report(
    category: IncidentCategory,
) -> None:
    (e,) = recorded(category)
    assert isinstance(e, IncidentReported)
    assert e.mandatory_report_required


@pytest.mark.parametrize(
    "category",
    [
        IncidentCategory.bullying,
        IncidentCategory.accident,
        IncidentCategory.traffic_accident,
        IncidentCategory.self_harm,
        IncidentCategory.serious_misbehaviour,
        IncidentCategory.other,
    ],
)
def test_other_categories_have_no_report_due(category: IncidentCategory) -> None:
    (e,) = recorded(category)
    assert isinstance(e, IncidentReported)
    assert (e.mandatory_report_required, e.report_due_at) == (False, None)


def test_the_limit_is_the_districts_setting() -> None:
    cmd = ReportIncident(
        "i1", D, SCHOOL, IncidentCategory.sexual_abuse, (), OCCURRED_AT, "stf_p", 900
    )
    (e,) = decide_incident(cmd, fold([]), RECORDED_AT)
    assert isinstance(e, IncidentReported)
    assert e.report_due_at == RECORDED_AT + timedelta(minutes=15)


def test_an_incident_cannot_have_occurred_after_it_was_recorded() -> None:
    with pytest.raises(SafetyError) as refused:
        decide_incident(
            report_cmd(occurred_at=RECORDED_AT + timedelta(seconds=1)), fold([]), RECORDED_AT
        )
    assert (refused.value.field, refused.value.rule) == ("occurred_at", "occurred_not_in_future")


def test_each_child_is_named_once() -> None:
    with pytest.raises(SafetyError) as refused:
        decide_incident(report_cmd(students=(STUDENT, STUDENT)), fold([]), RECORDED_AT)
    assert refused.value.rule == "incident_children_once"


def test_an_incident_is_recorded_once() -> None:
    with pytest.raises(ConflictError) as refused:
        decide_incident(report_cmd(), fold(recorded()), RECORDED_AT)
    assert cast(SafetyError, refused.value).rule == "incident_once"


def test_a_report_must_go_to_police_civil_affairs_and_education() -> None:
    cmd = FileReport("i1", (Department.police, Department.health), "stf_p")
    with pytest.raises(SafetyError) as refused:
        decide_incident(cmd, fold(recorded()), RECORDED_AT)
    assert (refused.value.field, refused.value.rule) == (
        "departments",
        "report_required_departments",
    )
    assert "civil_affairs" in str(refused.value)
    assert "education" in str(refused.value)
    assert "police" not in str(refused.value).split("missing:")[1]


def test_a_report_within_the_limit_is_on_time_and_its_delay_is_measured() -> None:
    e = filed_at(RECORDED_AT + timedelta(minutes=40))
    assert (e.delay_seconds, e.late) == (2400, False)
    assert e.departments == sorted(ALL_THREE)
    assert e.filed_at == RECORDED_AT + timedelta(minutes=40)


def test_a_report_at_the_due_time_itself_is_on_time() -> None:
    e = filed_at(RECORDED_AT + LIMIT)
    assert (e.delay_seconds, e.late) == (7200, False)


def test_a_report_after_the_due_time_is_late() -> None:
    e = filed_at(RECORDED_AT + LIMIT + timedelta(seconds=1))
    assert (e.delay_seconds, e.late) == (7201, True)


def test_more_departments_than_the_three_are_welcome() -> None:
    cmd = FileReport("i1", (*ALL_THREE, Department.procuratorate), "stf_p")
    (e,) = decide_incident(cmd, fold(recorded()), RECORDED_AT + timedelta(minutes=5))
    assert isinstance(e, MandatoryReportFiled)
    assert Department.procuratorate in e.departments


def test_the_report_is_filed_once() -> None:
    first = filed_at(RECORDED_AT + timedelta(minutes=5))
    with pytest.raises(ConflictError) as refused:
        decide_incident(
            FileReport("i1", ALL_THREE, "stf_p"), fold([*recorded(), first]), RECORDED_AT + LIMIT
        )
    assert cast(SafetyError, refused.value).rule == "report_once"


def test_a_missing_incident_cannot_be_reported() -> None:
    with pytest.raises(NotFoundError):
        decide_incident(FileReport("i1", ALL_THREE, "stf_p"), fold([]), RECORDED_AT)


def test_a_category_without_a_duty_may_still_be_reported_voluntarily_and_is_never_late() -> None:
    history = recorded(IncidentCategory.bullying)
    at = RECORDED_AT + timedelta(days=2)
    (e,) = decide_incident(FileReport("i1", ALL_THREE, "stf_p"), fold(history), at)
    assert isinstance(e, MandatoryReportFiled)
    assert (e.late, e.delay_seconds) == (False, 2 * 86400)


def test_an_unreported_incident_is_escalated_after_the_due_time() -> None:
    at = RECORDED_AT + LIMIT + timedelta(seconds=1)
    (e,) = escalated(at)
    assert isinstance(e, MandatoryReportEscalated)
    assert (e.category, e.report_due_at, e.escalated_at) == (
        IncidentCategory.physical_abuse,
        RECORDED_AT + LIMIT,
        at,
    )


def test_no_escalation_before_the_due_time() -> None:
    with pytest.raises(NotYetDueError) as refused:
        escalated(RECORDED_AT + LIMIT - timedelta(seconds=1))
    assert refused.value.rule == "escalate_after_due"


def test_an_incident_is_escalated_once() -> None:
    at = RECORDED_AT + 3 * LIMIT
    history = [*recorded(), *escalated(at)]
    with pytest.raises(ReportSettledError) as refused:
        decide_incident(EscalateReport("i1"), fold(history), at)
    assert refused.value.rule == "escalate_once"


def test_a_reported_incident_is_never_escalated() -> None:
    history = [*recorded(), filed_at(RECORDED_AT + timedelta(minutes=5))]
    with pytest.raises(ReportSettledError) as refused:
        decide_incident(EscalateReport("i1"), fold(history), RECORDED_AT + 3 * LIMIT)
    assert refused.value.rule == "escalate_unreported"


def test_a_category_without_a_duty_is_never_escalated() -> None:
    history = recorded(IncidentCategory.accident)
    with pytest.raises(ReportSettledError) as refused:
        decide_incident(EscalateReport("i1"), fold(history), RECORDED_AT + 3 * LIMIT)
    assert refused.value.rule == "escalate_mandatory_only"


def test_a_report_after_the_escalation_is_recorded_late_whatever_its_clock_says() -> None:
    esc = escalated(RECORDED_AT + LIMIT)
    e = filed_at(RECORDED_AT + timedelta(minutes=30), *esc)  # a clock behind the worker's
    assert e.late is True
    state = fold([*recorded(), *esc, e])
    assert state.status == "reported"
    assert state.escalated is not None


def test_the_status_follows_the_incident() -> None:
    assert fold([]).status == "none"
    assert fold(recorded(IncidentCategory.accident)).status == "recorded"
    assert fold(recorded()).status == "awaiting_report"
    assert fold([*recorded(), *escalated(RECORDED_AT + LIMIT)]).status == "escalated"


# --- the figures -------------------------------------------------------------------------------

NOW = RECORDED_AT + timedelta(days=10)


def row(
    school: str,
    category: str,
    *,
    required: bool = True,
    delay: int | None = None,
    late: bool = False,
    escalated: bool = False,
    due: datetime | None = RECORDED_AT,
) -> IncidentRow:
    filed = delay is not None
    return IncidentRow(
        school,
        category,
        required,
        due if required else None,
        filed,
        delay,
        late if filed else None,
        escalated,
    )


ROWS = [
    row("s1", "physical_abuse", delay=600),  # on time
    row("s1", "physical_abuse", delay=9000, late=True, escalated=True),  # late, escalated
    row("s1", "sexual_abuse", delay=1800),  # on time
    row("s1", "bullying", required=False),  # no duty, not reported
    row("s1", "accident", required=False, delay=100),  # voluntary report
    row("s2", "neglect_or_abandonment", escalated=True),  # unreported, escalated
    row("s2", "serious_bullying", due=NOW + timedelta(hours=1)),  # unreported, not yet due
]


def test_the_figures_count_reports_on_time_late_escalated_and_unreported() -> None:
    f = figures(ROWS, NOW)
    assert f["incidents"] == 7
    assert f["by_category"] == {
        "accident": 1,
        "bullying": 1,
        "neglect_or_abandonment": 1,
        "physical_abuse": 2,
        "serious_bullying": 1,
        "sexual_abuse": 1,
    }
    assert (f["report_required"], f["reports_filed"], f["on_time"], f["late"]) == (5, 3, 2, 1)
    assert (f["escalated"], f["unreported"], f["unreported_past_due"]) == (2, 2, 1)
    # Delays of the mandatory reports only (600, 1800, 9000): the voluntary one apart.
    assert (f["delay_median_seconds"], f["delay_max_seconds"]) == (1800, 9000)
    assert f["voluntary_reports"] == 1


def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two() -> None:
    f = figures([row("s1", "physical_abuse", delay=d) for d in (100, 200, 400, 1000)], NOW)
    assert f["delay_median_seconds"] == 300


def test_no_report_no_delay() -> None:
    f = figures([], NOW)
    assert (f["incidents"], f["delay_median_seconds"], f["delay_max_seconds"]) == (0, None, None)


def test_the_figures_name_every_school_with_or_without_incidents_and_add_up() -> None:
    f = figures_by_school(ROWS, ["s3", "s1", "s2"], NOW)
    assert [s["school_id"] for s in f["schools"]] == ["s1", "s2", "s3"]
    s1, s2, s3 = f["schools"]
    assert (s1["incidents"], s1["report_required"], s1["late"], s1["escalated"]) == (5, 3, 1, 1)
    assert (s2["incidents"], s2["unreported"], s2["unreported_past_due"]) == (2, 2, 1)
    assert s3["incidents"] == 0
    for key in ("incidents", "report_required", "reports_filed", "late", "escalated"):
        assert f[key] == sum(s[key] for s in f["schools"])


# --- the guidance committee --------------------------------------------------------------------


def referred() -> list[IntegrationEvent]:
    cmd = guidance.ReferToCommittee(
        "g1", D, SCHOOL, STUDENT, Misbehaviour.gang_fighting, "pol_1", "i1"
    )
    return guidance.decide_guidance(cmd, guidance.fold([]), RECORDED_AT)


def decide(
    decision: GuidanceDecision, *members: CommitteeMember, district: str = D
) -> list[IntegrationEvent]:
    cmd = guidance.RecordDecision("g1", district, decision, members)
    return guidance.decide_guidance(cmd, guidance.fold(referred()), RECORDED_AT)


M = CommitteeMember


def test_a_referral_names_the_child_the_misbehaviour_and_the_incident() -> None:
    (e,) = referred()
    assert isinstance(e, GuidanceCommitteeReferral)
    assert (e.student_ref, e.misbehaviour, e.incident_id, e.referred_by) == (
        STUDENT,
        Misbehaviour.gang_fighting,
        "i1",
        "pol_1",
    )
    assert str(e.referred_on) == "2026-11-03"


def test_a_decision_needs_education_and_the_police_present() -> None:
    with pytest.raises(SafetyError) as refused:
        decide(GuidanceDecision.school_guidance, M.education, M.justice, M.psychologist)
    assert (refused.value.field, refused.value.rule) == (
        "members_present",
        "guidance_members_present",
    )
    assert "police" in str(refused.value)
    (e,) = decide(GuidanceDecision.school_guidance, M.police, M.education)
    assert isinstance(e, GuidanceCommitteeDecided)
    assert e.members_present == [M.education, M.police]


@pytest.mark.parametrize(
    "decision", [GuidanceDecision.special_school, GuidanceDecision.correctional_education]
)
def test_a_special_school_or_correctional_education_needs_a_psychologist_too(
    decision: GuidanceDecision,
) -> None:
    with pytest.raises(SafetyError) as refused:
        decide(decision, M.education, M.police, M.justice, M.political_legal)
    assert "psychologist" in str(refused.value)
    (e,) = decide(decision, M.education, M.police, M.psychologist)
    assert isinstance(e, GuidanceCommitteeDecided)
    assert e.decision is decision


def test_the_committee_decides_once() -> None:
    first = decide(GuidanceDecision.no_measure, M.education, M.police)
    cmd = guidance.RecordDecision(
        "g1", D, GuidanceDecision.school_guidance, (M.education, M.police)
    )
    with pytest.raises(ConflictError) as refused:
        guidance.decide_guidance(cmd, guidance.fold([*referred(), *first]), RECORDED_AT)
    assert cast(SafetyError, refused.value).rule == "decide_once"


def test_another_districts_committee_finds_no_such_referral() -> None:
    with pytest.raises(NotFoundError):
        decide(GuidanceDecision.no_measure, M.education, M.police, district="330105")


def test_a_referral_is_made_once() -> None:
    cmd = guidance.ReferToCommittee("g1", D, SCHOOL, STUDENT, Misbehaviour.drugs, "pol_1")
    with pytest.raises(ConflictError):
        guidance.decide_guidance(cmd, guidance.fold(referred()), RECORDED_AT)


# --- the commands on the in-memory unit of work ------------------------------------------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def commands(db: MemoryDatabase, clock: Clock) -> tuple[Incidents, Writer]:
    writer = Writer(MemoryTransactions(db), default_registry(), clock=clock)
    return Incidents(writer, SafetySettings(report_limit_seconds=7200)), writer


def incident(
    category: IncidentCategory = IncidentCategory.physical_abuse,
    students: tuple[str, ...] = (STUDENT,),
    account: str | None = ACCOUNT,
) -> Incident:
    return Incident(D, SCHOOL, category, students, OCCURRED_AT, "stf_p", account)


def first(events: list[IntegrationEvent]) -> IncidentReported:
    assert isinstance(events[0], IncidentReported)
    return events[0]


async def test_an_incident_sets_the_reports_deadline_in_its_unit_of_work() -> None:
    db = MemoryDatabase(default_registry())
    incidents, _ = commands(db, Clock(RECORDED_AT))
    made = first(await incidents.report(incident()))
    due = db.state.deadlines[(INCIDENT_REPORT, made.incident_id)]
    assert due.due_at == made.report_due_at == RECORDED_AT + LIMIT
    assert due.payload == {"district": D, "school_id": SCHOOL}


async def test_an_incident_without_a_duty_sets_no_deadline() -> None:
    db = MemoryDatabase(default_registry())
    incidents, _ = commands(db, Clock(RECORDED_AT))
    first(await incidents.report(incident(IncidentCategory.accident)))
    assert not [k for k in db.state.deadlines if k[0] == INCIDENT_REPORT]


async def test_the_account_travels_sealed_with_the_first_childs_key() -> None:
    db = MemoryDatabase(default_registry())
    incidents, _ = commands(db, Clock(RECORDED_AT))
    made = first(await incidents.report(incident(students=(STUDENT, "stu_2"))))
    raw = b"".join(
        e.payload if isinstance(e.payload, bytes) else str(e.payload).encode() for e in db.stored()
    )
    assert ACCOUNT.encode() not in raw
    assert made.account is not None
    assert made.account.subject == STUDENT
    async with MemoryTransactions(db).read() as uow:
        assert (await uow.keys.open(made.account))["text"] == ACCOUNT


async def test_an_account_naming_no_child_is_sealed_with_the_schools_key() -> None:
    db = MemoryDatabase(default_registry())
    incidents, _ = commands(db, Clock(RECORDED_AT))
    made = first(await incidents.report(incident(IncidentCategory.accident, students=())))
    assert made.account is not None
    assert made.account.subject == f"school-{SCHOOL}"


async def test_the_report_cancels_the_deadline_so_nothing_escalates() -> None:
    db, clock = MemoryDatabase(default_registry()), Clock(RECORDED_AT)
    incidents, writer = commands(db, clock)
    made = first(await incidents.report(incident(account=None)))
    clock.now = RECORDED_AT + timedelta(minutes=40)
    (filed,) = await incidents.file_report(made.incident_id, ALL_THREE, "stf_p")
    assert isinstance(filed, MandatoryReportFiled)
    assert (filed.delay_seconds, filed.late) == (2400, False)
    assert (INCIDENT_REPORT, made.incident_id) not in db.state.deadlines
    clock.now = RECORDED_AT + 5 * LIMIT
    fired = await fire_due([REPORT_DEADLINE], MemoryTransactions(db), writer, clock.now)
    assert fired.fired == []
    assert not [e for e in db.published() if isinstance(e, MandatoryReportEscalated)]


async def test_the_deadline_escalates_once_when_the_injected_clock_passes_it() -> None:
    db, clock = MemoryDatabase(default_registry()), Clock(RECORDED_AT)
    incidents, writer = commands(db, clock)
    made = first(await incidents.report(incident(account=None)))
    early = await fire_due(
        [REPORT_DEADLINE],
        MemoryTransactions(db),
        writer,
        RECORDED_AT + LIMIT - timedelta(seconds=1),
    )
    assert early.fired == []
    clock.now = RECORDED_AT + LIMIT + timedelta(seconds=5)
    for _ in range(3):  # later polls find nothing more to fire
        await fire_due([REPORT_DEADLINE], MemoryTransactions(db), writer, clock.now)
    escalations = [e for e in db.published() if isinstance(e, MandatoryReportEscalated)]
    assert len(escalations) == 1
    assert escalations[0].escalated_at == clock.now
    assert db.state.deadlines[(INCIDENT_REPORT, made.incident_id)].fired_at == clock.now
    # The report still comes, late.
    clock.now += timedelta(hours=1)
    (filed,) = await incidents.file_report(made.incident_id, ALL_THREE, "stf_p")
    assert isinstance(filed, MandatoryReportFiled)
    assert filed.late is True


async def test_a_deadline_that_finds_the_incident_reported_fires_without_escalating() -> None:
    """A report that raced the poll: the handler has nothing to do, the row is done."""
    db, clock = MemoryDatabase(default_registry()), Clock(RECORDED_AT)
    incidents, writer = commands(db, clock)
    made = first(await incidents.report(incident(account=None)))
    await incidents.file_report(made.incident_id, ALL_THREE, "stf_p")
    async with MemoryTransactions(db).begin() as uow:  # the row as a racing poll claimed it
        await uow.deadlines.set(INCIDENT_REPORT, made.incident_id, RECORDED_AT + LIMIT)
    fired = await fire_due(
        [REPORT_DEADLINE], MemoryTransactions(db), writer, RECORDED_AT + 2 * LIMIT
    )
    assert (INCIDENT_REPORT, made.incident_id) in fired.fired
    assert not [e for e in db.published() if isinstance(e, MandatoryReportEscalated)]


# --- the read model ----------------------------------------------------------------------------


async def test_the_read_model_keeps_each_incidents_report_and_escalation_without_the_account() -> (
    None
):
    db = MemoryDatabase(default_registry())
    tables = MemoryTables(db, SAFETY.tables)
    late = RECORDED_AT + 2 * LIMIT
    events = [*recorded(), *escalated(late)]
    events.append(filed_at(late + timedelta(minutes=1), *escalated(late)))
    events += referred()
    events += decide(GuidanceDecision.school_guidance, M.education, M.police)
    await SAFETY.write(tables, SAFETY.schema, SAFETY.fold(events))
    r = tables.rows("safety", "incidents")[("i1",)]
    assert r["report_due_at"] == RECORDED_AT + LIMIT
    assert r["escalated_at"] == late
    assert (r["late"], r["delay_seconds"]) == (True, int((2 * LIMIT).total_seconds()) + 60)
    assert r["departments"] == sorted(d.value for d in ALL_THREE)
    assert str(r["recorded_on"]) == "2026-11-03"
    assert "account" not in r
    g = tables.rows("safety", "guidance_referrals")[("g1",)]
    assert (g["decision"], g["members_present"], g["incident_id"]) == (
        "school_guidance",
        ["education", "police"],
        "i1",
    )


# --- the alert's message -----------------------------------------------------------------------


def reacting(db: MemoryDatabase) -> Reacting:
    writer = Writer(MemoryTransactions(db), default_registry(), clock=lambda: RECORDED_AT)
    settings = SafetySettings(public_url="https://safety.example.cn")
    return Reacting(MemoryUnitOfWork(db), writer, cast(Any, None), settings)


async def test_an_escalation_alerts_the_district_with_the_school_incident_and_category_only() -> (
    None
):
    db = MemoryDatabase(default_registry())
    (esc,) = escalated(RECORDED_AT + 3 * LIMIT)
    await ALERTS.handlers[esc.ce_type()](esc, reacting(db))
    await ALERTS.handlers[esc.ce_type()](esc, reacting(db))  # the same trigger again
    (notice,) = db.state.notices.values()
    assert (notice.channel, notice.district, notice.school, notice.recipient) == (
        "alert",
        D,
        SCHOOL,
        None,
    )
    assert notice.kind == "incident.report_escalated"
    assert notice.link == "https://safety.example.cn/incidents/i1"
    assert SCHOOL in notice.text
    assert "physical_abuse" in notice.text
    assert "区教育局" in notice.text
    assert "2026-11-03T12:00" in notice.text  # the due time (04:00 UTC), China time
    assert STUDENT not in notice.title + notice.text + notice.link
