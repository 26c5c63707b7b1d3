"""A generated district for the agencies service: every service's EVENTS (the only thing the
agencies service reads), made by a seeded ``random.Random`` around a fixed day ``D``, and the
plain facts behind them (``World``) so that tests can pick users and compute figures.

``generate()`` makes, by default, district 330106 with two schools × 3 classes × 8 students and
district 330108 with one school (for scope tests). Odd-numbered schools of a district mostly meet
their targets and even-numbered ones mostly miss them (a few KPIs the other way round), so every
KPI of the layout brief has a met and a missed case:

- visits: school 1 visits every student in home (head teachers, the principal 5 students, the
  middle leader 10); school 2 half of them, some by phone, the principal 2, the middle leader 3,
  its last class has no head teacher, one visit of last school year, one after ``D``, one started
  at 00:30 China time on 1 September (23 August 16:30 UTC… the China date counts);
- follow-ups: school 2 has two overdue (and one closed late); school 1 none;
- monthly reports: school 1 both due months on time (a later, late revision of October does not
  count); school 2 September late, October missing;
- screening: school 1 every student; school 2 part (refusals, one of last year);
- attention list: school 1 two students; school 2 two added, one removed;
- referrals: school 1 one acknowledged in time, one open with its deadline ahead; school 2 one
  acknowledged late, one open past its deadline (escalated);
- committees: school 1 every class represented; school 2 one class unrepresented (a removal);
  parent-school sessions meet the rule in school 1 only; the assessment: school 1 standard (its
  latest), school 2 not; an open day and a coordinator in school 1 only (school 2's withdrawn);
- training: school 1 every head and psychology teacher; school 2 part;
- care files: school 1 one with all four kinds and one with three (a declined one), one contact
  overdue; school 2 one complete file and a closed one;
- guard shifts: school 1 all completed; school 2 3 completed, 1 missed, 1 unrecorded;
- hazards: school 2 an order_and_traffic one overdue (and a fire one rectified late); school 1
  a food_shops one rectified and a stationery_shops one open, not yet due;
- incidents: school 1 one mandatory report filed on time; school 2 one filed late and one
  unfiled past its deadline (escalated);
- committee meetings and feedback (answered, open, overdue) on each school committee.

The events are published as the services' relays publish them (``publish``): CloudEvents in
Kafka binary mode, keyed by ``aggregate_id()``, stream versions counted per stream.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tongxin_contracts import Envelope, IntegrationEvent, envelope_to_headers
from tongxin_contracts.base import Sealed
from tongxin_contracts.calendar import CHINA, school_year_of
from tongxin_contracts.events import committees as cm
from tongxin_contracts.events import registry as rg
from tongxin_contracts.events import safety as sf
from tongxin_contracts.events import visits as vs
from tongxin_contracts.events import wellbeing as wb
from tongxin_platform.eventstore import encode_payload
from tongxin_platform.kafka import reliable_producer

SERVICES = ("registry", "visits", "wellbeing", "safety", "committees")
DAY = date(2026, 11, 20)  # D: a Friday of the first semester of 2026-2027
NOW = datetime.combine(DAY, time(12, 0), CHINA).astimezone(UTC)  # noon in China on D


def sealed(subject: str) -> Sealed:
    return Sealed(subject=subject, key_id=f"key-{subject}", nonce="bm9uY2U", ciphertext="Y2lwaGVy")


def at(d: date, hour: int = 10, minute: int = 0) -> datetime:
    """``d`` at ``hour:minute`` China time, as a UTC instant."""
    return datetime.combine(d, time(hour, minute), CHINA).astimezone(UTC)


# --- the facts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Staff:
    staff_ref: str
    district: str
    school_id: str
    roles: tuple[str, ...]
    class_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Klass:
    class_id: str
    district: str
    school_id: str
    grade: int
    head_teacher_ref: str | None


@dataclass
class Student:
    student_ref: str
    district: str
    school_id: str
    class_id: str
    guardian_ref: str
    special: bool = False
    left: bool = False


@dataclass(frozen=True)
class Carer:
    carer_ref: str
    kind: str  # CarerKind
    role: str  # the token's role: community_worker, civil_affairs, womens_federation, head_teacher
    district: str
    org: str


@dataclass(frozen=True)
class Pairing:
    pairing_id: str
    student_ref: str
    school_id: str
    district: str
    kind: str
    carer_ref: str


@dataclass(frozen=True)
class Member:
    guardian_ref: str
    committee_id: str
    district: str
    school_id: str
    class_id: str | None
    current: bool  # holds a seat on D


@dataclass
class School:
    school_id: str
    district: str
    number: int  # 1, 2… within its district
    good: bool
    class_ids: list[str] = field(default_factory=list)
    committee_id: str = ""

    @property
    def principal(self) -> str:
        return f"stf-{self.school_id}-p"

    @property
    def middle_leader(self) -> str:
        return f"stf-{self.school_id}-ml"

    @property
    def psych_teacher(self) -> str:
        return f"stf-{self.school_id}-psy"


@dataclass
class World:
    """What ``generate`` made: the facts, and the events in the order they are published."""

    day: date
    now: datetime
    districts: list[str]
    schools: list[School]
    classes: list[Klass]
    students: list[Student]
    staff: list[Staff]
    hospitals: dict[str, str]  # hospital_id → district
    carers: list[Carer]
    pairings: list[Pairing]
    members: list[Member]
    inspector: dict[str, str]  # district → a market regulation / police officer's pseudonym
    events: list[IntegrationEvent]

    def by_service(self) -> dict[str, list[IntegrationEvent]]:
        grouped: dict[str, list[IntegrationEvent]] = {s: [] for s in SERVICES}
        for e in self.events:
            grouped[e.service].append(e)
        return grouped

    def of(self, kind: type[IntegrationEvent]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def school(self, school_id: str) -> School:
        return next(s for s in self.schools if s.school_id == school_id)

    def schools_of(self, district: str) -> list[School]:
        return [s for s in self.schools if s.district == district]

    def staff_with(self, role: str, school_id: str | None = None) -> list[Staff]:
        return [
            s
            for s in self.staff
            if role in s.roles and (school_id is None or s.school_id == school_id)
        ]

    def carers_of(self, kind: str) -> list[Carer]:
        return [c for c in self.carers if c.kind == kind]

    def student_refs(self) -> set[str]:
        return {s.student_ref for s in self.students}

    def guardian_refs(self) -> set[str]:
        return {s.guardian_ref for s in self.students}

    def staff_refs(self) -> set[str]:
        return {s.staff_ref for s in self.staff}

    def wellbeing_only(self) -> dict[str, set[str]]:
        """Values only wellbeing events hold: student_refs named by wellbeing events and by no
        safety event, referral ids, screening ids, proposal ids."""
        safety_refs = {
            getattr(e, "student_ref", None) for e in self.events if e.service == "safety"
        } | {r for e in self.of(sf.IncidentReported) for r in e.student_refs}
        wellbeing_refs = {
            r
            for e in self.events
            if e.service == "wellbeing" and (r := getattr(e, "student_ref", None))
        }
        return {
            "student_refs": wellbeing_refs - safety_refs,
            "referral_ids": {e.referral_id for e in self.of(wb.CrisisReferred)},
            "screening_ids": {e.screening_id for e in self.of(wb.ScreeningCompleted)},
            "proposal_ids": {e.proposal_id for e in self.of(wb.StudentAddedToAttentionList)},
        }


# --- the generator --------------------------------------------------------------------------


class _Gen:
    def __init__(self, seed: int, day: date, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.day, self.now = day, now
        self.sy = school_year_of(day)
        first = int(self.sy[:4])
        self.sy_start = date(first, 9, 1)
        self.events: list[IntegrationEvent] = []
        self.classes: list[Klass] = []
        self.students: list[Student] = []
        self.staff: list[Staff] = []
        self.carers: dict[str, Carer] = {}
        self.pairings: list[Pairing] = []
        self.members: list[Member] = []
        self.hospitals: dict[str, str] = {}
        self.n = 0

    def add(self, *events: IntegrationEvent) -> None:
        self.events.extend(events)

    def ident(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}-{self.n:04d}"

    def d(self, month: int, dd: int) -> date:
        """A day of the school year: September–December of its first year, else its second."""
        year = self.sy_start.year if month >= 9 else self.sy_start.year + 1
        return date(year, month, dd)

    def before_day(self, days: int) -> date:
        return self.day - timedelta(days=days)

    # --- registry ---------------------------------------------------------------------------

    def roster(self, s: School, classes: int, students: int) -> None:
        district, sid = s.district, s.school_id
        self.add(
            rg.SchoolRegistered(
                district=district,
                school_id=sid,
                school_name=f"第{s.number}小学 ({district})",
                stage=rg.SchoolStage.primary,
                has_counselling_room=s.good,
            )
        )
        for k in range(1, classes + 1):
            cid = f"{sid}-c{k}"
            # The last class of a missing school has no head teacher.
            head = None if (not s.good and k == classes and classes > 1) else f"stf-{sid}-ht{k}"
            self.classes.append(Klass(cid, district, sid, k, head))
            s.class_ids.append(cid)
            self.add(
                rg.ClassOpened(
                    district=district,
                    school_id=sid,
                    class_id=cid,
                    # six grades, then a second class of each grade (a school of 30 classes)
                    class_name=f"{(k - 1) % 6 + 1}年级{(k - 1) // 6 + 1}班",
                    grade=(k - 1) % 6 + 1,
                    school_year=self.sy,
                    head_teacher_ref=head,
                )
            )
            if head:
                self.hire(s, head, ("head_teacher", "subject_teacher"), (cid,))
        self.hire(s, s.principal, ("principal",))
        self.hire(s, s.middle_leader, ("middle_leader", "subject_teacher"))
        self.hire(s, s.psych_teacher, ("psych_teacher",))
        for cid in s.class_ids:
            for i in range(1, students + 1):
                ref = f"stu-{cid}-{i:02d}"
                st = Student(ref, district, sid, cid, f"gdn-{cid}-{i:02d}")
                self.students.append(st)
                self.add(
                    rg.StudentEnrolled(
                        district=district,
                        school_id=sid,
                        student_ref=ref,
                        class_id=cid,
                        age_band=rg.AgeBand.under_14,
                        age_band_on=self.sy_start,
                        guardians=[rg.Guardian(guardian_ref=st.guardian_ref, relation="mother")],
                        personal=sealed(ref),
                    )
                )
        mine = self.school_students(s)
        # Two students of special groups per school; the first one also left behind.
        for st in (mine[1], mine[-2]):
            st.special = True
            self.add(
                rg.StudentCategorised(
                    district=district,
                    school_id=sid,
                    student_ref=st.student_ref,
                    groups=sealed(st.student_ref),
                    in_special_group=True,
                    care_groups=[rg.CareGroup.left_behind] if st is mine[1] else [],
                )
            )
        # A student categorised, then no longer: not of a special group.
        self.add(
            rg.StudentCategorised(
                district=district,
                school_id=sid,
                student_ref=mine[3].student_ref,
                groups=sealed(mine[3].student_ref),
                in_special_group=True,
                care_groups=[],
            ),
            rg.StudentCategorised(
                district=district,
                school_id=sid,
                student_ref=mine[3].student_ref,
                groups=None,
                in_special_group=False,
                care_groups=[],
            ),
        )
        if s.good and len(s.class_ids) > 1:
            # A student moves to another class of the school: counted in the new one.
            st = mine[0]
            new = s.class_ids[1]
            self.add(
                rg.StudentTransferred(
                    district=district,
                    school_id=sid,
                    student_ref=st.student_ref,
                    class_id=new,
                    from_school_id=sid,
                    from_class_id=st.class_id,
                )
            )
            st.class_id = new
        if not s.good:
            # A student leaves: off the roster (and its visit counts nowhere).
            st = mine[-1]
            st.left = True
            self.add(
                rg.StudentLeft(
                    district=district,
                    school_id=sid,
                    student_ref=st.student_ref,
                    reason=rg.LeaveReason.moved_away,
                )
            )

    def hire(
        self, s: School, ref: str, roles: tuple[str, ...], class_ids: tuple[str, ...] = ()
    ) -> None:
        self.staff.append(Staff(ref, s.district, s.school_id, roles, class_ids))
        self.add(
            rg.StaffAssigned(
                district=s.district,
                school_id=s.school_id,
                staff_ref=ref,
                roles=[rg.StaffRole(r) for r in roles],
                class_ids=list(class_ids),
                personal=sealed(ref),
            )
        )

    def school_students(self, s: School) -> list[Student]:
        return [st for st in self.students if st.school_id == s.school_id]

    def enrolled(self, s: School) -> list[Student]:
        return [st for st in self.school_students(s) if not st.left]

    def head_of(self, class_id: str) -> str | None:
        return next(k.head_teacher_ref for k in self.classes if k.class_id == class_id)

    # --- visits -----------------------------------------------------------------------------

    def visit(
        self,
        st: Student,
        visitors: Sequence[tuple[str, str]],
        mode: str,
        started_at: datetime,
        *,
        followups: Sequence[str] = (),
    ) -> str:
        visit_id = self.ident("visit")
        self.add(
            vs.VisitCompleted(
                district=st.district,
                school_id=st.school_id,
                visit_id=visit_id,
                class_id=st.class_id,
                student_ref=st.student_ref,
                recorded_by=visitors[0][0],
                visitors=[vs.Visitor(staff_ref=r, role=rg.StaffRole(role)) for r, role in visitors],
                mode=vs.VisitMode(mode),
                started_at=started_at,
                duration_minutes=self.rng.randint(30, 90),
                goals_covered=[vs.VisitGoal.family_situation, vs.VisitGoal.student_performance],
                findings=None,
                referrals=[],
                followup_case_ids=list(followups),
                parent_suggestions=[],
                notes=None,
                integrity_attested=True,
            )
        )
        return visit_id

    def a_day(self, lo: date, hi: date) -> date:
        return lo + timedelta(days=self.rng.randint(0, (hi - lo).days))

    def visits(self, s: School) -> None:
        enrolled = self.enrolled(s)
        everyone = self.school_students(s)
        principal = (s.principal, "principal")
        leader = (s.middle_leader, "middle_leader")
        last = self.before_day(1)
        if s.good:
            for i, st in enumerate(enrolled):
                head = self.head_of(st.class_id)
                visitors: list[tuple[str, str]] = [(head, "head_teacher")] if head else []
                if i < 5:
                    visitors.append(principal)
                if i < 10:
                    visitors.append(leader)
                if not visitors:
                    visitors = [leader]
                when = at(self.a_day(self.d(9, 5), last), self.rng.randint(9, 19))
                self.visit(st, visitors, "in_home", when)
            return
        # The missing school: every other student in home, by its head teacher when it has one.
        visited = enrolled[::2]
        for i, st in enumerate(visited):
            head = self.head_of(st.class_id)
            visitors = [(head, "head_teacher")] if head else [leader]
            if i < 2:
                visitors.append(principal)
            if 2 <= i < 5:
                visitors.append(leader)
            when = at(self.a_day(self.d(9, 5), last), self.rng.randint(9, 19))
            if i == 1:
                # 00:30 on 1 September in China (31 August UTC): in the school year.
                when = at(self.d(9, 1), 0, 30)
            self.visit(st, visitors, "in_home", when)
        # Class 1's head teacher visits the rest of the class too, by phone (head-teacher
        # coverage, not in-home coverage).
        first = s.class_ids[0]
        head = self.head_of(first)
        for st in enrolled[1::2]:
            if st.class_id == first and head:
                self.visit(
                    st, [(head, "head_teacher")], "phone", at(self.a_day(self.d(9, 5), last))
                )
        # A special-group student only by phone (special-group coverage < 1).
        for st in enrolled:
            if st.special and st not in visited:
                self.visit(st, [(s.psych_teacher, "psych_teacher")], "online", at(self.d(10, 9)))
        # Last school year's visit, and one after D: neither counts on D.
        unvisited = [st for st in enrolled if st not in visited]
        self.visit(unvisited[0], [principal], "in_home", at(date(self.sy_start.year, 6, 10)))
        self.visit(unvisited[-1], [principal], "in_home", at(self.day + timedelta(days=2)))
        # The student who left had been visited: counts nowhere.
        gone = [st for st in everyone if st.left]
        for st in gone:
            self.visit(st, [principal, leader], "in_home", at(self.d(9, 20)))

    def followups(self, s: School) -> None:
        enrolled = self.enrolled(s)
        owner = s.psych_teacher

        def case(st: Student, opened: date, due: date, closed: date | None) -> str:
            case_id = self.ident("case")
            visit_id = self.visit(
                st,
                [
                    (
                        self.head_of(st.class_id) or s.middle_leader,
                        "head_teacher" if self.head_of(st.class_id) else "middle_leader",
                    )
                ],
                "at_school",
                at(opened, 9),
                followups=[case_id],
            )
            self.add(
                vs.FollowUpOpened(
                    district=s.district,
                    school_id=s.school_id,
                    case_id=case_id,
                    visit_id=visit_id,
                    class_id=st.class_id,
                    student_ref=st.student_ref,
                    measure=self.rng.choice(list(vs.Measure)),
                    detail=None,
                    owner_ref=owner,
                    opened_on=opened,
                    due_date=due,
                )
            )
            if closed is not None:
                self.add(
                    vs.FollowUpClosed(
                        district=s.district,
                        school_id=s.school_id,
                        case_id=case_id,
                        outcome=vs.FollowUpOutcome.resolved,
                        closed_by=owner,
                        closed_on=closed,
                    )
                )
            return case_id

        if s.good:
            case(enrolled[2], self.d(9, 20), self.d(10, 20), self.d(10, 12))
            case(enrolled[4], self.before_day(10), self.day + timedelta(days=20), None)
        else:
            case(enrolled[2], self.d(9, 15), self.d(10, 15), None)  # overdue
            case(enrolled[4], self.d(10, 1), self.d(11, 1), None)  # overdue
            case(enrolled[6], self.d(9, 20), self.d(10, 20), self.d(11, 10))  # closed late
            case(
                enrolled[8 % len(enrolled)], self.before_day(5), self.day + timedelta(days=5), None
            )
            # Closed after D: overdue on D.
            case(
                enrolled[10 % len(enrolled)],
                self.d(10, 2),
                self.d(10, 30),
                self.day + timedelta(days=3),
            )

    def reports(self, s: School) -> None:
        def report(month: str, revision: int, submitted: datetime, due: date, late: bool) -> None:
            n = self.rng.randint(3, 20)
            figures = vs.MonthlyFigures(
                visits_completed=n,
                visits_confirmed=n,
                visits_unconfirmed=0,
                in_home=n,
                online=0,
                phone=0,
                at_school=0,
                students_visited=n,
                special_group_students_visited=0,
                by_principals=1,
                by_middle_leaders=1,
                by_head_teachers=n,
                by_subject_teachers=0,
                visits_cancelled=0,
                followups_opened=0,
                followups_closed=0,
                parent_suggestions=0,
            )
            self.add(
                vs.MonthlyVisitReportSubmitted(
                    district=s.district,
                    school_id=s.school_id,
                    month=month,
                    revision=revision,
                    figures=figures,
                    submitted_by=s.principal,
                    submitted_at=submitted,
                    due_date=due,
                    late=late,
                )
            )

        y = self.sy_start.year
        if s.good:
            report(f"{y}-09", 1, at(self.d(9, 28), 16), self.d(9, 30), False)
            report(f"{y}-10", 1, at(self.d(10, 29), 16), self.d(10, 30), False)
            # A correction after the due date: the first revision decides.
            report(f"{y}-10", 2, at(self.d(11, 3), 9), self.d(10, 30), True)
        else:
            report(f"{y}-09", 1, at(self.d(10, 3), 9), self.d(9, 30), True)
            # October: missing.

    # --- wellbeing ----------------------------------------------------------------------------

    def wellbeing(self, s: School) -> None:
        district, sid, sy = s.district, s.school_id, self.sy
        enrolled = self.enrolled(s)
        self.add(
            wb.ScreeningCampaignOpened(
                district=district,
                school_id=sid,
                school_year=sy,
                instruments=["phq9"],
                exam_from=self.d(10, 8),
                exam_to=self.d(10, 31),
            )
        )
        for i, st in enumerate(enrolled):
            ref = st.student_ref
            self.add(
                wb.ScreeningOffered(
                    district=district, school_id=sid, student_ref=ref, school_year=sy
                )
            )
            refused = not s.good and i % 4 == 1
            self.add(
                wb.ConsentRecorded(
                    district=district,
                    school_id=sid,
                    student_ref=ref,
                    school_year=sy,
                    decision=wb.ConsentDecision.refused
                    if refused
                    else wb.ConsentDecision.consented,
                    given_by=wb.ConsentGivenBy.guardian,
                    guardian_ref=st.guardian_ref,
                    recorded_on=self.d(10, 5),
                )
            )
            screened = s.good or (not refused and i % 4 != 2)
            if screened:
                screening: dict[str, Any] = {
                    "district": district,
                    "school_id": sid,
                    "student_ref": ref,
                    "school_year": sy,
                    "screening_id": self.ident("scr"),
                    "instrument_id": "phq9",
                }
                completed_on = self.a_day(self.d(10, 10), self.d(10, 30))
                self.add(wb.ScreeningCompleted(**screening, completed_on=completed_on))
                if i in (3, 5):
                    self.add(
                        wb.ScreeningFlagged(**screening, band="moderate", risk=wb.RiskFlag.elevated)
                    )
            elif not refused and i % 4 == 2 and not s.good:
                # Screened last school year only: does not count this year.
                last_year = f"{self.sy_start.year - 1}-{self.sy_start.year}"
                self.add(
                    wb.ScreeningCompleted(
                        district=district,
                        school_id=sid,
                        student_ref=ref,
                        school_year=last_year,
                        screening_id=self.ident("scr"),
                        instrument_id="phq9",
                        completed_on=date(self.sy_start.year, 4, 20),
                    )
                )
        # The attention list: two students; in the missing school one is removed again.
        for st in (enrolled[3], enrolled[5]):
            proposal = self.ident("prop")
            self.add(
                wb.AttentionListProposed(
                    district=district,
                    school_id=sid,
                    student_ref=st.student_ref,
                    proposal_id=proposal,
                    source=wb.ProposalSource.screening,
                    proposed_by=s.psych_teacher,
                    reason=None,
                ),
                wb.StudentAddedToAttentionList(
                    district=district,
                    school_id=sid,
                    student_ref=st.student_ref,
                    proposal_id=proposal,
                    class_id=st.class_id,
                    signed_by=[s.psych_teacher, self.head_of(st.class_id) or s.principal],
                ),
            )
        if not s.good:
            self.add(
                wb.StudentRemovedFromAttentionList(
                    district=district,
                    school_id=sid,
                    student_ref=enrolled[5].student_ref,
                    reason=wb.RemovalReason.improved,
                    decided_by=s.psych_teacher,
                )
            )
        # Crisis referrals.
        hospital = f"hosp-{district}-{1 + (s.number - 1) % 2}"
        self.hospitals[hospital] = district

        def refer(st: Student, referred_at: datetime) -> str:
            rid = self.ident("ref")
            self.add(
                wb.CrisisReferred(
                    district=district,
                    school_id=sid,
                    referral_id=rid,
                    student_ref=st.student_ref,
                    hospital_id=hospital,
                    referred_by=s.psych_teacher,
                    referred_at=referred_at,
                    acknowledge_by=referred_at + timedelta(hours=1),
                    note=None,
                ),
                wb.GuardianNotified(
                    district=district,
                    school_id=sid,
                    referral_id=rid,
                    student_ref=st.student_ref,
                    guardian_ref=st.guardian_ref,
                ),
            )
            return rid

        def acknowledge(rid: str, when: datetime, within: bool) -> None:
            self.add(
                wb.ReferralAcknowledged(
                    district=district,
                    school_id=sid,
                    referral_id=rid,
                    hospital_id=hospital,
                    acknowledged_at=when,
                    within_deadline=within,
                )
            )

        if s.good:
            t = at(self.d(10, 14), 15)
            rid = refer(enrolled[3], t)
            acknowledge(rid, t + timedelta(minutes=25), True)
            self.add(
                wb.ReferralResolved(
                    district=district,
                    school_id=sid,
                    referral_id=rid,
                    outcome=wb.ReferralOutcome.treated_as_outpatient,
                    resolved_on=self.d(10, 20),
                )
            )
            # Open, its deadline ahead of now: the hospital's countdown.
            refer(enrolled[5], self.now - timedelta(minutes=10))
        else:
            t = at(self.d(11, 2), 11)
            rid = refer(enrolled[3], t)
            acknowledge(rid, t + timedelta(minutes=95), False)
            t = at(self.before_day(2), 16)
            rid = refer(enrolled[5], t)
            self.add(
                wb.ReferralEscalated(
                    district=district,
                    school_id=sid,
                    referral_id=rid,
                    hospital_id=hospital,
                    acknowledge_by=t + timedelta(hours=1),
                    escalated_at=t + timedelta(hours=1, minutes=1),
                    escalated_to=[wb.Bureau.district_education, wb.Bureau.district_health],
                )
            )
        # Training in crisis identification.
        heads = [
            k.head_teacher_ref for k in self.classes if k.school_id == sid and k.head_teacher_ref
        ]
        trained = [*heads, s.psych_teacher] if s.good else heads[:1]
        self.add(
            wb.TrainingRecorded(
                district=district,
                school_id=sid,
                school_year=sy,
                training_id=self.ident("trn"),
                topic=wb.TrainingTopic.crisis_identification,
                held_on=self.d(9, 25),
                staff_refs=trained,
                parent_count=0,
            ),
            wb.TrainingRecorded(
                district=district,
                school_id=sid,
                school_year=sy,
                training_id=self.ident("trn"),
                topic=wb.TrainingTopic.classroom_emotion_module,
                held_on=self.d(10, 25),
                staff_refs=[*heads, s.psych_teacher],
                parent_count=0,
            ),
        )

    # --- committees ---------------------------------------------------------------------------

    def committees(self, s: School) -> None:
        district, sid = s.district, s.school_id
        cid = f"cmt-{sid}"
        s.committee_id = cid
        term_start, term_end = self.d(9, 15), self.d(8, 31)
        students = self.enrolled(s)
        per_class = {c: [st for st in students if st.class_id == c] for c in s.class_ids}
        seats: list[cm.Seat] = []
        for n, c in enumerate(s.class_ids):
            role = cm.SeatRole.chair if n == 0 else cm.SeatRole.member
            seats.append(cm.Seat(guardian_ref=per_class[c][0].guardian_ref, role=role, class_id=c))
        extra = per_class[s.class_ids[-1 if s.good else min(1, len(s.class_ids) - 1)]][1]
        seats.append(
            cm.Seat(
                guardian_ref=extra.guardian_ref, role=cm.SeatRole.member, class_id=extra.class_id
            )
        )
        committee: dict[str, Any] = {
            "district": district,
            "committee_id": cid,
            "school_id": sid,
            "level": cm.CommitteeLevel.school,
            "seats": len(seats),
            "term_start": term_start,
            "term_end": term_end,
        }
        self.add(
            cm.CommitteeFormed(
                **committee,
                grade=None,
                class_id=None,
                formed_on=self.d(9, 10),
                formed_by=s.principal,
            ),
            cm.CommitteeElected(
                **committee,
                round_no=1,
                elected_on=self.d(9, 14),
                members=seats,
                voters=40,
                recorded_by=s.principal,
            ),
        )
        gone: set[str] = set()
        if s.good:
            # The extra member resigns; every class stays represented.
            self.add(
                cm.MemberResigned(
                    district=district,
                    committee_id=cid,
                    school_id=sid,
                    guardian_ref=extra.guardian_ref,
                    reason=cm.ResignReason.personal,
                    resigned_on=self.d(10, 20),
                    recorded_by=s.principal,
                )
            )
            gone.add(extra.guardian_ref)
        else:
            # The last class's member is removed: that class is unrepresented; the extra member's
            # membership ended (their child left) — their class keeps its first member.
            removed = seats[len(s.class_ids) - 1].guardian_ref
            self.add(
                cm.MemberRemoved(
                    district=district,
                    committee_id=cid,
                    school_id=sid,
                    guardian_ref=removed,
                    reason=cm.RemovalReason.repeated_absence,
                    removed_on=self.d(10, 15),
                    decided_by=s.principal,
                    note=None,
                ),
                cm.MembershipEnding(
                    district=district,
                    committee_id=cid,
                    school_id=sid,
                    guardian_ref=extra.guardian_ref,
                    reason=cm.EndingReason.last_child_left,
                    ends_on=self.d(11, 1),
                ),
            )
            gone |= {removed, extra.guardian_ref}
        for seat in seats:
            self.members.append(
                Member(
                    seat.guardian_ref,
                    cid,
                    district,
                    sid,
                    seat.class_id,
                    seat.guardian_ref not in gone,
                )
            )
        # Meetings.
        self.add(
            cm.JointMeetingHeld(
                district=district,
                meeting_id=self.ident("meet"),
                school_id=sid,
                held_on=self.d(10, 12),
                recorded_by=s.principal,
                committee_ids=[cid],
                parents_attending=12,
                staff_attending=5,
                resolutions=2,
                minutes=None,
            ),
            cm.ParentMeetingHeld(
                district=district,
                meeting_id=self.ident("meet"),
                school_id=sid,
                held_on=self.d(11, 5),
                recorded_by=s.principal,
                scope=cm.MeetingScope.school,
                grade=None,
                class_id=None,
                families_invited=len(students),
                parents_attending=len(students) - 3,
                opinions_before=True,
                opinions_after=True,
                committee_ids=[cid],
                minutes=None,
            ),
        )

        # Feedback to the committee: answered on time, open (not yet due), open overdue.
        def feedback(received: date, due: date) -> str:
            item = self.ident("fb")
            self.add(
                cm.ParentFeedbackReceived(
                    district=district,
                    item_id=item,
                    school_id=sid,
                    channel=cm.Channel.committee,
                    topic=self.rng.choice(
                        [cm.FeedbackTopic.food, cm.FeedbackTopic.homework_burden]
                    ),
                    received_on=received,
                    due_on=due,
                    handler_ref=s.principal,
                    received_by=s.principal,
                    committee_id=cid,
                    visit_id=None,
                    suggestion_id=None,
                    text=None,
                )
            )
            return item

        answered = feedback(self.d(10, 8), self.d(10, 22))
        self.add(
            cm.ParentFeedbackAnswered(
                district=district,
                item_id=answered,
                school_id=sid,
                channel=cm.Channel.committee,
                decision=cm.AnswerDecision.adopted,
                answered_on=self.d(10, 18),
                due_on=self.d(10, 22),
                on_time=True,
                answered_by=s.principal,
                visit_id=None,
                suggestion_id=None,
                answer=sealed(answered),
            )
        )
        feedback(self.before_day(3), self.day + timedelta(days=11))
        feedback(self.d(10, 20), self.d(11, 3))
        # The parent school.
        self.add(
            cm.ParentSchoolEstablished(
                district=district,
                school_id=sid,
                head_ref=s.principal,
                management=[s.principal, s.middle_leader],
                teachers=[s.psych_teacher],
                has_venue=True,
                curriculum_units=8,
                established_on=self.d(9, 2),
                curriculum=None,
            )
        )

        def session(kind: str, held: date, hours: float) -> None:
            self.add(
                cm.ParentSchoolSessionHeld(
                    district=district,
                    school_id=sid,
                    session_id=self.ident("ps"),
                    school_year=self.sy,
                    kind=cm.SessionKind(kind),
                    mode=cm.SessionMode.in_person,
                    held_on=held,
                    class_hours=hours,
                    topic=self.rng.choice(list(cm.SessionTopic)),
                    attendance=self.rng.randint(20, 60),
                    recorded_by=s.principal,
                    title=None,
                )
            )

        if s.good:
            session("term_start_lecture", self.d(9, 6), 2.0)
            session("lecture", self.d(9, 27), 2.0)
            session("lecture", self.d(10, 18), 2.0)
            session("term_mid_lecture", self.d(11, 8), 2.0)
            session("practice", self.d(10, 11), 1.0)
            session("salon", self.d(11, 1), 1.5)
        else:
            session("term_start_lecture", self.d(9, 6), 2.0)
            session("lecture", self.d(10, 18), 2.0)
            session("lecture", self.d(11, 8), 2.0)
            session("practice", self.d(10, 11), 1.0)
            # After D: does not count on D.
            session("term_mid_lecture", self.day + timedelta(days=1), 2.0)

        def assessed(on: date, standard: bool) -> None:
            self.add(
                cm.ParentSchoolAssessed(
                    district=district,
                    school_id=sid,
                    school_year=self.sy,
                    standard=standard,
                    criteria_met=list(cm.AssessmentCriterion)[: 7 if standard else 4],
                    assessed_on=on,
                    assessed_by=f"officer-{district}",
                )
            )

        if s.good:
            assessed(self.d(10, 10), False)
            assessed(self.d(11, 10), True)
        else:
            assessed(self.d(11, 10), False)
        # The missing school's open day was last school year's: not this year's.
        open_day, parents, opinions = (
            (self.d(10, 20), 80, 14) if s.good else (date(self.sy_start.year, 5, 20), 60, 5)
        )
        self.add(
            cm.OpenDayHeld(
                district=district,
                meeting_id=self.ident("meet"),
                school_id=sid,
                held_on=open_day,
                recorded_by=s.principal,
                days=1,
                parents_attending=parents,
                opinions_collected=opinions,
            )
        )
        self.add(
            cm.CoordinatorAppointed(
                district=district,
                school_id=sid,
                staff_ref=s.middle_leader,
                led_by=s.principal,
                appointed_on=self.d(9, 3),
            )
        )
        if not s.good:
            self.add(
                cm.CoordinatorWithdrawn(
                    district=district,
                    school_id=sid,
                    staff_ref=s.middle_leader,
                    withdrawn_on=self.d(10, 30),
                )
            )

    # --- safety -------------------------------------------------------------------------------

    def carer(self, kind: str, district: str, number: int, school: School) -> Carer:
        if kind == "school":
            head = next(k.head_teacher_ref for k in self.classes if k.school_id == school.school_id)
            ref, role, org = head or school.principal, "head_teacher", school.school_id
        else:
            role = {
                "community": "community_worker",
                "civil_affairs": "civil_affairs",
                "womens_federation": "womens_federation",
            }[kind]
            ref, org = f"carer-{district}-{kind}-{number}", f"org-{district}-{kind}"
        c = self.carers.setdefault(ref, Carer(ref, kind, role, district, org))
        return c

    def care_file(
        self,
        s: School,
        st: Student,
        kinds: Mapping[str, tuple[int, date | None, date | None]],
        *,
        risk: str | None,
        opened: date,
    ) -> None:
        """``kinds``: kind → (carer number, accepted on (None: declined), last contact)."""
        district, sid = s.district, s.school_id
        self.add(
            sf.CareFileOpened(
                district=district,
                school_id=sid,
                student_ref=st.student_ref,
                class_id=st.class_id,
                source=sf.FileSource.categorised,
                care_groups=[rg.CareGroup.left_behind],
                opened_on=opened,
                opened_by=None,
            )
        )
        if risk:
            # Low when opened, then the given level five days later.
            for level, previous, on in (
                (sf.RiskLevel.low, None, opened),
                (sf.RiskLevel(risk), sf.RiskLevel.low, opened + timedelta(days=5)),
            ):
                self.add(
                    sf.RiskLevelSet(
                        district=district,
                        school_id=sid,
                        student_ref=st.student_ref,
                        level=level,
                        previous=previous,
                        set_on=on,
                        set_by=s.principal,
                        reason=None,
                    )
                )
        for kind, (number, accepted, contact) in kinds.items():
            c = self.carer(kind, district, number, s)
            pid = self.ident("pair")
            self.pairings.append(Pairing(pid, st.student_ref, sid, district, kind, c.carer_ref))
            k = sf.CarerKind(kind)
            common: dict[str, Any] = {
                "district": district,
                "school_id": sid,
                "student_ref": st.student_ref,
                "pairing_id": pid,
                "kind": k,
            }
            self.add(
                sf.CarerPaired(
                    **common,
                    carer_ref=c.carer_ref,
                    org=c.org,
                    paired_on=opened,
                    paired_by=s.principal,
                )
            )
            if accepted is None:
                self.add(
                    sf.CarerDeclined(
                        **common,
                        reason=sf.DeclineReason.caseload_full,
                        declined_on=opened + timedelta(days=2),
                    )
                )
                continue
            self.add(sf.CarerAccepted(**common, accepted_on=accepted))
            if contact is not None:
                self.add(
                    sf.CareContactLogged(
                        **common,
                        contact_on=accepted + timedelta(days=3),
                        mode=sf.ContactMode.phone,
                        note=None,
                    ),
                    sf.CareContactLogged(
                        **common, contact_on=contact, mode=sf.ContactMode.home_visit, note=None
                    ),
                )

    def safety(self, s: School) -> None:
        district, sid = s.district, s.school_id
        enrolled = self.enrolled(s)
        special = [st for st in enrolled if st.special]
        day = self.day
        if s.good:
            # All four kinds accepted; high risk (7 days): the community carer's last contact
            # 12 days ago is overdue.
            self.care_file(
                s,
                special[0],
                {
                    "school": (1, self.d(9, 12), day - timedelta(days=2)),
                    "community": (1, self.d(9, 12), day - timedelta(days=12)),
                    "civil_affairs": (1, self.d(9, 13), day - timedelta(days=5)),
                    "womens_federation": (1, self.d(9, 14), day - timedelta(days=4)),
                },
                risk="high",
                opened=self.d(9, 10),
            )
            self.add(
                sf.ParentContactRecorded(
                    district=district,
                    school_id=sid,
                    student_ref=special[0].student_ref,
                    contact_on=day - timedelta(days=3),
                    mode=sf.ContactMode.video,
                )
            )
            # Three kinds (the women's federation declined); low risk, contacts recent.
            self.care_file(
                s,
                special[-1],
                {
                    "school": (1, self.d(10, 1), day - timedelta(days=10)),
                    "community": (2, self.d(10, 1), day - timedelta(days=8)),
                    "civil_affairs": (1, self.d(10, 2), day - timedelta(days=6)),
                    "womens_federation": (1, None, None),
                },
                risk=None,
                opened=self.d(9, 28),
            )
        else:
            self.care_file(
                s,
                special[0],
                {
                    "school": (1, self.d(9, 20), day - timedelta(days=3)),
                    "community": (1, self.d(9, 20), day - timedelta(days=6)),
                    "civil_affairs": (1, self.d(9, 21), day - timedelta(days=9)),
                    "womens_federation": (1, self.d(9, 22), day - timedelta(days=13)),
                },
                risk="medium",
                opened=self.d(9, 18),
            )
            # A closed file: counts nowhere (its carer has not been in touch).
            other = special[-1]
            self.care_file(
                s, other, {"community": (2, self.d(9, 20), None)}, risk=None, opened=self.d(9, 18)
            )
            self.add(
                sf.CareFileClosed(
                    district=district,
                    school_id=sid,
                    student_ref=other.student_ref,
                    reason=sf.FileClosedReason.no_longer_in_need,
                    closed_on=self.d(10, 10),
                )
            )
        # Guard posts and shifts.
        post = f"post-{sid}"
        self.add(
            sf.GuardPostEstablished(
                district=district,
                school_id=sid,
                post_id=post,
                place=sf.PostPlace.school_gate,
                police_station=f"ps-{district}-1",
                established_on=self.d(9, 1),
            )
        )
        outcomes = (
            ["completed"] * 4 if s.good else ["completed", "missed", "completed", None, "completed"]
        )
        days = [day - timedelta(days=n) for n in range(len(outcomes) + 1, 1, -1)]
        guards = [
            sf.Guard(kind=sf.GuardKind.police, ref=f"police-{district}-1"),
            sf.Guard(kind=sf.GuardKind.staff, ref=s.principal),
        ]
        for on, outcome in [
            *zip(days, outcomes, strict=True),
            (day, None),
            (day + timedelta(days=3), None),
        ]:
            shift = self.ident("shift")
            common: dict[str, Any] = {
                "district": district,
                "school_id": sid,
                "shift_id": shift,
                "post_id": post,
                "on": on,
            }
            self.add(sf.GuardShiftScheduled(**common, period=sf.ShiftPeriod.morning, guards=guards))
            if outcome == "completed":
                self.add(
                    sf.GuardShiftCompleted(
                        **common,
                        guards_present=[sf.GuardKind.police, sf.GuardKind.staff],
                        recorded_by=s.principal,
                    )
                )
            elif outcome == "missed":
                self.add(
                    sf.GuardShiftMissed(
                        **common, reason=sf.MissedReason.no_show, recorded_by=s.principal
                    )
                )
        # Inspections and hazards.

        def inspection(
            kind: str, inspector: str, on: date, found: int, reinspection_of: str | None = None
        ) -> str:
            iid = self.ident("insp")
            self.add(
                sf.InspectionCompleted(
                    district=district,
                    school_id=sid,
                    inspection_id=iid,
                    kind=sf.InspectionKind(kind),
                    inspector=sf.Inspector(inspector),
                    inspected_on=on,
                    inspected_by=f"inspector-{district}-{inspector}",
                    reinspection_of=reinspection_of,
                    hazards_found=found,
                )
            )
            return iid

        def hazard(iid: str, kind: str, rectify_by: date, owner: str) -> str:
            hid = self.ident("haz")
            self.add(
                sf.HazardReported(
                    district=district,
                    school_id=sid,
                    inspection_id=iid,
                    hazard_id=hid,
                    kind=sf.InspectionKind(kind),
                    severity=sf.HazardSeverity.general,
                    owner=sf.HazardOwner(owner),
                    rectify_by=rectify_by,
                    detail=None,
                )
            )
            return hid

        def rectified(
            iid: str, hid: str, kind: str, inspector: str, on: date, within: bool
        ) -> None:
            again = inspection(kind, inspector, on, 0, reinspection_of=iid)
            self.add(
                sf.HazardRectified(
                    district=district,
                    school_id=sid,
                    inspection_id=iid,
                    hazard_id=hid,
                    rectified_on=on,
                    reinspection_id=again,
                    within_deadline=within,
                )
            )

        if s.good:
            iid = inspection("food_shops", "market_regulation", self.d(10, 20), 1)
            hid = hazard(iid, "food_shops", self.d(11, 15), "shop_operator")
            rectified(iid, hid, "food_shops", "market_regulation", self.d(11, 5), True)
            iid = inspection("stationery_shops", "market_regulation", self.before_day(4), 1)
            hazard(iid, "stationery_shops", day + timedelta(days=11), "shop_operator")
            inspection("order_and_traffic", "police", self.d(10, 9), 0)
        else:
            iid = inspection("order_and_traffic", "police", self.d(10, 27), 1)
            hazard(iid, "order_and_traffic", self.d(11, 10), "traffic_police")
            iid = inspection("fire", "fire_rescue", self.d(10, 5), 1)
            hid = hazard(iid, "fire", self.d(10, 20), "school")
            rectified(iid, hid, "fire", "fire_rescue", self.d(10, 25), False)
            inspection("food_shops", "market_regulation", self.d(10, 22), 0)
        # Incidents and mandatory reports.

        def incident(
            category: str, students: list[Student], recorded: datetime, required: bool
        ) -> str:
            iid = self.ident("inc")
            self.add(
                sf.IncidentReported(
                    district=district,
                    school_id=sid,
                    incident_id=iid,
                    category=sf.IncidentCategory(category),
                    student_refs=[st.student_ref for st in students],
                    occurred_at=recorded - timedelta(hours=2),
                    recorded_at=recorded,
                    recorded_by=s.principal,
                    mandatory_report_required=required,
                    report_due_at=recorded + timedelta(hours=24) if required else None,
                    account=None,
                )
            )
            return iid

        def filed(iid: str, recorded: datetime, delay: timedelta) -> None:
            self.add(
                sf.MandatoryReportFiled(
                    district=district,
                    school_id=sid,
                    incident_id=iid,
                    departments=[sf.Department.police, sf.Department.education],
                    filed_at=recorded + delay,
                    filed_by=s.principal,
                    delay_seconds=int(delay.total_seconds()),
                    late=delay > timedelta(hours=24),
                )
            )

        kids = enrolled[6:8]
        if s.good:
            t = at(self.d(10, 16), 14)
            filed(incident("physical_abuse", kids[:1], t, True), t, timedelta(hours=1))
            incident("accident", kids, at(self.d(11, 2), 10), False)
        else:
            t = at(self.d(10, 21), 9)
            filed(incident("domestic_violence", kids[:1], t, True), t, timedelta(hours=30))
            t = at(self.before_day(3), 9)
            iid = incident("neglect_or_abandonment", kids[1:2], t, True)
            self.add(
                sf.MandatoryReportEscalated(
                    district=district,
                    school_id=sid,
                    incident_id=iid,
                    category=sf.IncidentCategory.neglect_or_abandonment,
                    report_due_at=t + timedelta(hours=24),
                    escalated_at=t + timedelta(hours=24, minutes=1),
                )
            )
            incident("bullying", kids, at(self.d(11, 2), 10), False)


def generate(
    *,
    seed: int = 13,
    day: date = DAY,
    now: datetime | None = None,
    schools: int = 2,
    classes: int = 3,
    students: int = 8,
    districts: Sequence[tuple[str, int]] | None = None,
) -> World:
    """The world: ``districts`` as (code, number of schools) — by default 330106 with
    ``schools`` schools and 330108 with one — each school with ``classes`` classes of
    ``students`` students (at least 2 classes × 6 students). ``now``: the stack's clock (noon in
    China on ``day`` by default)."""
    if classes < 2 or students < 6:
        raise ValueError("a school needs at least 2 classes of 6 students for every case")
    now = now or datetime.combine(day, time(12, 0), CHINA).astimezone(UTC)
    g = _Gen(seed, day, now)
    plan = list(districts or (("330106", schools), ("330108", 1)))
    made: list[School] = []
    for district, count in plan:
        for n in range(1, count + 1):
            s = School(f"{district}{n:03d}", district, n, good=n % 2 == 1)
            made.append(s)
            g.roster(s, classes, students)
    for s in made:
        g.visits(s)
        g.followups(s)
        g.reports(s)
        g.wellbeing(s)
        g.committees(s)
        g.safety(s)
    return World(
        day=day,
        now=now,
        districts=[d for d, _ in plan],
        schools=made,
        classes=g.classes,
        students=g.students,
        staff=g.staff,
        hospitals=g.hospitals,
        carers=list(g.carers.values()),
        pairings=g.pairings,
        members=g.members,
        inspector={d: f"inspector-{d}" for d, _ in plan},
        events=g.events,
    )


# --- publishing -----------------------------------------------------------------------------


@dataclass
class Publisher:
    """Puts events on the test's topics as the services' relays do: CloudEvents binary mode,
    the key and stream its ``aggregate_id()``, versions counted per stream from 1, positions per
    service; ``publish`` may be called again (live tests): the counts go on."""

    bootstrap: str
    topics: Mapping[str, str]  # service → the test's topic
    versions: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    positions: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def record(
        self, event: IntegrationEvent, when: datetime
    ) -> tuple[str, bytes, bytes, list[tuple[str, bytes]]]:
        service = event.service
        stream = event.aggregate_id()
        self.versions[(service, stream)] += 1
        self.positions[service] += 1
        ce_type = event.ce_type()
        env = Envelope(
            id=str(uuid.uuid4()),
            source=f"/tongxin/{service}",
            type=ce_type,
            time=when,
            subject=stream,
            district=str(getattr(event, "district", "")),
            stream_id=stream,
            stream_version=self.versions[(service, stream)],
            position=self.positions[service],
            dataschema=f"urn:tongxin:schema:{'.'.join(ce_type.split('.')[2:4])}",
        )
        return (
            self.topics[service],
            stream.encode(),
            encode_payload(event),
            envelope_to_headers(env),
        )

    async def publish(
        self, events: Iterable[IntegrationEvent], when: datetime | None = None
    ) -> int:
        """Send ``events`` in order (per key, per topic) and wait for the broker's acks."""
        when = when or datetime.now(UTC)
        producer = reliable_producer(self.bootstrap)
        await producer.start()
        sent = 0
        try:
            for event in events:
                topic, key, value, headers = self.record(event, when)
                await producer.send(topic, value, key=key, headers=headers)
                sent += 1
            await producer.flush()
        finally:
            await producer.stop()
        return sent
