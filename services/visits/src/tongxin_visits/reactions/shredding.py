"""When the registry erases a student (``SubjectErased``), this service deletes its own key for
the student's free text — visit notes, parent suggestions, follow-up actions — and records that
it did (``StudentTextShredded``). A reaction, not part of the board: rebuilding the board from
offset 0 must never delete a key again (one made later, for instance)."""

from __future__ import annotations

from datetime import datetime

from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.registry import SubjectErased
from tongxin_contracts.events.visits import student_text_stream
from tongxin_platform.reaction import Reacting, Reaction
from tongxin_visits.domain.deciders import decide_shredding
from tongxin_visits.domain.model import ShredStudentText

SHREDDING = Reaction(
    "shredding",
    group="visits.shredding",
    sources=("registry",),
    description="Deletes the visits service's key for an erased student's text (crypto-shredding).",
)


@SHREDDING.on(SubjectErased)
async def shred(e: SubjectErased, ctx: Reacting) -> None:
    existed = await ctx.uow.keys.erase(e.student_ref)
    cmd = ShredStudentText(e.district, e.student_ref, ctx.message.id, existed)

    def decide(history: list[IntegrationEvent], _: datetime) -> list[IntegrationEvent]:
        return decide_shredding(cmd, history)

    await ctx.writer.run(student_text_stream(e.student_ref), decide)
