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

The decision is ``CommitteeCommands.end_memberships``'s (application/committees.py), made here
through the domain's ``decide_ending`` with the same two reads of
the read model: the import-linter's layers keep reactions apart from the application and the
projections (``application | (projections) | (reactions)``), as every service's reactions are.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime
from typing import cast

import asyncpg

from tongxin_committees.domain.calendar import china_date
from tongxin_committees.domain.committees import ChildPlace, decide_ending
from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.committees import committee_stream
from tongxin_contracts.events.registry import StudentLeft, StudentTransferred
from tongxin_platform.reaction import Reacting, Reaction

MEMBERSHIPS = Reaction(
    "memberships",
    group="committees.memberships",
    sources=("registry",),
    description="Ends a guardian's committee seats at the end of the term when their last child "
    "leaves the committee's scope (left the district's schools, or moved to another school), "
    "once.",
)

READ_MODEL_GROUP = "committees.read_model"  # the roster's projection (projections/read_model.py)
READ_MODEL_WAIT = 20.0  # seconds the reaction waits for the roster read model per try
S = "committees"  # the read model's schema


def _conn(ctx: Reacting) -> asyncpg.Connection:
    """The consumer's connection (its transaction): the reaction reads the read model there."""
    conn = getattr(ctx.uow, "conn", None)  # a pool's connection (a proxy of a Connection)
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
            READ_MODEL_GROUP,
            m.topic,
            m.partition,
        )
        if stored is not None and stored > m.offset:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(  # an OSError: transient, the batch is tried again
                f"the roster read model has not read {m.topic}[{m.partition}]@{m.offset} yet"
            )
        await asyncio.sleep(0.1)


async def _guardians(conn: asyncpg.Connection, student_ref: str) -> list[str]:
    refs = await conn.fetchval(
        f"SELECT guardian_refs FROM {S}.students WHERE student_ref = $1", student_ref
    )
    return sorted(set(refs or ()))


async def _seats(
    conn: asyncpg.Connection, guardian_ref: str, district: str, school_id: str
) -> list[str]:
    """The committees of the school (and the district committees of the district) where the
    guardian holds a seat not resigned or removed."""
    rows = await conn.fetch(
        f"""SELECT m.committee_id FROM {S}.committee_members m
              JOIN {S}.committees c USING (committee_id)
             WHERE m.guardian_ref = $1 AND m.left_on IS NULL
               AND ((c.school_id = $3) OR (c.school_id IS NULL AND c.district = $2))
             ORDER BY m.committee_id""",
        guardian_ref,
        district,
        school_id,
    )
    return [r["committee_id"] for r in rows]


async def _places(
    conn: asyncpg.Connection, guardian_ref: str, except_student: str | None
) -> list[ChildPlace]:
    """Where the guardian's children are enrolled now (``except_student``: one who has left)."""
    rows = await conn.fetch(
        f"""SELECT DISTINCT s.district, s.school_id, s.class_id, c.grade
              FROM {S}.students s JOIN {S}.classes c USING (class_id)
             WHERE s.enrolled AND $1 = ANY(s.guardian_refs)
               AND s.student_ref IS DISTINCT FROM $2""",
        guardian_ref,
        except_student,
    )
    return [ChildPlace(r["district"], r["school_id"], r["class_id"], r["grade"]) for r in rows]


async def _end(
    ctx: Reacting, student_ref: str, district: str, school_id: str, *, left: bool
) -> None:
    await _roster_read_past(ctx)
    conn = _conn(ctx)
    on: date = china_date(ctx.message.envelope.time)
    for guardian_ref in await _guardians(conn, student_ref):
        committees = await _seats(conn, guardian_ref, district, school_id)
        if not committees:
            continue
        # A child who left the district's schools counts nowhere, whatever the row says; a child
        # who moved counts at the new school (a district committee keeps a guardian whose child
        # moved within the district): the row, read past the trigger, says where.
        places = await _places(conn, guardian_ref, student_ref if left else None)
        for committee_id in committees:

            def decide(
                history: list[IntegrationEvent],
                _: datetime,
                guardian_ref: str = guardian_ref,
                places: list[ChildPlace] = places,
            ) -> list[IntegrationEvent]:
                return decide_ending(history, guardian_ref=guardian_ref, on=on, places=places)

            await ctx.writer.run(committee_stream(committee_id), decide)


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
