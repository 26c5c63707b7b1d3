"""Meeting commands: a joint meeting, parent meeting, open day or reception day recorded on its
own stream ``meeting-<meeting_id>`` (minutes sealed with the school's key, subject
``school-<school_id>``), decided on the committee streams it names (each must have been formed
for this school) and the roster's classes and leaders of the school."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from tongxin_committees.application import queries
from tongxin_committees.application.queries import S
from tongxin_committees.domain.meetings import (
    Details,
    Recorder,
    RecordMeeting,
    SchoolFacts,
    committee_streams,
    decide_meeting,
)
from tongxin_contracts import IntegrationEvent, Sealed
from tongxin_contracts.events.committees import meeting_stream
from tongxin_platform.commands import Writer
from tongxin_platform.uow import UnitOfWork

LEADERS = ("principal", "middle_leader")


def school_subject(school_id: str) -> str:
    """The subject whose key seals what a school's people write."""
    return f"school-{school_id}"


@dataclass(frozen=True, slots=True)
class Meeting:
    district: str
    school_id: str
    held_on: date
    recorder: Recorder
    details: Details
    minutes: str | None = None  # sealed before it enters an event


async def school_facts(pool: asyncpg.Pool, school_id: str) -> SchoolFacts:
    classes = {c["class_id"]: c["grade"] for c in await queries.school_classes(pool, school_id)}
    rows = await pool.fetch(
        f"SELECT staff_ref FROM {S}.staff WHERE school_id = $1 AND roles && $2::text[]",
        school_id,
        list(LEADERS),
    )
    return SchoolFacts(classes, frozenset(r["staff_ref"] for r in rows))


class Meetings:
    def __init__(self, writer: Writer, pool: asyncpg.Pool) -> None:
        self.writer, self.pool = writer, pool

    async def record(self, m: Meeting) -> list[IntegrationEvent]:
        meeting_id = str(self.writer.new_id())
        facts = await school_facts(self.pool, m.school_id)
        sealed: list[Sealed] = []

        async def seal(uow: UnitOfWork, _: datetime) -> None:
            sealed.clear()
            if m.minutes:
                sealed.append(await uow.keys.seal(school_subject(m.school_id), {"text": m.minutes}))

        def decide(
            histories: dict[str, list[IntegrationEvent]], now: datetime
        ) -> list[IntegrationEvent]:
            cmd = RecordMeeting(
                meeting_id,
                m.district,
                m.school_id,
                m.held_on,
                m.recorder,
                m.details,
                sealed[0] if sealed else None,
            )
            return decide_meeting(cmd, histories, facts, now)

        streams = [meeting_stream(meeting_id), *committee_streams(m.details)]
        return await self.writer.run_many(streams, decide, before=seal)
