"""The safety service for HTTP tests, stood up one way: its own topics and database, its worker
in the test's loop on a clock the test may move (the API's commands see the same clock,
injected through ``create_app(..., clock=)``), its API on a free port, and a district's roster
imported through the registry and caught up on safety's read model; the district's people by
role, and tokens for them and for the agencies (carers by ``org``).

    async with safety_env.world(SPEC, report_limit_seconds=7200) as s:  # the fixture
        r = await s.http.get(f"/schools/{s.school_id}/care-ledger", headers=s.principal())

or, from settings made by hand (``safety_settings``), ``safety_world(settings, …)``. The
registry's worker must be running (the fixture ``registry_worker``: ``safety_env`` asks for
it). ``worker=False`` leaves the safety worker to the test (``s.start_worker()``, then
``await s.catch_up()``), which may stop and start it as often as it likes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar

from tests.conftest import Bearer
from tests.support.safety_roster import Roster, caught_up_roster, roster_names
from tests.support.safety_seed import (
    CARER_ROLES,
    KINDS,
    ORGS,
    Seeded,
    carer_ref_of,
    seed_safety_term,
)
from tests.support.service_world import (
    Clock,
    ServiceEnv,
    ServiceWorld,
    StackKit,
    env_fixture,
    service_settings,
    stood_up,
)
from tests.support.waiting import eventually
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_platform.auth import Role, TokenVerifier
from tongxin_platform.service import Service
from tongxin_registry.config import RegistrySettings
from tongxin_safety.bootstrap import SERVICE
from tongxin_safety.config import SafetySettings
from tongxin_safety.entrypoints.api import create_app as safety_app

# The seeding and the roster live beside the stack; the matrix and the fuzz import them here.
__all__ = [
    "CARER_ROLES",
    "KINDS",
    "ORGS",
    "PUBLIC_URL",
    "Clock",
    "Roster",
    "SafetyEnv",
    "SafetySchool",
    "Seeded",
    "carer_ref_of",
    "prompt_worker",
    "safety_env_fixture",
    "safety_settings",
    "safety_world",
    "seed_safety_term",
]

PUBLIC_URL = "https://huapingan.example.cn/safety"  # the links in messages


def prompt_worker(webhooks: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    """Settings of a worker that polls its deadlines and notifications every 0.2 s (a test of
    an escalation waits for it) and sends alerts to ``webhooks`` only (none by default)."""
    return {
        "deadline_poll_interval": 0.2,
        "notify_poll_interval": 0.2,
        "notify_backoff_base": 0.2,
        "TONGXIN_ALERT_WEBHOOKS": json.dumps(webhooks or {}),
        "public_url": PUBLIC_URL,
    }


@dataclass(kw_only=True)
class SafetySchool(ServiceWorld):
    service: ClassVar[Service] = SERVICE

    settings: SafetySettings
    roster: Roster
    bearer: Bearer
    spec: DemoSpec = field(default_factory=DemoSpec)
    names: list[str] = field(default_factory=list)  # every person's name in the roster

    @property
    def district(self) -> str:
        return self.roster.district

    @property
    def schools(self) -> list[str]:
        return self.roster.schools

    @property
    def school_id(self) -> str:
        return self.roster.schools[0]

    def staff(self, role: str, school_id: str) -> dict[str, str]:
        """The roster's first ``role`` of ``school_id`` (a head teacher: of their class)."""
        ref = self.roster.one(role, school_id)
        _, _, classes = self.roster.staff[ref]
        cls = classes[0] if role == "head_teacher" and classes else None
        return self.token(role, ref, school=school_id, class_id=cls)

    def principal(self, school_id: str | None = None) -> dict[str, str]:
        """The principal of ``school_id`` (default: the district's first school)."""
        return self.staff("principal", school_id or self.school_id)

    def head_teacher(self, class_id: str) -> dict[str, str]:
        ref = self.roster.head_of(class_id)
        return self.token(
            Role.head_teacher, ref, school=self.roster.classes[class_id], class_id=class_id
        )

    def carer(self, role: Role | str, carer_ref: str, org: str) -> dict[str, str]:
        """A community worker, civil-affairs officer or women's-federation carer of ``org``."""
        return self.token(role, carer_ref, org=org)

    def agency(
        self, role: str, district: str | None = None, org: str | None = None
    ) -> dict[str, str]:
        """One officer of an agency (``<role>-1``), of the roster's district by default."""
        return self.token(role, f"{role}-1", district=district, org=org)

    # --- the roster arrived ---------------------------------------------------------------------

    async def catch_up(self) -> None:
        """Wait for the roster in safety's read model, and for every part of the worker that
        reads the registry to have read all of it (the worker must run): a reaction still
        reading the import (the care files' follow the registry's care groups) would act on it
        after the test's first commands, and undo them."""
        self.roster = await caught_up_roster(self.pool, self.spec)
        await self.registry_read("caught up with the roster")

    async def escalations(self, incident_id: str) -> int:
        n: int = await self.pool.fetchval(
            "SELECT count(*) FROM events WHERE stream_id = $1 AND event_type LIKE $2",
            f"incident-{incident_id}",
            "%MandatoryReportEscalated%",
        )
        return n

    async def deadline_polls_after(self, n: int = 3) -> None:
        """Wait until the worker's deadline part polled ``n`` more times."""
        worker = self.worker
        assert worker is not None

        async def started() -> bool:  # a worker just started builds its parts first
            return worker.state.deadlines is not None

        await eventually(started, bool, what="the deadline part")
        runner = worker.state.deadlines
        assert runner is not None
        start = runner.polls

        async def polls() -> int:
            return runner.polls

        await eventually(polls, lambda p: p >= start + n, what="deadline polls")


# Its own topic, and test topics for every topic it reads; keywords: settings of the test (e.g.
# ``report_limit_seconds``).
safety_settings = partial(service_settings, SERVICE, SafetySettings)


@asynccontextmanager
async def safety_world(
    settings: SafetySettings,
    registry_settings: RegistrySettings,
    verifier: TokenVerifier,
    bearer: Bearer,
    private_key: bytes,
    spec: DemoSpec | None,
    *,
    worker: bool = True,
    clock: Clock | None = None,
) -> AsyncIterator[SafetySchool]:
    """The roster of ``spec`` imported by the district's officer; safety caught up with it (its
    worker running on ``clock``), unless ``worker=False``: then the test starts the worker
    itself (``s.start_worker()``) and waits for the roster (``await s.catch_up()``). With no
    ``spec`` the test imports a roster of its own (e.g. through ``tests.support.world``)."""
    roster_spec = spec or DemoSpec()
    students, staff = demo_roster(spec) if spec else ("", "")
    async with stood_up(
        SafetySchool,
        safety_app,
        settings,
        registry_settings,
        verifier,
        private_key=private_key,
        officer=bearer("bureau_officer", roster_spec.district),
        roster_csv=(students, staff) if spec is not None else None,
        clock=clock,
        worker=worker,
        roster=Roster(roster_spec.district, [], {}, {}, {}),
        bearer=bearer,
        spec=roster_spec,
        names=roster_names(students, staff),
    ) as s:
        yield s


def safety_stack(kit: StackKit, spec: DemoSpec) -> AbstractAsyncContextManager[SafetySchool]:
    """Safety with the roster of ``spec`` and a registry of their own, for a module's matrix
    or a fuzz test."""
    world_of = partial(
        safety_world,
        verifier=kit.verifier,
        bearer=kit.bearer,
        private_key=kit.private_key,
        spec=spec,
    )
    return kit.stack(safety_settings, world_of)


@dataclass
class SafetyEnv(ServiceEnv):
    """The test's infrastructure and the registry it imports the roster through (the fixture
    ``safety_env``): ``world`` stands the safety service up on it."""

    @asynccontextmanager
    async def world(
        self,
        spec: DemoSpec | None,
        *,
        worker: bool = True,
        clock: Clock | None = None,
        **extra: Any,
    ) -> AsyncIterator[SafetySchool]:
        """``extra``: safety settings of the test (``visits_topic``: the visits topic it reads)."""
        settings = await safety_settings(
            self.infra, self.kafka, self.unique, self.database_name, self.topic, **extra
        )
        async with safety_world(
            settings,
            self.registry_settings,
            self.verifier,
            self.bearer,
            self.keys[0],
            spec,
            worker=worker,
            clock=clock,
        ) as s:
            yield s


safety_env_fixture = env_fixture(SafetyEnv, "safety_env")
