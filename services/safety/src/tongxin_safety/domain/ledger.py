"""The ledger (台账) of care files, judged on a day (``as_of``): what each open file lacks — a
kind of carer, a contact in rhythm, the term's risk review, the parents' notice or their weekly
contact (left-behind children) — and the figures per school and district.

Rules:

- a kind is missing unless a pairing of that kind is accepted (proposed, declined and released
  pairings do not count);
- an accepted pairing's next contact is due ``rhythm`` days after its last contact (or its
  acceptance, before any contact), the rhythm being the district's days for the file's risk
  level (no level yet: low); on a day after that, the contact is overdue;
- the risk review is due when no level was ever set, or the last setting (a change or a
  confirmation) is more than ``risk_review_days`` old;
- for a left-behind child: the notice is missing until recorded; the parents' contact is stale
  when none is recorded or the last is more than ``parent_contact_days`` old.

The files are judged as they stand (their latest records), on the day asked. Pure: the facts
come from the read model or a file's history; the figures are plain counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tongxin_contracts.events.registry import CareGroup
from tongxin_contracts.events.safety import CarerKind, RiskLevel

KINDS: tuple[CarerKind, ...] = tuple(CarerKind)


@dataclass(frozen=True, slots=True)
class Rhythm:
    """The district's settings: days between contacts per risk level, the parents' contact and
    the risk review."""

    contact_days: Mapping[RiskLevel, int]
    parent_contact_days: int
    risk_review_days: int

    def days_for(self, level: RiskLevel | None) -> int:
        return self.contact_days[level or RiskLevel.low]


@dataclass(frozen=True, slots=True)
class PairingFacts:
    pairing_id: str
    kind: CarerKind
    carer_ref: str
    org: str
    status: str  # proposed | accepted | declined | released
    paired_on: date
    accepted_on: date | None = None
    last_contact_on: date | None = None


@dataclass(frozen=True, slots=True)
class FileFacts:
    student_ref: str
    district: str
    school_id: str
    class_id: str | None
    care_groups: tuple[CareGroup, ...]
    risk_level: RiskLevel | None = None
    risk_set_on: date | None = None
    notice_on: date | None = None
    parent_contact_on: date | None = None
    open_concerns: int = 0
    pairings: tuple[PairingFacts, ...] = ()

    @property
    def left_behind(self) -> bool:
        return CareGroup.left_behind in self.care_groups


def missing_kinds(f: FileFacts) -> list[CarerKind]:
    accepted = {p.kind for p in f.pairings if p.status == "accepted"}
    return [k for k in KINDS if k not in accepted]


def next_contact_due(p: PairingFacts, level: RiskLevel | None, rhythm: Rhythm) -> date | None:
    """The day the pairing's next contact is due; ``None`` unless accepted."""
    if p.status != "accepted":
        return None
    since = p.last_contact_on or p.accepted_on or p.paired_on
    return since + timedelta(days=rhythm.days_for(level))


def contact_overdue(p: PairingFacts, level: RiskLevel | None, rhythm: Rhythm, as_of: date) -> bool:
    due = next_contact_due(p, level, rhythm)
    return due is not None and as_of > due


def risk_review_due(f: FileFacts, rhythm: Rhythm, as_of: date) -> bool:
    return f.risk_set_on is None or (as_of - f.risk_set_on).days > rhythm.risk_review_days


def notice_missing(f: FileFacts) -> bool:
    return f.left_behind and f.notice_on is None


def parents_contact_stale(f: FileFacts, rhythm: Rhythm, as_of: date) -> bool:
    if not f.left_behind:
        return False
    last = f.parent_contact_on
    return last is None or (as_of - last).days > rhythm.parent_contact_days


def contacts(f: FileFacts, rhythm: Rhythm, as_of: date) -> list[dict[str, Any]]:
    """Each accepted carer's contacts: the last, the next due day, overdue or not."""
    return [
        {
            "pairing_id": p.pairing_id,
            "kind": p.kind.value,
            "carer_ref": p.carer_ref,
            "org": p.org,
            "last_contact_on": p.last_contact_on,
            "next_due_on": next_contact_due(p, f.risk_level, rhythm),
            "overdue": contact_overdue(p, f.risk_level, rhythm, as_of),
        }
        for p in f.pairings
        if p.status == "accepted"
    ]


def ledger_row(f: FileFacts, rhythm: Rhythm, as_of: date) -> dict[str, Any]:
    """One open file in the ledger: no name, only what the school must act on."""
    missing = missing_kinds(f)
    overdue = [p.kind.value for p in f.pairings if contact_overdue(p, f.risk_level, rhythm, as_of)]
    return {
        "student_ref": f.student_ref,
        "class_id": f.class_id,
        "care_groups": [g.value for g in f.care_groups],
        "risk_level": f.risk_level.value if f.risk_level else None,
        "risk_set_on": f.risk_set_on,
        "risk_review_due": risk_review_due(f, rhythm, as_of),
        "missing_kinds": [k.value for k in missing],
        "complete": not missing,
        "overdue_contacts": sorted(overdue),
        "notice_missing": notice_missing(f),
        "parents_contact_stale": parents_contact_stale(f, rhythm, as_of),
        "open_concerns": f.open_concerns,
    }


FIGURES = (
    "files",
    "complete",
    "missing_a_kind",
    "contacts_overdue",
    "files_with_contact_overdue",
    "notice_missing",
    "parents_contact_stale",
    "risk_reviews_due",
    "open_concerns",
)


def figures(files: Iterable[FileFacts], rhythm: Rhythm, as_of: date) -> dict[str, Any]:
    """Counts over open files: how many, complete (all four kinds accepted), missing a kind (in
    all and per kind), contacts overdue (carers, and files with one), notices missing, parents'
    contact stale, risk reviews due, open concerns."""
    out: dict[str, Any] = dict.fromkeys(FIGURES, 0)
    per_kind = dict.fromkeys((k.value for k in KINDS), 0)
    for f in files:
        missing = missing_kinds(f)
        overdue = sum(contact_overdue(p, f.risk_level, rhythm, as_of) for p in f.pairings)
        out["files"] += 1
        out["complete"] += not missing
        out["missing_a_kind"] += bool(missing)
        for k in missing:
            per_kind[k.value] += 1
        out["contacts_overdue"] += overdue
        out["files_with_contact_overdue"] += overdue > 0
        out["notice_missing"] += notice_missing(f)
        out["parents_contact_stale"] += parents_contact_stale(f, rhythm, as_of)
        out["risk_reviews_due"] += risk_review_due(f, rhythm, as_of)
        out["open_concerns"] += f.open_concerns
    out["missing_by_kind"] = per_kind
    return out


def district_figures(
    schools: Sequence[str], files: Iterable[FileFacts], rhythm: Rhythm, as_of: date
) -> dict[str, Any]:
    """Figures per school (every school of the district, with or without files) and the
    district's totals."""
    by_school: dict[str, list[FileFacts]] = {s: [] for s in schools}
    for f in files:
        by_school.setdefault(f.school_id, []).append(f)
    per_school = [
        {"school_id": s, **figures(fs, rhythm, as_of)} for s, fs in sorted(by_school.items())
    ]
    return {
        "schools": per_school,
        "totals": figures([f for fs in by_school.values() for f in fs], rhythm, as_of),
    }
