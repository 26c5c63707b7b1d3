"""Inspection commands: an inspection recorded with its hazards (each hazard's detail sealed with
the school's key, subject ``school-<school_id>``) and, for a re-inspection, the hazards it found
rectified — ``HazardRectified`` on each hazard's own inspection stream — in one unit of work
across the streams (``Writer.run_many``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.safety import (
    HazardOwner,
    HazardSeverity,
    InspectionKind,
    Inspector,
    inspection_stream,
)
from tongxin_platform.auth import Role
from tongxin_platform.commands import Writer
from tongxin_platform.uow import UnitOfWork
from tongxin_safety.application.policy import LEADERS
from tongxin_safety.domain.inspections import (
    NewHazard,
    Recorder,
    RecordInspection,
    decide_inspection,
    fold,
    inspector_for,
    readable_kinds,
)

MAX_CHAIN = 64  # re-inspections of re-inspections followed back at most this far


def recorder_of(role: Role) -> Recorder | None:
    """Who the caller records (and reads) inspections as; ``None``: a reader only."""
    if role in LEADERS:
        return Recorder.school
    return {
        Role.bureau_officer: Recorder.bureau,
        Role.police: Recorder.police,
        Role.market_regulation: Recorder.market_regulation,
    }.get(role)


def school_subject(school_id: str) -> str:
    """The subject whose key seals what is written about a school's premises (a hazard)."""
    return f"school-{school_id}"


@dataclass(frozen=True, slots=True)
class HazardFound:
    severity: HazardSeverity
    owner: HazardOwner
    rectify_by: date
    detail: str | None = None  # what and where: sealed before it enters an event


@dataclass(frozen=True, slots=True)
class Inspection:
    """What the recorder tells: the kind, who inspected (named, or the recorder's own agency),
    the day, the hazards found and, for a re-inspection, the hazards found rectified."""

    district: str
    school_id: str
    kind: InspectionKind
    recorder: Recorder
    inspected_on: date
    inspected_by: str
    inspector: Inspector | None = None
    hazards: tuple[HazardFound, ...] = ()
    reinspection_of: str | None = None
    rectified: tuple[str, ...] = ()


class Inspections:
    def __init__(self, writer: Writer) -> None:
        self.writer = writer

    async def _chain(self, first: str) -> list[str]:
        """The streams of ``first`` and of the inspections it re-inspected in turn (each one's
        ``InspectionCompleted`` never changes: the links may be read before the command); an
        unknown ``first`` is still loaded, for the decider to refuse."""
        streams: list[str] = []
        current: str | None = first
        while current is not None and len(streams) < MAX_CHAIN:
            stream = inspection_stream(current)
            if stream in streams:
                break
            streams.append(stream)
            completed = fold(await self.writer.history(stream)).completed
            current = completed.reinspection_of if completed else None
        return streams

    async def record(self, i: Inspection) -> list[IntegrationEvent]:
        """Record: ``InspectionCompleted`` first, then a ``HazardReported`` per hazard (in the
        order given), then a ``HazardRectified`` per hazard found rectified."""
        inspection_id = str(self.writer.new_id())
        hazard_ids = [str(self.writer.new_id()) for _ in i.hazards]
        inspector = inspector_for(i.recorder, i.inspector)
        chain = await self._chain(i.reinspection_of) if i.reinspection_of else []
        sealed: dict[int, Any] = {}

        async def seal(uow: UnitOfWork, _: datetime) -> None:
            for n, h in enumerate(i.hazards):
                if h.detail:
                    sealed[n] = await uow.keys.seal(school_subject(i.school_id), {"text": h.detail})

        def decide(
            histories: dict[str, list[IntegrationEvent]], now: datetime
        ) -> list[IntegrationEvent]:
            cmd = RecordInspection(
                inspection_id=inspection_id,
                district=i.district,
                school_id=i.school_id,
                kind=i.kind,
                inspector=inspector,
                inspected_on=i.inspected_on,
                inspected_by=i.inspected_by,
                hazards=tuple(
                    NewHazard(hid, h.severity, h.owner, h.rectify_by, sealed.get(n))
                    for n, (hid, h) in enumerate(zip(hazard_ids, i.hazards, strict=True))
                ),
                reinspection_of=i.reinspection_of,
                rectified=i.rectified,
                readable=readable_kinds(i.recorder),
            )
            return decide_inspection(cmd, histories, now)

        return await self.writer.run_many(
            [inspection_stream(inspection_id), *chain], decide, before=seal
        )
