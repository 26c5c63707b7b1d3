"""The district's KPIs computed INDEPENDENTLY from the generated events, in plain Python, word
for word from the layout brief's definitions (per school on a day ``D``; the district's shares
pooled, flags as the share of schools, counts summed) — never through ``tongxin_agencies``.

``expected(world, day, now)`` → ``Expected`` with ``schools[school_id][kpi]`` (a ``Share``, an
int, a bool or None) and ``district[district][kpi]``; ``value_of`` turns a share into the float
a page shows; ``meets`` judges a value against the seeds' targets (written out here).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tests.support.agencies_world import World
from tongxin_contracts.calendar import (
    CHINA,
    china_date,
    month_bounds,
    report_due,
    school_year_of,
    semester_of,
    year_period,
)
from tongxin_contracts.events import committees as cm
from tongxin_contracts.events import registry as rg
from tongxin_contracts.events import safety as sf
from tongxin_contracts.events import visits as vs
from tongxin_contracts.events import wellbeing as wb


@dataclass(frozen=True)
class Share:
    num: int
    den: int

    @property
    def value(self) -> float | None:
        return self.num / self.den if self.den else None


Value = Share | int | bool | None

# The seeds' targets (the settings' defaults), written out: (rule, target).
TARGETS: dict[str, tuple[str, float | None]] = {
    "visit_coverage": ("at_least", 1.0),
    "head_teacher_coverage": ("at_least", 1.0),
    "special_group_coverage": ("at_least", 1.0),
    "principal_visits": ("at_least", 5),
    "middle_leader_visits": ("at_least", 10),
    "reports_on_time": ("at_least", 1.0),
    "followups_overdue": ("at_most", 0),
    "screening_coverage": ("at_least", 1.0),
    "counselling_room": ("true", None),
    "attention_list": ("none", None),
    "referral_sla": ("at_least", 1.0),
    "representation": ("at_least", 1.0),
    "parent_school_rule": ("true", None),
    "standard_parent_school": ("true", None),
    "open_days": ("at_least", 1),
    "coordinator": ("true", None),
    "training_coverage": ("at_least", 1.0),
    "care_files_complete": ("at_least", 1.0),
    "care_contacts_overdue": ("at_most", 0),
    "guard_completion": ("at_least", 0.95),
    "hazards_overdue": ("at_most", 0),
    "mandatory_reports_late": ("at_most", 0),
}
KPIS = tuple(TARGETS)
FLAGS = ("counselling_room", "parent_school_rule", "standard_parent_school", "coordinator")
# The district's target for a flag: the share of schools (seeds 004 and 001).
FLAG_TARGETS = {
    "counselling_room": 1.0,
    "standard_parent_school": 0.70,
    "coordinator": 1.0,
    "parent_school_rule": 1.0,
}
TREND = (
    "visit_coverage",
    "head_teacher_coverage",
    "screening_coverage",
    "followups_overdue",
    "guard_completion",
    "hazards_overdue",
)
CONTACT_DAYS = {"low": 30, "medium": 14, "high": 7}
LECTURES = {
    "lecture",
    "holiday_lecture",
    "term_start_lecture",
    "term_mid_lecture",
    "term_end_lecture",
}
ACTIVITIES = {"practice", "consultation", "salon"}
SESSIONS, HOURS, N_ACTIVITIES = 4, 8.0, 2
REPORT_DUE_DAY = 30


def value_of(v: Value) -> float | int | bool | None:
    return v.value if isinstance(v, Share) else v


def meets(kpi: str, v: Value) -> bool | None:
    rule, target = TARGETS[kpi]
    x = value_of(v)
    if x is None or rule == "none":
        return None
    if rule == "true":
        return bool(x)
    assert target is not None
    return float(x) >= target - 1e-9 if rule == "at_least" else float(x) <= target + 1e-9


def end_of(d: date) -> datetime:
    return datetime.combine(d + timedelta(days=1), time(0), CHINA).astimezone(UTC)


@dataclass
class Expected:
    day: date
    schools: dict[str, dict[str, Value]]
    district: dict[str, dict[str, Value]]  # district → kpi → pooled value
    longest_delay_minutes: dict[str, int | None]  # school → longest filed delay
    not_visited: dict[str, list[str]]  # school → enrolled student_refs without an in-home visit
    overdue_cases: dict[str, list[str]]  # school → case ids
    trend: dict[str, dict[str, list[float | None]]]  # kpi → school_id → one value per month
    months: list[str]


class Facts:
    """The current roster and every event of the world, read once."""

    def __init__(self, world: World) -> None:
        self.events = world.events
        self.student_at: dict[str, tuple[str, str]] = {}  # student → (school, class)
        self.left: set[str] = set()
        self.special: dict[str, bool] = {}
        self.classes: dict[str, tuple[str, str | None]] = {}  # class → (school, head teacher)
        self.staff: dict[str, tuple[str, set[str]]] = {}  # staff → (school, roles)
        self.counselling: dict[str, bool] = {}
        self.district_of: dict[str, str] = {}
        for e in self.events:
            if isinstance(e, rg.SchoolRegistered):
                self.counselling[e.school_id] = e.has_counselling_room
                self.district_of[e.school_id] = e.district
            elif isinstance(e, rg.ClassOpened):
                self.classes[e.class_id] = (e.school_id, e.head_teacher_ref)
            elif isinstance(e, rg.StudentEnrolled | rg.StudentTransferred):
                self.student_at[e.student_ref] = (e.school_id, e.class_id)
                self.left.discard(e.student_ref)
            elif isinstance(e, rg.StudentLeft):
                self.left.add(e.student_ref)
            elif isinstance(e, rg.StudentCategorised):
                self.special[e.student_ref] = e.in_special_group
            elif isinstance(e, rg.StaffAssigned):
                self.staff[e.staff_ref] = (e.school_id, {str(r) for r in e.roles})

    def of(self, kind: type[Any], school_id: str | None = None) -> list[Any]:
        return [
            e
            for e in self.events
            if isinstance(e, kind) and (school_id is None or e.school_id == school_id)
        ]

    def enrolled(self, school_id: str) -> dict[str, str]:
        """student → class, of the students the school has now."""
        return {
            s: c
            for s, (sch, c) in self.student_at.items()
            if sch == school_id and s not in self.left
        }

    def school_classes(self, school_id: str) -> list[str]:
        return sorted(c for c, (s, _) in self.classes.items() if s == school_id)

    def staff_with(self, school_id: str, *roles: str) -> list[str]:
        return sorted(
            s for s, (sch, rs) in self.staff.items() if sch == school_id and rs & set(roles)
        )


def school_kpis(
    f: Facts, school_id: str, d: date, now: datetime
) -> tuple[dict[str, Value], dict[str, Any]]:
    sy = school_year_of(d)
    year = year_period(sy)
    sem = semester_of(d)
    enrolled = f.enrolled(school_id)
    visits: list[vs.VisitCompleted] = [
        v for v in f.of(vs.VisitCompleted) if china_date(v.started_at) <= d
    ]

    def in_period(v: vs.VisitCompleted, start: date) -> bool:
        return start <= china_date(v.started_at) <= d

    k: dict[str, Value] = {}
    extra: dict[str, Any] = {}
    # 1. visit coverage
    home_year = {v.student_ref for v in visits if v.mode == "in_home" and in_period(v, year.start)}
    visited = [s for s in enrolled if s in home_year]
    k["visit_coverage"] = Share(len(visited), len(enrolled))
    extra["not_visited"] = sorted(s for s in enrolled if s not in home_year)
    # 2. head teachers
    head_of = {c: h for c, (_, h) in f.classes.items()}
    with_head = [s for s, c in enrolled.items() if head_of.get(c)]
    by_head = {
        s
        for s in with_head
        if any(
            v.student_ref == s
            and in_period(v, sem.start)
            and head_of[enrolled[s]] in {x.staff_ref for x in v.visitors}
            for v in visits
        )
    }
    k["head_teacher_coverage"] = Share(len(by_head), len(with_head))
    # 3. special groups
    special = [s for s in enrolled if f.special.get(s)]
    home_sem = {v.student_ref for v in visits if v.mode == "in_home" and in_period(v, sem.start)}
    k["special_group_coverage"] = (
        Share(sum(1 for s in special if s in home_sem), len(special)) if special else None
    )

    # 4, 5. principals and middle leaders: the smallest number of distinct students visited
    def fewest(role: str) -> int | None:
        people = f.staff_with(school_id, role)
        if not people:
            return None
        return min(
            len(
                {
                    v.student_ref
                    for v in visits
                    if in_period(v, year.start) and p in {x.staff_ref for x in v.visitors}
                }
            )
            for p in people
        )

    k["principal_visits"] = fewest("principal")
    k["middle_leader_visits"] = fewest("middle_leader")
    # 6. monthly reports on time
    first_year = year.start.year
    months = [f"{first_year + (m < 9):04d}-{m:02d}" for m in (*range(9, 13), *range(1, 9))]
    due = [m for m in months if report_due(m, REPORT_DUE_DAY) < d]
    firsts: dict[str, vs.MonthlyVisitReportSubmitted] = {}
    for r in f.of(vs.MonthlyVisitReportSubmitted, school_id):
        if r.month not in firsts or r.revision < firsts[r.month].revision:
            firsts[r.month] = r
    on_time = [
        m
        for m in due
        if m in firsts and not firsts[m].late and china_date(firsts[m].submitted_at) <= d
    ]
    k["reports_on_time"] = Share(len(on_time), len(due)) if due else None
    # 7. overdue follow-ups
    closed = {c.case_id for c in f.of(vs.FollowUpClosed, school_id) if c.closed_on <= d}
    overdue = sorted(
        o.case_id
        for o in f.of(vs.FollowUpOpened, school_id)
        if o.opened_on <= d and o.due_date < d and o.case_id not in closed
    )
    k["followups_overdue"] = len(overdue)
    extra["overdue_cases"] = overdue
    # 8. screening
    screened = {
        s.student_ref
        for s in f.of(wb.ScreeningCompleted)
        if s.school_year == sy and s.completed_on <= d
    }
    k["screening_coverage"] = Share(sum(1 for s in enrolled if s in screened), len(enrolled))
    # 9. counselling room
    k["counselling_room"] = f.counselling.get(school_id)
    # 10. attention list (current state)
    listed: set[str] = set()
    for e in f.events:
        if isinstance(e, wb.StudentAddedToAttentionList) and e.school_id == school_id:
            listed.add(e.student_ref)
        elif isinstance(e, wb.StudentRemovedFromAttentionList) and e.school_id == school_id:
            listed.discard(e.student_ref)
    k["attention_list"] = len(listed)
    # 11. referral SLA
    acks = {
        a.referral_id: a
        for a in f.of(wb.ReferralAcknowledged, school_id)
        if a.acknowledged_at < end_of(d)
    }
    referred = [r for r in f.of(wb.CrisisReferred, school_id) if r.referred_at < end_of(d)]
    within = sum(
        1 for r in referred if r.referral_id in acks and acks[r.referral_id].within_deadline
    )
    acknowledged = sum(1 for r in referred if r.referral_id in acks)
    missed = sum(1 for r in referred if r.referral_id not in acks and r.acknowledge_by < now)
    k["referral_sla"] = Share(within, acknowledged + missed) if acknowledged + missed else None
    # 12. representation on the school committee
    classes = f.school_classes(school_id)
    school_committees = {
        c.committee_id: c
        for c in f.of(cm.CommitteeFormed, school_id)
        if c.level == cm.CommitteeLevel.school
    }
    seats: dict[tuple[str, str], str | None] = {}  # (committee, guardian) → class
    terms: dict[str, tuple[date, date]] = {}
    for e in f.events:
        cid: str = getattr(e, "committee_id", "")
        if cid not in school_committees:
            continue
        if isinstance(e, cm.CommitteeElected) and e.elected_on <= d:
            terms[cid] = (e.term_start, e.term_end)
            for seat in e.members:
                seats[(cid, seat.guardian_ref)] = seat.class_id
        elif isinstance(e, cm.ByElectionHeld) and e.held_on <= d:
            for seat in e.members:
                seats[(cid, seat.guardian_ref)] = seat.class_id
        elif ended_seat(e, d):
            seats.pop((cid, getattr(e, "guardian_ref", "")), None)
    represented = {
        c
        for (cid, _), c in seats.items()
        if cid in terms and terms[cid][0] <= d <= terms[cid][1] and c in classes
    }
    k["representation"] = Share(len(represented), len(classes)) if classes else None
    # 13. parent school's teaching rule
    sessions = [
        s
        for s in f.of(cm.ParentSchoolSessionHeld, school_id)
        if s.school_year == sy and s.held_on <= d
    ]
    lectures = [s for s in sessions if s.kind in LECTURES]
    k["parent_school_rule"] = (
        len(lectures) >= SESSIONS
        and sum(s.class_hours for s in lectures) >= HOURS - 1e-9
        and sum(1 for s in sessions if s.kind in ACTIVITIES) >= N_ACTIVITIES
    )
    # 14. standard parent school
    assessed = [
        a
        for a in f.of(cm.ParentSchoolAssessed, school_id)
        if a.school_year == sy and a.assessed_on <= d
    ]
    k["standard_parent_school"] = (
        bool(assessed) and max(assessed, key=lambda a: a.assessed_on).standard
    )
    # 15. open days
    k["open_days"] = sum(1 for o in f.of(cm.OpenDayHeld, school_id) if year.start <= o.held_on <= d)
    # 16. coordinator
    coordinators: set[str] = set()
    for e in f.events:
        if (
            isinstance(e, cm.CoordinatorAppointed)
            and e.school_id == school_id
            and e.appointed_on <= d
        ):
            coordinators.add(e.staff_ref)
        elif (
            isinstance(e, cm.CoordinatorWithdrawn)
            and e.school_id == school_id
            and e.withdrawn_on <= d
        ):
            coordinators.discard(e.staff_ref)
    k["coordinator"] = bool(coordinators)
    # 17. training
    teachers = f.staff_with(school_id, "head_teacher", "psych_teacher")
    trained = {
        r
        for t in f.of(wb.TrainingRecorded)
        if t.topic == wb.TrainingTopic.crisis_identification
        and t.school_year == sy
        and t.held_on <= d
        for r in t.staff_refs
    }
    k["training_coverage"] = (
        Share(sum(1 for t in teachers if t in trained), len(teachers)) if teachers else None
    )
    # 18, 19. care files
    opened = {o.student_ref: o for o in f.of(sf.CareFileOpened, school_id) if o.opened_on <= d}
    shut = {c.student_ref for c in f.of(sf.CareFileClosed, school_id) if c.closed_on <= d} | {
        h.student_ref for h in f.of(sf.CareFileHandedOver, school_id) if h.handed_over_on <= d
    }
    open_files = [s for s in opened if s not in shut]
    accepted: dict[str, sf.CarerAccepted] = {
        a.pairing_id: a for a in f.of(sf.CarerAccepted, school_id) if a.accepted_on <= d
    }
    ended = {x.pairing_id for x in f.of(sf.CarerDeclined, school_id) if x.declined_on <= d} | {
        x.pairing_id for x in f.of(sf.CarerReleased, school_id) if x.released_on <= d
    }
    live = {p: a for p, a in accepted.items() if p not in ended}
    complete = [
        s
        for s in open_files
        if {str(a.kind) for a in live.values() if a.student_ref == s}
        >= {"school", "community", "civil_affairs", "womens_federation"}
    ]
    k["care_files_complete"] = Share(len(complete), len(open_files)) if open_files else None
    risk: dict[str, tuple[date, str]] = {}
    for r in f.of(sf.RiskLevelSet, school_id):
        if r.set_on <= d:
            risk[r.student_ref] = (r.set_on, str(r.level))
    last: dict[str, date] = {}
    for c in f.of(sf.CareContactLogged, school_id):
        if c.contact_on <= d and c.contact_on > last.get(c.pairing_id, date.min):
            last[c.pairing_id] = c.contact_on
    overdue_contacts = 0
    for p, a in live.items():
        if a.student_ref not in open_files:
            continue
        level = risk.get(a.student_ref, (date.min, "low"))[1]
        since = last.get(p, a.accepted_on)
        if since + timedelta(days=CONTACT_DAYS[level]) < d:
            overdue_contacts += 1
    k["care_contacts_overdue"] = overdue_contacts
    # 20. guard shifts
    shifts = [s for s in f.of(sf.GuardShiftScheduled, school_id) if year.start <= s.on and s.on < d]
    done = {c.shift_id for c in f.of(sf.GuardShiftCompleted, school_id)}
    k["guard_completion"] = (
        Share(sum(1 for s in shifts if s.shift_id in done), len(shifts)) if shifts else None
    )
    # 21. hazards
    fixed = {h.hazard_id for h in f.of(sf.HazardRectified, school_id) if h.rectified_on <= d}
    k["hazards_overdue"] = sum(
        1
        for h in f.of(sf.HazardReported, school_id)
        if h.rectify_by < d and h.hazard_id not in fixed
    )
    # 22. mandatory reports
    filed = {
        m.incident_id: m for m in f.of(sf.MandatoryReportFiled, school_id) if m.filed_at < end_of(d)
    }
    required = [
        i
        for i in f.of(sf.IncidentReported, school_id)
        if i.mandatory_report_required and i.recorded_at < end_of(d)
    ]
    k["mandatory_reports_late"] = sum(
        1
        for i in required
        if (i.incident_id in filed and filed[i.incident_id].late)
        or (i.incident_id not in filed and i.report_due_at is not None and i.report_due_at < now)
    )
    delays = [filed[i.incident_id].delay_seconds for i in required if i.incident_id in filed]
    extra["longest_delay_minutes"] = max(delays) // 60 if delays else None
    return k, extra


def ended_seat(e: Any, d: date) -> bool:
    """A resignation or removal on or before ``d``, or a membership ending before it."""
    if isinstance(e, cm.MemberResigned):
        return e.resigned_on <= d
    if isinstance(e, cm.MemberRemoved):
        return e.removed_on <= d
    return isinstance(e, cm.MembershipEnding) and e.ends_on < d


def pooled(kpi: str, values: Sequence[Value]) -> Value:
    present = [v for v in values if value_of(v) is not None]
    if kpi in FLAGS:
        return Share(sum(1 for v in present if v), len(present))
    shares = [v for v in present if isinstance(v, Share)]
    if shares:
        return Share(sum(s.num for s in shares), sum(s.den for s in shares))
    if not present:
        return None
    counts = [int(x) for v in present if (x := value_of(v)) is not None]
    # A floor every school must reach (≥ 5 principal's visits, ≥ 1 open day): the district
    # shows the fewest; how many are overdue or late: the district's sum.
    return min(counts) if TARGETS[kpi][0] == "at_least" else sum(counts)


def month_ends(d: date) -> list[tuple[str, date]]:
    """Every month of d's school year up to d's: its last day, the current month's D."""
    out = []
    start = year_period(school_year_of(d)).start
    m = start
    while m <= d:
        label = f"{m.year:04d}-{m.month:02d}"
        end = month_bounds(label)[1]
        out.append((label, min(end, d)))
        m = end + timedelta(days=1)
    return out


def expected(world: World, day: date | None = None, now: datetime | None = None) -> Expected:
    d = day or world.day
    now = now or world.now
    f = Facts(world)
    schools: dict[str, dict[str, Value]] = {}
    delays: dict[str, int | None] = {}
    not_visited: dict[str, list[str]] = {}
    overdue: dict[str, list[str]] = {}
    for s in world.schools:
        schools[s.school_id], extra = school_kpis(f, s.school_id, d, now)
        delays[s.school_id] = extra["longest_delay_minutes"]
        not_visited[s.school_id] = extra["not_visited"]
        overdue[s.school_id] = extra["overdue_cases"]
    district: dict[str, dict[str, Value]] = {}
    for code in world.districts:
        ids = [s.school_id for s in world.schools_of(code)]
        district[code] = {k: pooled(k, [schools[i][k] for i in ids]) for k in KPIS}
    ends = month_ends(d)
    trend: dict[str, dict[str, list[float | None]]] = defaultdict(dict)
    per_month = [
        {s.school_id: school_kpis(f, s.school_id, end, now)[0] for s in world.schools}
        for _, end in ends
    ]
    for kpi in TREND:
        for s in world.schools:
            trend[kpi][s.school_id] = [
                None if (x := value_of(m[s.school_id][kpi])) is None else float(x)
                for m in per_month
            ]
    return Expected(
        d, schools, district, delays, not_visited, overdue, dict(trend), [m for m, _ in ends]
    )


def refs_in(text: str, refs: Iterable[str]) -> set[str]:
    """Which of ``refs`` occur in ``text`` as whole tokens (ids are [A-Za-z0-9_-])."""
    tokens = set(re.findall(r"[A-Za-z0-9_\-]+", text))
    return tokens & set(refs)


# --- the other agencies' pages (the same words as the layout brief's "What the other pages show")


def hospital_figures(world: World, hospital_id: str, now: datetime | None = None) -> dict[str, int]:
    """A hospital's queue: open (referred to it, not resolved) and overdue (deadline passed,
    not acknowledged)."""
    now = now or world.now
    referred = [
        r
        for r in world.of(wb.CrisisReferred)
        if r.hospital_id == hospital_id and r.referred_at <= now
    ]
    resolved = {r.referral_id for r in world.of(wb.ReferralResolved)}
    acknowledged = {a.referral_id for a in world.of(wb.ReferralAcknowledged)}
    return {
        "open": sum(1 for r in referred if r.referral_id not in resolved),
        "overdue": sum(
            1
            for r in referred
            if r.referral_id not in acknowledged
            and r.referral_id not in resolved
            and r.acknowledge_by < now
        ),
    }


def screening_figures(world: World, district: str, day: date | None = None) -> dict[str, int]:
    """The district's screening counts of the school year: offered, consented, refused, screened
    (distinct students of its schools with a screening of the year)."""
    d = day or world.day
    sy = school_year_of(d)
    schools = {s.school_id for s in world.schools_of(district)}

    def ours(e: Any) -> bool:
        return bool(e.school_id in schools and e.school_year == sy)

    consents = [c for c in world.of(wb.ConsentRecorded) if ours(c) and c.recorded_on <= d]
    return {
        "offered": len({o.student_ref for o in world.of(wb.ScreeningOffered) if ours(o)}),
        "consented": sum(1 for c in consents if c.decision == wb.ConsentDecision.consented),
        "refused": sum(1 for c in consents if c.decision == wb.ConsentDecision.refused),
        "screened": len(
            {
                s.student_ref
                for s in world.of(wb.ScreeningCompleted)
                if ours(s) and s.completed_on <= d
            }
        ),
    }


def police_figures(world: World, district: str) -> dict[str, Any]:
    """The police's page of a district on D: guard shifts of the school year before D, mandatory
    reports, hazards of kind order_and_traffic."""
    d, now = world.day, world.now
    year = year_period(school_year_of(d))
    schools = {s.school_id for s in world.schools_of(district)}
    shifts = [
        s
        for s in world.of(sf.GuardShiftScheduled)
        if s.school_id in schools and year.start <= s.on < d
    ]
    done = {c.shift_id for c in world.of(sf.GuardShiftCompleted)}
    missed = {m.shift_id for m in world.of(sf.GuardShiftMissed)}
    required = [
        i
        for i in world.of(sf.IncidentReported)
        if i.school_id in schools and i.mandatory_report_required and i.recorded_at <= now
    ]
    filed = {m.incident_id: m for m in world.of(sf.MandatoryReportFiled) if m.filed_at <= now}
    late = [
        i
        for i in required
        if (i.incident_id in filed and filed[i.incident_id].late)
        or (i.incident_id not in filed and i.report_due_at is not None and i.report_due_at < now)
    ]
    delays = [filed[i.incident_id].delay_seconds for i in required if i.incident_id in filed]
    hazards = [
        h
        for h in world.of(sf.HazardReported)
        if h.school_id in schools and h.kind == sf.InspectionKind.order_and_traffic
    ]
    fixed = {h.hazard_id for h in world.of(sf.HazardRectified) if h.rectified_on <= d}
    completed = sum(1 for s in shifts if s.shift_id in done)
    return {
        "guard_completion": completed / len(shifts) if shifts else None,
        "shifts_missed": sum(1 for s in shifts if s.shift_id in missed),
        "shifts_unrecorded": sum(
            1 for s in shifts if s.shift_id not in done and s.shift_id not in missed
        ),
        "reports_required": len(required),
        "reports_filed": sum(1 for i in required if i.incident_id in filed),
        "mandatory_reports_late": len(late),
        "longest_delay": max(delays) // 60 if delays else None,
        "hazards_open": sum(1 for h in hazards if h.hazard_id not in fixed),
        "hazards_overdue": sum(1 for h in hazards if h.hazard_id not in fixed and h.rectify_by < d),
    }
