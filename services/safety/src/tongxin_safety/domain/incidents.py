"""Incidents and the mandatory report (强制报告, Minors Protection Law art. 11).

The school records an incident by category. Where the category is one of ``MANDATORY`` (abuse,
neglect, domestic violence, trafficking, an unexplained injury, serious bullying), the school
must report it immediately to at least the police, civil affairs and education
(``REQUIRED_DEPARTMENTS``): the report is due ``report_limit_seconds`` after the recording (a
district setting; the law says "immediately", the default is two hours). The report's delay is
measured from the recording; a report after the due time, or after the escalation, is late. An
unreported incident past its due time is escalated to the district education bureau — once.

A report for a category that does not require one is accepted as a voluntary report (a school
may tell the police of a fight): it is recorded with its delay, never late, and never escalated.

Pure: the deciders get the incident's history and ``now`` (the injected clock) and answer the
events, or refuse naming the field and the rule. ``figures`` computes the district's counts.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from tongxin_contracts import IntegrationEvent, Sealed
from tongxin_contracts.events.safety import (
    MANDATORY,
    REQUIRED_DEPARTMENTS,
    Department,
    IncidentCategory,
    IncidentReported,
    MandatoryReportEscalated,
    MandatoryReportFiled,
)
from tongxin_platform.domain import ConflictError
from tongxin_safety.domain.errors import SafetyError, UnknownRecordError


@dataclass(frozen=True, slots=True)
class ReportIncident:
    incident_id: str
    district: str
    school_id: str
    category: IncidentCategory
    student_refs: tuple[str, ...]
    occurred_at: datetime
    recorded_by: str
    report_limit_seconds: int  # settings.report_limit_seconds
    account: Sealed | None = None  # sealed before the decision


@dataclass(frozen=True, slots=True)
class FileReport:
    incident_id: str
    departments: tuple[Department, ...]
    filed_by: str


@dataclass(frozen=True, slots=True)
class EscalateReport:
    """The report's deadline fell due (the worker's deadline part, with its injected clock)."""

    incident_id: str


IncidentCommand = ReportIncident | FileReport | EscalateReport


@dataclass(frozen=True, slots=True)
class IncidentState:
    reported: IncidentReported | None = None
    filed: MandatoryReportFiled | None = None
    escalated: MandatoryReportEscalated | None = None

    @property
    def status(self) -> str:
        """none | recorded (no report needed, none filed) | awaiting_report | escalated |
        reported (filed, in time or late)."""
        if self.reported is None:
            return "none"
        if self.filed is not None:
            return "reported"
        if self.escalated is not None:
            return "escalated"
        return "awaiting_report" if self.reported.mandatory_report_required else "recorded"


def evolve(state: IncidentState, e: IntegrationEvent) -> IncidentState:
    match e:
        case IncidentReported():
            return IncidentState(reported=e)
        case MandatoryReportFiled():
            return replace(state, filed=e)
        case MandatoryReportEscalated():
            return replace(state, escalated=e)
    return state


def fold(history: Iterable[IntegrationEvent]) -> IncidentState:
    state = IncidentState()
    for e in history:
        state = evolve(state, e)
    return state


class IncidentConflictError(SafetyError, ConflictError):
    """409: the incident is past the step asked for (reported already)."""


class ReportSettledError(IncidentConflictError):
    """The deadline's escalation has nothing to do: reported, or escalated already."""


class NotYetDueError(SafetyError):
    """The escalation was asked before the report's due time."""


def _unknown() -> UnknownRecordError:
    return UnknownRecordError("no such incident", field="incident_id", rule="incident_exists")


def decide_incident(
    cmd: IncidentCommand, state: IncidentState, now: datetime
) -> list[IntegrationEvent]:
    match cmd:
        case ReportIncident():
            return _report(cmd, state, now)
        case FileReport():
            return _file(cmd, state, now)
        case EscalateReport():
            return _escalate(state, now)
    raise AssertionError(f"unknown command {cmd!r}")


def _report(cmd: ReportIncident, state: IncidentState, now: datetime) -> list[IntegrationEvent]:
    if state.reported is not None:
        raise IncidentConflictError(
            "this incident was recorded already", field="incident_id", rule="incident_once"
        )
    if cmd.report_limit_seconds < 1:
        raise SafetyError(
            "the report needs a due time in the future",
            field="report_limit_seconds",
            rule="report_limit_positive",
        )
    if cmd.occurred_at > now:
        raise SafetyError(
            "an incident cannot have occurred after it was recorded",
            field="occurred_at",
            rule="occurred_not_in_future",
        )
    if len(set(cmd.student_refs)) != len(cmd.student_refs):
        raise SafetyError(
            "each child is named once", field="student_refs", rule="incident_children_once"
        )
    required = cmd.category in MANDATORY
    return [
        IncidentReported(
            district=cmd.district,
            school_id=cmd.school_id,
            incident_id=cmd.incident_id,
            category=cmd.category,
            student_refs=list(cmd.student_refs),
            occurred_at=cmd.occurred_at,
            recorded_at=now,
            recorded_by=cmd.recorded_by,
            mandatory_report_required=required,
            report_due_at=now + timedelta(seconds=cmd.report_limit_seconds) if required else None,
            account=cmd.account,
        )
    ]


def missing_departments(departments: Iterable[Department]) -> list[Department]:
    """The required departments (police, civil affairs, education) a report leaves out."""
    return sorted(REQUIRED_DEPARTMENTS - set(departments))


def _file(cmd: FileReport, state: IncidentState, now: datetime) -> list[IntegrationEvent]:
    reported = state.reported
    if reported is None:
        raise _unknown()
    if state.filed is not None:
        raise IncidentConflictError(
            "the report was filed already", field="incident_id", rule="report_once"
        )
    missing = missing_departments(cmd.departments)
    if missing:
        raise SafetyError(
            "a mandatory report goes at least to the police, civil affairs and education; "
            f"missing: {', '.join(m.value for m in missing)}",
            field="departments",
            rule="report_required_departments",
        )
    due = reported.report_due_at
    # Escalated means the due time passed (by the worker's clock): never in time then.
    late = due is not None and (state.escalated is not None or now > due)
    delay = max(0, int((now - reported.recorded_at).total_seconds()))
    return [
        MandatoryReportFiled(
            district=reported.district,
            school_id=reported.school_id,
            incident_id=reported.incident_id,
            departments=sorted(set(cmd.departments)),
            filed_at=now,
            filed_by=cmd.filed_by,
            delay_seconds=delay,
            late=late,
        )
    ]


def _escalate(state: IncidentState, now: datetime) -> list[IntegrationEvent]:
    reported = state.reported
    if reported is None:
        raise _unknown()
    if state.escalated is not None:
        raise ReportSettledError(
            "the incident was escalated already", field="incident_id", rule="escalate_once"
        )
    if state.filed is not None:
        raise ReportSettledError(
            "the report was filed", field="incident_id", rule="escalate_unreported"
        )
    due = reported.report_due_at
    if due is None:
        raise ReportSettledError(
            "this category needs no mandatory report",
            field="category",
            rule="escalate_mandatory_only",
        )
    if now < due:
        raise NotYetDueError(
            "the report's due time has not passed",
            field="report_due_at",
            rule="escalate_after_due",
        )
    return [
        MandatoryReportEscalated(
            district=reported.district,
            school_id=reported.school_id,
            incident_id=reported.incident_id,
            category=reported.category,
            report_due_at=due,
            escalated_at=now,
        )
    ]


# --- the figures (incident.figures) ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IncidentRow:
    """One incident as the figures count it (the read model's row)."""

    school_id: str
    category: str
    required: bool
    report_due_at: datetime | None
    filed: bool
    delay_seconds: int | None
    late: bool | None
    escalated: bool


def figures(rows: Sequence[IncidentRow], now: datetime) -> dict[str, Any]:
    """Counts of a set of incidents: by category; how many needed the mandatory report; of
    those, filed, on time, late, escalated, still unreported (and how many of these are past
    due at ``now``); the reports' delay (median, max, seconds) over the mandatory reports filed;
    voluntary reports (filed for a category that needs none) apart."""
    required = [r for r in rows if r.required]
    filed = [r for r in required if r.filed]
    delays = [r.delay_seconds for r in filed if r.delay_seconds is not None]
    unreported = [r for r in required if not r.filed]
    return {
        "incidents": len(rows),
        "by_category": dict(sorted(Counter(r.category for r in rows).items())),
        "report_required": len(required),
        "reports_filed": len(filed),
        "on_time": sum(1 for r in filed if not r.late),
        "late": sum(1 for r in filed if r.late),
        "escalated": sum(1 for r in required if r.escalated),
        "unreported": len(unreported),
        "unreported_past_due": sum(
            1 for r in unreported if r.report_due_at is not None and r.report_due_at < now
        ),
        "delay_median_seconds": statistics.median(delays) if delays else None,
        "delay_max_seconds": max(delays) if delays else None,
        "voluntary_reports": sum(1 for r in rows if not r.required and r.filed),
    }


def figures_by_school(
    rows: Sequence[IncidentRow], schools: Iterable[str], now: datetime
) -> dict[str, Any]:
    """``figures`` per school (every school named, with or without incidents) and in all."""
    per = [
        {"school_id": s, **figures([r for r in rows if r.school_id == s], now)}
        for s in sorted(set(schools) | {r.school_id for r in rows})
    ]
    return {**figures(rows, now), "schools": per}
