"""The follow-up ledger (台账): cases opened from visits under the four measures, actions taken
on them (sealed), closure."""

from __future__ import annotations

from datetime import date, datetime

from tongxin_contracts import IntegrationEvent, Sealed
from tongxin_contracts.events.visits import (
    FindingCategory,
    FollowUpOutcome,
    Measure,
    case_stream,
    visit_stream,
)
from tongxin_platform.commands import Writer
from tongxin_platform.uow import UnitOfWork
from tongxin_visits.application.tags import tag_school
from tongxin_visits.application.visits import Sealer
from tongxin_visits.domain.deciders import decide_followup, decide_open_followup
from tongxin_visits.domain.evolve import fold
from tongxin_visits.domain.model import (
    CloseFollowUp,
    FollowUpState,
    OpenFollowUp,
    RecordFollowUpAction,
    UnknownCaseError,
    VisitState,
)


class LedgerCommands:
    def __init__(self, writer: Writer, sealer: Sealer) -> None:
        self.writer, self.sealer = writer, sealer

    async def state(self, case_id: str) -> FollowUpState:
        return fold(await self.writer.history(case_stream(case_id)), FollowUpState())

    async def open(
        self,
        visit_id: str,
        *,
        measure: Measure,
        category: FindingCategory,
        owner_ref: str,
        due_date: date,
    ) -> str:
        case_id = str(self.writer.new_id())
        visit = fold(await self.writer.history(visit_stream(visit_id)), VisitState())
        detail: dict[str, Sealed] = {}

        async def seal_category(uow: UnitOfWork, _: datetime) -> None:
            if visit.student_ref:  # an unknown visit: the decider refuses it
                detail["category"] = await self.sealer.seal_category(
                    uow, visit.student_ref, category
                )

        def decide(history: list[IntegrationEvent], now: datetime) -> list[IntegrationEvent]:
            cmd = OpenFollowUp(
                case_id, visit_id, measure, category, owner_ref, due_date, detail.get("category")
            )
            return decide_open_followup(cmd, visit, fold(history, FollowUpState()), now)

        await self.writer.run(
            case_stream(case_id),
            decide,
            before=seal_category,
            after=tag_school(visit.school_id) if visit.school_id else None,
        )
        return case_id

    async def record_action(
        self, case_id: str, by: str, taken_on: date, text: str
    ) -> list[IntegrationEvent]:
        state = await self.state(case_id)
        if state.status == "new":
            raise UnknownCaseError(f"no follow-up case {case_id}", "case_id")
        action_id = str(self.writer.new_id())
        sealed: dict[str, Sealed] = {}

        async def seal_text(uow: UnitOfWork, _: datetime) -> None:
            sealed["text"] = await self.sealer.seal(uow, state.student_ref, text)

        def decide(history: list[IntegrationEvent], _: datetime) -> list[IntegrationEvent]:
            cmd = RecordFollowUpAction(case_id, action_id, by, taken_on, sealed["text"])
            return decide_followup(cmd, fold(history, FollowUpState()))

        return await self.writer.run(case_stream(case_id), decide, before=seal_text)

    async def close(
        self, case_id: str, outcome: FollowUpOutcome, by: str, closed_on: date
    ) -> list[IntegrationEvent]:
        cmd = CloseFollowUp(case_id, outcome, by, closed_on)
        return await self.writer.run(
            case_stream(case_id),
            lambda history, _: decide_followup(cmd, fold(history, FollowUpState())),
        )
