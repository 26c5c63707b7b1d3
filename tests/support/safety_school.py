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

import csv
import io
import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from tests.conftest import Bearer
from tests.support.kafka_reader import read_all
from tests.support.servers import serving
from tests.support.services import database_of, settings_for, worker_of
from tests.support.waiting import caught_up, eventually
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_platform.auth import Principal, Role, TokenVerifier, mint
from tongxin_platform.eventstore import now_utc
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config
from tongxin_platform.notify import NoticeTemplate
from tongxin_platform.testing import Infra
from tongxin_platform.worker import Worker
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints.api import create_app as registry_app
from tongxin_safety.bootstrap import SERVICE
from tongxin_safety.config import SafetySettings
from tongxin_safety.entrypoints.api import create_app as safety_app

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


@dataclass
class Clock:
    """The stack's clock, shared by its API and its worker: the real one moved by ``ahead``."""

    ahead: timedelta = timedelta(0)

    def __call__(self) -> datetime:
        return now_utc() + self.ahead


@dataclass
class Roster:
    """What safety's read model knows of the district after the import."""

    district: str
    schools: list[str]
    classes: dict[str, str]  # class_id → school_id
    students: dict[str, str]  # student_ref → class_id
    guardians: dict[str, list[str]]  # student_ref → guardian_refs
    staff: dict[str, tuple[str, list[str], list[str]]] = field(default_factory=dict)
    # staff_ref → (school_id, roles, class_ids)

    def one(self, role: str, school_id: str) -> str:
        """The first staff member of ``school_id`` holding ``role``."""
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

    def of_school(self, school_id: str) -> list[str]:
        return sorted(ref for ref, c in self.students.items() if self.classes[c] == school_id)

    def classes_of(self, school_id: str) -> list[str]:
        return sorted(c for c, s in self.classes.items() if s == school_id)

    def guardians_of(self, school_id: str) -> list[str]:
        """The guardians of ``school_id``'s pupils, pupil by pupil."""
        return [g for ref in self.of_school(school_id) for g in self.guardians[ref]]

    def school_of(self, student_ref: str) -> str:
        return self.classes[self.students[student_ref]]


@dataclass
class SafetySchool:
    settings: SafetySettings
    app: FastAPI
    http: httpx.AsyncClient  # the safety API
    registry: httpx.AsyncClient  # the registry API (transfers, categorising, leaving)
    pool: asyncpg.Pool  # safety's database
    roster: Roster
    private_key: bytes
    officer: dict[str, str]  # the district's bureau officer (registry imports)
    bearer: Bearer
    clock: Clock = field(default_factory=Clock)
    spec: DemoSpec = field(default_factory=DemoSpec)
    names: list[str] = field(default_factory=list)  # every person's name in the roster
    worker: Worker | None = None
    _worker: AbstractAsyncContextManager[Worker] | None = None

    @property
    def district(self) -> str:
        return self.roster.district

    @property
    def schools(self) -> list[str]:
        return self.roster.schools

    @property
    def school_id(self) -> str:
        return self.roster.schools[0]

    def token(
        self,
        role: Role | str,
        sub: str,
        *,
        district: str | None = None,
        school: str | None = None,
        class_id: str | None = None,
        org: str | None = None,
    ) -> dict[str, str]:
        """Headers with a bearer token; the district defaults to the roster's."""
        p = Principal(sub, Role(role), district or self.roster.district, school, class_id, org=org)
        return {"Authorization": f"Bearer {mint(self.private_key, p, ttl=3600)}"}

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

    # --- the worker, the clock, the topic ------------------------------------------------------

    async def start_worker(self, clock: Clock | None = None) -> None:
        """Start a worker on ``clock`` (default: the stack's; the API keeps the stack's)."""
        assert self._worker is None, "one worker at a time"
        self.clock = clock or self.clock
        self._worker = worker_of(SERVICE, self.settings, clock=self.clock)
        self.worker = await self._worker.__aenter__()

    async def stop_worker(self) -> None:
        if self._worker is not None:
            await self._worker.__aexit__(None, None, None)
            self._worker, self.worker = None, None

    async def catch_up(self) -> None:
        """Wait for the roster in safety's read model, and for every part of the worker that
        reads the registry to have read all of it (the worker must run): a reaction still
        reading the import (the care files' follow the registry's care groups) would act on it
        after the test's first commands, and undo them."""
        self.roster = await caught_up_roster(self.pool, self.spec)
        bootstrap, topic = self.settings.kafka_bootstrap_servers, self.settings.topic_of("registry")
        readers = {p.group for p in SERVICE.projections if "registry" in p.sources}
        readers |= {r.group for r in SERVICE.reactions if "registry" in r.sources}
        for group in sorted(readers):

            async def done(group: str = group) -> bool:
                return await caught_up(self.pool, group, topic, bootstrap)

            await eventually(done, bool, timeout=90, what=f"{group} caught up with the roster")

    async def escalations(self, incident_id: str) -> int:
        n: int = await self.pool.fetchval(
            "SELECT count(*) FROM events WHERE stream_id = $1 AND event_type LIKE $2",
            f"incident-{incident_id}",
            "%MandatoryReportEscalated%",
        )
        return n

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


async def safety_settings(
    infra: Infra,
    kafka: str,
    unique: str,
    database_name: str,
    registry_topic: str,
    **extra: Any,
) -> SafetySettings:
    """Its own topic, and test topics for every topic it reads (none is the real one);
    ``extra``: settings of the test (e.g. ``report_limit_seconds``)."""
    own = f"test-{unique}-safety.events"
    visits = extra.pop("visits_topic", f"test-{unique}-visits.events")
    await ensure_topics(kafka, [TopicSpec(t, 3, event_topic_config()) for t in (own, visits)])
    settings = settings_for(
        SERVICE,
        infra,
        database_name=f"{database_name}_safety",
        topics={"safety": own, "registry": registry_topic, "visits": visits},
        **extra,
    )
    assert isinstance(settings, SafetySettings)
    return settings


async def load_roster(pool: asyncpg.Pool, district: str) -> Roster:
    schools = [r["school_id"] for r in await pool.fetch("SELECT school_id FROM safety.schools")]
    classes = {
        r["class_id"]: r["school_id"]
        for r in await pool.fetch("SELECT class_id, school_id FROM safety.classes")
    }
    rows = await pool.fetch("SELECT student_ref, class_id, guardian_refs FROM safety.students")
    people = {
        r["staff_ref"]: (r["school_id"], list(r["roles"]), list(r["class_ids"]))
        for r in await pool.fetch("SELECT staff_ref, school_id, roles, class_ids FROM safety.staff")
    }
    return Roster(
        district,
        sorted(schools),
        classes,
        {r["student_ref"]: r["class_id"] for r in rows},
        {r["student_ref"]: list(r["guardian_refs"]) for r in rows},
        people,
    )


def roster_names(students_csv: str, staff_csv: str) -> list[str]:
    """Every person's name in the roster's files (what must never travel in clear)."""
    out: list[str] = []
    for text in (students_csv, staff_csv):
        for row in csv.DictReader(io.StringIO(text)):
            out += [v for k, v in row.items() if k and k.endswith("name") and v]
    return out


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
    officer = bearer("bureau_officer", roster_spec.district)
    clock = clock or Clock()
    # One clock for the API's commands and the worker's deadlines: the test moves it.
    app = safety_app(settings, verifier, clock=clock)
    async with AsyncExitStack() as stack:
        pool = await stack.enter_async_context(database_of(SERVICE, settings))
        registry_url = await stack.enter_async_context(
            serving(registry_app(registry_settings, verifier))
        )
        url = await stack.enter_async_context(serving(app))
        registry = await stack.enter_async_context(
            httpx.AsyncClient(base_url=registry_url, timeout=30)
        )
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=30))
        roster = Roster(roster_spec.district, [], {}, {}, {})
        s = SafetySchool(settings, app, http, registry, pool, roster, private_key, officer, bearer)
        s.clock, s.spec, s.names = clock, roster_spec, roster_names(students, staff)
        stack.push_async_callback(s.stop_worker)
        if worker:
            await s.start_worker()
        if spec is not None:
            for path, body in (("/imports/students", students), ("/imports/staff", staff)):
                r = await registry.post(path, content=body.encode(), headers=officer)
                assert r.status_code == 200, r.text
            if worker:
                await s.catch_up()
        yield s


@dataclass
class SafetyEnv:
    """The test's infrastructure and the registry it imports the roster through (the fixture
    ``safety_env``): ``world`` stands the safety service up on it."""

    infra: Infra
    kafka: str
    topic: str  # the registry's
    unique: str
    database_name: str
    registry_settings: RegistrySettings
    verifier: TokenVerifier
    bearer: Bearer
    keys: tuple[bytes, bytes]

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


@pytest.fixture(name="safety_env")
def safety_env_fixture(
    infra: Infra,
    kafka: str,
    topic: str,
    unique: str,
    database_name: str,
    registry_settings: RegistrySettings,
    registry_worker: None,
    verifier: TokenVerifier,
    bearer: Bearer,
    jwt_keys: tuple[bytes, bytes],
) -> SafetyEnv:
    """A test module takes it by importing ``safety_env_fixture``: pytest finds the fixtures in
    a module's namespace (under their ``name``), and the conftest stays the kit's."""
    return SafetyEnv(
        infra, kafka, topic, unique, database_name, registry_settings, verifier, bearer, jwt_keys
    )


async def caught_up_roster(pool: asyncpg.Pool, spec: DemoSpec) -> Roster:
    """The roster of ``spec`` once safety's read model has all of it (the worker must run)."""
    n_students = spec.schools * spec.classes_per_school * spec.students_per_class
    n_staff = spec.schools * (4 + spec.classes_per_school)

    async def counts() -> tuple[int, int]:
        return (
            await pool.fetchval("SELECT count(*) FROM safety.students"),
            await pool.fetchval("SELECT count(*) FROM safety.staff"),
        )

    await eventually(
        counts, lambda n: n == (n_students, n_staff), timeout=90, what="the roster in safety"
    )
    return await load_roster(pool, spec.district)


# --- a term of safety work at one class, made by the people who would make it ----------------

# The organisations of the carers paired with the seeded files (the "in" side), and a
# neighbouring organisation of the same kind in the same district (the "out" side).
CARER_ROLES = {
    "community": Role.community_worker,
    "civil_affairs": Role.civil_affairs,
    "womens_federation": Role.womens_federation,
}
ORGS = {
    "community": ("community-330106-a", "community-330106-b"),
    "civil_affairs": ("civil-affairs-330106-a", "civil-affairs-330106-b"),
    "womens_federation": ("womens-federation-330106-a", "womens-federation-330106-b"),
}
KINDS = ("school", "community", "civil_affairs", "womens_federation")


def carer_ref_of(kind: str, side: str = "in") -> str:
    """The pseudonym of the carer of ``kind`` on ``side`` (a token's ``sub``)."""
    return f"carer-{kind.replace('_', '-')}-{side}"


@dataclass
class Seeded:
    """What ``seed_safety_term`` made at one class (ids), and what it could not make (one part
    of the service missing still lets the others be tested: the caller reports)."""

    a: str  # file, four kinds paired and accepted, a concern raised, an incident, a referral
    b: str  # no file
    c: str  # file, four pairings pending (to accept)
    d: str  # file, four pairings pending (to decline)
    e: str  # file, one community pairing pending (to release)
    f: str  # file (to close)
    pairings: dict[str, dict[str, str]] = field(default_factory=dict)  # student → kind → id
    concern: str = "no-concern"
    post: str = "no-post"
    shifts: list[str] = field(default_factory=list)
    fire_contact: str = "no-staff"  # a staff_ref named fire-safety contact
    incident: str = "no-incident"
    guidance: str = "no-referral"
    notification: str = "1"
    failures: list[str] = field(default_factory=list)
    actors: set[str] = field(default_factory=set)  # the subjects the seeding acted as


async def seed_safety_term(s: SafetySchool, *, school_id: str, class_id: str) -> Seeded:
    """Care files with their carers (paired by the principal, accepted by each carer), a
    concern, a guard post with two shifts, a fire-safety contact, the legal vice-principal, an
    incident whose report is mandatory, a referral to the guidance committee — at ``class_id``
    of ``school_id``, through the API."""
    today = now_utc().date()
    roster = s.roster
    a, b, c, d, e, f = roster.of_class(class_id)[:6]
    out = Seeded(a, b, c, d, e, f)
    principal_ref = roster.one("principal", school_id)
    head_ref = roster.head_of(class_id)
    principal = s.token(Role.principal, principal_ref, school=school_id)
    out.actors |= {principal_ref, head_ref}

    async def step(what: str, method: str, path: str, who: dict[str, str], **kw: Any) -> Any:
        r = await s.http.request(method, path, headers=who, **kw)
        if r.status_code >= 300:
            out.failures.append(f"setup {what}: {method} {path} → {r.status_code} {r.text[:300]}")
            return {}
        return r.json()

    def carer_of(kind: str) -> tuple[str, str, dict[str, str]]:
        """(carer_ref, org, headers) of the "in" carer of ``kind``."""
        if kind == "school":
            return head_ref, school_id, s.head_teacher(class_id)
        ref, org = carer_ref_of(kind), ORGS[kind][0]
        out.actors.add(ref)
        return ref, org, s.carer(CARER_ROLES[kind], ref, org)

    for ref in (a, c, d, e, f):
        groups = {"care_groups": ["left_behind"]}
        await step("file", "POST", f"/students/{ref}/care-file", principal, json=groups)
    await files_readable(s, principal, [a, c, d, e, f], out)
    for ref, kinds in ((a, KINDS), (c, KINDS), (d, KINDS), (e, ("community",))):
        out.pairings[ref] = {}
        for kind in kinds:
            carer_ref, org, _ = carer_of(kind)
            body = {"kind": kind, "carer_ref": carer_ref, "org": org}
            made = await step(
                f"pair {kind}", "POST", f"/students/{ref}/care-file/pairings", principal, json=body
            )
            out.pairings[ref][kind] = str(made.get("pairing_id", "no-pairing"))
    for ref, pairings in out.pairings.items():
        for kind, pairing in pairings.items():
            _, _, carer = carer_of(kind)  # a carer finds the file once their pairing is read
            await shown(s, out, f"{kind} paired", f"/students/{ref}/care-file", carer, pairing)
    for kind, pairing in out.pairings[a].items():
        _, _, carer = carer_of(kind)
        path = f"/students/{a}/care-file/pairings/{pairing}/acceptance"
        await step(f"accept {kind}", "POST", path, carer, json={})
    made = await step(
        "concern", "POST", f"/students/{a}/care-file/concerns", principal, json={"detail": "x"}
    )
    out.concern = str(made.get("concern_id", "no-concern"))

    made = await step(
        "guard post",
        "POST",
        f"/schools/{school_id}/guard-posts",
        principal,
        json={"place": "school_gate", "established_on": str(today)},
    )
    out.post = str(made.get("post_id", "no-post"))
    await shown(s, out, "the guard post", f"/schools/{school_id}/guard-posts", principal, out.post)
    for period in ("morning", "afternoon"):
        shift: dict[str, Any] = {
            "on": str(today),
            "period": period,
            "guards": [{"kind": "staff", "ref": head_ref}],
        }
        made = await step("shift", "POST", f"/guard-posts/{out.post}/shifts", principal, json=shift)
        out.shifts.append(str(made.get("shift_id", "no-shift")))
    out.fire_contact = roster.one("psych_teacher", school_id)
    await step(
        "fire-safety contact",
        "POST",
        f"/schools/{school_id}/fire-safety-contacts",
        principal,
        json={"staff_ref": out.fire_contact},
    )
    vp = {
        "post": "legal",
        "appointee_ref": "matrix-legal_vp-in",
        "from_org": "police",
        "appointed_on": str(today),
    }
    await step("legal vp", "POST", f"/schools/{school_id}/vice-principals", principal, json=vp)
    incident = {
        "category": "physical_abuse",
        "student_refs": [a],
        "occurred_at": now_utc().isoformat(),
    }
    made = await step(
        "incident", "POST", f"/schools/{school_id}/incidents", principal, json=incident
    )
    out.incident = str(made.get("incident_id", "no-incident"))
    referral = {"misbehaviour": "gang_fighting"}
    path = f"/students/{a}/guidance-referrals"
    made = await step("guidance referral", "POST", path, principal, json=referral)
    out.guidance = str(made.get("referral_id", "no-referral"))
    await shown(s, out, "the incident", f"/incidents/{out.incident}", principal, out.incident)
    officer_ref = "setup-officer"
    out.actors.add(officer_ref)
    officer = s.token(Role.bureau_officer, officer_ref)
    path = f"/districts/{roster.district}/guidance-referrals"
    await shown(s, out, "the guidance referral", path, officer, out.guidance)
    for shift_id in out.shifts:
        path = f"/schools/{school_id}/guard-shifts"
        await shown(s, out, "the guard shift", path, principal, shift_id)
    out.notification = await a_notice(s, school_id)
    return out


async def shown(
    s: SafetySchool, out: Seeded, what: str, path: str, who: dict[str, str], needle: str
) -> None:
    """Wait until ``path`` shows ``needle`` (a record just made, in safety's read model)."""

    async def found() -> bool:
        r = await s.http.get(path, headers=who)
        return r.status_code == 200 and needle in r.text

    try:
        await eventually(found, lambda yes: yes, timeout=30, what=what)
    except AssertionError as exc:
        out.failures.append(f"setup {what}: {exc}")


async def files_readable(
    s: SafetySchool, who: dict[str, str], refs: list[str], out: Seeded
) -> None:
    """Wait until the files just opened are in safety's read model (the routes find a file
    there): a pairing asked for before would be refused as for a child without a file."""

    async def readable() -> list[str]:
        missing = []
        for ref in refs:
            r = await s.http.get(f"/students/{ref}/care-file", headers=who)
            if r.status_code != 200:
                missing.append(f"{ref} → {r.status_code}")
        return missing

    try:
        await eventually(readable, lambda missing: not missing, timeout=30, what="the files")
    except AssertionError as exc:
        out.failures.append(f"setup files: {exc}")


SETUP_NOTICE = NoticeTemplate(
    "test.setup", title="测试通知", text="【测试】学校 {school} 的一条测试通知。"
)


async def a_notice(s: SafetySchool, school_id: str) -> str:
    """A notice queued through the kit's notification port (as an escalation's alert is), for
    the routes that list and resend notifications; its id."""
    transactions = s.app.state.service.transactions
    async with transactions.begin() as uow:
        await uow.notifications.enqueue(
            SETUP_NOTICE.notice(
                key=f"test.setup:{school_id}",
                channel="alert",
                district=s.roster.district,
                school=school_id,
                link=s.settings.public_link(f"/schools/{school_id}"),
                values={"school": school_id},
            )
        )
    r = await s.http.get("/notifications", headers=s.token(Role.operator, "setup-operator"))
    assert r.status_code == 200, r.text
    return str(r.json()[-1]["id"])
