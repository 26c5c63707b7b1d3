"""A listed or proposed student moving (the registry's ``StudentTransferred`` and
``StudentLeft``): within the district, the plan is handed over to the receiving school
(``CarePlanHandedOver``) and the listing follows the student — the receiving school's team takes
it over; an open proposal, signed by the old school's staff, is withdrawn. To another district
or out of the system: removed (``transferred`` / ``left_school``, decided by
``wellbeing-service``) and the plan closed with the same reason. Rules: ``domain.attention``."""

from __future__ import annotations

from datetime import datetime

from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.registry import StudentLeft, StudentTransferred
from tongxin_platform.reaction import Reacting, Reaction
from tongxin_wellbeing.domain.attention import Move, Where, decide_move, streams_of

TRANSFERS = Reaction(
    "transfers",
    group="wellbeing.transfers",
    sources=("registry",),
    description="Hands an open plan over to the receiving school, or closes it and removes the "
    "student from the attention list when they leave.",
)


async def _move(ctx: Reacting, cmd: Move) -> None:
    def decide(h: dict[str, list[IntegrationEvent]], now: datetime) -> list[IntegrationEvent]:
        return decide_move(cmd, h, now)

    await ctx.writer.run_many(streams_of(cmd.student_ref), decide)


@TRANSFERS.on(StudentTransferred)
async def on_transfer(e: StudentTransferred, ctx: Reacting) -> None:
    await _move(ctx, Move(e.student_ref, Where(e.district, e.school_id, e.class_id)))


@TRANSFERS.on(StudentLeft)
async def on_left(e: StudentLeft, ctx: Reacting) -> None:
    await _move(ctx, Move(e.student_ref, None))
