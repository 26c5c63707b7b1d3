"""The safety service for the incident and escalation tests, on the real stack: the registry's
API (its worker is the test's ``registry_worker``) publishing a demo district's roster, the
safety API and its worker (relay, read model, reactions, deadlines, notifications) with a clock
the test moves and stops/starts, and tokens for the school's staff and the district's agencies.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from tests.conftest import Bearer
from tests.support.kafka_reader import read_all
from tests.support.servers import serving
from tests.support.services import database_of, settings_for, worker_of
from tests.support.waiting import caught_up, eventually
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_platform.auth import Principal, Role, TokenVerifier, mint
from tongxin_platform.eventstore import now_utc
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config
from tongxin_platform.testing import Infra
from tongxin_platform.worker import Worker
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints.api import create_app as registry_app
from tongxin_safety.bootstrap import SERVICE
from tongxin_safety.config import SafetySettings
from tongxin_safety.entrypoints.api import create_app as safety_app

SPEC = DemoSpec(schools=2, classes_per_school=2, students_per_class=3)
PUBLIC_URL = "https://huapingan.example.cn/safety"  # the links in messages


@dataclass
class Clock:
    """The worker's clock: the real one moved by ``ahead``."""

    ahead: timedelta = timedelta(0)

    def __call__(self) -> datetime:
        return now_utc() + self.ahead


@dataclass
class Stack:
    http: httpx.AsyncClient
    pool: asyncpg.Pool  # the safety database
    settings: SafetySettings
    clock: Clock
    keys: tuple[bytes, bytes]
    bearer: Bearer
    district: str
    schools: list[str] = field(default_factory=list)
    principals: dict[str, str] = field(default_factory=dict)  # school_id → staff_ref
    heads: dict[str, tuple[str, str]] = field(default_factory=dict)  # class_id → (school, ref)
    students: dict[str, list[str]] = field(default_factory=dict)  # school_id → student_refs
    names: list[str] = field(default_factory=list)  # every person's name in the roster
    worker: Worker | None = None
    _worker: AbstractAsyncContextManager[Worker] | None = None

    @property
    def school_id(self) -> str:
        return self.schools[0]

    def principal(self, school_id: str | None = None) -> dict[str, str]:
        school = school_id or self.school_id
        return self.bearer("principal", self.district, school, subject=self.principals[school])

    def head_teacher(self, school_id: str | None = None) -> dict[str, str]:
        school = school_id or self.school_id
        class_id, (_, ref) = next((c, h) for c, h in sorted(self.heads.items()) if h[0] == school)
        return self.bearer("head_teacher", self.district, school, class_id, subject=ref)

    def agency(
        self, role: str, district: str | None = None, org: str | None = None
    ) -> dict[str, str]:
        p = Principal(f"{role}-1", Role(role), district or self.district, org=org)
        return {"Authorization": f"Bearer {mint(self.keys[0], p)}"}

    async def escalations(self, incident_id: str) -> int:
        n: int = await self.pool.fetchval(
            "SELECT count(*) FROM events WHERE stream_id = $1 AND event_type LIKE $2",
            f"incident-{incident_id}",
            "%MandatoryReportEscalated%",
        )
        return n

    async def stop_worker(self) -> None:
        if self._worker is not None:
            await self._worker.__aexit__(None, None, None)
            self._worker, self.worker = None, None

    async def start_worker(self, clock: Clock | None = None) -> None:
        """Start a worker on ``clock`` (default: the stack's; the API keeps the stack's)."""
        assert self._worker is None, "one worker at a time"
        self.clock = clock or self.clock
        self._worker = worker_of(SERVICE, self.settings, clock=self.clock)
        self.worker = await self._worker.__aenter__()

    async def redeliver(self, event_name: str, marker: str) -> None:
        """Send a record of safety's topic again, as Kafka redelivers: the first whose type is
        ``event_name`` and whose payload holds ``marker``."""
        bootstrap, topic = self.settings.kafka_bootstrap_servers, self.settings.topic
        records = await read_all(bootstrap, topic)
        trigger = next(
            r
            for r in records
            if marker.encode() in r.value
            and any(event_name.encode() in v for _, v in r.headers or ())
        )
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(
                topic,
                trigger.value,
                key=trigger.key,
                headers=list(trigger.headers),
                partition=trigger.partition,
            )
        finally:
            await producer.stop()

    async def caught_up(self, group: str) -> None:
        """Wait until ``group`` stored offsets at the end of safety's topic."""
        bootstrap, topic = self.settings.kafka_bootstrap_servers, self.settings.topic
        await eventually(
            lambda: caught_up(self.pool, group, topic, bootstrap), bool, what=f"{group} caught up"
        )

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


def _names(students_csv: str, staff_csv: str) -> list[str]:
    out: list[str] = []
    for text in (students_csv, staff_csv):
        for row in csv.DictReader(io.StringIO(text)):
            out += [v for k, v in row.items() if k and k.endswith("name") and v]
    return out


@asynccontextmanager
async def safety_stack(
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
    **extra: Any,
) -> AsyncIterator[Stack]:
    """The stack with the demo district's roster in safety's read model. The registry's worker
    must run (fixture ``registry_worker``). ``extra``: more safety settings."""
    own, visits = f"test-{unique}-safety.events", f"test-{unique}-visits.events"
    await ensure_topics(kafka, [TopicSpec(t, 3, event_topic_config()) for t in (own, visits)])
    settings = settings_for(
        SERVICE,
        infra,
        database_name=f"{database_name}_safety",
        topics={"safety": own, "registry": topic, "visits": visits},
        deadline_poll_interval=0.2,
        notify_poll_interval=0.2,
        notify_backoff_base=0.2,
        TONGXIN_ALERT_WEBHOOKS=json.dumps(webhooks or {}),
        public_url=PUBLIC_URL,
        **extra,
    )
    assert isinstance(settings, SafetySettings)
    officer = bearer("bureau_officer", SPEC.district)
    app = safety_app(settings, verifier)
    async with (
        database_of(SERVICE, settings) as pool,
        serving(registry_app(registry_settings, verifier)) as registry_url,
        serving(app) as safety_url,
        httpx.AsyncClient(base_url=registry_url, timeout=30) as registry,
        httpx.AsyncClient(base_url=safety_url, timeout=30) as http,
    ):
        stack = Stack(http, pool, settings, clock or Clock(), keys, bearer, SPEC.district)
        # One wall clock for the API's commands and the worker's deadlines: the test moves it.
        app.state.service.service.writer.clock = stack.clock
        await stack.start_worker()
        try:
            students_csv, staff_csv = demo_roster(SPEC)
            stack.names = _names(students_csv, staff_csv)
            for kind, text in (("students", students_csv), ("staff", staff_csv)):
                r = await registry.post(f"/imports/{kind}", content=text.encode(), headers=officer)
                assert r.status_code == 200, r.text
            await _roster(stack)
            yield stack
        finally:
            await stack.stop_worker()


async def _roster(s: Stack) -> None:
    """Wait for the demo district in safety's read model; note its schools and people."""
    total = SPEC.schools * SPEC.classes_per_school * SPEC.students_per_class
    staff = SPEC.schools * (4 + SPEC.classes_per_school)

    async def roster() -> tuple[int, int]:
        return (
            await s.pool.fetchval("SELECT count(*) FROM safety.students"),
            await s.pool.fetchval("SELECT count(*) FROM safety.staff"),
        )

    await eventually(roster, lambda n: n == (total, staff), timeout=90, what="the roster in safety")
    s.schools = [
        r["school_id"]
        for r in await s.pool.fetch("SELECT school_id FROM safety.schools ORDER BY 1")
    ]
    for r in await s.pool.fetch("SELECT staff_ref, school_id, roles, class_ids FROM safety.staff"):
        if "principal" in r["roles"]:
            s.principals[r["school_id"]] = r["staff_ref"]
        if "head_teacher" in r["roles"]:
            for c in r["class_ids"]:
                s.heads[c] = (r["school_id"], r["staff_ref"])
    for r in await s.pool.fetch(
        "SELECT student_ref, school_id FROM safety.students ORDER BY student_ref"
    ):
        s.students.setdefault(r["school_id"], []).append(r["student_ref"])
