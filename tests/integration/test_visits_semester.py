"""A semester of one school through the real stack (registry import, ~300 visits,
confirmations, follow-ups, monthly reports): the coverage and monthly figures the service shows
equal those computed here, independently, from the raw inputs the test sent."""

from __future__ import annotations

import asyncio
import calendar
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from io import BytesIO
from typing import Any

import httpx
import openpyxl
import pytest

from tests.conftest import Bearer
from tests.support.servers import serving
from tests.support.visits import Pupil, School, family_code, set_up_school
from tests.support.waiting import eventually
from tongxin_cli.demo import DemoSpec
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.eventstore import now_utc
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints.api import create_app as registry_app
from tongxin_visits.config import VisitsSettings
from tongxin_visits.entrypoints.api import create_app as visits_app

pytestmark = pytest.mark.integration

SPEC = DemoSpec(schools=1, classes_per_school=6, students_per_class=45, seed=11)
MEASURES = [
    "hardship_assistance",
    "learning_support",
    "family_education_guidance",
    "mental_health_counselling",
]


def china_now() -> datetime:
    return now_utc() + timedelta(hours=8)


@dataclass
class Sent:
    """What the test sent for one visit: the raw input the expectations are computed from."""

    pupil: Pupil
    day: date
    mode: str
    visitors: list[tuple[str, str]]  # (staff_ref, role)
    confirm: str  # co_visitor, family, none
    measures: list[str]
    suggestions: int
    cancelled: bool = False
    visit_id: str = ""
    case_ids: list[str] = field(default_factory=list)


def semester_bounds(today: date) -> tuple[str, int, date, date]:
    first = today.year if today.month >= 9 else today.year - 1
    if today.month >= 9 or today.month == 1:
        return f"{first}-{first + 1}", 1, date(first, 9, 1), date(first + 1, 1, 31)
    return f"{first}-{first + 1}", 2, date(first + 1, 2, 1), date(first + 1, 8, 31)


def plan_semester(school: School, today: date, rng: random.Random) -> list[Sent]:
    _, _, start, _ = semester_bounds(today)
    days = max((today - start).days, 1)

    def day() -> date:
        return start + timedelta(days=rng.randrange(days))

    sent: list[Sent] = []
    leaders = [(school.principal, "principal"), (school.middle_leader, "middle_leader")]
    for p in school.pupils:
        head = school.head_teachers[p.class_id]
        for n in range(2 if rng.random() < 0.25 else 1):
            if n == 0 and rng.random() > 0.85:
                continue
            visitors = [(head, "head_teacher")]
            if rng.random() < 0.3:
                visitors.append(rng.choice([*leaders, (school.psych_teacher, "psych_teacher")]))
            confirm = rng.choices(
                ["co_visitor", "family", "none"],
                [0.9, 0.05, 0.05] if len(visitors) > 1 else [0, 0.8, 0.2],
            )[0]
            sent.append(
                Sent(
                    p,
                    day(),
                    rng.choices(["in_home", "online", "phone", "at_school"], [70, 15, 10, 5])[0],
                    visitors,
                    confirm,
                    [rng.choice(MEASURES)] if rng.random() < 0.12 else [],
                    1 if rng.random() < 0.15 else 0,
                )
            )
    # Leaders visit on their own too: the principal reaches the quota, the middle leader not.
    for ref, role, k in (
        (school.principal, "principal", 4),
        (school.middle_leader, "middle_leader", 3),
    ):
        for p in rng.sample(school.pupils, k):
            both = [(ref, role), (school.psych_teacher, "psych_teacher")]
            sent.append(Sent(p, day(), "in_home", both, "co_visitor", [], 0))
    for p in rng.sample(school.pupils, 8):
        lead = [(school.head_teachers[p.class_id], "head_teacher")]
        sent.append(Sent(p, day(), "in_home", lead, "none", [], 0, cancelled=True))
    return sent


# --- independent expectations ---------------------------------------------------------------


def status(done: int, required: int, end: date, as_of: date) -> str:
    return "done" if done >= required else ("overdue" if as_of > end else "due")


def expected_coverage(
    school: School, sent: list[Sent], as_of: date, sem: tuple[date, date]
) -> dict[str, Any]:
    year_end = date(sem[0].year + (1 if sem[0].month >= 9 else 0), 8, 31)
    counted = [s for s in sent if not s.cancelled and s.confirm != "none" and s.day <= as_of]
    in_sem = [s for s in counted if sem[0] <= s.day <= sem[1]]
    tallies: dict[str, Counter[str]] = defaultdict(Counter)
    per_class: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    head_done: Counter[str] = Counter()
    for p in school.pupils:
        head = school.head_teachers[p.class_id]
        mine = [s for s in counted if s.pupil.ref == p.ref]
        mine_sem = [s for s in in_sem if s.pupil.ref == p.ref]
        rows = {
            "in_home_year": status(sum(s.mode == "in_home" for s in mine), 1, year_end, as_of),
            "head_teacher_semester": status(
                sum(any(v == head for v, _ in s.visitors) for s in mine_sem), 1, sem[1], as_of
            ),
        }
        if p.special:
            rows["special_in_home_semester"] = status(
                sum(s.mode == "in_home" for s in mine_sem), 1, sem[1], as_of
            )
        for req, st in rows.items():
            tallies[req][st] += 1
            per_class[p.class_id][req][st] += 1
        head_done[p.class_id] += rows["head_teacher_semester"] == "done"

    def visited_by(ref: str) -> int:
        return len({s.pupil.ref for s in counted if any(v == ref for v, _ in s.visitors)})

    return {
        "school": {req: dict(t) for req, t in sorted(tallies.items())},
        "classes": {
            c: {req: dict(t) for req, t in sorted(reqs.items())}
            for c, reqs in sorted(per_class.items())
        },
        "head_teachers": {c: head_done[c] for c in sorted(school.head_teachers)},
        "principal": visited_by(school.principal),
        "middle_leader": visited_by(school.middle_leader),
    }


def observed_coverage(body: dict[str, Any]) -> dict[str, Any]:
    def nonzero(t: dict[str, int]) -> dict[str, int]:
        return {k: v for k, v in t.items() if v}

    def group(g: dict[str, Any]) -> dict[str, dict[str, int]]:
        out = {
            req: nonzero(g[req])
            for req in ("in_home_year", "head_teacher_semester", "special_in_home_semester")
        }
        return {k: v for k, v in sorted(out.items()) if v}

    staff = body["staff"]
    return {
        "school": group(body["school"]),
        "classes": {c: group(g) for c, g in sorted(body["classes"].items())},
        "head_teachers": {
            r["class_ids"][0]: r["requirement"]["done"]
            for r in staff
            if r["role"] == "head_teacher"
        },
        "principal": next(r["requirement"]["done"] for r in staff if r["role"] == "principal"),
        "middle_leader": next(
            r["requirement"]["done"] for r in staff if r["role"] == "middle_leader"
        ),
    }


def expected_figures(sent: list[Sent], month: str, today: date, closed: int) -> dict[str, int]:
    def in_month(d: date) -> bool:
        return d.strftime("%Y-%m") == month

    done = [s for s in sent if not s.cancelled and in_month(s.day)]
    vouched = [s for s in done if s.confirm != "none"]
    this_month = in_month(today)

    def by(role: str) -> int:
        return sum(any(r == role for _, r in s.visitors) for s in vouched)

    return {
        "visits_completed": len(done),
        "visits_confirmed": len(vouched),
        "visits_unconfirmed": len(done) - len(vouched),
        "in_home": sum(s.mode == "in_home" for s in vouched),
        "online": sum(s.mode == "online" for s in vouched),
        "phone": sum(s.mode == "phone" for s in vouched),
        "at_school": sum(s.mode == "at_school" for s in vouched),
        "students_visited": len({s.pupil.ref for s in vouched}),
        "special_group_students_visited": len({s.pupil.ref for s in vouched if s.pupil.special}),
        "by_principals": by("principal"),
        "by_middle_leaders": by("middle_leader"),
        "by_head_teachers": by("head_teacher"),
        "by_subject_teachers": by("subject_teacher"),
        # Cancellations, cases opened and cases closed all happen today, in this test.
        "visits_cancelled": sum(s.cancelled for s in sent) if this_month else 0,
        "followups_opened": sum(len(s.measures) for s in sent if not s.cancelled)
        if this_month
        else 0,
        "followups_closed": closed if this_month else 0,
        "parent_suggestions": sum(s.suggestions for s in done),
    }


# --- playing the semester -------------------------------------------------------------------


async def play(http: httpx.AsyncClient, school: School, s: Sent) -> None:
    recorder = s.visitors[0][0]
    me = school.as_staff(recorder)

    async def post(path: str, body: Any = None, headers: dict[str, str] = me) -> dict[str, Any]:
        r = await http.post(path, json=body, headers=headers)
        assert r.status_code == 200, f"{path}: {r.status_code} {r.text}"
        return dict(r.json())

    s.visit_id = (await post("/visits", {"student_ref": s.pupil.ref, "planned_for": str(s.day)}))[
        "visit_id"
    ]
    if s.cancelled:
        await post(f"/visits/{s.visit_id}/cancel", {"reason": "family_declined"})
        return
    started = f"{s.day.isoformat()}T19:00:00+08:00"
    done = await post(
        f"/visits/{s.visit_id}/complete",
        {
            "visitors": [{"staff_ref": ref, "role": role} for ref, role in s.visitors],
            "mode": s.mode,
            "started_at": started,
            "duration_minutes": 45,
            "goals_covered": ["student_performance", "family_situation"],
            "findings": [{"category": "other", "measure": m} for m in s.measures],
            "parent_suggestions": [{"topic": "teaching", "text": "希望多布置阅读"}] * s.suggestions,
            "integrity_attested": True,
        },
    )
    s.case_ids = done["case_ids"]
    if s.confirm == "co_visitor":
        await post(f"/visits/{s.visit_id}/confirm", headers=school.as_staff(s.visitors[1][0]))
    elif s.confirm == "family":
        await post(f"/visits/{s.visit_id}/family-code")
        code = await family_code(http, school, s.visit_id)
        await post(f"/visits/{s.visit_id}/family-confirmation", {"code": code}, headers={})


async def test_a_semester_of_one_school_gives_the_coverage_and_figures_computed_from_its_inputs(
    registry_settings: RegistrySettings,
    visits_settings: VisitsSettings,
    verifier: TokenVerifier,
    bearer: Bearer,
    registry_worker: None,
    visits_worker: None,
) -> None:
    today = china_now().date()
    school_year, semester, start, end = semester_bounds(today)
    rng = random.Random(20261122)
    async with (
        serving(registry_app(registry_settings, verifier)) as registry_url,
        serving(visits_app(visits_settings, verifier)) as visits_url,
        httpx.AsyncClient(base_url=registry_url, timeout=60) as registry,
        httpx.AsyncClient(base_url=visits_url, timeout=60) as http,
    ):
        school = await set_up_school(registry, http, bearer, SPEC)
        sent = plan_semester(school, today, rng)
        assert 280 <= len(sent) <= 340, len(sent)
        gate = asyncio.Semaphore(8)

        async def one(s: Sent) -> None:
            async with gate:
                await play(http, school, s)

        await asyncio.gather(*(one(s) for s in sent))

        # The ledger: some cases get an action, some are closed today.
        cases = [(s, c) for s in sent for c in s.case_ids]
        assert len(cases) == sum(len(s.measures) for s in sent if not s.cancelled) > 10
        closed = 0
        for n, (s, case_id) in enumerate(cases):
            owner = school.as_staff(s.visitors[0][0])
            if n % 2 == 0:
                r = await http.post(
                    f"/followups/{case_id}/actions",
                    json={"taken_on": str(today), "description": "一对一辅导"},
                    headers=owner,
                )
                assert r.status_code == 200, r.text
            if n % 3 == 0:
                r = await http.post(
                    f"/followups/{case_id}/close",
                    json={"outcome": "resolved", "closed_on": str(today)},
                    headers=owner,
                )
                assert r.status_code == 200, r.text
                closed += 1

        principal = school.as_staff(school.principal)
        for as_of in (today, end + timedelta(days=1)):
            want = expected_coverage(school, sent, as_of, (start, end))

            async def coverage(as_of: date = as_of) -> dict[str, Any]:
                r = await http.get(
                    f"/schools/{school.school_id}/coverage",
                    params={"school_year": school_year, "semester": semester, "as_of": str(as_of)},
                    headers=principal,
                )
                assert r.status_code == 200, r.text
                return observed_coverage(r.json())

            def matches(c: dict[str, Any], w: dict[str, Any] = want) -> bool:
                return c == w

            got = await eventually(coverage, matches, timeout=90, what="coverage")
            assert got == want
        assert want["school"]["head_teacher_semester"].get("overdue", 0) > 0, "the test can fail"

        # Monthly reports: every month of the semester so far, submitted by the principal.
        months = sorted({s.day.strftime("%Y-%m") for s in sent} | {today.strftime("%Y-%m")})
        officer = school.officer()
        for month in months:
            want_figures = expected_figures(sent, month, today, closed)
            r = await http.post(
                f"/schools/{school.school_id}/reports/{month}/submit", headers=principal
            )
            assert r.status_code == 200, r.text
            report = r.json()["report"]
            assert report["figures"] == want_figures, month
            due = date.fromisoformat(report["due_date"])
            year, mon = map(int, month.split("-"))
            assert due == date(year, mon, min(30, calendar.monthrange(year, mon)[1]))
            assert report["late"] is (today > due)
        for month in months:

            async def listed(m: str = month) -> list[dict[str, Any]]:
                r = await http.get(f"/districts/{school.district}/reports/{m}", headers=officer)
                return list(r.json())

            state = await eventually(
                listed,
                lambda rows: len(rows) == 1 and rows[0]["revision"] == 1,
                what=f"the {month} report on the district's list",
            )
            due = date.fromisoformat(state[0]["due_date"])
            assert state[0]["state"] == ("late" if today > due else "on_time")

        # The spreadsheet the district downloads says the same.
        month = months[0]
        r = await http.get(f"/schools/{school.school_id}/reports/{month}/xlsx", headers=officer)
        assert r.status_code == 200
        sheet = openpyxl.load_workbook(BytesIO(r.content)).active
        cells = {str(row[0]): row[1] for row in sheet.iter_rows(values_only=True) if row[0]}
        completed = next(v for k, v in cells.items() if "(visits completed)" in k)
        assert completed == expected_figures(sent, month, today, closed)["visits_completed"]
