"""When the registry erases a student (``SubjectErased``), the safety service deletes its own key
for the student: everything it sealed with it — why a risk level changed, a carer's contact
notes, who the parents entrusted the child to, a concern's detail, an incident's account —
becomes noise (crypto-shredding), while the events' hash chains still verify. A reaction, not
part of the read model: rebuilding the read model from offset 0 must never delete a key again."""

from __future__ import annotations

from tongxin_contracts.events.registry import SubjectErased
from tongxin_platform.reaction import Reacting, Reaction

SHREDDING = Reaction(
    "shredding",
    group="safety.shredding",
    sources=("registry",),
    description="Deletes the safety service's key for an erased student (crypto-shredding).",
)


@SHREDDING.on(SubjectErased)
async def shred(e: SubjectErased, ctx: Reacting) -> None:
    await ctx.uow.keys.erase(e.student_ref)  # idempotent: a redelivery finds no key
