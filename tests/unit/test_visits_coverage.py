"""Coverage rules (seed 002 §5, seed 000 §3): examples first, then properties of ``evaluate``
over random schools, visits, rules and days, and a brute-force reimplementation to compare."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tongxin_visits.domain.coverage import (
    CoverageStaff,
    CoverageStudent,
    CoverageVisit,
    GroupCoverage,
    Requirement,
    SchoolCoverage,
    StaffCoverage,
    Status,
    StudentCoverage,
    Tally,
    evaluate,
)
from tongxin_visits.domain.model import VisitRules

YEAR = "2026-2027"
# Written out here, not taken from calendar.py, so that the brute force below is independent.
YEAR_START, YEAR_END = date(2026, 9, 1), date(2027, 8, 31)
TERMS = {1: (date(2026, 9, 1), date(2027, 1, 31)), 2: (date(2027, 2, 1), date(2027, 8, 31))}
CLASSES = ("c1", "c2", "c3")
TEACHERS = ("t1", "t2", "t3")
LEADER_REFS = ("p1", "p2", "m1", "m2")
STAFF = (*TEACHERS, *LEADER_REFS, "s1")
PROPERTIES = settings(max_examples=40, deadline=None)


@dataclass(frozen=True)
class School:
    """Everything ``evaluate`` is given, so that one field at a time can be changed."""

    students: tuple[CoverageStudent, ...] = ()
    head_teachers: tuple[tuple[str, str | None], ...] = ()
    leaders: tuple[CoverageStaff, ...] = ()
    visits: tuple[CoverageVisit, ...] = ()
    rules: VisitRules = field(default_factory=VisitRules)
    semester: int = 1
    as_of: date = date(2026, 12, 1)

    def coverage(self) -> SchoolCoverage:
        return evaluate(
            students=self.students,
            head_teachers=dict(self.head_teachers),
            leaders=self.leaders,
            visits=self.visits,
            rules=self.rules,
            school_year=YEAR,
            semester=self.semester,
            as_of=self.as_of,
        )

    def with_visits(self, *visits: CoverageVisit) -> School:
        return replace(self, visits=(*self.visits, *visits))


def student(ref: str, class_id: str = "c1", special: bool = False) -> CoverageStudent:
    return CoverageStudent(ref, class_id, special)


def visit(
    ref: str,
    day: date,
    *visitors: str,
    in_home: bool = True,
    confirmed: bool = True,
) -> CoverageVisit:
    return CoverageVisit(ref, day, in_home, frozenset(visitors or ("t1",)), confirmed)


def one(cov: SchoolCoverage, ref: str) -> StudentCoverage:
    [found] = [s for s in cov.students if s.student_ref == ref]
    return found


def staff_row(cov: SchoolCoverage, ref: str) -> StaffCoverage:
    [found] = [s for s in cov.staff if s.staff_ref == ref]
    return found


CLASS_1 = School(
    students=(student("stu_1"), student("stu_2", special=True)),
    head_teachers=(("c1", "t1"),),
)


# --- examples -------------------------------------------------------------------------------


def test_one_confirmed_in_home_visit_covers_a_student_for_the_year() -> None:
    cov = CLASS_1.with_visits(visit("stu_1", date(2026, 10, 8), "s1")).coverage()
    assert one(cov, "stu_1").in_home_year == Requirement(1, 1, "done")
    assert one(cov, "stu_2").in_home_year == Requirement(0, 1, "due")
    assert cov.school.in_home_year == Tally(done=1, due=1)


def test_an_unconfirmed_visit_does_not_count() -> None:
    cov = CLASS_1.with_visits(visit("stu_1", date(2026, 10, 8), confirmed=False)).coverage()
    assert one(cov, "stu_1").in_home_year == Requirement(0, 1, "due")
    assert one(cov, "stu_1").head_teacher_semester == Requirement(0, 1, "due")


def test_an_online_visit_by_the_head_teacher_counts_for_the_semester_but_not_as_in_home() -> None:
    cov = CLASS_1.with_visits(visit("stu_1", date(2026, 10, 8), "t1", in_home=False)).coverage()
    assert one(cov, "stu_1").head_teacher_semester == Requirement(1, 1, "done")
    assert one(cov, "stu_1").in_home_year.status == "due"


def test_a_visit_without_the_classs_head_teacher_does_not_count_for_the_head_teacher() -> None:
    cov = CLASS_1.with_visits(visit("stu_1", date(2026, 10, 8), "t2", "p1")).coverage()
    assert one(cov, "stu_1").head_teacher_semester == Requirement(0, 1, "due")
    assert one(cov, "stu_1").in_home_year.status == "done"


def test_a_class_without_a_head_teacher_cannot_meet_the_head_teacher_rule_and_has_no_row() -> None:
    school = School(students=(student("stu_1", "c2"),), head_teachers=(("c2", None),))
    cov = school.with_visits(visit("stu_1", date(2026, 10, 8), "t1", "t2")).coverage()
    assert one(cov, "stu_1").head_teacher_semester.status == "due"
    assert cov.staff == []


def test_a_special_group_student_needs_an_in_home_visit_in_this_semester() -> None:
    school = replace(CLASS_1, semester=2, as_of=date(2027, 3, 1))
    autumn = visit("stu_2", date(2026, 11, 3), "t1")
    cov = school.with_visits(autumn).coverage()
    special = one(cov, "stu_2").special_in_home_semester
    assert special == Requirement(0, 1, "due")
    assert one(cov, "stu_2").in_home_year.status == "done"
    assert one(cov, "stu_1").special_in_home_semester is None
    spring = visit("stu_2", date(2027, 2, 20), "t1")
    assert one(school.with_visits(autumn, spring).coverage(), "stu_2").special_in_home_semester == (
        Requirement(1, 1, "done")
    )
    online = visit("stu_2", date(2027, 2, 20), "t1", in_home=False)
    assert one(school.with_visits(online).coverage(), "stu_2").special_in_home_semester == (
        Requirement(0, 1, "due")
    )


def test_an_unmet_semester_requirement_becomes_overdue_the_day_after_the_semester_ends() -> None:
    on_last_day = replace(CLASS_1, as_of=date(2027, 1, 31)).coverage()
    assert one(on_last_day, "stu_2").head_teacher_semester.status == "due"
    assert one(on_last_day, "stu_2").special_in_home_semester == Requirement(0, 1, "due")
    day_after = replace(CLASS_1, as_of=date(2027, 2, 1)).coverage()
    assert one(day_after, "stu_2").head_teacher_semester.status == "overdue"
    assert one(day_after, "stu_2").special_in_home_semester == Requirement(0, 1, "overdue")
    assert one(day_after, "stu_2").in_home_year.status == "due"  # the year is not over
    after_year = replace(CLASS_1, as_of=date(2027, 9, 1)).coverage()
    assert one(after_year, "stu_2").in_home_year.status == "overdue"


def test_a_visit_counts_from_its_day_not_before() -> None:
    school = CLASS_1.with_visits(visit("stu_1", date(2026, 11, 10), "t1"))
    before = replace(school, as_of=date(2026, 11, 9)).coverage()
    assert one(before, "stu_1").in_home_year.status == "due"
    on_the_day = replace(school, as_of=date(2026, 11, 10)).coverage()
    assert one(on_the_day, "stu_1").in_home_year.status == "done"


def test_a_visit_of_the_previous_school_year_does_not_count() -> None:
    cov = CLASS_1.with_visits(visit("stu_1", date(2026, 8, 31), "t1")).coverage()
    assert one(cov, "stu_1").in_home_year == Requirement(0, 1, "due")
    assert one(cov, "stu_1").head_teacher_semester == Requirement(0, 1, "due")


def test_a_district_asking_for_two_in_home_visits_needs_two() -> None:
    school = replace(CLASS_1, rules=VisitRules(in_home_per_year=2))
    first = visit("stu_1", date(2026, 9, 20))
    assert one(school.with_visits(first).coverage(), "stu_1").in_home_year == (
        Requirement(1, 2, "due")
    )
    second = visit("stu_1", date(2026, 10, 20))
    assert one(school.with_visits(first, second).coverage(), "stu_1").in_home_year == (
        Requirement(2, 2, "done")
    )


def test_classes_and_the_school_are_tallied() -> None:
    school = School(
        students=(student("a", "c1"), student("b", "c1", True), student("c", "c2", True)),
        head_teachers=(("c1", "t1"), ("c2", "t2")),
        visits=(visit("a", date(2026, 9, 10), "t1"), visit("c", date(2026, 9, 10), "t2")),
    )
    cov = school.coverage()
    assert cov.classes["c1"] == GroupCoverage(
        students=2,
        in_home_year=Tally(done=1, due=1),
        head_teacher_semester=Tally(done=1, due=1),
        special_in_home_semester=Tally(due=1),
    )
    assert cov.classes["c2"] == GroupCoverage(1, Tally(done=1), Tally(done=1), Tally(done=1))
    assert cov.school == GroupCoverage(3, Tally(2, 1), Tally(2, 1), Tally(1, 1))


def test_a_head_teacher_of_two_classes_has_one_row_with_both_classes() -> None:
    school = School(
        students=(student("a", "c1"), student("b", "c2"), student("c", "c2")),
        head_teachers=(("c1", "t1"), ("c2", "t1"), ("c3", "t2")),
        visits=(visit("a", date(2026, 9, 10), "t1"), visit("b", date(2026, 9, 10), "t1")),
        as_of=date(2027, 2, 2),
    )
    cov = school.coverage()
    row = staff_row(cov, "t1")
    assert row.role == "head_teacher"
    assert row.class_ids == ("c1", "c2")
    assert row.requirement == Requirement(2, 3, "overdue")
    assert staff_row(cov, "t2").requirement == Requirement(0, 0, "done")


def test_a_principal_counts_distinct_students_not_visits() -> None:
    students = tuple(student(f"stu_{i}") for i in range(6))
    school = School(students=students, leaders=(CoverageStaff("p1", "principal"),))
    same = [visit("stu_0", date(2026, 9, 1) + timedelta(days=i), "p1") for i in range(5)]
    assert staff_row(school.with_visits(*same).coverage(), "p1").requirement == (
        Requirement(1, 5, "due")
    )
    distinct = [visit(f"stu_{i}", date(2026, 10, 1), "p1", in_home=False) for i in range(5)]
    assert staff_row(school.with_visits(*distinct).coverage(), "p1").requirement == (
        Requirement(5, 5, "done")
    )


def test_a_middle_leader_needs_ten_students_and_is_overdue_after_the_year() -> None:
    school = School(
        leaders=(CoverageStaff("m1", "middle_leader"),),
        visits=tuple(visit(f"stu_{i}", date(2027, 3, 1), "m1") for i in range(9)),
        semester=2,
        as_of=date(2027, 9, 1),
    )
    assert staff_row(school.coverage(), "m1") == StaffCoverage(
        "m1", "middle_leader", Requirement(9, 10, "overdue")
    )


# --- properties -----------------------------------------------------------------------------


def days_between(first: date, last: date) -> st.SearchStrategy[date]:
    """Days from ``first`` to ``last``, drawn as offsets (much cheaper than ``st.dates``)."""
    return st.integers(0, (last - first).days).map(lambda n: first + timedelta(days=n))


days = days_between(date(2026, 7, 1), date(2027, 10, 31))


# Schools have at most MAX_STUDENTS students, stu_0…; visits also go to students not (or no
# longer) on the roll.
MAX_STUDENTS = 8
STUDENT_REFS = (*(f"stu_{i}" for i in range(MAX_STUDENTS)), "stu_gone")


def visits(confirmed: st.SearchStrategy[bool]) -> st.SearchStrategy[CoverageVisit]:
    return st.builds(
        CoverageVisit,
        student_ref=st.sampled_from(STUDENT_REFS),
        day=days,
        in_home=st.booleans(),
        visitor_refs=st.frozensets(st.sampled_from(STAFF), min_size=1, max_size=3),
        confirmed=confirmed,
    )


any_visits = visits(st.booleans())
unconfirmed_visits = visits(st.just(False))
confirmed_visits = visits(st.just(True))

rules_strategy = st.builds(
    VisitRules,
    in_home_per_year=st.integers(0, 2),
    head_teacher_per_semester=st.integers(0, 2),
    special_group_in_home_per_semester=st.integers(0, 2),
    principal_students_per_year=st.integers(0, 4),
    middle_leader_students_per_year=st.integers(0, 5),
)


@st.composite
def schools(draw: st.DrawFn) -> School:
    placed = draw(
        st.lists(st.tuples(st.sampled_from(CLASSES), st.booleans()), max_size=MAX_STUDENTS)
    )
    students = tuple(CoverageStudent(f"stu_{i}", c, sp) for i, (c, sp) in enumerate(placed))
    heads = draw(st.dictionaries(st.sampled_from(CLASSES), st.none() | st.sampled_from(TEACHERS)))
    leader_refs = draw(st.lists(st.sampled_from(LEADER_REFS), unique=True))
    leaders = tuple(
        CoverageStaff(r, "principal" if r.startswith("p") else "middle_leader") for r in leader_refs
    )
    return School(
        students=students,
        head_teachers=tuple(heads.items()),
        leaders=leaders,
        visits=tuple(draw(st.lists(any_visits, max_size=20))),
        rules=draw(rules_strategy),
        semester=draw(st.sampled_from((1, 2))),
        as_of=draw(days_between(date(2026, 8, 15), date(2027, 9, 30))),
    )


def refs_of(school: School) -> tuple[str, ...]:
    return tuple(s.student_ref for s in school.students)


def requirements(sc: StudentCoverage) -> list[Requirement]:
    rows = [sc.in_home_year, sc.head_teacher_semester]
    return rows if sc.special_in_home_semester is None else [*rows, sc.special_in_home_semester]


@PROPERTIES
@given(schools())
def test_every_student_is_done_due_or_overdue_once_per_requirement(school: School) -> None:
    cov = school.coverage()
    n, special = len(school.students), sum(s.special for s in school.students)
    assert cov.school.students == n
    assert cov.school.in_home_year.total == n
    assert cov.school.head_teacher_semester.total == n
    assert cov.school.special_in_home_semester.total == special
    assert sorted(s.student_ref for s in cov.students) == sorted(refs_of(school))
    for sc in cov.students:
        assert (sc.special_in_home_semester is not None) == sc.special


@PROPERTIES
@given(schools())
def test_class_tallies_add_up_to_the_school(school: School) -> None:
    cov = school.coverage()
    assert set(cov.classes) == {s.class_id for s in school.students}
    for name in ("in_home_year", "head_teacher_semester", "special_in_home_semester"):
        for status in ("done", "due", "overdue"):
            per_class = sum(getattr(getattr(g, name), status) for g in cov.classes.values())
            assert per_class == getattr(getattr(cov.school, name), status), (name, status)
    assert sum(g.students for g in cov.classes.values()) == cov.school.students


@PROPERTIES
@given(schools(), st.data())
def test_unconfirmed_visits_change_nothing(school: School, data: st.DataObject) -> None:
    extra = data.draw(st.lists(unconfirmed_visits, min_size=1))
    assert school.with_visits(*extra).coverage() == school.coverage()


@PROPERTIES
@given(schools(), st.data())
def test_visits_after_as_of_do_not_count_yet(school: School, data: st.DataObject) -> None:
    later = days_between(school.as_of + timedelta(days=1), date(2027, 12, 31))
    extra = data.draw(st.lists(any_visits, min_size=1))
    future = [replace(v, day=data.draw(later)) for v in extra]
    assert school.with_visits(*future).coverage() == school.coverage()
    past = tuple(v for v in school.visits if v.day <= school.as_of)
    assert replace(school, visits=past).coverage() == school.coverage()


@PROPERTIES
@given(schools(), st.data())
def test_a_confirmed_visit_never_undoes_what_was_done(school: School, data: st.DataObject) -> None:
    extra = data.draw(confirmed_visits)
    before, after = school.coverage(), school.with_visits(extra).coverage()
    for b, a in zip(before.students, after.students, strict=True):
        assert b.student_ref == a.student_ref
        for rb, ra in zip(requirements(b), requirements(a), strict=True):
            assert ra.done >= rb.done
            if rb.status == "done":
                assert ra.status == "done"
    for sb, sa in zip(before.staff, after.staff, strict=True):
        assert sb.staff_ref == sa.staff_ref
        assert sa.requirement.done >= sb.requirement.done
        if sb.requirement.status == "done":
            assert sa.requirement.status == "done"
    assert after.school.in_home_year.done >= before.school.in_home_year.done


def expected_status(done: int, required: int, end: date, as_of: date) -> Status:
    if done >= required:
        return "done"
    return "overdue" if as_of > end else "due"


@PROPERTIES
@given(schools())
def test_a_requirement_is_overdue_only_once_its_period_has_ended(school: School) -> None:
    cov = school.coverage()
    term_end = TERMS[school.semester][1]
    for sc in cov.students:
        periods = [(sc.in_home_year, YEAR_END), (sc.head_teacher_semester, term_end)]
        if sc.special_in_home_semester is not None:
            periods.append((sc.special_in_home_semester, term_end))
        for req, end in periods:
            assert req.status == expected_status(req.done, req.required, end, school.as_of)
    for row in cov.staff:
        if row.role != "head_teacher":
            req = row.requirement
            assert req.status == expected_status(req.done, req.required, YEAR_END, school.as_of)
        elif row.requirement.status == "overdue":
            assert school.as_of > term_end


@PROPERTIES
@given(schools())
def test_a_requirement_of_zero_is_always_done(school: School) -> None:
    zero = VisitRules(
        in_home_per_year=0,
        head_teacher_per_semester=0,
        special_group_in_home_per_semester=0,
        principal_students_per_year=0,
        middle_leader_students_per_year=0,
    )
    cov = replace(school, rules=zero).coverage()
    for sc in cov.students:
        assert [r.status for r in requirements(sc)] == ["done"] * len(requirements(sc))
    assert all(row.requirement.status == "done" for row in cov.staff)
    assert cov.school.in_home_year == Tally(done=len(school.students))


@PROPERTIES
@given(schools())
def test_a_head_teachers_row_counts_their_classes_students_done(school: School) -> None:
    cov = school.coverage()
    heads = dict(school.head_teachers)
    rows = [r for r in cov.staff if r.role == "head_teacher"]
    assert sorted(c for r in rows for c in r.class_ids) == sorted(c for c, t in heads.items() if t)
    assert len({r.staff_ref for r in rows}) == len(rows)
    for row in rows:
        assert all(heads[c] == row.staff_ref for c in row.class_ids)
        mine = [s for s in cov.students if s.class_id in row.class_ids]
        statuses = [s.head_teacher_semester.status for s in mine]
        assert row.requirement.required == len(mine)
        assert row.requirement.done == statuses.count("done")
        worst = "overdue" if "overdue" in statuses else "due" if "due" in statuses else "done"
        assert row.requirement.status == worst


@PROPERTIES
@given(schools())
def test_a_leader_counts_the_distinct_students_they_visited_this_year(school: School) -> None:
    cov = school.coverage()
    for leader in school.leaders:
        visited = {
            v.student_ref
            for v in school.visits
            if v.confirmed
            and YEAR_START <= v.day <= min(YEAR_END, school.as_of)
            and leader.staff_ref in v.visitor_refs
        }
        quota = (
            school.rules.principal_students_per_year
            if leader.role == "principal"
            else school.rules.middle_leader_students_per_year
        )
        row = staff_row(cov, leader.staff_ref)
        assert (row.role, row.requirement.done, row.requirement.required) == (
            leader.role,
            len(visited),
            quota,
        )


def brute_force(school: School) -> dict[str, tuple[Requirement, ...]]:
    """Each student's requirements, counted visit by visit from the raw inputs."""
    heads = dict(school.head_teachers)
    term_start, term_end = TERMS[school.semester]
    rules, as_of = school.rules, school.as_of

    def req(done: int, required: int, end: date) -> Requirement:
        return Requirement(done, required, expected_status(done, required, end, as_of))

    out: dict[str, tuple[Requirement, ...]] = {}
    for s in school.students:
        in_home = by_head = in_home_this_term = 0
        for v in school.visits:
            if v.student_ref != s.student_ref or not v.confirmed or v.day > as_of:
                continue
            if not YEAR_START <= v.day <= YEAR_END:
                continue
            if v.in_home:
                in_home += 1
            if term_start <= v.day <= term_end:
                head = heads.get(s.class_id)
                if head is not None and head in v.visitor_refs:
                    by_head += 1
                if v.in_home:
                    in_home_this_term += 1
        found = [
            req(in_home, rules.in_home_per_year, YEAR_END),
            req(by_head, rules.head_teacher_per_semester, term_end),
        ]
        if s.special:
            found.append(req(in_home_this_term, rules.special_group_in_home_per_semester, term_end))
        out[s.student_ref] = tuple(found)
    return out


@settings(max_examples=120, deadline=None)
@given(schools())
def test_evaluate_agrees_with_a_brute_force_count(school: School) -> None:
    got = {sc.student_ref: tuple(requirements(sc)) for sc in school.coverage().students}
    assert got == brute_force(school)
