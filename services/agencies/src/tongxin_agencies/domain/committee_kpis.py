"""The committees' and parent school's KPI rules (the layout's definitions 12–16), on a day D,
over the rows of the education model's committees part: pure functions, tested at every
boundary without a database.

A seat's term is the term of the committee's latest election on or before the day the seat was
filled (an elected seat: its own round; a by-election's: the term then running; a committee's
formation gives its first term). A seat is current on D when that term covers D, it was filled
on or before D, and no resignation or removal dated on or before D, and no membership ending
dated before D, has ended it since it was filled.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from tongxin_contracts.calendar import school_year_of, year_period

Row = Mapping[str, Any]

LECTURE_KINDS = frozenset(
    {"lecture", "holiday_lecture", "term_start_lecture", "term_mid_lecture", "term_end_lecture"}
)
ACTIVITY_KINDS = frozenset({"practice", "consultation", "salon"})


def seat_term(seat: Row, terms: Iterable[Row]) -> Row | None:
    best: Row | None = None
    for t in terms:
        if t["elected_on"] <= seat["started_on"] and (
            best is None
            or (t["elected_on"], t["round_no"]) > (best["elected_on"], best["round_no"])
        ):
            best = t
    return best


def seat_ended(seat: Row, endings: Iterable[Row], d: date) -> bool:
    for e in endings:
        if e["ended_on"] < seat["started_on"]:
            continue
        if e["how"] == "ending" and e["ended_on"] < d:
            return True
        if e["how"] != "ending" and e["ended_on"] <= d:
            return True
    return False


def current_seats(
    seats: Iterable[Row], terms: Iterable[Row], endings: Iterable[Row], d: date
) -> list[Row]:
    """The seats current on D (rows of ``committee_seats``)."""
    terms_of: dict[str, list[Row]] = defaultdict(list)
    for t in terms:
        terms_of[t["committee_id"]].append(t)
    endings_of: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for e in endings:
        endings_of[(e["committee_id"], e["guardian_ref"])].append(e)
    out = []
    for s in seats:
        if s["started_on"] > d:
            continue
        term = seat_term(s, terms_of[s["committee_id"]])
        if term is None or not term["term_start"] <= d <= term["term_end"]:
            continue
        if seat_ended(s, endings_of[(s["committee_id"], s["guardian_ref"])], d):
            continue
        out.append(s)
    return sorted(
        out, key=lambda s: (s.get("class_id") or "", s["committee_id"], s["guardian_ref"])
    )


@dataclass(frozen=True)
class Representation:
    classes: list[str]  # every class of the school
    represented: dict[str, list[Row]]  # class → its current seats on the school committee

    @property
    def count(self) -> int:
        """How many of the classes are represented."""
        return sum(1 for c in self.classes if self.represented.get(c))

    @property
    def share(self) -> float | None:
        return self.count / len(self.classes) if self.classes else None


def representation(
    class_ids: Sequence[str],
    school_committees: Iterable[str],
    seats: Iterable[Row],
    terms: Iterable[Row],
    endings: Iterable[Row],
    d: date,
) -> Representation:
    """Classes of the school represented by a current seat on its school-level committee(s)."""
    committees = set(school_committees)
    classes = sorted(set(class_ids))
    mine = [s for s in seats if s["committee_id"] in committees]
    found: dict[str, list[Row]] = defaultdict(list)
    for s in current_seats(mine, terms, endings, d):
        if s.get("class_id") in classes:
            found[s["class_id"]].append(s)
    return Representation(classes, dict(found))


@dataclass(frozen=True)
class TeachingRule:
    lectures: int
    hours: float
    activities: int
    met: bool


def sessions_of_year(sessions: Iterable[Row], d: date) -> list[Row]:
    sy = school_year_of(d)
    return sorted(
        (s for s in sessions if s["school_year"] == sy and s["held_on"] <= d),
        key=lambda s: (s["held_on"], s["session_id"]),
    )


def parent_school_rule(
    sessions: Iterable[Row], d: date, need_sessions: int, need_hours: float, need_activities: int
) -> TeachingRule:
    """In the school year of D (sessions held on or before D): lecture-kind sessions ≥
    ``need_sessions`` and their class hours ≥ ``need_hours``, and practice, consultation and
    salon sessions ≥ ``need_activities``."""
    held = sessions_of_year(sessions, d)
    lectures = [s for s in held if s["kind"] in LECTURE_KINDS]
    hours = sum(float(s["class_hours"]) for s in lectures)
    activities = sum(1 for s in held if s["kind"] in ACTIVITY_KINDS)
    met = (
        len(lectures) >= need_sessions
        and hours >= need_hours - 1e-9
        and activities >= need_activities
    )
    return TeachingRule(len(lectures), hours, activities, met)


def standard_parent_school(assessments: Iterable[Row], d: date) -> bool:
    """The latest assessment of the school year of D (assessed on or before D) says standard."""
    sy = school_year_of(d)
    latest: Row | None = None
    for a in assessments:
        if (
            a["school_year"] == sy
            and a["assessed_on"] <= d
            and (latest is None or a["assessed_on"] >= latest["assessed_on"])
        ):
            latest = a
    return bool(latest and latest["standard"])


def open_days(days: Iterable[Row], d: date) -> list[Row]:
    """Open days held in the school year of D, up to D."""
    start = year_period(school_year_of(d)).start
    return sorted((o for o in days if start <= o["held_on"] <= d), key=lambda o: o["held_on"])


def coordinators(changes: Iterable[Row], d: date) -> list[tuple[str, date]]:
    """(staff_ref, appointed on) of the coordinators in post on D: appointed on or before D and
    not withdrawn since (a withdrawal the same day as an appointment follows it)."""
    latest: dict[str, tuple[date, int, date | None]] = {}
    for c in changes:
        if c["changed_on"] > d:
            continue
        rank = (c["changed_on"], 1 if c["change"] == "withdrawn" else 0)
        now = latest.get(c["staff_ref"])
        if now is None or rank >= (now[0], now[1]):
            since = c["changed_on"] if c["change"] == "appointed" else None
            latest[c["staff_ref"]] = (rank[0], rank[1], since)
    return sorted((ref, since) for ref, (_, _, since) in latest.items() if since is not None)
