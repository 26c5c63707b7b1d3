"""Visit commands: plan, schedule, complete (sealing the free text), cancel, and confirmation by a
co-visitor or by the family's one-time code."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import asyncpg

from tongxin_contracts import IntegrationEvent, Sealed
from tongxin_contracts.calendar import china_date
from tongxin_contracts.events.visits import (
    CancelReason,
    ConfirmedBy,
    Finding,
    FindingCategory,
    Measure,
    ParentSuggestion,
    SuggestionTopic,
    VisitGoal,
    VisitMode,
    Visitor,
    visit_stream,
)
from tongxin_platform.commands import Writer
from tongxin_platform.uow import UnitOfWork
from tongxin_visits.application import family
from tongxin_visits.application.tags import tag_school
from tongxin_visits.domain.deciders import decide_visit
from tongxin_visits.domain.evolve import fold
from tongxin_visits.domain.family_code import CodeRules
from tongxin_visits.domain.model import (
    CancelVisit,
    CompleteVisit,
    ConfirmVisit,
    FindingInput,
    PlanVisit,
    ScheduleVisit,
    VisitCommand,
    VisitRules,
    VisitsError,
    VisitState,
)


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


class Sealer:
    """Seals free text about a student with this service's key for them (made on first use), in
    the command's unit of work: the key exists exactly when the events that need it do."""

    async def seal(self, uow: UnitOfWork, student_ref: str, text: str) -> Sealed:
        return await uow.keys.seal(student_ref, {"text": text})

    async def seal_findings(
        self, uow: UnitOfWork, student_ref: str, findings: tuple[FindingInput, ...]
    ) -> tuple[Sealed | None, tuple[FindingInput, ...]]:
        """The findings sealed (categories travel only so), and each case's category sealed."""
        if not findings:
            return None, findings
        recorded = [
            Finding(category=f.category, measure=f.measure, case_id=f.case_id).model_dump(
                mode="json"
            )
            for f in findings
        ]
        sealed = await uow.keys.seal(student_ref, {"findings": recorded})
        detailed = tuple(
            [
                replace(f, detail=await self.seal_category(uow, student_ref, f.category))
                if f.case_id
                else f
                for f in findings
            ]
        )
        return sealed, detailed

    async def seal_category(
        self, uow: UnitOfWork, student_ref: str, category: FindingCategory
    ) -> Sealed:
        return await uow.keys.seal(student_ref, {"category": category.value})


class VisitCommands:
    def __init__(self, writer: Writer, sealer: Sealer, pool: asyncpg.Pool | None) -> None:
        self.writer, self.sealer, self.pool = writer, sealer, pool

    def _id(self) -> str:
        return str(self.writer.new_id())

    async def state(self, visit_id: str) -> VisitState:
        return fold(await self.writer.history(visit_stream(visit_id)), VisitState())

    async def _decide(
        self, cmd: VisitCommand, school_id: str | None = None
    ) -> list[IntegrationEvent]:
        return await self.writer.run(
            visit_stream(cmd.visit_id),
            lambda history, now: decide_visit(cmd, fold(history, VisitState()), now),
            after=tag_school(school_id) if school_id else None,
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
        await self._decide(cmd, school_id)
        return visit_id

    async def schedule(
        self, visit_id: str, appointment_at: datetime, mode: VisitMode, by: str
    ) -> list[IntegrationEvent]:
        return await self._decide(ScheduleVisit(visit_id, appointment_at, mode, by))

    async def cancel(self, visit_id: str, reason: CancelReason, by: str) -> list[IntegrationEvent]:
        return await self._decide(CancelVisit(visit_id, reason, by))

    async def confirm(self, visit_id: str, confirmer_ref: str) -> list[IntegrationEvent]:
        return await self._decide(ConfirmVisit(visit_id, ConfirmedBy.co_visitor, confirmer_ref))

    async def complete(
        self, visit_id: str, by: str, c: Completion, rules: VisitRules
    ) -> list[IntegrationEvent]:
        state = await self.state(visit_id)
        findings = tuple(
            FindingInput(f.category, f.measure, self._id() if f.measure else None, f.owner_ref)
            for f in c.findings
        )
        sealed: dict[str, object] = {}

        async def seal_texts(uow: UnitOfWork, now: datetime) -> None:
            if not state.student_ref:
                return  # an unknown visit: the decider refuses it
            today = china_date(now)
            if c.notes:
                sealed["notes"] = await self.sealer.seal(uow, state.student_ref, c.notes)
            sealed["findings"], sealed["detailed"] = await self.sealer.seal_findings(
                uow, state.student_ref, findings
            )
            sealed["suggestions"] = tuple(
                [
                    ParentSuggestion(
                        suggestion_id=self._id(),
                        topic=topic,
                        text=await self.sealer.seal(uow, state.student_ref, text),
                        answer_due=today + timedelta(days=rules.suggestion_answer_days),
                    )
                    for topic, text in c.suggestions
                ]
            )

        def decide(history: list[IntegrationEvent], now: datetime) -> list[IntegrationEvent]:
            notes = sealed.get("notes")
            suggestions = sealed.get("suggestions", ())
            sealed_findings = sealed.get("findings")
            detailed = sealed.get("detailed", findings)
            assert notes is None or isinstance(notes, Sealed)
            assert sealed_findings is None or isinstance(sealed_findings, Sealed)
            assert isinstance(suggestions, tuple)
            assert isinstance(detailed, tuple)
            cmd = CompleteVisit(
                visit_id,
                by,
                c.visitors,
                c.mode,
                c.started_at,
                c.duration_minutes,
                c.goals,
                detailed,
                suggestions,
                notes,
                c.integrity_attested,
                china_date(now) + timedelta(days=rules.followup_due_days),
                sealed_findings,
            )
            return decide_visit(cmd, fold(history, VisitState()), now)

        return await self.writer.run(
            visit_stream(visit_id),
            decide,
            before=seal_texts,
            after=tag_school(state.school_id) if state.school_id else None,
        )

    async def issue_family_code(
        self, visit_id: str, guardian_refs: list[str], issued_by: str, rules: CodeRules
    ) -> family.IssuedCode:
        """Send the family a new code, or refuse (``CodeSendRefusedError``: a used or locked visit,
        or a limit on sends); the visit's wrong tries are kept whatever is sent."""
        state = await self.state(visit_id)
        if state.status != "completed":
            raise VisitsError(
                f"a family confirms a completed visit; this one is {state.status}", "visit_id"
            )
        if not guardian_refs:
            raise VisitsError("the student has no guardian to send a code to", "visit_id")
        async with self.writer.transactions.begin() as uow:
            return await family.issue(
                uow.conn,
                visit_id,
                guardian_refs,
                issued_by=issued_by,
                now=self.writer.clock(),
                rules=rules,
            )

    async def confirm_by_family(
        self, visit_id: str, code: str, rules: CodeRules
    ) -> list[IntegrationEvent]:
        """Confirm with the family's code, or raise ``family.CodeNotAcceptedError``, the same
        for an unknown visit and a wrong, expired, used or locked code. A wrong guess is counted
        (and committed) before the refusal; the code is used up in the confirming transaction."""
        code = code.strip()
        async with self.writer.transactions.begin() as uow:
            accepted = await family.check(
                uow.conn, visit_id, code, now=self.writer.clock(), rules=rules
            )
        if not accepted:
            raise family.CodeNotAcceptedError

        async def use(uow: UnitOfWork, now: datetime) -> None:
            await family.use(uow.conn, visit_id, code, now=now, rules=rules)

        cmd = ConfirmVisit(visit_id, ConfirmedBy.family)
        return await self.writer.run(
            visit_stream(visit_id),
            lambda history, now: decide_visit(cmd, fold(history, VisitState()), now),
            before=use,
        )
