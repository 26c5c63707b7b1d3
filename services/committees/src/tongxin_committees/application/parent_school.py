"""Parent-school commands, all on the school's stream ``parent-school-<school_id>``: established
or updated (the curriculum sealed with the school's key), sessions (their title sealed), the
district's assessment, the family-education coordinator appointed and withdrawn. The roster's
staff (who is the principal, who leads) are read before the decision."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import asyncpg

from tongxin_committees.application.meetings import school_subject
from tongxin_committees.application.queries import S
from tongxin_committees.domain.parent_school import (
    Appoint,
    Assess,
    Establish,
    RecordSession,
    StaffFacts,
    decide_appointment,
    decide_assessment,
    decide_establish,
    decide_session,
    decide_withdrawal,
)
from tongxin_contracts import IntegrationEvent, Sealed
from tongxin_contracts.events.committees import parent_school_stream
from tongxin_platform.commands import Writer
from tongxin_platform.uow import UnitOfWork


async def staff_facts(pool: asyncpg.Pool, refs: list[str]) -> StaffFacts:
    """The roster's rows of the staff members ``refs`` names (others are not staff)."""
    rows = await pool.fetch(
        f"SELECT staff_ref, school_id, roles FROM {S}.staff WHERE staff_ref = ANY($1::text[])",
        sorted(set(refs)),
    )
    return StaffFacts({r["staff_ref"]: (r["school_id"], frozenset(r["roles"])) for r in rows})


class ParentSchools:
    def __init__(self, writer: Writer, pool: asyncpg.Pool) -> None:
        self.writer, self.pool = writer, pool

    async def establish(self, cmd: Establish, curriculum: str | None) -> list[IntegrationEvent]:
        facts = await staff_facts(self.pool, [cmd.head_ref, *cmd.management, *cmd.teachers])
        sealed: list[Sealed] = []

        async def seal(uow: UnitOfWork, _: datetime) -> None:
            sealed.clear()
            if curriculum:
                sealed.append(
                    await uow.keys.seal(school_subject(cmd.school_id), {"text": curriculum})
                )

        def decide(history: list[IntegrationEvent], now: datetime) -> list[IntegrationEvent]:
            full = replace(cmd, curriculum=sealed[0] if sealed else None)
            return decide_establish(full, history, facts, now)

        return await self.writer.run(parent_school_stream(cmd.school_id), decide, before=seal)

    async def record_session(self, cmd: RecordSession, title: str | None) -> list[IntegrationEvent]:
        sealed: list[Sealed] = []

        async def seal(uow: UnitOfWork, _: datetime) -> None:
            sealed.clear()
            if title:
                sealed.append(await uow.keys.seal(school_subject(cmd.school_id), {"text": title}))

        def decide(history: list[IntegrationEvent], now: datetime) -> list[IntegrationEvent]:
            full = replace(cmd, title=sealed[0] if sealed else None)
            return decide_session(full, history, now)

        return await self.writer.run(parent_school_stream(cmd.school_id), decide, before=seal)

    async def assess(self, cmd: Assess) -> list[IntegrationEvent]:
        return await self.writer.run(
            parent_school_stream(cmd.school_id),
            lambda history, now: decide_assessment(cmd, history, now),
        )

    async def appoint(self, cmd: Appoint) -> list[IntegrationEvent]:
        facts = await staff_facts(self.pool, [cmd.staff_ref, cmd.led_by])
        return await self.writer.run(
            parent_school_stream(cmd.school_id),
            lambda history, now: decide_appointment(cmd, history, facts, now),
        )

    async def withdraw(self, district: str, school_id: str) -> list[IntegrationEvent]:
        return await self.writer.run(
            parent_school_stream(school_id),
            lambda history, now: decide_withdrawal(district, school_id, history, now),
        )
