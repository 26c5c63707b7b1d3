"""A guardian whose last child leaves the school leaves its committees at the end of the term
(issue 12, deliverable 2): the registry's ``StudentLeft`` → for every guardian of the child,
``CommitteeCommands.end_memberships(guardian_ref, district, school_id, on)``; a
``StudentTransferred`` to another school → the same for the school the child left
(``from_school_id``). A move within the school changes nothing.

The guardians come from the committees read model's row of the student (the roster projection
keeps ``guardian_refs``; no event of the registry but the enrolment names them). Order matters:
``end_memberships`` decides from the roster read model whether the guardian still has a child
in the committee's scope, and the read model is another consumer group of the same topic — it
may not have applied this very ``StudentLeft`` yet, and would still count the child. So the
reaction first waits until the read model's group has read past the trigger (the student's
events are on one partition: its stored offset past the trigger's means the row says the child
left, or moved); if it has not within ``READ_MODEL_WAIT`` seconds, a ``TimeoutError`` (a
transient error for the consumer) rewinds the batch and the trigger is tried again later,
never dead-lettered for a slow read model.

Each trigger is handled once (the kit claims its id); ``end_memberships`` is itself idempotent
(a seat already ending appends nothing), so a redelivered or replayed trigger changes nothing.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date
from typing import cast

import asyncpg

from tongxin_committees.application.committees import CommitteeCommands
from tongxin_committees.domain.calendar import china_date
from tongxin_committees.projections.read_model import COMMITTEES
from tongxin_contracts.events.registry import StudentLeft, StudentTransferred
from tongxin_platform.reaction import Reacting, Reaction

MEMBERSHIPS = Reaction(
    "memberships",
    group="committees.memberships",
    sources=("registry",),
    description="Ends a guardian's committee seats at the end of the term when their last child "
    "leaves the school (left the district's schools, or moved to another school), once.",
)

READ_MODEL_WAIT = 20.0  # seconds the reaction waits for the roster read model per try
S = "committees"


def _conn(ctx: Reacting) -> asyncpg.Connection:
    """The consumer's connection (its transaction): the reaction reads the read model there."""
    conn = getattr(ctx.uow, "conn", None)
    if conn is None:
        raise TypeError("the memberships reaction reads the roster read model in PostgreSQL")
    return cast(asyncpg.Connection, conn)


async def _roster_read_past(ctx: Reacting) -> None:
    """Wait until the read model's group stored an offset past the trigger on its partition."""
    conn, m = _conn(ctx), ctx.message
    deadline = time.monotonic() + READ_MODEL_WAIT
    while True:
        stored = await conn.fetchval(
            "SELECT next_offset FROM consumer_offsets"
            " WHERE group_id = $1 AND topic = $2 AND partition = $3",
            COMMITTEES.group,
            m.topic,
            m.partition,
        )
        if stored is not None and stored > m.offset:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"the roster read model has not read {m.topic}[{m.partition}]@{m.offset} yet"
            )
        await asyncio.sleep(0.1)


async def _guardians(ctx: Reacting, student_ref: str) -> list[str]:
    refs = await _conn(ctx).fetchval(
        f"SELECT guardian_refs FROM {S}.students WHERE student_ref = $1", student_ref
    )
    return sorted(set(refs or ()))


def _commands(ctx: Reacting) -> CommitteeCommands:
    # The commands read the read model through the consumer's connection (an asyncpg
    # connection answers the pool's fetch calls), and append through the joined writer.
    return CommitteeCommands(ctx.writer, cast(asyncpg.Pool, _conn(ctx)))


async def _end(
    ctx: Reacting, student_ref: str, district: str, school_id: str, *, left: bool
) -> None:
    await _roster_read_past(ctx)
    on: date = china_date(ctx.message.envelope.time)
    commands = _commands(ctx)
    for guardian_ref in await _guardians(ctx, student_ref):
        # A child who left the district's schools counts nowhere, whatever the row says; a child
        # who moved counts at the new school (the district committee keeps a guardian whose
        # child moved within the district): the row, read past the trigger, says where.
        await commands.end_memberships(
            guardian_ref, district, school_id, on, except_student=student_ref if left else None
        )


@MEMBERSHIPS.on(StudentLeft)
async def on_left(e: StudentLeft, ctx: Reacting) -> None:
    await _end(ctx, e.student_ref, e.district, e.school_id, left=True)


@MEMBERSHIPS.on(StudentTransferred)
async def on_transferred(e: StudentTransferred, ctx: Reacting) -> None:
    if e.from_school_id == e.school_id:
        return  # another class of the same school: the guardian still has a child there
    district = await _conn(ctx).fetchval(
        f"SELECT district FROM {S}.schools WHERE school_id = $1", e.from_school_id
    )
    await _end(ctx, e.student_ref, district or e.district, e.from_school_id, left=False)
