"""The child-safety KPIs' rules (the layout's definitions 18–22), on a day D, over the rows of the
education model's safety part: pure functions, so that every boundary is tested without a
database, and the lists behind the figures are the very items the figures count.

Rows are mappings with the model's column names; the queries may narrow them beforehand (an
optimisation only: every rule checks its dates again).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from tongxin_contracts.calendar import school_year_of, year_period

Row = Mapping[str, Any]

CARER_KINDS = ("school", "community", "civil_affairs", "womens_federation")


def _on_or_before(day: date | None, d: date) -> bool:
    return day is not None and day <= d


# --- 18, 19: care files and their carers ---------------------------------------------------------


def file_open(f: Row, d: date) -> bool:
    """Opened on or before D, and neither closed nor handed over on or before D."""
    return (
        _on_or_before(f["opened_on"], d)
        and not _on_or_before(f.get("closed_on"), d)
        and not _on_or_before(f.get("handed_over_on"), d)
    )


def pairing_accepted(p: Row, d: date) -> bool:
    """Accepted on or before D, and not declined or released on or before D."""
    return (
        _on_or_before(p.get("accepted_on"), d)
        and not _on_or_before(p.get("declined_on"), d)
        and not _on_or_before(p.get("released_on"), d)
    )


@dataclass
class OpenFile:
    school_id: str
    student_ref: str
    class_id: str | None
    opened_on: date
    risk_level: str
    kinds: set[str] = field(default_factory=set)  # kinds with an accepted pairing

    @property
    def complete(self) -> bool:
        return all(k in self.kinds for k in CARER_KINDS)

    @property
    def missing(self) -> list[str]:
        return [k for k in CARER_KINDS if k not in self.kinds]


@dataclass(frozen=True)
class OverdueContact:
    school_id: str
    student_ref: str
    class_id: str | None
    pairing_id: str
    kind: str
    risk_level: str
    last_contact: date  # the last contact on or before D, else the day accepted
    due: date

    def days_overdue(self, d: date) -> int:
        return (d - self.due).days


@dataclass
class CareState:
    files: list[OpenFile]
    overdue: list[OverdueContact]


def care_state(
    files: Iterable[Row],
    pairings: Iterable[Row],
    contacts: Iterable[Row],
    risks: Iterable[Row],
    d: date,
    rhythm: Mapping[str, int],
) -> CareState:
    """Open files on D with the kinds of their accepted pairings, and the accepted pairings
    whose last contact (else the day accepted) + the rhythm of the file's latest risk level
    (low when none) lies before D.

    ``contacts``: rows (pairing_id, contact_on) — or a pairing's row may carry its
    ``last_contact`` on or before D itself; ``risks``: rows (student_ref, set_on, level);
    ``rhythm``: days by risk level."""
    pairings = list(pairings)
    level: dict[str, tuple[date, str]] = {}
    for r in risks:
        if r["set_on"] <= d and (
            r["student_ref"] not in level or r["set_on"] >= level[r["student_ref"]][0]
        ):
            level[r["student_ref"]] = (r["set_on"], r["level"])
    last: dict[str, date] = {}
    for p in pairings:
        if p.get("last_contact") is not None and p["last_contact"] <= d:
            last[p["pairing_id"]] = p["last_contact"]
    for c in contacts:
        if c["contact_on"] <= d:
            last[c["pairing_id"]] = max(c["contact_on"], last.get(c["pairing_id"], c["contact_on"]))
    open_files: dict[tuple[str, str], OpenFile] = {}
    for f in files:
        if file_open(f, d):
            open_files[(f["school_id"], f["student_ref"])] = OpenFile(
                f["school_id"],
                f["student_ref"],
                f.get("class_id"),
                f["opened_on"],
                level.get(f["student_ref"], (d, "low"))[1],
            )
    overdue: list[OverdueContact] = []
    for p in pairings:
        file = open_files.get((p["school_id"], p["student_ref"]))
        if file is None or not pairing_accepted(p, d):
            continue
        file.kinds.add(p["kind"])
        seen: date = last.get(p["pairing_id"]) or p["accepted_on"]
        due = seen + timedelta(days=rhythm[file.risk_level])
        if due < d:
            overdue.append(
                OverdueContact(
                    file.school_id,
                    file.student_ref,
                    file.class_id,
                    p["pairing_id"],
                    p["kind"],
                    file.risk_level,
                    seen,
                    due,
                )
            )
    ordered = sorted(
        open_files.values(), key=lambda f: (f.class_id or "", f.opened_on, f.student_ref)
    )
    overdue.sort(key=lambda o: (o.class_id or "", o.due, o.pairing_id))
    return CareState(ordered, overdue)


# --- 20: guard shifts ----------------------------------------------------------------------------


def shifts_counted(shifts: Iterable[Row], d: date) -> list[Row]:
    """Shifts of the school year of D whose day lies before D (today's may yet be recorded); a
    row without a day counts shifts the query already chose so."""
    start = year_period(school_year_of(d)).start
    return [s for s in shifts if "shift_on" not in s or start <= s["shift_on"] < d]


SHIFT_STATES = ("completed", "missed", "unrecorded")


def shift_state(s: Row) -> str:
    """What a counted shift is on the page and in its list: ``completed``, ``missed``, or
    ``unrecorded`` (scheduled, nothing recorded)."""
    status = str(s["status"])
    return status if status in ("completed", "missed") else "unrecorded"


def guard_completion(shifts: Iterable[Row], d: date) -> tuple[int, int] | None:
    """(completed, counted) over the counted shifts; a row may carry ``n`` (a count of such
    shifts). None when there is none."""
    done = total = 0
    for s in shifts_counted(shifts, d):
        n = int(s.get("n", 1))
        total += n
        if shift_state(s) == "completed":
            done += n
    return (done, total) if total else None


# --- 21: hazards --------------------------------------------------------------------------------


def hazard_rectified(h: Row, d: date) -> bool:
    return _on_or_before(h.get("rectified_on"), d)


def hazard_open(h: Row, d: date) -> bool:
    return not hazard_rectified(h, d)


def hazard_overdue(h: Row, d: date) -> bool:
    """Its rectify-by day lies before D and it was not rectified on or before D (a hazard due
    today is not overdue yet)."""
    return h["rectify_by"] < d and not hazard_rectified(h, d)


# A hazard list's ``status`` → the rule its figure counts with (the list narrows to exactly those).
HAZARD_STATES: dict[str, Callable[[Row, date], bool]] = {
    "open": hazard_open,
    "overdue": hazard_overdue,
    "rectified": hazard_rectified,
}


# --- 22: mandatory reports ------------------------------------------------------------------------


def report_filed(i: Row, d: date) -> bool:
    return _on_or_before(i.get("filed_on"), d)


def report_late(i: Row, d: date, now: datetime) -> bool:
    """A required report filed late (on or before D), or not filed by D with its deadline
    before ``now`` (the earlier of the clock and the end of D)."""
    if not i["report_required"] or i["recorded_on"] > d:
        return False
    if report_filed(i, d):
        return bool(i.get("late"))
    due = i.get("report_due_at")
    return due is not None and due < now


def report_required(i: Row, d: date) -> bool:
    return bool(i["report_required"]) and i["recorded_on"] <= d


def report_filed_required(i: Row, d: date, now: datetime) -> bool:
    """A required report filed on or before D."""
    return report_required(i, d) and report_filed(i, d)


def report_escalated(i: Row, d: date, now: datetime) -> bool:
    """A required report escalated before ``now`` (the earlier of the clock and the end of D)."""
    return report_required(i, d) and i.get("escalated_at") is not None and i["escalated_at"] < now


# An incident list's ``status`` → the rule its figure counts with.
INCIDENT_STATES: dict[str, Callable[[Row, date, datetime], bool]] = {
    "required": lambda i, d, now: report_required(i, d),
    "filed": report_filed_required,
    "late": report_late,
    "escalated": report_escalated,
}


def longest_delay_minutes(incidents: Iterable[Row], d: date) -> int | None:
    """The longest delay of a report filed on or before D, in whole minutes (None: none filed)."""
    delays = [
        int(i["delay_seconds"])
        for i in incidents
        if i["report_required"]
        and i["recorded_on"] <= d
        and report_filed(i, d)
        and i.get("delay_seconds") is not None
    ]
    return max(delays) // 60 if delays else None


def by_school(rows: Iterable[Row]) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        out[r["school_id"]].append(r)
    return out
