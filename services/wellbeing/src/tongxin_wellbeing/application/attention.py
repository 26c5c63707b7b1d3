"""Attention-list commands: propose, sign off, remove — each decided on the student's attention
and plan streams together (``Writer.run_many``), the roster checked here (who holds which role
for the student's school and class), the proposer's words sealed with the student's key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from tongxin_contracts import IntegrationEvent, Sealed
from tongxin_contracts.events.wellbeing import ProposalSource, RemovalReason, SignOffRole
from tongxin_platform.commands import Writer
from tongxin_platform.uow import UnitOfWork
from tongxin_wellbeing.application import queries
from tongxin_wellbeing.domain.attention import (
    Propose,
    Remove,
    SignOff,
    Where,
    decide_proposal,
    decide_removal,
    decide_sign_off,
    streams_of,
)


def where_of(student: dict[str, Any]) -> Where:
    """Where a student row of the roster says they are enrolled."""
    return Where(student["district"], student["school_id"], student["class_id"])


async def holds_sign_off_role(
    pool: asyncpg.Pool, staff_ref: str, student: dict[str, Any], role: SignOffRole
) -> bool:
    """The roster's answer: does ``staff_ref`` hold ``role`` in the student's school — for the
    head teacher, of the student's class (the class's ``head_teacher_ref``, or the staff
    member's ``class_ids``)?"""
    if not await queries.holds_role(pool, staff_ref, student["school_id"], role.value):
        return False
    if role is not SignOffRole.head_teacher:
        return True
    found = await pool.fetchval(
        f"""SELECT 1 FROM {queries.W}.staff s
            LEFT JOIN {queries.W}.classes c ON c.class_id = $2
            WHERE s.staff_ref = $1 AND ($2 = ANY(s.class_ids) OR c.head_teacher_ref = $1)""",
        staff_ref,
        student["class_id"],
    )
    return found is not None


class AttentionCommands:
    def __init__(self, writer: Writer, pool: asyncpg.Pool) -> None:
        self.writer, self.pool = writer, pool

    def _id(self) -> str:
        return str(self.writer.new_id())

    async def propose(
        self, student: dict[str, Any], proposed_by: str, reason: str | None
    ) -> tuple[str, list[IntegrationEvent]]:
        """A member of staff proposes the student (refused while a proposal is open or the
        student is listed)."""
        ref, proposal_id = student["student_ref"], self._id()
        sealed: list[Sealed] = []

        async def seal(uow: UnitOfWork, _: datetime) -> None:
            sealed.clear()
            if reason:
                sealed.append(await uow.keys.seal(ref, {"reason": reason}))

        def decide(h: dict[str, list[IntegrationEvent]], now: datetime) -> list[IntegrationEvent]:
            cmd = Propose(
                ref,
                where_of(student),
                proposal_id,
                ProposalSource.staff,
                proposed_by,
                sealed[0] if sealed else None,
            )
            return decide_proposal(cmd, h, now)

        events = await self.writer.run_many(streams_of(ref), decide, before=seal)
        return proposal_id, events

    async def sign_off(
        self,
        student: dict[str, Any],
        proposal_id: str,
        role: SignOffRole,
        staff_ref: str,
        token_role: str,
    ) -> tuple[str, list[IntegrationEvent]]:
        """One sign-off; the third lists the student and opens their plan (its id returned)."""
        ref, plan_id = student["student_ref"], self._id()
        holds = await holds_sign_off_role(self.pool, staff_ref, student, role)
        cmd = SignOff(
            ref, where_of(student), proposal_id, role, staff_ref, token_role, holds, plan_id
        )
        events = await self.writer.run_many(
            streams_of(ref), lambda h, now: decide_sign_off(cmd, h, now)
        )
        return plan_id, events

    async def remove(
        self, student_ref: str, reason: RemovalReason, decided_by: str
    ) -> list[IntegrationEvent]:
        cmd = Remove(student_ref, reason, decided_by)
        return await self.writer.run_many(
            streams_of(student_ref), lambda h, now: decide_removal(cmd, h, now)
        )
