"""Proposals for the attention list from what other parts of the system saw: a home visit whose
findings refer the student to wellbeing (visits' ``VisitCompleted`` with ``referrals``
including ``wellbeing``), a mental-health follow-up case (visits' ``FollowUpOpened`` with the
measure ``mental_health_counselling``), and this service's own ``ScreeningFlagged``.

``AttentionListProposed`` once per student while a proposal is open or the student is listed,
however many visits, cases and screenings say so; each trigger is handled once (the kit's
reaction claims its id), so a redelivery changes nothing either."""

from __future__ import annotations

from datetime import datetime

from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.visits import FollowUpOpened, Measure, Referral, VisitCompleted
from tongxin_contracts.events.wellbeing import ProposalSource, ScreeningFlagged
from tongxin_platform.reaction import Reacting, Reaction
from tongxin_wellbeing.domain.attention import Propose, Where, decide_proposal_once, streams_of

PROPOSALS = Reaction(
    "proposals",
    group="wellbeing.proposals",
    sources=("visits", "wellbeing"),
    description="Proposes a student for the attention list on a visit's wellbeing referral, a "
    "mental-health follow-up case or a flagged screening (once per open proposal or listing).",
)


async def _propose(ctx: Reacting, student_ref: str, where: Where, source: ProposalSource) -> None:
    cmd = Propose(student_ref, where, str(ctx.writer.new_id()), source)

    def decide(h: dict[str, list[IntegrationEvent]], now: datetime) -> list[IntegrationEvent]:
        return decide_proposal_once(cmd, h, now)

    await ctx.writer.run_many(streams_of(student_ref), decide)


@PROPOSALS.on(VisitCompleted)
async def on_visit(e: VisitCompleted, ctx: Reacting) -> None:
    if Referral.wellbeing in e.referrals:
        where = Where(e.district, e.school_id, e.class_id)
        await _propose(ctx, e.student_ref, where, ProposalSource.visit)


@PROPOSALS.on(FollowUpOpened)
async def on_case(e: FollowUpOpened, ctx: Reacting) -> None:
    if e.measure is Measure.mental_health_counselling:
        where = Where(e.district, e.school_id, e.class_id)
        await _propose(ctx, e.student_ref, where, ProposalSource.followup)


@PROPOSALS.on(ScreeningFlagged)
async def on_flag(e: ScreeningFlagged, ctx: Reacting) -> None:
    await _propose(ctx, e.student_ref, Where(e.district, e.school_id), ProposalSource.screening)
