"""The wellbeing service for referral and alert tests, on the real stack: the registry's API and
worker publishing a demo school's roster, the wellbeing API and its worker (relay, read model,
reactions, deadlines, notifications) with a clock the test moves, and tokens for the school's
team and for hospitals (claim ``org``)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from tests.conftest import Bearer
from tests.support.servers import serving
from tests.support.service_world import Clock, redeliver, wait_caught_up
from tests.support.services import database_of, settings_for, worker_of
from tests.support.waiting import eventually
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_platform.auth import Principal, Role, TokenVerifier, mint
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config
from tongxin_platform.testing import Infra
from tongxin_platform.worker import Worker
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints.api import create_app as registry_app
from tongxin_wellbeing.bootstrap import SERVICE
from tongxin_wellbeing.config import WellbeingSettings
from tongxin_wellbeing.entrypoints.api import create_app as wellbeing_app

SPEC = DemoSpec(schools=1, classes_per_school=2, students_per_class=4)
PUBLIC_URL = "https://xinyangguang.example.cn/wellbeing"  # the links in messages


@dataclass
class Stack:
    http: httpx.AsyncClient
    pool: asyncpg.Pool  # the wellbeing database
    settings: WellbeingSettings
    worker: Worker | None  # the running worker (None while stopped)
    clock: Clock
    keys: tuple[bytes, bytes]
    bearer: Bearer
    district: str
    school_id: str
    staff: dict[str, str]  # role → staff_ref (psych_teacher, health_vp, principal)
    students: list[tuple[str, list[str]]]  # (student_ref, guardian_refs)
    names: list[str] = field(default_factory=list)  # every person's name in the roster
    _worker: AbstractAsyncContextManager[Worker] | None = None

    def team(self, role: str = "psych_teacher") -> dict[str, str]:
        return self.bearer(role, self.district, self.school_id, subject=self.staff[role])

    def hospital(self, org: str, district: str | None = None) -> dict[str, str]:
        p = Principal(f"doc-{org}", Role.hospital, district or self.district, org=org)
        return {"Authorization": f"Bearer {mint(self.keys[0], p)}"}

    def operator(self) -> dict[str, str]:
        return self.bearer("operator", self.district)

    def officer(self) -> dict[str, str]:
        return self.bearer("bureau_officer", self.district)

    async def escalations(self, referral_id: str) -> int:
        n: int = await self.pool.fetchval(
            "SELECT count(*) FROM events WHERE stream_id = $1 AND event_type LIKE $2",
            f"referral-{referral_id}",
            "%ReferralEscalated%",
        )
        return n

    async def restart_worker(self, clock: Clock | None = None) -> None:
        """Stop the worker (nothing of it runs while stopped), then start a new one on ``clock``."""
        await self.stop_worker()
        await self.start_worker(clock)

    async def stop_worker(self) -> None:
        if self._worker is not None:
            await self._worker.__aexit__(None, None, None)
            self._worker = None

    async def start_worker(self, clock: Clock | None = None) -> None:
        assert self._worker is None, "one worker at a time"
        self.clock = clock or self.clock
        self._worker = worker_of(SERVICE, self.settings, clock=self.clock)
        self.worker = await self._worker.__aenter__()

    async def redeliver(self, event_name: str, marker: str) -> None:
        """Send a record of wellbeing's topic again, as Kafka redelivers: the first whose type
        is ``event_name`` and whose payload holds ``marker``."""
        await redeliver(
            self.settings.kafka_bootstrap_servers, self.settings.topic, event_name, marker
        )

    async def caught_up(self, group: str) -> None:
        """Wait until ``group`` stored offsets at the end of wellbeing's topic."""
        bootstrap, topic = self.settings.kafka_bootstrap_servers, self.settings.topic
        await wait_caught_up(self.pool, group, topic, bootstrap, what=f"{group} caught up")

    async def delivery_polls_after(self, n: int = 3) -> None:
        """Wait until the worker's notification delivery polled ``n`` more times."""
        assert self.worker is not None
        delivery = self.worker.state.delivery
        assert delivery is not None
        start = delivery.polls
        await eventually(
            lambda: _value(delivery.polls), lambda p: p >= start + n, what="delivery polls"
        )

    async def deadline_polls_after(self, n: int = 3) -> None:
        """Wait until the worker's deadline part polled ``n`` more times."""
        assert self.worker is not None
        runner = self.worker.state.deadlines
        assert runner is not None
        start = runner.polls
        await eventually(
            lambda: _value(runner.polls), lambda p: p >= start + n, what="deadline polls"
        )


async def _value(v: int) -> int:
    return v


def _names(students_csv: str, staff_csv: str) -> list[str]:
    out: list[str] = []
    for text in (students_csv, staff_csv):
        for row in csv.DictReader(io.StringIO(text)):
            out += [v for k, v in row.items() if k and k.endswith("name") and v]
    return out


@asynccontextmanager
async def referral_stack(
    infra: Infra,
    kafka: str,
    topic: str,
    unique: str,
    database_name: str,
    registry_settings: RegistrySettings,
    verifier: TokenVerifier,
    bearer: Bearer,
    keys: tuple[bytes, bytes],
    *,
    webhooks: dict[str, list[dict[str, Any]]] | None = None,
    clock: Clock | None = None,
) -> AsyncIterator[Stack]:
    """The stack with the demo school's roster in wellbeing's read model. The registry's worker
    must run (fixture ``registry_worker``)."""
    own = f"test-{unique}-wellbeing.events"
    await ensure_topics(kafka, [TopicSpec(own, 3, event_topic_config())])
    settings = settings_for(
        SERVICE,
        infra,
        database_name=f"{database_name}_wellbeing",
        topics={"wellbeing": own, "registry": topic},
        deadline_poll_interval=0.2,
        notify_poll_interval=0.2,
        notify_backoff_base=0.2,
        TONGXIN_ALERT_WEBHOOKS=json.dumps(webhooks or {}),
        public_url=PUBLIC_URL,
    )
    assert isinstance(settings, WellbeingSettings)
    clock = clock or Clock()
    district, school_id = SPEC.district, f"{SPEC.district}001"
    principal = bearer("principal", district, school_id)
    async with (
        database_of(SERVICE, settings) as pool,
        serving(registry_app(registry_settings, verifier)) as registry_url,
        serving(wellbeing_app(settings, verifier)) as wellbeing_url,
        httpx.AsyncClient(base_url=registry_url, timeout=30) as registry,
        httpx.AsyncClient(base_url=wellbeing_url, timeout=30) as http,
    ):
        stack = Stack(http, pool, settings, None, clock, keys, bearer, district, school_id, {}, [])
        await stack.start_worker()
        try:
            students_csv, staff_csv = demo_roster(SPEC)
            stack.names = _names(students_csv, staff_csv)
            for kind, text in (("students", students_csv), ("staff", staff_csv)):
                r = await registry.post(
                    f"/imports/{kind}", content=text.encode(), headers=principal
                )
                assert r.status_code == 200, r.text
            await _roster(stack)
            yield stack
        finally:
            await stack.stop_worker()


async def _roster(s: Stack) -> None:
    """Wait for the demo school in wellbeing's read model; note its team and students."""
    total = SPEC.classes_per_school * SPEC.students_per_class

    async def roster() -> tuple[int, int]:
        students = await s.pool.fetchval(
            "SELECT count(*) FROM wellbeing.students WHERE school_id = $1", s.school_id
        )
        staff = await s.pool.fetchval(
            "SELECT count(*) FROM wellbeing.staff WHERE school_id = $1", s.school_id
        )
        return students, staff

    await eventually(
        roster,
        lambda n: n == (total, 4 + SPEC.classes_per_school),
        timeout=90,
        what="the roster in wellbeing's read model",
    )
    for role in ("psych_teacher", "health_vp", "principal"):
        s.staff[role] = await s.pool.fetchval(
            "SELECT staff_ref FROM wellbeing.staff WHERE school_id = $1 AND $2 = ANY(roles)",
            s.school_id,
            role,
        )
    rows = await s.pool.fetch(
        "SELECT student_ref, guardian_refs FROM wellbeing.students WHERE school_id = $1"
        " ORDER BY cardinality(guardian_refs) DESC, student_ref",
        s.school_id,
    )
    s.students = [(r["student_ref"], list(r["guardian_refs"])) for r in rows]
