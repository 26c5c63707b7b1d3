"""Care file commands (一人一档): load the child's file → decide → append, on the stream
``care-file-<student_ref>``.

What people write (why a risk level changed, a contact's note, who the parents entrusted the
child to, a concern's detail, an assessment's note) is sealed with the child's key in the
command's unit of work, before the decision: it never travels in clear.

The reactions call ``open_file``, ``raise_concern``, ``hand_over`` and ``close``: each is
idempotent and answers no events when there is nothing to do (no open file, done already), so
a redelivered trigger changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

import asyncpg

from tongxin_contracts import IntegrationEvent, Sealed
from tongxin_contracts.events.registry import CareGroup
from tongxin_contracts.events.safety import (
    CarerKind,
    ConcernOutcome,
    ConcernSource,
    ContactMode,
    DeclineReason,
    EntrustedRelation,
    FileClosedReason,
    FileSource,
    RiskLevel,
    care_file_stream,
)
from tongxin_platform.commands import Writer
from tongxin_platform.uow import UnitOfWork
from tongxin_safety.application import queries
from tongxin_safety.config import SafetySettings
from tongxin_safety.domain.errors import UnknownRecordError
from tongxin_safety.domain.files import (
    Actor,
    AssessConcern,
    Child,
    CloseFile,
    FileCommand,
    HandOver,
    LogContact,
    OpenFile,
    PairCarer,
    RaiseConcern,
    RecordNotice,
    RecordParentContact,
    ReleasePairing,
    RespondToPairing,
    SetRisk,
    concern_id_for,
    decide_file,
    fold,
)


class CareFiles:
    def __init__(self, writer: Writer, pool: asyncpg.Pool, settings: SafetySettings) -> None:
        self.writer, self.pool, self.settings = writer, pool, settings

    async def _run(
        self,
        student_ref: str,
        cmd: FileCommand | None = None,
        *,
        seal: dict[str, Any] | None = None,
        build: Callable[[dict[str, Sealed | None]], FileCommand] | None = None,
    ) -> list[IntegrationEvent]:
        """Run ``cmd`` on the child's file; with ``seal`` ({name: data}), each text is sealed
        with the child's key first and ``build(sealed)`` makes the command."""
        sealed: dict[str, Sealed | None] = {}

        async def before(uow: UnitOfWork, _: datetime) -> None:
            for name, data in (seal or {}).items():
                sealed[name] = await uow.keys.seal(student_ref, data) if data else None

        def decide(history: list[IntegrationEvent], now: datetime) -> list[IntegrationEvent]:
            command = build(sealed) if build is not None else cmd
            assert command is not None
            return decide_file(student_ref, command, fold(history), now)

        return await self.writer.run(
            care_file_stream(student_ref), decide, before=before if seal else None
        )

    # --- what the reactions call (idempotent; no events when nothing changes) ------------------

    async def open_file(
        self,
        student: Child,
        source: FileSource,
        care_groups: Iterable[CareGroup],
        opened_on: date | None,
        opened_by: str | None = None,
    ) -> list[IntegrationEvent]:
        """Open the child's file, once: a second open appends nothing, or ``CareGroupsChanged``
        when the roster's groups differ; a closed file opens again as a new file."""
        cmd = OpenFile(student, source, tuple(care_groups), opened_on, opened_by)
        return await self._run(student.student_ref, cmd)

    async def raise_concern(
        self,
        student: Child | str,
        source: ConcernSource,
        visit_id: str | None,
        concern_key: str,
        detail: str | None = None,
        raised_by: str | None = None,
        raised_on: date | None = None,
    ) -> list[IntegrationEvent]:
        """A safety concern on the child's open file, once per ``concern_key`` (a visit's id);
        nothing without an open file."""
        ref = student if isinstance(student, str) else student.student_ref
        concern_id = concern_id_for(ref, concern_key)
        return await self._run(
            ref,
            seal={"detail": {"text": detail} if detail else None},
            build=lambda s: RaiseConcern(
                concern_id, source, visit_id, raised_by, s.get("detail"), raised_on
            ),
        )

    async def hand_over(
        self,
        student_ref: str,
        to_school_id: str,
        to_district: str,
        to_class_id: str | None,
        on: date,
    ) -> list[IntegrationEvent]:
        """The child moved school: the file follows (the school carer released; every carer
        when the district changes). Nothing without an open file or for the same school."""
        return await self._run(student_ref, HandOver(to_school_id, to_district, to_class_id, on))

    async def close(
        self, student_ref: str, reason: FileClosedReason, on: date
    ) -> list[IntegrationEvent]:
        """Close the file with the reason, its open pairings released; nothing if not open."""
        return await self._run(student_ref, CloseFile(reason, on))

    # --- the routes' commands -----------------------------------------------------------------

    async def pair(
        self, student_ref: str, kind: CarerKind, carer_ref: str, org: str, paired_by: str
    ) -> tuple[str, list[IntegrationEvent]]:
        """Ask a carer to pair with the child; a school carer must be staff of its school."""
        pairing_id = self.writer.new_id().hex
        carer_school = None
        if kind is CarerKind.school:
            staff = await queries.staff_member(self.pool, carer_ref)
            carer_school = staff["school_id"] if staff else None
        cmd = PairCarer(pairing_id, kind, carer_ref, org, paired_by, carer_school)
        return pairing_id, await self._run(student_ref, cmd)

    async def respond(
        self,
        student_ref: str,
        pairing_id: str,
        actor: Actor,
        accept: bool,
        reason: DeclineReason | None = None,
    ) -> list[IntegrationEvent]:
        return await self._run(student_ref, RespondToPairing(pairing_id, actor, accept, reason))

    async def release(self, student_ref: str, pairing_id: str) -> list[IntegrationEvent]:
        return await self._run(student_ref, ReleasePairing(pairing_id))

    async def set_risk(
        self, student_ref: str, level: RiskLevel, reason: str | None, set_by: str
    ) -> list[IntegrationEvent]:
        return await self._run(
            student_ref,
            seal={"reason": {"text": reason} if reason else None},
            build=lambda s: SetRisk(level, set_by, s.get("reason")),
        )

    async def log_contact(
        self,
        student_ref: str,
        pairing_id: str,
        actor: Actor,
        contact_on: date,
        mode: ContactMode,
        note: str | None = None,
    ) -> list[IntegrationEvent]:
        return await self._run(
            student_ref,
            seal={"note": {"text": note} if note else None},
            build=lambda s: LogContact(pairing_id, actor, contact_on, mode, s.get("note")),
        )

    async def record_notice(
        self,
        student_ref: str,
        relation: EntrustedRelation,
        notice_on: date,
        entrusted_name: str,
        entrusted_contact: str,
    ) -> list[IntegrationEvent]:
        entrusted = {"name": entrusted_name, "contact": entrusted_contact}

        def build(s: dict[str, Sealed | None]) -> RecordNotice:
            sealed = s["entrusted"]
            assert sealed is not None
            return RecordNotice(relation, notice_on, sealed)

        return await self._run(student_ref, seal={"entrusted": entrusted}, build=build)

    async def record_parent_contact(
        self, student_ref: str, contact_on: date, mode: ContactMode
    ) -> list[IntegrationEvent]:
        return await self._run(student_ref, RecordParentContact(contact_on, mode))

    async def raise_by_person(
        self, student_ref: str, raised_by: str, detail: str | None
    ) -> tuple[str, list[IntegrationEvent]]:
        """A concern raised through the API by a member of staff or a carer (a fresh key)."""
        key = self.writer.new_id().hex
        concern_id = concern_id_for(student_ref, key)
        events = await self._run(
            student_ref,
            seal={"detail": {"text": detail} if detail else None},
            build=lambda s: RaiseConcern(
                concern_id, ConcernSource.staff, None, raised_by, s.get("detail")
            ),
        )
        if not events:  # the reactions' quiet no-op is a refusal for a person
            raise UnknownRecordError(
                "the child has no open care file", field="student_ref", rule="care_file_open"
            )
        return concern_id, events

    async def assess_concern(
        self,
        student_ref: str,
        concern_id: str,
        outcome: ConcernOutcome,
        assessed_by: str,
        note: str | None = None,
    ) -> list[IntegrationEvent]:
        return await self._run(
            student_ref,
            seal={"note": {"text": note} if note else None},
            build=lambda s: AssessConcern(concern_id, outcome, assessed_by, s.get("note")),
        )

    async def open_by_hand(
        self, child: Child, care_groups: Iterable[CareGroup], opened_by: str
    ) -> list[IntegrationEvent]:
        return await self.open_file(child, FileSource.by_hand, care_groups, None, opened_by)
