"""Training and class-session commands (seed 004): each on the school's year stream
(``school-wellbeing-<school>-<year>``), checked against the roster as the read model has it."""

from __future__ import annotations

from datetime import date

import asyncpg

from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.wellbeing import (
    ClassSessionKind,
    TrainingTopic,
    school_wellbeing_stream,
)
from tongxin_platform.commands import Writer
from tongxin_wellbeing.application.queries import W
from tongxin_wellbeing.domain.training import (
    HoldClassSession,
    RecordTraining,
    decide_class_session,
    decide_training,
)


class TrainingCommands:
    def __init__(self, writer: Writer, pool: asyncpg.Pool) -> None:
        self.writer, self.pool = writer, pool

    def new_id(self) -> str:
        return str(self.writer.new_id())

    async def _staff(self, school_id: str) -> frozenset[str]:
        rows = await self.pool.fetch(
            f"SELECT staff_ref FROM {W}.staff WHERE school_id = $1", school_id
        )
        return frozenset(r["staff_ref"] for r in rows)

    async def _classes(self, school_id: str) -> frozenset[str]:
        rows = await self.pool.fetch(
            f"SELECT class_id FROM {W}.classes WHERE school_id = $1", school_id
        )
        return frozenset(r["class_id"] for r in rows)

    async def record(
        self,
        *,
        district: str,
        school_id: str,
        school_year: str,
        training_id: str,
        topic: TrainingTopic,
        held_on: date,
        staff_refs: tuple[str, ...],
        parent_count: int,
    ) -> list[IntegrationEvent]:
        cmd = RecordTraining(
            district,
            school_id,
            school_year,
            training_id,
            topic,
            held_on,
            staff_refs,
            parent_count,
            await self._staff(school_id),
        )
        return await self.writer.run(
            school_wellbeing_stream(school_id, school_year),
            lambda history, now: decide_training(cmd, history, now),
        )

    async def hold_class_session(
        self,
        *,
        district: str,
        school_id: str,
        school_year: str,
        session_id: str,
        class_id: str,
        kind: ClassSessionKind,
        held_on: date,
    ) -> list[IntegrationEvent]:
        cmd = HoldClassSession(
            district,
            school_id,
            school_year,
            session_id,
            class_id,
            kind,
            held_on,
            await self._classes(school_id),
        )
        return await self.writer.run(
            school_wellbeing_stream(school_id, school_year),
            lambda history, now: decide_class_session(cmd, history, now),
        )
