"""Incident commands: the school records an incident, files the mandatory report (强制报告),
and the deadline escalates an incident not reported in time; referrals to the special education
guidance committee and its decision.

An incident's unit of work holds everything it causes: ``IncidentReported`` (the account sealed
with the first child's key, or the school's when no child is named) and, for a category that
needs the mandatory report, the deadline row (``incident.report``, keyed by the incident: a row,
not a timer, so it survives restarts of any process). Filing the report cancels the row in its
own unit of work; the row's handler, run by the worker with its injected clock, appends
``MandatoryReportEscalated`` — once: the decider refuses a second escalation and one after the
report, and the kit fires each row once. The alert to the district's robots is the reaction
``reactions/alerts.py`` (on the escalation event).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.safety import (
    CommitteeMember,
    Department,
    GuidanceDecision,
    IncidentCategory,
    IncidentReported,
    Misbehaviour,
    guidance_stream,
    incident_stream,
)
from tongxin_platform.commands import Writer
from tongxin_platform.deadlines import Deadline, Due, Firing
from tongxin_platform.uow import UnitOfWork
from tongxin_safety.config import SafetySettings
from tongxin_safety.domain import guidance
from tongxin_safety.domain.incidents import (
    EscalateReport,
    FileReport,
    IncidentCommand,
    ReportIncident,
    ReportSettledError,
    decide_incident,
    fold,
)

log = logging.getLogger(__name__)

INCIDENT_REPORT = "incident.report"  # the deadline's kind; its key is the incident id


def school_subject(school_id: str) -> str:
    """The key subject of a school's own records (an incident naming no child)."""
    return f"school-{school_id}"


@dataclass(frozen=True, slots=True)
class Incident:
    """What the school records: where, what, who was involved, and its account."""

    district: str
    school_id: str
    category: IncidentCategory
    student_refs: tuple[str, ...]
    occurred_at: datetime
    recorded_by: str
    account: str | None = None


class Incidents:
    def __init__(self, writer: Writer, settings: SafetySettings) -> None:
        self.writer, self.settings = writer, settings

    async def _run(
        self, incident_id: str, cmd: IncidentCommand, **hooks: Any
    ) -> list[IntegrationEvent]:
        return await self.writer.run(
            incident_stream(incident_id),
            lambda history, now: decide_incident(cmd, fold(history), now),
            **hooks,
        )

    async def report(self, i: Incident) -> list[IntegrationEvent]:
        """Record the incident; for a mandatory category, the report's deadline row in the
        same unit of work."""
        incident_id = str(self.writer.new_id())
        sealed: dict[str, Any] = {}

        async def seal(uow: UnitOfWork, _: datetime) -> None:
            if i.account:
                subject = i.student_refs[0] if i.student_refs else school_subject(i.school_id)
                sealed["account"] = await uow.keys.seal(subject, {"text": i.account})

        decided: list[IntegrationEvent] = []

        def decide(history: list[IntegrationEvent], now: datetime) -> list[IntegrationEvent]:
            cmd = ReportIncident(
                incident_id,
                i.district,
                i.school_id,
                i.category,
                i.student_refs,
                i.occurred_at,
                i.recorded_by,
                self.settings.report_limit_seconds,
                sealed.get("account"),
            )
            decided[:] = decide_incident(cmd, fold(history), now)
            return decided

        async def schedule(uow: UnitOfWork, _: list[str]) -> None:
            reported = next(e for e in decided if isinstance(e, IncidentReported))
            if reported.report_due_at is not None:
                await uow.deadlines.set(
                    INCIDENT_REPORT,
                    incident_id,
                    reported.report_due_at,
                    {"district": i.district, "school_id": i.school_id},
                )

        return await self.writer.run(
            incident_stream(incident_id), decide, before=seal, after=schedule
        )

    async def file_report(
        self, incident_id: str, departments: tuple[Department, ...], filed_by: str
    ) -> list[IntegrationEvent]:
        """The mandatory report (late, after an escalation, too); the deadline is cancelled
        with it."""

        async def cancel(uow: UnitOfWork, _: list[str]) -> None:
            await uow.deadlines.cancel(INCIDENT_REPORT, incident_id)

        return await self._run(
            incident_id, FileReport(incident_id, departments, filed_by), after=cancel
        )

    async def refer(
        self,
        district: str,
        school_id: str,
        student_ref: str,
        misbehaviour: Misbehaviour,
        referred_by: str,
        incident_id: str | None = None,
    ) -> list[IntegrationEvent]:
        """Refer a minor with serious misbehaviour to the guidance committee."""
        referral_id = str(self.writer.new_id())
        cmd = guidance.ReferToCommittee(
            referral_id, district, school_id, student_ref, misbehaviour, referred_by, incident_id
        )
        return await self.writer.run(
            guidance_stream(referral_id),
            lambda history, now: guidance.decide_guidance(cmd, guidance.fold(history), now),
        )

    async def decide(
        self,
        referral_id: str,
        district: str,
        decision: GuidanceDecision,
        members_present: tuple[CommitteeMember, ...],
    ) -> list[IntegrationEvent]:
        """The committee of ``district`` records its decision, once."""
        cmd = guidance.RecordDecision(referral_id, district, decision, members_present)
        return await self.writer.run(
            guidance_stream(referral_id),
            lambda history, now: guidance.decide_guidance(cmd, guidance.fold(history), now),
        )


async def escalate(due: Due, ctx: Firing) -> None:
    """The report's due time passed: escalate to the district bureau, unless the report was
    filed or the incident escalated already (nothing to do: the row is marked fired). A refusal
    that the due time has not passed (a clock behind the row's) raises: the row stays for the
    next poll."""
    cmd = EscalateReport(due.key)
    try:
        await ctx.writer.run(
            incident_stream(due.key),
            lambda history, now: decide_incident(cmd, fold(history), now),
        )
    except ReportSettledError as settled:
        log.info("incident %s: not escalated (%s)", due.key, settled.rule)


REPORT_DEADLINE = Deadline(
    INCIDENT_REPORT,
    escalate,
    description="An incident whose category needs the mandatory report (MPL art. 11) and that "
    "was not reported within SAFETY_REPORT_LIMIT_SECONDS (2 h) is escalated to the district "
    "education bureau (MandatoryReportEscalated), once; the alert goes to the district's robots.",
)
