"""Visits use cases: load the streams a command needs, decide, append in one transaction, and
start over from the load when another writer got there first.

Free text (visit notes, parent suggestions, follow-up actions) is sealed here with a key of this
service for the student, so that erasing the student shreds it (the board projection deletes the
key on ``SubjectErased``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from tongxin_contracts import IntegrationEvent, Sealed, default_registry
from tongxin_contracts.events.visits import (
    CancelReason,
    ConfirmedBy,
    FindingCategory,
    FollowUpOutcome,
    Measure,
    MonthlyFigures,
    ParentSuggestion,
    SuggestionTopic,
    VisitGoal,
    VisitMode,
    Visitor,
)
from tongxin_platform.commands import load_streams, new_events, retrying
from tongxin_platform.crypto import KeyStore, seal_with
from tongxin_platform.eventstore import EventStore
from tongxin_visits.application import family
from tongxin_visits.domain.calendar import china_date
from tongxin_visits.domain.deciders import (
    decide_followup,
    decide_open_followup,
    decide_report,
    decide_rules,
    decide_visit,
    fold,
)
from tongxin_visits.domain.figures import monthly_figures
from tongxin_visits.domain.model import (
    CancelVisit,
    CloseFollowUp,
    CompleteVisit,
    ConfirmVisit,
    FindingInput,
    FollowUpCommand,
    FollowUpState,
    OpenFollowUp,
    PlanVisit,
    RecordFollowUpAction,
    ReportState,
    ScheduleVisit,
    SetVisitRules,
    SubmitMonthlyReport,
    UnknownCaseError,
    VisitCommand,
    VisitRules,
    VisitsError,
    VisitState,
)


def visit_stream(visit_id: str) -> str:
    return f"visit-{visit_id}"


def case_stream(case_id: str) -> str:
    return f"followup-{case_id}"


def report_stream(school_id: str, month: str) -> str:
    return f"report-{school_id}-{month}"


def rules_stream(district: str) -> str:
    return f"visit-rules-{district}"


@dataclass(frozen=True, slots=True)
class FindingNote:
    category: FindingCategory
    measure: Measure | None = None
    owner_ref: str | None = None


@dataclass(frozen=True, slots=True)
class Completion:
    """What a visitor records when a visit is over (the text is sealed before it is stored)."""

    visitors: tuple[Visitor, ...]
    mode: VisitMode
    started_at: datetime
    duration_minutes: int
    goals: frozenset[VisitGoal]
    findings: tuple[FindingNote, ...]
    suggestions: tuple[tuple[SuggestionTopic, str], ...]
    notes: str | None
    integrity_attested: bool


class VisitsService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        store: EventStore,
        *,
        clock: Callable[[], datetime],
        new_id: Callable[[], uuid.UUID] = uuid.uuid4,
    ) -> None:
        self.pool = pool
        self.store = store
        self.clock = clock
        self.new_id = new_id
        self.keys = KeyStore()
        self.registry = default_registry()

    async def _run(
        self,
        stream: str,
        decide: Callable[[list[IntegrationEvent], datetime], list[IntegrationEvent]],
        *,
        school_id: str | None = None,
        before: Callable[[asyncpg.Connection, datetime], Any] | None = None,
    ) -> list[IntegrationEvent]:
        """Load ``stream``, decide, append; events for other streams (cases opened by a visit)
        go to their own streams in the same transaction."""

        async def attempt() -> list[IntegrationEvent]:
            now = self.clock()
            async with self.pool.acquire() as conn, conn.transaction():
                if before is not None:
                    await before(conn, now)
                loaded = await load_streams(conn, self.registry, [stream])
                decided = decide(loaded.of(stream), now)
                by_stream: dict[str, list[IntegrationEvent]] = {}
                for e in decided:
                    by_stream.setdefault(e.aggregate_id(), []).append(e)
                batches = [
                    (
                        sid,
                        loaded.head(sid),
                        new_events(evs, now, new_id=self.new_id),
                    )
                    for sid, evs in by_stream.items()
                ]
                if len(batches) == 1:
                    await self.store.append(conn, *batches[0])
                elif batches:
                    await self.store.append_many(conn, batches)
                if school_id is not None and by_stream:
                    await conn.executemany(
                        "INSERT INTO school_streams VALUES ($1, $2) ON CONFLICT DO NOTHING",
                        [(school_id, sid) for sid in by_stream],
                    )
                return decided

        return await retrying(attempt)

    def _id(self) -> str:
        return str(self.new_id())

    async def _seal(self, conn: asyncpg.Connection, student_ref: str, text: str) -> Sealed:
        key_id, key = (await self.keys.keys_for(conn, [student_ref]))[student_ref]
        return seal_with(key_id, key, student_ref, {"text": text})

    # --- visits --------------------------------------------------------------------------

    async def visit(self, visit_id: str) -> VisitState:
        events = await load_streams_of(self.pool, self.registry, visit_stream(visit_id))
        return fold(events, VisitState())

    async def _visit_command(
        self, cmd: VisitCommand, school_id: str | None = None
    ) -> list[IntegrationEvent]:
        return await self._run(
            visit_stream(cmd.visit_id),
            lambda history, now: decide_visit(cmd, fold(history, VisitState()), now),
            school_id=school_id,
        )

    async def plan(
        self,
        *,
        district: str,
        school_id: str,
        class_id: str,
        student_ref: str,
        planned_by: str,
        planned_for: date,
    ) -> str:
        visit_id = self._id()
        cmd = PlanVisit(
            visit_id, district, school_id, class_id, student_ref, planned_by, planned_for
        )
        await self._visit_command(cmd, school_id)
        return visit_id

    async def schedule(
        self, visit_id: str, appointment_at: datetime, mode: VisitMode, by: str
    ) -> list[IntegrationEvent]:
        return await self._visit_command(ScheduleVisit(visit_id, appointment_at, mode, by))

    async def cancel(self, visit_id: str, reason: CancelReason, by: str) -> list[IntegrationEvent]:
        return await self._visit_command(CancelVisit(visit_id, reason, by))

    async def confirm(
        self, visit_id: str, by: ConfirmedBy, confirmer_ref: str | None = None
    ) -> list[IntegrationEvent]:
        return await self._visit_command(ConfirmVisit(visit_id, by, confirmer_ref))

    async def complete(self, visit_id: str, by: str, c: Completion) -> list[IntegrationEvent]:
        state = await self.visit(visit_id)
        rules = await self.rules(state.district) if state.district else VisitRules()
        sealed: dict[str, Any] = {}

        async def seal_texts(conn: asyncpg.Connection, now: datetime) -> None:
            # Sealed inside the command's transaction: the key exists iff the events do.
            if not state.student_ref:
                return
            today = china_date(now)
            sealed["notes"] = (
                await self._seal(conn, state.student_ref, c.notes) if c.notes else None
            )
            suggestions = []
            for topic, text in c.suggestions:
                suggestions.append(
                    ParentSuggestion(
                        suggestion_id=self._id(),
                        topic=topic,
                        text=await self._seal(conn, state.student_ref, text),
                        answer_due=today + timedelta(days=rules.suggestion_answer_days),
                    )
                )
            sealed["suggestions"] = tuple(suggestions)
            sealed["due"] = today + timedelta(days=rules.followup_due_days)

        findings = tuple(
            FindingInput(f.category, f.measure, self._id() if f.measure else None, f.owner_ref)
            for f in c.findings
        )

        def decide(history: list[IntegrationEvent], now: datetime) -> list[IntegrationEvent]:
            cmd = CompleteVisit(
                visit_id,
                by,
                c.visitors,
                c.mode,
                c.started_at,
                c.duration_minutes,
                c.goals,
                findings,
                sealed.get("suggestions", ()),
                sealed.get("notes"),
                c.integrity_attested,
                sealed.get("due", china_date(now)),
            )
            return decide_visit(cmd, fold(history, VisitState()), now)

        return await self._run(
            visit_stream(visit_id), decide, school_id=state.school_id or None, before=seal_texts
        )

    async def issue_family_code(self, visit_id: str, valid_for: timedelta) -> family.IssuedCode:
        state = await self.visit(visit_id)
        if state.status != "completed":
            raise VisitsError(
                f"a family confirms a completed visit; this one is {state.status}", "visit_id"
            )
        async with self.pool.acquire() as conn:
            guardians = await conn.fetchval(
                "SELECT guardian_refs FROM board.students WHERE student_ref = $1",
                state.student_ref,
            )
            if not guardians:
                raise VisitsError("the student has no guardian to send a code to", "visit_id")
            return await family.issue(
                conn, visit_id, list(guardians), now=self.clock(), valid_for=valid_for
            )

    async def confirm_by_family(
        self, visit_id: str, code: str, max_attempts: int
    ) -> list[IntegrationEvent]:
        async def redeem(conn: asyncpg.Connection, now: datetime) -> None:
            await family.redeem(conn, visit_id, code, now=now, max_attempts=max_attempts)

        cmd = ConfirmVisit(visit_id, ConfirmedBy.family)
        try:
            return await self._run(
                visit_stream(visit_id),
                lambda history, now: decide_visit(cmd, fold(history, VisitState()), now),
                before=redeem,
            )
        except family.WrongCodeError:
            await family.count_wrong_try(self.pool, visit_id)
            raise

    # --- follow-up ledger ----------------------------------------------------------------

    async def open_followup(
        self,
        visit_id: str,
        *,
        measure: Measure,
        category: FindingCategory,
        owner_ref: str,
        due_date: date,
    ) -> str:
        case_id = self._id()
        visit = await self.visit(visit_id)
        cmd = OpenFollowUp(case_id, visit_id, measure, category, owner_ref, due_date)
        await self._run(
            case_stream(case_id),
            lambda history, now: decide_open_followup(
                cmd, visit, fold(history, FollowUpState()), now
            ),
            school_id=visit.school_id or None,
        )
        return case_id

    async def case(self, case_id: str) -> FollowUpState:
        events = await load_streams_of(self.pool, self.registry, case_stream(case_id))
        return fold(events, FollowUpState())

    async def _case_command(self, cmd: FollowUpCommand) -> list[IntegrationEvent]:
        return await self._run(
            case_stream(cmd.case_id),
            lambda history, _: decide_followup(cmd, fold(history, FollowUpState())),
        )

    async def record_action(
        self, case_id: str, by: str, taken_on: date, text: str
    ) -> list[IntegrationEvent]:
        state = await self.case(case_id)
        if state.status == "new":
            raise UnknownCaseError(f"no follow-up case {case_id}", "case_id")
        action_id = self._id()
        sealed: dict[str, Sealed] = {}

        async def seal_text(conn: asyncpg.Connection, _: datetime) -> None:
            if state.student_ref:
                sealed["text"] = await self._seal(conn, state.student_ref, text)

        def decide(history: list[IntegrationEvent], _: datetime) -> list[IntegrationEvent]:
            cmd = RecordFollowUpAction(case_id, action_id, by, taken_on, sealed["text"])
            return decide_followup(cmd, fold(history, FollowUpState()))

        return await self._run(case_stream(case_id), decide, before=seal_text)

    async def close_followup(
        self, case_id: str, outcome: FollowUpOutcome, by: str, closed_on: date
    ) -> list[IntegrationEvent]:
        return await self._case_command(CloseFollowUp(case_id, outcome, by, closed_on))

    # --- rules and monthly reports -------------------------------------------------------

    async def rules(self, district: str) -> VisitRules:
        events = await load_streams_of(self.pool, self.registry, rules_stream(district))
        current: VisitRules | None = fold(events, None)
        return current or VisitRules()

    async def set_rules(self, district: str, rules: VisitRules, by: str) -> list[IntegrationEvent]:
        def decide(history: list[IntegrationEvent], _: datetime) -> list[IntegrationEvent]:
            return decide_rules(SetVisitRules(district, rules, by), fold(history, None))

        return await self._run(rules_stream(district), decide)

    async def figures(self, school_id: str, month: str) -> MonthlyFigures:
        """The month's figures, computed now from the school's events in the store."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                """SELECT e.event_type, e.payload, e.recorded_at FROM events e
                   JOIN school_streams s ON s.stream_id = e.stream_id
                   WHERE s.school_id = $1 AND e.stream_id NOT LIKE 'report-%'
                   ORDER BY e.position""",
                school_id,
            )
            special = await conn.fetchval(
                "SELECT coalesce(array_agg(student_ref), '{}') FROM board.students"
                " WHERE school_id = $1 AND cardinality(groups) > 0",
                school_id,
            )
        events = [
            (self.registry.decode(r["event_type"], bytes(r["payload"])), r["recorded_at"])
            for r in rows
        ]
        return monthly_figures(events, month, set(special))

    async def submit_report(
        self, district: str, school_id: str, month: str, by: str
    ) -> list[IntegrationEvent]:
        rules = await self.rules(district)
        figures = await self.figures(school_id, month)
        cmd = SubmitMonthlyReport(district, school_id, month, figures, by)
        return await self._run(
            report_stream(school_id, month),
            lambda history, now: decide_report(cmd, fold(history, ReportState()), rules, now),
        )


async def load_streams_of(
    pool: asyncpg.Pool, registry: Any, stream_id: str
) -> Sequence[IntegrationEvent]:
    async with pool.acquire() as conn:
        return (await load_streams(conn, registry, [stream_id])).of(stream_id)
