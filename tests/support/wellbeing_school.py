"""A wellbeing service for HTTP tests: its own topics and database, its worker in the test's
loop, its API on a free port, and a school's roster imported through the registry and caught up
on wellbeing's read model; the school's people by role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import asyncpg
import httpx
from fastapi import FastAPI

from tests.conftest import Bearer
from tests.support.servers import serving
from tests.support.services import database_of, settings_for, worker_of
from tests.support.waiting import eventually
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config
from tongxin_platform.testing import Infra
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints.api import create_app as registry_app
from tongxin_wellbeing.bootstrap import SERVICE
from tongxin_wellbeing.config import WellbeingSettings
from tongxin_wellbeing.entrypoints.api import create_app as wellbeing_app


@dataclass
class Roster:
    """What wellbeing's read model knows of the district after the import."""

    district: str
    schools: list[str]
    classes: dict[str, str]  # class_id → school_id
    students: dict[str, str]  # student_ref → class_id
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


async def wellbeing_settings(
    infra: Infra, kafka: str, unique: str, database_name: str, registry_topic: str
) -> WellbeingSettings:
    """Its own topic, and test topics for every topic it reads (none is the real one)."""
    own = f"test-{unique}-wellbeing.events"
    visits = f"test-{unique}-visits.events"
    await ensure_topics(kafka, [TopicSpec(t, 3, event_topic_config()) for t in (own, visits)])
    settings = settings_for(
        SERVICE,
        infra,
        database_name=f"{database_name}_wellbeing",
        topics={"wellbeing": own, "registry": registry_topic, "visits": visits},
    )
    assert isinstance(settings, WellbeingSettings)
    return settings


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
        pupils = {
            r["student_ref"]: r["class_id"]
            for r in await pool.fetch("SELECT student_ref, class_id FROM wellbeing.students")
        }
        people = {
            r["staff_ref"]: (r["school_id"], list(r["roles"]), list(r["class_ids"]))
            for r in await pool.fetch(
                "SELECT staff_ref, school_id, roles, class_ids FROM wellbeing.staff"
            )
        }
        yield Wellbeing(
            settings, app, http, pool, Roster(spec.district, schools, classes, pupils, people)
        )
