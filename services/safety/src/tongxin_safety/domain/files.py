"""One child, one file (一人一档): the care file of a left-behind child or a child in difficulty,
decided on its stream ``care-file-<student_ref>``.

Rules (seed 004 二、(五) 13–14; Minors Protection Law arts. 11 and 23):

- one file per child, opened by the roster's care groups, a hardship follow-up or by hand; a
  second open appends nothing, or ``CareGroupsChanged`` when the roster's groups differ (a
  hardship follow-up or an open by hand without groups never changes them); the roster opening
  with no care group opens nothing. A closed file is opened again by a new open, as a new file
  (a new ``CareFileOpened``: no pairing, no risk level, no notice carried over — the carers
  were released at the closing);
- pairing (结对) with four kinds of carer — the school, the village or community, civil affairs,
  the women's federation; at most one open (proposed or accepted) pairing per kind
  (``one_pairing_per_kind``); a school carer is a member of staff of the child's school
  (``school_carer_of_school``, the roster checked by the application); a kind counts only once
  the carer has accepted; the carer (and only the carer: ``own_pairing_only``) accepts or
  declines with a reason; a declined or released pairing leaves the kind missing again;
- the risk level (low / medium / high) set by the school; a change needs a reason
  (``reason_required``); setting the same level again is the review (each term at least);
- contacts are logged on an accepted pairing by its carer, or by a leader of the school on the
  carer's behalf (a contact reported on paper), never in the future nor before the pairing;
- a left-behind child's file records the parents' written notice (委托照护告知, who cares for the
  child: the relation in clear, the person sealed) and the parents' last contact with the child;
- concerns (a home visit's safety finding, or raised by staff or a carer) are assessed once by a
  leader with an outcome; a concern raised again with the same key is the same concern;
- a transfer to another school hands the file over: the school carer is released (no longer of
  the child's school: the kind is missing again until the receiving school pairs one), and a
  move to another district releases every carer (the agencies serve their own district);
- closing (with a reason) releases every open pairing first.

Pure: no I/O, no clock (``now`` is given), no ids (given by the caller).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from tongxin_contracts import IntegrationEvent, Sealed
from tongxin_contracts.events.registry import CareGroup
from tongxin_contracts.events.safety import (
    CareConcernAssessed,
    CareConcernRaised,
    CareContactLogged,
    CareFileClosed,
    CareFileHandedOver,
    CareFileOpened,
    CareGroupsChanged,
    CareNoticeRecorded,
    CarerAccepted,
    CarerDeclined,
    CarerKind,
    CarerPaired,
    CarerReleased,
    ConcernOutcome,
    ConcernSource,
    ContactMode,
    DeclineReason,
    EntrustedRelation,
    FileClosedReason,
    FileSource,
    ParentContactRecorded,
    RiskLevel,
    RiskLevelSet,
)
from tongxin_platform.domain import ConflictError
from tongxin_safety.domain.calendar import china_date
from tongxin_safety.domain.errors import NotEntitledError, SafetyError, UnknownRecordError

KINDS: tuple[CarerKind, ...] = tuple(CarerKind)
OPEN_PAIRING = frozenset({"proposed", "accepted"})


class FileConflictError(SafetyError, ConflictError):
    """409: the file is past the step asked for (a kind paired, a concern assessed)."""


@dataclass(frozen=True, slots=True)
class Child:
    """Where the child is enrolled, from the roster (or the event that opens the file)."""

    student_ref: str
    district: str
    school_id: str
    class_id: str | None = None


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts on a pairing: ``kind`` is the carer kind the caller's role speaks for (``None``
    for school staff), ``org`` their organisation (the token's), ``leader`` a leader of the
    file's school (may log a contact on a carer's behalf)."""

    subject: str
    kind: CarerKind | None = None
    org: str | None = None
    leader: bool = False


@dataclass(frozen=True, slots=True)
class Pairing:
    pairing_id: str
    kind: CarerKind
    carer_ref: str
    org: str
    paired_on: date
    status: str = "proposed"  # proposed | accepted | declined | released
    accepted_on: date | None = None
    last_contact_on: date | None = None

    @property
    def open(self) -> bool:
        return self.status in OPEN_PAIRING


@dataclass(frozen=True, slots=True)
class Concern:
    concern_id: str
    raised_on: date
    outcome: ConcernOutcome | None = None


@dataclass(frozen=True, slots=True)
class FileState:
    status: str = "none"  # none | open | closed
    district: str = ""
    school_id: str = ""
    class_id: str | None = None
    opened_on: date | None = None
    care_groups: tuple[CareGroup, ...] = ()
    pairings: tuple[Pairing, ...] = ()
    risk: RiskLevel | None = None
    risk_set_on: date | None = None
    notice_on: date | None = None
    parent_contact_on: date | None = None
    concerns: tuple[Concern, ...] = ()
    handed_over_on: date | None = None

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def left_behind(self) -> bool:
        return CareGroup.left_behind in self.care_groups

    def pairing(self, pairing_id: str) -> Pairing | None:
        return next((p for p in self.pairings if p.pairing_id == pairing_id), None)

    def open_pairing(self, kind: CarerKind) -> Pairing | None:
        return next((p for p in self.pairings if p.kind is kind and p.open), None)

    def concern(self, concern_id: str) -> Concern | None:
        return next((c for c in self.concerns if c.concern_id == concern_id), None)

    @property
    def missing_kinds(self) -> list[CarerKind]:
        accepted = {p.kind for p in self.pairings if p.status == "accepted"}
        return [k for k in KINDS if k not in accepted]


def _with_pairing(state: FileState, pairing_id: str, **changes: object) -> FileState:
    return replace(
        state,
        pairings=tuple(
            replace(p, **changes) if p.pairing_id == pairing_id else p  # type: ignore[arg-type]
            for p in state.pairings
        ),
    )


def evolve(state: FileState, e: IntegrationEvent) -> FileState:
    match e:
        case CareFileOpened():
            # A new file (the first, or after a closing): the ended pairings and the concerns
            # stay the child's history; nothing else carries over.
            return FileState(
                status="open",
                district=e.district,
                school_id=e.school_id,
                class_id=e.class_id,
                opened_on=e.opened_on,
                care_groups=tuple(sorted(set(e.care_groups))),
                pairings=state.pairings,
                concerns=state.concerns,
            )
        case CareGroupsChanged():
            return replace(state, care_groups=tuple(sorted(set(e.care_groups))))
        case CarerPaired():
            p = Pairing(e.pairing_id, e.kind, e.carer_ref, e.org, e.paired_on)
            return replace(state, pairings=(*state.pairings, p))
        case CarerAccepted():
            return _with_pairing(state, e.pairing_id, status="accepted", accepted_on=e.accepted_on)
        case CarerDeclined():
            return _with_pairing(state, e.pairing_id, status="declined")
        case CarerReleased():
            return _with_pairing(state, e.pairing_id, status="released")
        case RiskLevelSet():
            return replace(state, risk=e.level, risk_set_on=e.set_on)
        case CareContactLogged():
            found = state.pairing(e.pairing_id)
            last = found.last_contact_on if found else None
            newest = e.contact_on if last is None else max(last, e.contact_on)
            return _with_pairing(state, e.pairing_id, last_contact_on=newest)
        case CareNoticeRecorded():
            return replace(state, notice_on=e.notice_on)
        case ParentContactRecorded():
            last = state.parent_contact_on
            newest = e.contact_on if last is None else max(last, e.contact_on)
            return replace(state, parent_contact_on=newest)
        case CareConcernRaised():
            c = Concern(e.concern_id, e.raised_on)
            return replace(state, concerns=(*state.concerns, c))
        case CareConcernAssessed():
            return replace(
                state,
                concerns=tuple(
                    replace(c, outcome=e.outcome) if c.concern_id == e.concern_id else c
                    for c in state.concerns
                ),
            )
        case CareFileHandedOver():
            return replace(
                state,
                district=e.to_district,
                school_id=e.to_school_id,
                class_id=e.to_class_id,
                handed_over_on=e.handed_over_on,
            )
        case CareFileClosed():
            return replace(state, status="closed")
    return state


def fold(history: Iterable[IntegrationEvent]) -> FileState:
    state = FileState()
    for e in history:
        state = evolve(state, e)
    return state


# --- commands ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenFile:
    child: Child
    source: FileSource
    care_groups: tuple[CareGroup, ...] = ()
    opened_on: date | None = None  # the day it opened (China time); today when not given
    opened_by: str | None = None


@dataclass(frozen=True, slots=True)
class PairCarer:
    pairing_id: str
    kind: CarerKind
    carer_ref: str
    org: str
    paired_by: str
    # For the school kind: the school the roster says the carer works in (None: not staff).
    carer_school_id: str | None = None


@dataclass(frozen=True, slots=True)
class RespondToPairing:
    pairing_id: str
    actor: Actor
    accept: bool
    reason: DeclineReason | None = None


@dataclass(frozen=True, slots=True)
class ReleasePairing:
    pairing_id: str


@dataclass(frozen=True, slots=True)
class SetRisk:
    level: RiskLevel
    set_by: str
    reason: Sealed | None = None  # sealed with the child's key before the decision


@dataclass(frozen=True, slots=True)
class LogContact:
    pairing_id: str
    actor: Actor
    contact_on: date
    mode: ContactMode
    note: Sealed | None = None


@dataclass(frozen=True, slots=True)
class RecordNotice:
    relation: EntrustedRelation
    notice_on: date
    entrusted: Sealed


@dataclass(frozen=True, slots=True)
class RecordParentContact:
    contact_on: date
    mode: ContactMode


@dataclass(frozen=True, slots=True)
class RaiseConcern:
    concern_id: str  # derived from the concern's key: the same key is the same concern
    source: ConcernSource
    visit_id: str | None = None
    raised_by: str | None = None
    detail: Sealed | None = None
    raised_on: date | None = None  # today when not given


@dataclass(frozen=True, slots=True)
class AssessConcern:
    concern_id: str
    outcome: ConcernOutcome
    assessed_by: str
    note: Sealed | None = None


@dataclass(frozen=True, slots=True)
class HandOver:
    to_school_id: str
    to_district: str
    to_class_id: str | None
    on: date


@dataclass(frozen=True, slots=True)
class CloseFile:
    reason: FileClosedReason
    on: date


FileCommand = (
    OpenFile
    | PairCarer
    | RespondToPairing
    | ReleasePairing
    | SetRisk
    | LogContact
    | RecordNotice
    | RecordParentContact
    | RaiseConcern
    | AssessConcern
    | HandOver
    | CloseFile
)

# What the reactions call: a no-op (no events) when there is nothing to do — no open file, or
# the thing done already — rather than a refusal.
QUIET = (OpenFile, RaiseConcern, HandOver, CloseFile)


def decide_file(
    student_ref: str, cmd: FileCommand, state: FileState, now: datetime
) -> list[IntegrationEvent]:
    match cmd:
        case OpenFile():
            return _open(cmd, state, now)
        case HandOver():
            return _hand_over(student_ref, cmd, state)
        case CloseFile():
            return _close(student_ref, cmd, state)
        case RaiseConcern():
            return _raise(student_ref, cmd, state, now)
    if not state.is_open:
        raise UnknownRecordError(
            "the child has no open care file", field="student_ref", rule="care_file_open"
        )
    common = {"district": state.district, "school_id": state.school_id, "student_ref": student_ref}
    today = china_date(now)
    match cmd:
        case PairCarer():
            return _pair(cmd, state, common, today)
        case RespondToPairing():
            return _respond(cmd, state, common, today)
        case ReleasePairing():
            p = _pairing(state, cmd.pairing_id)
            if not p.open:
                raise FileConflictError(
                    "the pairing has ended already", field="pairing_id", rule="pairing_open"
                )
            return [
                CarerReleased(**common, pairing_id=p.pairing_id, kind=p.kind, released_on=today)
            ]
        case SetRisk():
            return _set_risk(cmd, state, common, today)
        case LogContact():
            return _log_contact(cmd, state, common, today)
        case RecordNotice():
            _left_behind_only(state)
            _not_future(cmd.notice_on, today, "notice_on")
            return [
                CareNoticeRecorded(
                    **common,
                    relation=cmd.relation,
                    notice_on=cmd.notice_on,
                    entrusted=cmd.entrusted,
                )
            ]
        case RecordParentContact():
            _left_behind_only(state)
            _not_future(cmd.contact_on, today, "contact_on")
            return [ParentContactRecorded(**common, contact_on=cmd.contact_on, mode=cmd.mode)]
        case AssessConcern():
            c = state.concern(cmd.concern_id)
            if c is None:
                raise UnknownRecordError(
                    "no such concern on the file", field="concern_id", rule="concern_exists"
                )
            if c.outcome is not None:
                raise FileConflictError(
                    "the concern was assessed already", field="concern_id", rule="assess_once"
                )
            return [
                CareConcernAssessed(
                    **common,
                    concern_id=cmd.concern_id,
                    outcome=cmd.outcome,
                    assessed_on=today,
                    assessed_by=cmd.assessed_by,
                    note=cmd.note,
                )
            ]
    raise AssertionError(f"unknown command {cmd!r}")


def _open(cmd: OpenFile, state: FileState, now: datetime) -> list[IntegrationEvent]:
    groups = sorted(set(cmd.care_groups))
    child = cmd.child
    if state.is_open:
        # The roster is the authority on care groups; others change them only by naming some.
        named = cmd.source is FileSource.categorised or bool(groups)
        if named and tuple(groups) != state.care_groups:
            return [
                CareGroupsChanged(
                    district=state.district,
                    school_id=state.school_id,
                    student_ref=child.student_ref,
                    care_groups=groups,
                )
            ]
        return []
    if cmd.source is FileSource.categorised and not groups:
        return []  # the roster says the child is in no care group: nothing to open
    return [
        CareFileOpened(
            district=child.district,
            school_id=child.school_id,
            student_ref=child.student_ref,
            class_id=child.class_id,
            source=cmd.source,
            care_groups=groups,
            opened_on=cmd.opened_on or china_date(now),
            opened_by=cmd.opened_by,
        )
    ]


def _pairing(state: FileState, pairing_id: str) -> Pairing:
    p = state.pairing(pairing_id)
    if p is None:
        raise UnknownRecordError(
            "no such pairing on the file", field="pairing_id", rule="pairing_exists"
        )
    return p


def _pair(
    cmd: PairCarer, state: FileState, common: dict[str, str], today: date
) -> list[IntegrationEvent]:
    org = cmd.org
    if cmd.kind is CarerKind.school:
        if cmd.carer_school_id != state.school_id:
            raise SafetyError(
                "a school carer is a member of staff of the child's school",
                field="carer_ref",
                rule="school_carer_of_school",
            )
        org = state.school_id
    elif not org:
        raise SafetyError(
            "an agency's carer is paired in their organisation", field="org", rule="org_required"
        )
    if state.open_pairing(cmd.kind) is not None:
        raise FileConflictError(
            f"the file has an open {cmd.kind.value} pairing: release it first",
            field="kind",
            rule="one_pairing_per_kind",
        )
    return [
        CarerPaired(
            **common,
            pairing_id=cmd.pairing_id,
            kind=cmd.kind,
            carer_ref=cmd.carer_ref,
            org=org,
            paired_on=today,
            paired_by=cmd.paired_by,
        )
    ]


def is_carer(p: Pairing, actor: Actor) -> bool:
    """Whether ``actor`` is the pairing's carer: the pseudonym, and for an agency's kind the
    caller's role speaks for that kind in the pairing's organisation."""
    if actor.subject != p.carer_ref:
        return False
    if p.kind is CarerKind.school:
        return actor.kind is None
    return actor.kind is p.kind and actor.org == p.org


def _respond(
    cmd: RespondToPairing, state: FileState, common: dict[str, str], today: date
) -> list[IntegrationEvent]:
    p = _pairing(state, cmd.pairing_id)
    if not is_carer(p, cmd.actor):
        raise NotEntitledError(
            "only the paired carer accepts or declines a pairing",
            field="pairing_id",
            rule="own_pairing_only",
        )
    if p.status != "proposed":
        raise FileConflictError(
            f"the pairing is {p.status} already", field="pairing_id", rule="respond_once"
        )
    if cmd.accept:
        return [CarerAccepted(**common, pairing_id=p.pairing_id, kind=p.kind, accepted_on=today)]
    if cmd.reason is None:
        raise SafetyError("a decline gives its reason", field="reason", rule="reason_required")
    return [
        CarerDeclined(
            **common, pairing_id=p.pairing_id, kind=p.kind, reason=cmd.reason, declined_on=today
        )
    ]


def _set_risk(
    cmd: SetRisk, state: FileState, common: dict[str, str], today: date
) -> list[IntegrationEvent]:
    changed = state.risk is not None and cmd.level is not state.risk
    if changed and cmd.reason is None:
        raise SafetyError(
            "changing the risk level needs a reason", field="reason", rule="reason_required"
        )
    return [
        RiskLevelSet(
            **common,
            level=cmd.level,
            previous=state.risk,
            set_on=today,
            set_by=cmd.set_by,
            reason=cmd.reason,
        )
    ]


def _log_contact(
    cmd: LogContact, state: FileState, common: dict[str, str], today: date
) -> list[IntegrationEvent]:
    p = _pairing(state, cmd.pairing_id)
    if not (is_carer(p, cmd.actor) or cmd.actor.leader):
        raise NotEntitledError(
            "a contact is logged by the paired carer (or a leader of the school for them)",
            field="pairing_id",
            rule="own_pairing_only",
        )
    if p.status != "accepted":
        raise SafetyError(
            "contacts are logged on an accepted pairing",
            field="pairing_id",
            rule="pairing_accepted",
        )
    _not_future(cmd.contact_on, today, "contact_on")
    if cmd.contact_on < p.paired_on:
        raise SafetyError(
            "a contact is not before the pairing", field="contact_on", rule="contact_after_pairing"
        )
    return [
        CareContactLogged(
            **common,
            pairing_id=p.pairing_id,
            kind=p.kind,
            contact_on=cmd.contact_on,
            mode=cmd.mode,
            note=cmd.note,
        )
    ]


def _left_behind_only(state: FileState) -> None:
    if not state.left_behind:
        raise SafetyError(
            "the parents' notice and contacts are recorded for a left-behind child",
            field="care_groups",
            rule="left_behind_only",
        )


def _not_future(day: date, today: date, name: str) -> None:
    if day > today:
        raise SafetyError(f"{name} is a day not in the future", field=name, rule="not_future")


def _raise(
    student_ref: str, cmd: RaiseConcern, state: FileState, now: datetime
) -> list[IntegrationEvent]:
    if not state.is_open or state.concern(cmd.concern_id) is not None:
        return []
    return [
        CareConcernRaised(
            district=state.district,
            school_id=state.school_id,
            student_ref=student_ref,
            concern_id=cmd.concern_id,
            source=cmd.source,
            visit_id=cmd.visit_id,
            raised_on=cmd.raised_on or china_date(now),
            raised_by=cmd.raised_by,
            detail=cmd.detail,
        )
    ]


def _releases(
    student_ref: str, state: FileState, pairings: Sequence[Pairing], on: date
) -> list[IntegrationEvent]:
    return [
        CarerReleased(
            district=state.district,
            school_id=state.school_id,
            student_ref=student_ref,
            pairing_id=p.pairing_id,
            kind=p.kind,
            released_on=on,
        )
        for p in pairings
    ]


def _hand_over(student_ref: str, cmd: HandOver, state: FileState) -> list[IntegrationEvent]:
    if not state.is_open or cmd.to_school_id == state.school_id:
        return []
    same_district = cmd.to_district == state.district
    ending = [
        p for p in state.pairings if p.open and (p.kind is CarerKind.school or not same_district)
    ]
    return [
        *_releases(student_ref, state, ending, cmd.on),
        CareFileHandedOver(
            district=state.district,
            school_id=state.school_id,
            student_ref=student_ref,
            to_school_id=cmd.to_school_id,
            to_district=cmd.to_district,
            to_class_id=cmd.to_class_id,
            handed_over_on=cmd.on,
        ),
    ]


def _close(student_ref: str, cmd: CloseFile, state: FileState) -> list[IntegrationEvent]:
    if not state.is_open:
        return []
    return [
        *_releases(student_ref, state, [p for p in state.pairings if p.open], cmd.on),
        CareFileClosed(
            district=state.district,
            school_id=state.school_id,
            student_ref=student_ref,
            reason=cmd.reason,
            closed_on=cmd.on,
        ),
    ]


# Concern ids are derived, not made: from the child and the concern's key (a visit's id, a
# request's id), so that the same visit is the same concern however often, and by whichever
# path (the reaction, a command), its finding arrives. Deterministic, so the domain may own it.
CONCERNS = uuid.UUID("6f1d0b7e-3c55-4f0e-9a43-5a1e0c2d7b11")


def concern_id_for(student_ref: str, concern_key: str) -> str:
    return uuid.uuid5(CONCERNS, f"{student_ref}/{concern_key}").hex
