"""A targeted home visit (重点家访) for a student just listed (``StudentAddedToAttentionList``) or
flagged at high risk (``ScreeningFlagged`` with ``risk`` high): ``TargetedVisitRequested`` once
per student and school year (its stream is ``visit-request-<student_ref>-<school_year>``). The
request carries no reason; the visits service shows it to the head teacher."""

from __future__ import annotations

from datetime import datetime

from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.wellbeing import (
    RiskFlag,
    ScreeningFlagged,
    StudentAddedToAttentionList,
    visit_request_stream,
)
from tongxin_platform.reaction import Reacting, Reaction
from tongxin_wellbeing.domain.attention import RequestVisit, Where, decide_targeted_visit
from tongxin_wellbeing.domain.calendar import china_date, school_year_of

TARGETED_VISITS = Reaction(
    "targeted_visits",
    group="wellbeing.targeted_visits",
    sources=("wellbeing",),
    description="Asks the head teacher for a targeted home visit of a listed or high-risk "
    "student, once per school year (no reason given).",
)


async def _request(ctx: Reacting, student_ref: str, school_year: str, where: Where) -> None:
    cmd = RequestVisit(student_ref, school_year, where, str(ctx.writer.new_id()))

    def decide(history: list[IntegrationEvent], now: datetime) -> list[IntegrationEvent]:
        return decide_targeted_visit(cmd, history, now)

    await ctx.writer.run(visit_request_stream(student_ref, school_year), decide)


@TARGETED_VISITS.on(StudentAddedToAttentionList)
async def on_listed(e: StudentAddedToAttentionList, ctx: Reacting) -> None:
    year = school_year_of(china_date(ctx.writer.clock()))
    await _request(ctx, e.student_ref, year, Where(e.district, e.school_id, e.class_id))


@TARGETED_VISITS.on(ScreeningFlagged)
async def on_flag(e: ScreeningFlagged, ctx: Reacting) -> None:
    if e.risk is RiskFlag.high:
        await _request(ctx, e.student_ref, e.school_year, Where(e.district, e.school_id))
