"""Command handlers' scenarios, written once and run on two units of work: the in-memory fake
(``tests/unit/test_command_handlers.py``) and PostgreSQL
(``tests/integration/test_command_handlers_pg.py``).

A scenario takes a ``Writer`` and the ``Transactions`` it writes through, runs a service's
commands (refusals included), checks what was appended — the types, in order; every stream's
hash chain; where each event came from; sealed text that opens with the unit of work's keys —
and returns the streams it wrote to, so the runner can check that nothing else was.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

import pytest

from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_contracts import IntegrationEvent, default_registry
from tongxin_contracts.events.registry import (
    ErasureReason,
    LeaveReason,
    SpecialGroup,
    StaffRole,
    StudentEnrolled,
    class_stream,
    school_stream,
    student_stream,
)
from tongxin_contracts.events.visits import (
    CancelReason,
    FindingCategory,
    FollowUpOpened,
    FollowUpOutcome,
    Measure,
    MonthlyFigures,
    MonthlyVisitReportSubmitted,
    SuggestionTopic,
    VisitGoal,
    VisitMode,
    Visitor,
    case_stream,
    report_stream,
    rules_stream,
    visit_stream,
)
from tongxin_platform.commands import Writer
from tongxin_platform.crypto import SubjectErasedError
from tongxin_platform.eventstore import StoredEvent, verify_chain
from tongxin_platform.uow import Transactions
from tongxin_registry.application.pseudonyms import Pseudonymizer
from tongxin_registry.application.service import RegistryService
from tongxin_registry.domain.model import StudentNotEnrolledError, UnknownClassError
from tongxin_visits.application.records import case_actions, visit_record
from tongxin_visits.application.service import VisitsService
from tongxin_visits.application.visits import Completion, FindingNote
from tongxin_visits.domain.model import NotAllowedError, VisitRules, VisitsError

Scenario = Callable[[Writer, Transactions], Awaitable[set[str]]]

NOW = datetime(2026, 10, 15, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


def clock() -> datetime:
    return NOW


# --- what every scenario checks ---------------------------------------------------------------


async def stored(transactions: Transactions, streams: Iterable[str]) -> list[StoredEvent]:
    """The events of ``streams`` as stored, in position order."""
    async with transactions.read() as uow:
        out = [e for sid in sorted(set(streams)) for e in await uow.events.stored(sid)]
    return sorted(out, key=lambda e: e.position)


def types(events: Iterable[StoredEvent], stream: str | None = None) -> list[str]:
    return [e.event_type.split(".")[3] for e in events if stream is None or e.stream_id == stream]


def decoded(events: Iterable[StoredEvent], stream: str) -> list[IntegrationEvent]:
    registry = default_registry()
    return [registry.decode(e.event_type, e.payload) for e in events if e.stream_id == stream]


def check_provenance(events: Sequence[StoredEvent], streams: Iterable[str]) -> None:
    """Every stream chains up from its first event; every event says where it came from."""
    for sid in set(streams):
        verify_chain([e for e in events if e.stream_id == sid])
    assert events, "the scenario stored events"
    missing = [(e.stream_id, e.version) for e in events if not e.correlation_id]
    assert not missing, f"events without a correlation id: {missing}"
    missing = [(e.stream_id, e.version) for e in events if not e.causation_id]
    assert not missing, f"events without a causation id: {missing}"


def in_order(actual: Sequence[str], expected: Sequence[str | frozenset[str]]) -> bool:
    """``expected`` in order; a set stands for its members, adjacent, in any order (a command
    that appends to two streams at once)."""
    flat: list[str] = []
    for item in expected:
        if isinstance(item, frozenset):
            chunk = list(actual[len(flat) : len(flat) + len(item)])
            if sorted(chunk) != sorted(item):
                return False
            flat += chunk
        else:
            flat.append(item)
    return list(actual) == flat


# --- the registry ---------------------------------------------------------------------------

SECRET = b"tests-pseudonym-secret-0123456789"
ROSTER_SPEC = DemoSpec(schools=1, classes_per_school=2, students_per_class=3)


async def registry_roster_changes(writer: Writer, transactions: Transactions) -> set[str]:
    """Import a small roster, then leave, categorise, transfer and erase — and the refusals."""
    pseudonyms = Pseudonymizer(SECRET)
    service = RegistryService(transactions, writer, pseudonyms)
    students_csv, _ = demo_roster(ROSTER_SPEC)
    rows = list(csv.DictReader(io.StringIO(students_csv)))
    refs = [pseudonyms.student(r["district"], r["student_id"]) for r in rows]
    school_id = rows[0]["school_id"]
    first_class, second_class = sorted({r["class_id"] for r in rows})
    assert [r["class_id"] for r in rows] == [first_class] * 3 + [second_class] * 3
    categorised = [r["special_groups"] != "" for r in rows]

    result = await service.import_students(students_csv)
    assert (result.rows, result.events) == (6, 9 + sum(categorised))
    assert result.by_type == {
        "SchoolRegistered": 1,
        "ClassOpened": 2,
        "StudentEnrolled": 6,
        **({"StudentCategorised": sum(categorised)} if any(categorised) else {}),
    }
    assert (await service.import_students(students_csv)).events == 0  # unchanged: nothing new

    leaver, mover, erased = refs[0], refs[1], refs[4]
    assert await service.record_left(leaver, LeaveReason.moved_away) == ["StudentLeft"]
    with pytest.raises(StudentNotEnrolledError):
        await service.record_left(leaver, LeaveReason.moved_away)
    with pytest.raises(StudentNotEnrolledError):
        await service.categorise(leaver, {SpecialGroup.migrant})

    groups = {SpecialGroup.left_behind, SpecialGroup.learning_difficulty}
    assert {g for g in rows[1]["special_groups"].split(";") if g} != {g.value for g in groups}
    assert await service.categorise(mover, groups) == ["StudentCategorised"]
    assert await service.categorise(mover, groups) == []

    assert await service.transfer(mover, second_class) == ["StudentTransferred"]
    assert await service.transfer(mover, second_class) == []
    with pytest.raises(UnknownClassError):
        await service.transfer(mover, f"{school_id}-99")
    with pytest.raises(StudentNotEnrolledError):
        await service.transfer(leaver, second_class)

    assert await service.erase(erased, ErasureReason.data_subject_request, "operator") == [
        "SubjectErased"
    ]
    assert await service.erase(erased, ErasureReason.data_subject_request, "operator") == []

    streams = {school_stream(school_id), class_stream(first_class), class_stream(second_class)}
    streams |= {student_stream(ref) for ref in refs}
    events = await stored(transactions, streams)
    check_provenance(events, streams)

    def enrolment(i: int) -> list[str]:
        return ["StudentEnrolled", *(["StudentCategorised"] if categorised[i] else [])]

    assert types(events, school_stream(school_id)) == ["SchoolRegistered"]
    assert types(events, class_stream(second_class)) == ["ClassOpened"]
    assert types(events, student_stream(leaver)) == [*enrolment(0), "StudentLeft"]
    assert types(events, student_stream(mover)) == [
        *enrolment(1),
        "StudentCategorised",
        "StudentTransferred",
    ]
    assert types(events, student_stream(erased)) == [*enrolment(4), "SubjectErased"]
    assert types(events, student_stream(refs[2])) == enrolment(2)
    # The import first, then one command after another.
    assert types(events)[-4:] == [
        "StudentLeft",
        "StudentCategorised",
        "StudentTransferred",
        "SubjectErased",
    ]
    assert [e.version for e in events if e.stream_id == student_stream(mover)] == list(
        range(1, len(enrolment(1)) + 3)
    )

    # Personal data opens with the unit of work's keys — except the erased student's.
    async with transactions.read() as uow:
        for i in (0, 1):
            enrolled = decoded(events, student_stream(refs[i]))[0]
            assert isinstance(enrolled, StudentEnrolled)
            personal = await uow.keys.open(enrolled.personal)
            assert (personal["name"], personal["address"]) == (
                rows[i]["student_name"],
                rows[i]["address"],
            )
            assert personal["guardians"][0]["phone"] == rows[i]["guardian1_phone"]
        gone = decoded(events, student_stream(erased))[0]
        assert isinstance(gone, StudentEnrolled)
        with pytest.raises(SubjectErasedError):
            await uow.keys.open(gone.personal)
        assert not await uow.keys.has(erased)
        assert await uow.keys.has(leaver)
    return streams


# --- visits -----------------------------------------------------------------------------------

D, SCHOOL, ELSEWHERE = "330106", "330106001", "330106002"
HEAD, CO, PRINCIPAL = "stf_head", "stf_co", "stf_principal"
NOTES = '家访手记：孩子在家很努力，"数学"需要加强\\练习'
SUGGESTION = "希望学校多组织亲子阅读活动"
ACTIONS = ("第一次一对一辅导", "第二次辅导：与家长沟通")


def completion(*, findings: tuple[FindingNote, ...] = (), notes: str | None = NOTES) -> Completion:
    return Completion(
        visitors=(
            Visitor(staff_ref=HEAD, role=StaffRole.head_teacher),
            Visitor(staff_ref=CO, role=StaffRole.subject_teacher),
        ),
        mode=VisitMode.in_home,
        started_at=NOW - timedelta(hours=2),
        duration_minutes=45,
        goals=frozenset({VisitGoal.student_performance, VisitGoal.family_situation}),
        findings=findings,
        suggestions=((SuggestionTopic.teaching, SUGGESTION),) if notes else (),
        notes=notes,
        integrity_attested=True,
    )


def names(events: Iterable[IntegrationEvent]) -> list[str]:
    return [e.name for e in events]


async def visits_lifecycle(writer: Writer, transactions: Transactions) -> set[str]:
    """Plan → schedule → complete (a finding opens a case) → confirm by the co-visitor; a
    cancelled visit; the case's actions and closure; rules; the month's figures and report."""
    service = VisitsService(writer)

    async def plan(student: str, school: str = SCHOOL) -> str:
        return await service.visits.plan(
            district=D,
            school_id=school,
            class_id=f"{school}-01",
            student_ref=student,
            planned_by=HEAD,
            planned_for=date(2026, 10, 16),
        )

    visit = await plan("stu_1")
    scheduled = await service.visits.schedule(
        visit, NOW + timedelta(hours=1), VisitMode.in_home, HEAD
    )
    assert names(scheduled) == ["VisitScheduled"]
    finding = FindingNote(FindingCategory.learning_difficulty, Measure.learning_support, CO)
    done = await service.visits.complete(
        visit,
        HEAD,
        completion(findings=(FindingNote(FindingCategory.family_hardship), finding)),
        VisitRules(),
    )
    assert names(done) == ["VisitCompleted", "FollowUpOpened"]
    opened = done[1]
    assert isinstance(opened, FollowUpOpened)
    assert (opened.visit_id, opened.student_ref, opened.owner_ref) == (visit, "stu_1", CO)
    assert opened.due_date == date(2026, 10, 15) + timedelta(days=VisitRules().followup_due_days)
    case_id = opened.case_id

    with pytest.raises(NotAllowedError):
        await service.visits.confirm(visit, HEAD)  # the recorder cannot vouch for it
    with pytest.raises(NotAllowedError):
        await service.visits.confirm(visit, "stf_stranger")
    assert names(await service.visits.confirm(visit, CO)) == ["VisitConfirmed"]
    assert await service.visits.confirm(visit, CO) == []
    with pytest.raises(VisitsError):
        await service.visits.cancel(visit, CancelReason.other, HEAD)

    declined = await plan("stu_2")
    cancelled = await service.visits.cancel(declined, CancelReason.family_declined, HEAD)
    assert names(cancelled) == ["VisitCancelled"]
    with pytest.raises(VisitsError):
        await service.visits.schedule(declined, NOW, VisitMode.phone, HEAD)

    for day, text in zip((16, 18), ACTIONS, strict=True):
        recorded = await service.ledger.record_action(case_id, CO, date(2026, 10, day), text)
        assert names(recorded) == ["FollowUpActionRecorded"]
    closed = await service.ledger.close(case_id, FollowUpOutcome.resolved, CO, date(2026, 10, 20))
    assert names(closed) == ["FollowUpClosed"]
    with pytest.raises(VisitsError):
        await service.ledger.record_action(case_id, CO, date(2026, 10, 21), "too late")

    # A visit of another school: not in this school's figures.
    away = await plan("stu_9", ELSEWHERE)
    await service.visits.complete(away, HEAD, completion(notes=None), VisitRules())
    await service.visits.confirm(away, CO)

    rules = VisitRules(report_due_day=25, suggestion_answer_days=7)
    assert names(await service.reports.set_rules(D, rules, "officer-1")) == ["VisitRulesSet"]
    assert await service.reports.set_rules(D, rules, "officer-1") == []
    assert await service.reports.rules(D) == rules

    expected = MonthlyFigures(
        visits_completed=1,
        visits_confirmed=1,
        visits_unconfirmed=0,
        in_home=1,
        online=0,
        phone=0,
        at_school=0,
        students_visited=1,
        special_group_students_visited=1,
        by_principals=0,
        by_middle_leaders=0,
        by_head_teachers=1,
        by_subject_teachers=1,
        visits_cancelled=1,
        followups_opened=1,
        followups_closed=1,
        parent_suggestions=1,
    )
    assert await service.reports.figures(SCHOOL, "2026-10", {"stu_1"}) == expected
    [first] = await service.reports.submit(D, SCHOOL, "2026-10", PRINCIPAL, {"stu_1"})
    assert isinstance(first, MonthlyVisitReportSubmitted)
    assert (first.revision, first.figures, first.due_date) == (1, expected, date(2026, 10, 25))
    assert await service.reports.submit(D, SCHOOL, "2026-10", PRINCIPAL, {"stu_1"}) == []

    unconfirmed = await plan("stu_3")
    await service.visits.complete(unconfirmed, HEAD, completion(notes=None), VisitRules())
    [second] = await service.reports.submit(D, SCHOOL, "2026-10", PRINCIPAL, {"stu_1"})
    assert isinstance(second, MonthlyVisitReportSubmitted)
    assert second.revision == 2
    assert second.figures == expected.model_copy(
        update={"visits_completed": 2, "visits_unconfirmed": 1}
    )

    streams = {visit_stream(v) for v in (visit, declined, away, unconfirmed)} | {
        case_stream(case_id),
        report_stream(SCHOOL, "2026-10"),
        rules_stream(D),
    }
    events = await stored(transactions, streams)
    check_provenance(events, streams)
    assert types(events, visit_stream(visit)) == [
        "VisitPlanned",
        "VisitScheduled",
        "VisitCompleted",
        "VisitConfirmed",
    ]
    assert types(events, visit_stream(declined)) == ["VisitPlanned", "VisitCancelled"]
    assert types(events, case_stream(case_id)) == [
        "FollowUpOpened",
        "FollowUpActionRecorded",
        "FollowUpActionRecorded",
        "FollowUpClosed",
    ]
    assert types(events, report_stream(SCHOOL, "2026-10")) == ["MonthlyVisitReportSubmitted"] * 2
    assert types(events, rules_stream(D)) == ["VisitRulesSet"]
    first_visit = [e for e in events if e.stream_id in (visit_stream(visit), case_stream(case_id))]
    assert in_order(
        types(first_visit),
        [
            "VisitPlanned",
            "VisitScheduled",
            frozenset({"VisitCompleted", "FollowUpOpened"}),
            "VisitConfirmed",
            "FollowUpActionRecorded",
            "FollowUpActionRecorded",
            "FollowUpClosed",
        ],
    ), types(first_visit)

    # The free text was sealed, and opens with this unit of work's keys.
    async with transactions.read() as uow:
        record = await visit_record(uow, visit)
        assert record is not None
        assert (record["notes"], record["erased"]) == (NOTES, False)
        assert [s["text"] for s in record["parent_suggestions"]] == [SUGGESTION]
        actions = await case_actions(uow, case_id)
        assert [a["description"] for a in actions] == list(ACTIONS)
        assert [a["taken_on"] for a in actions] == [date(2026, 10, 16), date(2026, 10, 18)]
    stored_text = b"".join(e.payload for e in events)
    assert "孩子在家很努力".encode() not in stored_text
    assert SUGGESTION.encode() not in stored_text
    assert ACTIONS[0].encode() not in stored_text
    return streams


SCENARIOS: dict[str, Scenario] = {
    "registry": registry_roster_changes,
    "visits": visits_lifecycle,
}
