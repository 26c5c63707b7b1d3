"""Plan commands: the monthly review of a listed student's plan (一生一策), sealed with the
student's key — emotional state, interventions and next step never travel in clear."""

from __future__ import annotations

from datetime import datetime

from tongxin_contracts import IntegrationEvent, Sealed
from tongxin_contracts.events.wellbeing import plan_stream
from tongxin_platform.commands import Writer
from tongxin_platform.uow import UnitOfWork
from tongxin_wellbeing.domain.plans import ReviewPlan, decide_review


class PlanCommands:
    def __init__(self, writer: Writer) -> None:
        self.writer = writer

    async def review(
        self,
        student_ref: str,
        month: str,
        reviewed_by: str,
        *,
        emotional_state: str,
        interventions: str,
        next_step: str,
    ) -> list[IntegrationEvent]:
        sealed: list[Sealed] = []

        async def seal(uow: UnitOfWork, _: datetime) -> None:
            sealed[:] = [
                await uow.keys.seal(
                    student_ref,
                    {
                        "emotional_state": emotional_state,
                        "interventions": interventions,
                        "next_step": next_step,
                    },
                )
            ]

        def decide(history: list[IntegrationEvent], now: datetime) -> list[IntegrationEvent]:
            cmd = ReviewPlan(student_ref, month, reviewed_by, sealed[0])
            return decide_review(cmd, history, now)

        return await self.writer.run(plan_stream(student_ref), decide, before=seal)
