"""A wellbeing service for HTTP tests: its own topics and database, its worker in the test's
loop, its API on a free port, and a school's roster imported through the registry and caught up
on wellbeing's read model; the school's people by role."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI

from tests.conftest import Bearer
from tests.support.servers import serving
from tests.support.service_world import StackKit, service_settings
from tests.support.services import database_of, worker_of
from tests.support.waiting import eventually
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_platform.auth import Principal, Role, TokenVerifier, mint
from tongxin_platform.eventstore import now_utc
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints.api import create_app as registry_app
from tongxin_wellbeing.bootstrap import SERVICE
from tongxin_wellbeing.config import WellbeingSettings
from tongxin_wellbeing.domain.calendar import china_date, school_year_of
from tongxin_wellbeing.entrypoints.api import create_app as wellbeing_app


@dataclass
class Roster:
    """What wellbeing's read model knows of the district after the import."""

    district: str
    schools: list[str]
    classes: dict[str, str]  # class_id → school_id
    students: dict[str, str]  # student_ref → class_id
    guardians: dict[str, list[str]]  # student_ref → guardian_refs
    staff: dict[str, tuple[str, list[str], list[str]]] = field(default_factory=dict)
    # staff_ref → (school_id, roles, class_ids)

    def one(self, role: str, school_id: str) -> str:
        return next(
            ref
            for ref, (s, roles, _) in sorted(self.staff.items())
            if s == school_id and role in roles
        )

    def head_of(self, class_id: str) -> str:
        return next(
            ref
            for ref, (_, roles, cls) in sorted(self.staff.items())
            if class_id in cls and "head_teacher" in roles
        )

    def of_class(self, class_id: str) -> list[str]:
        return sorted(ref for ref, c in self.students.items() if c == class_id)


@dataclass
class Wellbeing:
    settings: WellbeingSettings
    app: FastAPI
    http: httpx.AsyncClient
    pool: asyncpg.Pool
    roster: Roster


# Its own topic, and test topics for every topic it reads (none is the real one).
wellbeing_settings = partial(service_settings, SERVICE, WellbeingSettings)


@asynccontextmanager
async def wellbeing_world(
    settings: WellbeingSettings,
    registry_settings: RegistrySettings,
    verifier: TokenVerifier,
    bearer: Bearer,
    spec: DemoSpec,
) -> AsyncIterator[Wellbeing]:
    """The roster of ``spec`` imported by the district's officer; wellbeing caught up with it.
    The registry's worker must be running (fixture ``registry_worker``)."""
    students, staff = demo_roster(spec)
    officer = bearer("bureau_officer", spec.district)
    app = wellbeing_app(settings, verifier)
    async with (
        database_of(SERVICE, settings) as pool,
        worker_of(SERVICE, settings),
        serving(registry_app(registry_settings, verifier)) as registry_url,
        serving(app) as url,
        httpx.AsyncClient(base_url=registry_url, timeout=30) as registry,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        for path, body in (("/imports/students", students), ("/imports/staff", staff)):
            r = await registry.post(path, content=body.encode(), headers=officer)
            assert r.status_code == 200, r.text
        n_students = spec.schools * spec.classes_per_school * spec.students_per_class
        n_staff = spec.schools * (4 + spec.classes_per_school)

        async def counts() -> tuple[int, int]:
            return (
                await pool.fetchval("SELECT count(*) FROM wellbeing.students"),
                await pool.fetchval("SELECT count(*) FROM wellbeing.staff"),
            )

        await eventually(
            counts, lambda n: n == (n_students, n_staff), timeout=90, what="the roster in wellbeing"
        )
        schools = [
            r["school_id"]
            for r in await pool.fetch("SELECT school_id FROM wellbeing.schools ORDER BY 1")
        ]
        classes = {
            r["class_id"]: r["school_id"]
            for r in await pool.fetch("SELECT class_id, school_id FROM wellbeing.classes")
        }
        rows = await pool.fetch(
            "SELECT student_ref, class_id, guardian_refs FROM wellbeing.students"
        )
        pupils = {r["student_ref"]: r["class_id"] for r in rows}
        guardians = {r["student_ref"]: list(r["guardian_refs"]) for r in rows}
        people = {
            r["staff_ref"]: (r["school_id"], list(r["roles"]), list(r["class_ids"]))
            for r in await pool.fetch(
                "SELECT staff_ref, school_id, roles, class_ids FROM wellbeing.staff"
            )
        }
        yield Wellbeing(
            settings,
            app,
            http,
            pool,
            Roster(spec.district, schools, classes, pupils, guardians, people),
        )


def wellbeing_stack(kit: StackKit, spec: DemoSpec) -> AbstractAsyncContextManager[Wellbeing]:
    """Wellbeing with the roster of ``spec`` and a registry of their own, for a module's matrix
    or a fuzz test."""
    world_of = partial(wellbeing_world, verifier=kit.verifier, bearer=kit.bearer, spec=spec)
    return kit.stack(wellbeing_settings, world_of)


@dataclass
class Seeded:
    """What ``seed_school_year`` made at one class of a school, and what it could not make
    (one part of the service missing still lets the others be tested: the caller reports)."""

    a: str  # consented, screened, listed, plan reviewed, referred (referral_1)
    b: str  # nothing
    c: str  # consented, listed, referred (referral_2)
    e: str  # consented, proposed (proposal_e pending)
    proposal_e: str = "no-proposal"
    referral_1: str = "no-referral"
    referral_2: str = "no-referral"
    notification: str = "1"
    failures: list[str] = field(default_factory=list)
    actors: set[str] = field(default_factory=set)  # the subjects the seeding acted as


def consent_of(roster: Roster, student_ref: str, year: str) -> dict[str, Any]:
    """A guardian's consent to the year's screening, naming the guardian."""
    guardian = (roster.guardians.get(student_ref) or ["unknown"])[0]
    return {
        "school_year": year,
        "decision": "consented",
        "given_by": "guardian",
        "guardian_ref": guardian,
    }


async def seed_school_year(
    http: httpx.AsyncClient,
    roster: Roster,
    private_key: bytes,
    *,
    school_id: str,
    class_id: str,
    hospital_id: str,
) -> Seeded:
    """A school year at one class, made by the people who would make it: the campaign offered,
    consents, a screening, two students listed (three sign-offs each), one proposed, a plan
    reviewed this month, two crisis referrals to ``hospital_id``."""
    today = china_date(now_utc())
    year = school_year_of(today)
    a, b, c, e = roster.of_class(class_id)[:4]
    s = Seeded(a, b, c, e)
    district = roster.district

    def auth(
        role: Role,
        sub: str,
        school: str | None = None,
        cls: str | None = None,
        org: str | None = None,
    ) -> dict[str, str]:
        s.actors.add(sub)
        p = Principal(sub, role, district, school, cls, org=org)
        return {"Authorization": f"Bearer {mint(private_key, p, ttl=3600)}"}

    async def step(what: str, method: str, path: str, who: dict[str, str], **kw: Any) -> Any:
        r = await http.request(method, path, headers=who, **kw)
        if r.status_code >= 300:
            s.failures.append(f"setup {what}: {method} {path} → {r.status_code} {r.text[:300]}")
            return {}
        return r.json()

    psych = auth(Role.psych_teacher, roster.one("psych_teacher", school_id), school_id)
    vp = auth(Role.health_vp, roster.one("health_vp", school_id), school_id)
    head = auth(Role.head_teacher, roster.head_of(class_id), school_id, class_id)
    exam = {"exam_from": str(today - timedelta(days=7)), "exam_to": str(today)}
    campaign = {"school_year": year, "instruments": ["phq9", "gad7"], **exam}
    await step("campaign", "POST", f"/schools/{school_id}/campaigns", psych, json=campaign)
    await step("offers", "POST", f"/schools/{school_id}/campaigns/{year}/offers", psych)
    for ref in (a, c, e):
        path = f"/students/{ref}/consents"
        await step("consent", "POST", path, psych, json=consent_of(roster, ref, year))
    screening = {"school_year": year, "instrument_id": "phq9", "answers": [0] * 9}
    await step("screening", "POST", f"/students/{a}/screenings", psych, json=screening)
    proposals = {}
    for ref in (a, c, e):
        path = f"/students/{ref}/attention/proposals"
        made = await step("proposal", "POST", path, psych, json={"reason": "筛查后关注"})
        proposals[ref] = str(made.get("proposal_id", "no-proposal"))
    s.proposal_e = proposals[e]
    for ref in (a, c):
        for who, role in ((head, "head_teacher"), (psych, "psych_teacher"), (vp, "health_vp")):
            path = f"/students/{ref}/attention/proposals/{proposals[ref]}/sign-offs"
            await step(f"sign-off {role}", "POST", path, who, json={"role": role})

    async def listed() -> set[str]:
        r = await http.get(f"/schools/{school_id}/attention", headers=psych)
        if r.status_code != 200:
            return set()
        return {ref for ref in (a, c) if ref in json.dumps(r.json().get("listed", []))}

    try:
        await eventually(listed, lambda found: found == {a, c}, timeout=30, what="A and C listed")
    except AssertionError as exc:
        s.failures.append(f"setup listing: {exc}")
    review = {
        "month": f"{today:%Y-%m}",
        "emotional_state": "情绪较前稳定。",
        "interventions": "每周一次个别辅导。",
        "next_step": "下周与家长面谈。",
    }
    await step("review", "POST", f"/students/{a}/plan/reviews", psych, json=review)
    for ref, attr in ((a, "referral_1"), (c, "referral_2")):
        path = f"/students/{ref}/referrals"
        made = await step("referral", "POST", path, psych, json={"hospital_id": hospital_id})
        setattr(s, attr, str(made.get("referral_id", "no-referral")))
    hospital = auth(Role.hospital, "setup:hospital", org=hospital_id)

    async def queued() -> set[str]:
        r = await http.get(f"/hospitals/{hospital_id}/referrals", headers=hospital)
        return {x for x in (s.referral_1, s.referral_2) if r.status_code == 200 and x in r.text}

    try:
        await eventually(
            queued,
            lambda found: found == {s.referral_1, s.referral_2},
            timeout=30,
            what="both referrals in the hospital's queue",
        )
    except AssertionError as exc:
        s.failures.append(f"setup referrals: {exc}")
    operator = auth(Role.operator, "setup:operator")
    found = await step("notifications", "GET", "/notifications", operator)
    if isinstance(found, list) and found:
        s.notification = str(found[-1]["id"])
    return s


async def seed_class(wb: Wellbeing, private_key: bytes, class_id: str, hospital_id: str) -> Seeded:
    """``seed_school_year`` at ``class_id`` (of its school), through ``wb``'s API."""
    school_id = wb.roster.classes[class_id]
    return await seed_school_year(
        wb.http,
        wb.roster,
        private_key,
        school_id=school_id,
        class_id=class_id,
        hospital_id=hospital_id,
    )
