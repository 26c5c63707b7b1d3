"""Inspections around the school and their hazards (消防、自建房危房、治安交通、食品和文具店):
who inspects which kind, the hazards an inspection reports (severity, owner, rectification
deadline), the re-inspection that closes them, and what is open, overdue or rectified on a day.

Who records: an agency's own inspectors record only the kinds the law gives them — the police
public order and traffic around the school, market regulation (市场监管) the food and stationery
shops near it — while the school (its own checks, or an agency's it hosted: fire rescue, housing,
education) and the district bureau record any kind, naming the inspector agency. Who reads:
market regulation its shop kinds only; everyone else who may read inspections, every kind.

Pure: the deciders get the streams' histories and ``now`` and answer the events, or refuse
naming the field and the rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from tongxin_contracts import IntegrationEvent, Sealed
from tongxin_contracts.events.safety import (
    HazardOwner,
    HazardRectified,
    HazardReported,
    HazardSeverity,
    InspectionCompleted,
    InspectionKind,
    Inspector,
    inspection_stream,
)
from tongxin_platform.domain import ConflictError
from tongxin_safety.domain.calendar import china_date
from tongxin_safety.domain.errors import NotEntitledError, SafetyError, UnknownRecordError

K, A = InspectionKind, Inspector
ALL_KINDS: frozenset[InspectionKind] = frozenset(InspectionKind)
SHOP_KINDS: frozenset[InspectionKind] = frozenset({K.food_shops, K.stationery_shops})

# The kinds an agency inspects on its own mandate (the others are not limited here).
MANDATES: Mapping[Inspector, frozenset[InspectionKind]] = {
    A.police: frozenset({K.order_and_traffic}),
    A.market_regulation: SHOP_KINDS,
}
# The rule each mandate's refusal names.
MANDATE_RULES: Mapping[Inspector, str] = {
    A.police: "police_inspect_order_and_traffic",
    A.market_regulation: "market_regulation_inspects_shops",
}


class Recorder(StrEnum):
    """Who records an inspection (from the caller's role)."""

    school = "school"  # the school's leaders
    bureau = "bureau"  # the district education bureau
    police = "police"
    market_regulation = "market_regulation"


# The inspector a recorder is taken for when it names none, and the ones it may name: an
# agency speaks for itself only; the school for its own checks or an agency's it hosted; the
# bureau for itself or a joint inspection's agency (never for the school's own check).
DEFAULT_INSPECTOR: Mapping[Recorder, Inspector] = {
    Recorder.school: A.school,
    Recorder.bureau: A.education,
    Recorder.police: A.police,
    Recorder.market_regulation: A.market_regulation,
}
NAMEABLE: Mapping[Recorder, frozenset[Inspector]] = {
    Recorder.school: frozenset({A.school, A.fire_rescue, A.housing, A.education}),
    Recorder.bureau: frozenset(Inspector) - {A.school},
    Recorder.police: frozenset({A.police}),
    Recorder.market_regulation: frozenset({A.market_regulation}),
}
# What each recorder reads: market regulation its shop kinds only.
READABLE: Mapping[Recorder | None, frozenset[InspectionKind]] = {
    Recorder.market_regulation: SHOP_KINDS,
}


def readable_kinds(recorder: Recorder | None) -> frozenset[InspectionKind]:
    """The kinds a reader sees (``None``: a reader who records none, e.g. an auditor)."""
    return READABLE.get(recorder, ALL_KINDS)


def inspector_for(recorder: Recorder, named: Inspector | None) -> Inspector:
    """The inspector agency of an inspection ``recorder`` records, naming ``named`` or none."""
    if named is None:
        return DEFAULT_INSPECTOR[recorder]
    if named not in NAMEABLE[recorder]:
        allowed = ", ".join(sorted(i.value for i in NAMEABLE[recorder]))
        raise NotEntitledError(
            f"{recorder.value} records inspections by {allowed} only, not by {named.value}",
            field="inspector",
            rule="inspector_named_by_recorder",
        )
    return named


def may_record(inspector: Inspector, kind: InspectionKind) -> bool:
    return kind in MANDATES.get(inspector, ALL_KINDS)


# --- commands and state ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewHazard:
    hazard_id: str
    severity: HazardSeverity
    owner: HazardOwner
    rectify_by: date
    detail: Sealed | None = None  # sealed with the school's key before the decision


@dataclass(frozen=True, slots=True)
class RecordInspection:
    inspection_id: str
    district: str
    school_id: str
    kind: InspectionKind
    inspector: Inspector
    inspected_on: date
    inspected_by: str
    hazards: tuple[NewHazard, ...] = ()
    reinspection_of: str | None = None
    rectified: tuple[str, ...] = ()  # hazard ids this re-inspection found rectified
    # The kinds the recorder may read: an earlier inspection of another kind is not found.
    readable: frozenset[InspectionKind] = ALL_KINDS


@dataclass(frozen=True, slots=True)
class InspectionState:
    completed: InspectionCompleted | None = None
    hazards: dict[str, HazardReported] = field(default_factory=dict)
    rectified: dict[str, HazardRectified] = field(default_factory=dict)


def fold(history: Iterable[IntegrationEvent]) -> InspectionState:
    completed: InspectionCompleted | None = None
    hazards: dict[str, HazardReported] = {}
    rectified: dict[str, HazardRectified] = {}
    for e in history:
        match e:
            case InspectionCompleted():
                completed = e
            case HazardReported():
                hazards[e.hazard_id] = e
            case HazardRectified():
                rectified[e.hazard_id] = e
    return InspectionState(completed, hazards, rectified)


class HazardRectifiedAlreadyError(SafetyError, ConflictError):
    """409: the hazard was found rectified by an earlier re-inspection."""


def _unknown_inspection() -> UnknownRecordError:
    return UnknownRecordError(
        "no such inspection of this school",
        field="reinspection_of",
        rule="reinspection_of_known_inspection",
    )


def chain_of(histories: Mapping[str, Sequence[IntegrationEvent]], first: str) -> list[str]:
    """The inspection ids a re-inspection of ``first`` reaches: ``first``, the inspection it
    re-inspected in turn, and so on (as far as ``histories`` holds them)."""
    out: list[str] = []
    current: str | None = first
    while current is not None and current not in out:
        completed = fold(histories.get(inspection_stream(current), ())).completed
        if completed is None:
            break
        out.append(current)
        current = completed.reinspection_of
    return out


def decide_inspection(
    cmd: RecordInspection,
    histories: Mapping[str, Sequence[IntegrationEvent]],
    now: datetime,
) -> list[IntegrationEvent]:
    """An inspection recorded: ``InspectionCompleted`` and a ``HazardReported`` per hazard on
    its own stream; for a re-inspection, a ``HazardRectified`` on each rectified hazard's
    inspection stream. ``histories``: the new inspection's stream and, for a re-inspection, the
    stream of each inspection in its chain (``chain_of``)."""
    if not may_record(cmd.inspector, cmd.kind):
        kinds = ", ".join(sorted(k.value for k in MANDATES[cmd.inspector]))
        raise NotEntitledError(
            f"{cmd.inspector.value} inspects {kinds} only",
            field="kind",
            rule=MANDATE_RULES[cmd.inspector],
        )
    if fold(histories.get(inspection_stream(cmd.inspection_id), ())).completed is not None:
        raise ConflictError(
            "this inspection was recorded already", field="inspection_id", rule="inspection_once"
        )
    if cmd.inspected_on > china_date(now):
        raise SafetyError(
            "an inspection is recorded once it took place",
            field="inspected_on",
            rule="inspected_on_not_in_future",
        )
    for i, h in enumerate(cmd.hazards):
        if h.rectify_by < cmd.inspected_on:
            raise SafetyError(
                "a rectification deadline is not before the inspection",
                field=f"hazards.{i}.rectify_by",
                rule="rectify_by_not_before_inspection",
            )
    rectified = _rectifications(cmd, histories)
    common = {"district": cmd.district, "school_id": cmd.school_id}
    events: list[IntegrationEvent] = [
        InspectionCompleted(
            **common,
            inspection_id=cmd.inspection_id,
            kind=cmd.kind,
            inspector=cmd.inspector,
            inspected_on=cmd.inspected_on,
            inspected_by=cmd.inspected_by,
            reinspection_of=cmd.reinspection_of,
            hazards_found=len(cmd.hazards),
        )
    ]
    events += [
        HazardReported(
            **common,
            inspection_id=cmd.inspection_id,
            hazard_id=h.hazard_id,
            kind=cmd.kind,
            severity=h.severity,
            owner=h.owner,
            rectify_by=h.rectify_by,
            detail=h.detail,
        )
        for h in cmd.hazards
    ]
    events += [
        HazardRectified(
            **common,
            inspection_id=reported.inspection_id,
            hazard_id=reported.hazard_id,
            rectified_on=cmd.inspected_on,
            reinspection_id=cmd.inspection_id,
            within_deadline=cmd.inspected_on <= reported.rectify_by,
        )
        for reported in rectified
    ]
    return events


def _rectifications(
    cmd: RecordInspection, histories: Mapping[str, Sequence[IntegrationEvent]]
) -> list[HazardReported]:
    """The hazards a re-inspection closes, checked: the earlier inspection is of the same
    school and kind and not after this one; each hazard is open, in its chain, listed once."""
    if cmd.reinspection_of is None:
        if cmd.rectified:
            raise SafetyError(
                "a hazard is closed by a re-inspection (name the inspection it re-inspects)",
                field="reinspection_of",
                rule="rectify_by_reinspection",
            )
        return []
    earlier = fold(histories.get(inspection_stream(cmd.reinspection_of), ())).completed
    if earlier is None or earlier.school_id != cmd.school_id or earlier.kind not in cmd.readable:
        raise _unknown_inspection()
    if earlier.kind != cmd.kind:
        raise SafetyError(
            f"a re-inspection is of the same kind as the inspection ({earlier.kind.value})",
            field="kind",
            rule="reinspection_same_kind",
        )
    if cmd.inspected_on < earlier.inspected_on:
        raise SafetyError(
            "a re-inspection is not before the inspection it re-inspects",
            field="inspected_on",
            rule="reinspection_after_inspection",
        )
    states = [
        fold(histories.get(inspection_stream(i), ()))
        for i in chain_of(histories, cmd.reinspection_of)
    ]
    found: list[HazardReported] = []
    for i, hazard_id in enumerate(cmd.rectified):
        where = f"rectified.{i}"
        if hazard_id in cmd.rectified[:i]:
            raise SafetyError("a hazard is listed once", field=where, rule="rectified_once_each")
        state = next((s for s in states if hazard_id in s.hazards), None)
        if state is None:
            raise UnknownRecordError(
                "no such hazard in the inspections this one re-inspects",
                field=where,
                rule="hazard_of_reinspected_inspection",
            )
        if hazard_id in state.rectified:
            raise HazardRectifiedAlreadyError(
                "the hazard was found rectified already", field=where, rule="rectify_once"
            )
        found.append(state.hazards[hazard_id])
    return found


# --- what the lists and figures show -------------------------------------------------------


class HazardStatus(StrEnum):
    open = "open"  # not rectified (overdue or not)
    overdue = "overdue"  # open past its deadline
    rectified = "rectified"


@dataclass(frozen=True, slots=True)
class Hazard:
    """A hazard as the read model has it."""

    hazard_id: str
    inspection_id: str
    school_id: str
    kind: InspectionKind
    severity: HazardSeverity
    owner: HazardOwner
    reported_on: date  # its inspection's day
    rectify_by: date
    rectified_on: date | None = None
    within_deadline: bool | None = None


@dataclass(frozen=True, slots=True)
class Standing:
    """A hazard on a day: rectified by then, or open (and overdue past its deadline)."""

    rectified: bool
    overdue: bool
    days_overdue: int  # open: days past the deadline (0 when not overdue); rectified: 0

    @property
    def status(self) -> HazardStatus:
        if self.rectified:
            return HazardStatus.rectified
        return HazardStatus.overdue if self.overdue else HazardStatus.open

    def shows_as(self, status: HazardStatus) -> bool:
        """Whether a list of ``status`` hazards shows it (an overdue hazard is open too)."""
        if status is HazardStatus.open:
            return not self.rectified
        return self.status is status


def standing(h: Hazard, as_of: date) -> Standing | None:
    """The hazard as it stood on ``as_of``: ``None`` before it was reported; rectified if its
    re-inspection was on or before that day; else open, overdue once ``rectify_by < as_of``."""
    if h.reported_on > as_of:
        return None
    if h.rectified_on is not None and h.rectified_on <= as_of:
        return Standing(True, False, 0)
    late = (as_of - h.rectify_by).days
    return Standing(False, late > 0, max(late, 0))


FIGURES = ("reported", "open", "overdue", "open_major", "rectified", "rectified_late")


def counts(hazards: Iterable[Hazard], as_of: date) -> dict[str, int]:
    """Hazards as they stood on ``as_of``: reported by then, open (overdue included), overdue,
    major ones open, rectified, and rectified after their deadline."""
    out = dict.fromkeys(FIGURES, 0)
    for h in hazards:
        s = standing(h, as_of)
        if s is None:
            continue
        out["reported"] += 1
        if s.rectified:
            out["rectified"] += 1
            out["rectified_late"] += h.within_deadline is False
        else:
            out["open"] += 1
            out["overdue"] += s.overdue
            out["open_major"] += h.severity is HazardSeverity.major
    return out


def figures(
    schools: Sequence[str],
    hazards: Iterable[Hazard],
    as_of: date,
    kinds: Iterable[InspectionKind] = InspectionKind,
) -> dict[str, Any]:
    """Per school (every one of ``schools``, none left out for having no hazard) and per kind
    of ``kinds``, and the district's totals per kind and in all."""
    order = list(InspectionKind)
    shown_kinds = sorted(set(kinds), key=order.index)
    listed = set(schools)
    shown = [h for h in hazards if h.kind in shown_kinds and h.school_id in listed]

    def row(of: list[Hazard]) -> dict[str, Any]:
        per_kind = {k.value: counts((h for h in of if h.kind is k), as_of) for k in shown_kinds}
        return {**counts(of, as_of), "kinds": per_kind}

    return {
        "as_of": as_of,
        "kinds": [k.value for k in shown_kinds],
        "schools": [
            {"school_id": s, **row([h for h in shown if h.school_id == s])} for s in schools
        ],
        "totals": row(shown),
    }
