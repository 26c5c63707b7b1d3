"""A service of the kit stood up for HTTP tests, the part every service shares: its settings on
the test's own topics, its database, its worker in the test's loop on a clock the test may move
(the API's commands see the same clock), its API and the registry's on free ports, a roster
imported through the registry; then waiting for a consumer group, sending a record again as
Kafka redelivers, and reading the service's stored events.

A service's own module (``safety_school``, ``committees_school``) keeps its roster, its tokens by
role and how it knows the roster arrived (``catch_up``):

    @dataclass(kw_only=True)
    class SafetySchool(ServiceWorld):
        service: ClassVar[Service] = SERVICE
        roster: Roster

        async def catch_up(self) -> None: ...

    async with stood_up(SafetySchool, settings, app, registry_settings, verifier, ...) as s:
        ...
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from tests.conftest import Bearer
from tests.support.cleanup import fresh_unique
from tests.support.kafka_reader import read_all
from tests.support.servers import serving
from tests.support.services import database_of, settings_for, worker_of
from tests.support.waiting import caught_up, eventually
from tongxin_platform.auth import Principal, Role, TokenVerifier, mint
from tongxin_platform.eventstore import now_utc
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config
from tongxin_platform.service import Service
from tongxin_platform.settings import ServiceSettings
from tongxin_platform.testing import Infra
from tongxin_platform.worker import Worker
from tongxin_registry.bootstrap import SERVICE as REGISTRY
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints.api import create_app as registry_app

S = TypeVar("S", bound=ServiceSettings)


@dataclass
class Clock:
    """The stack's clock, shared by its API and its worker: the real one moved by ``ahead``."""

    ahead: timedelta = timedelta(0)

    def __call__(self) -> datetime:
        return now_utc() + self.ahead


async def service_settings(
    service: Service,
    settings_class: type[S],
    infra: Infra,
    kafka: str,
    unique: str,
    database_name: str,
    registry_topic: str,
    **extra: Any,
) -> S:
    """Its own topic, and test topics for every topic it reads (none is the real one);
    ``extra``: settings of the test (``visits_topic``: the visits topic it reads). A service's
    module binds the first two: ``partial(service_settings, SERVICE, CommitteesSettings)``."""
    own = f"test-{unique}-{service.name}.events"
    visits = extra.pop("visits_topic", f"test-{unique}-visits.events")
    await ensure_topics(kafka, [TopicSpec(t, 3, event_topic_config()) for t in (own, visits)])
    settings = settings_for(
        service,
        infra,
        database_name=f"{database_name}_{service.name}",
        topics={service.name: own, "registry": registry_topic, "visits": visits},
        **extra,
    )
    assert isinstance(settings, settings_class)
    return settings


async def wait_caught_up(
    pool: asyncpg.Pool, group: str, topic: str, bootstrap: str, *, what: str = ""
) -> None:
    """Wait until ``group`` stored offsets at the end of ``topic``."""
    await eventually(
        lambda: caught_up(pool, group, topic, bootstrap),
        bool,
        timeout=90,
        what=what or f"{group} caught up with {topic}",
    )


async def redeliver(bootstrap: str, topic: str, event_name: str, marker: str) -> None:
    """Send a record of ``topic`` again, as Kafka redelivers: the first whose type is
    ``event_name`` and whose payload holds ``marker``."""
    records = await read_all(bootstrap, topic)
    trigger = next(
        r
        for r in records
        if marker.encode() in r.value and any(event_name.encode() in v for _, v in r.headers or ())
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


@dataclass(kw_only=True)
class ServiceWorld:
    """One service stood up (``stood_up``); a subclass names its ``service`` and its roster."""

    service: ClassVar[Service]

    settings: ServiceSettings
    app: FastAPI
    http: httpx.AsyncClient  # the service's API
    registry: httpx.AsyncClient  # the registry's API (imports, transfers, leaving)
    pool: asyncpg.Pool  # the service's database
    private_key: bytes
    officer: dict[str, str]  # the district's bureau officer (registry imports, leaving)
    clock: Clock = field(default_factory=Clock)
    worker: Worker | None = None
    _worker: AbstractAsyncContextManager[Worker] | None = None

    @property
    def district(self) -> str:
        raise NotImplementedError

    @property
    def registry_topic(self) -> str:
        return self.settings.topic_of("registry")

    # --- tokens ---------------------------------------------------------------------------------

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
        p = Principal(sub, Role(role), district or self.district, school, class_id, org=org)
        return {"Authorization": f"Bearer {mint(self.private_key, p, ttl=3600)}"}

    # --- the worker, the clock, the topics ------------------------------------------------------

    async def start_worker(self, clock: Clock | None = None) -> None:
        """Start a worker on ``clock`` (default: the stack's; the API keeps the stack's)."""
        assert self._worker is None, "one worker at a time"
        self.clock = clock or self.clock
        self._worker = worker_of(self.service, self.settings, clock=self.clock)
        self.worker = await self._worker.__aenter__()

    async def stop_worker(self) -> None:
        if self._worker is not None:
            await self._worker.__aexit__(None, None, None)
            self._worker, self.worker = None, None

    async def catch_up(self) -> None:
        """Wait for the roster in the service's read model (the worker must run)."""
        raise NotImplementedError

    async def registry_read(self, what: str = "") -> None:
        """Wait until every part of the worker reading the registry read all of its topic."""
        readers = {p.group for p in self.service.projections if "registry" in p.sources}
        readers |= {r.group for r in self.service.reactions if "registry" in r.sources}
        for group in sorted(readers):
            await self.caught_up(group, self.registry_topic, what=what and f"{group} {what}")

    async def caught_up(self, group: str, topic: str | None = None, *, what: str = "") -> None:
        """Wait until ``group`` stored offsets at the end of ``topic`` (default: the service's)."""
        bootstrap = self.settings.kafka_bootstrap_servers
        await wait_caught_up(self.pool, group, topic or self.settings.topic, bootstrap, what=what)

    async def redeliver(self, event_name: str, marker: str, topic: str | None = None) -> None:
        """Send a record of ``topic`` (default: the service's) again, as Kafka redelivers: the
        first whose type is ``event_name`` and whose payload holds ``marker``."""
        bootstrap = self.settings.kafka_bootstrap_servers
        await redeliver(bootstrap, topic or self.settings.topic, event_name, marker)

    async def events(self, event_name: str, stream_prefix: str = "") -> list[dict[str, Any]]:
        """The payloads of the service's stored events of type ``event_name`` (whose stream
        starts with ``stream_prefix``), in the order they were appended."""
        rows = await self.pool.fetch(
            "SELECT payload FROM events"
            " WHERE event_type LIKE $1 AND stream_id LIKE $2 ORDER BY position",
            f"%{event_name}%",
            f"{stream_prefix}%",
        )
        return [json.loads(bytes(r["payload"])) for r in rows]


W = TypeVar("W", bound=ServiceWorld)


@asynccontextmanager
async def stood_up(
    world: type[W],
    create_app: Callable[..., FastAPI],
    settings: ServiceSettings,
    registry_settings: RegistrySettings,
    verifier: TokenVerifier,
    *,
    private_key: bytes,
    officer: dict[str, str],
    roster_csv: tuple[str, str] | None,
    clock: Clock | None = None,
    worker: bool = True,
    **own: Any,
) -> AsyncIterator[W]:
    """The service's database, the registry's API and the service's (``create_app``) served on
    one clock for the API's commands and the worker's deadlines (the test moves it); the
    ``world`` of them (``own``: its own fields); its worker started and the roster (students'
    and staff CSV) imported by ``officer`` and caught up on, unless ``worker=False``: then the
    test starts the worker itself (``s.start_worker()``) and waits (``await s.catch_up()``).
    With no ``roster_csv`` the test imports a roster of its own."""
    clock = clock or Clock()
    app = create_app(settings, verifier, clock=clock)
    async with AsyncExitStack() as stack:
        pool = await stack.enter_async_context(database_of(world.service, settings))
        registry_url = await stack.enter_async_context(
            serving(registry_app(registry_settings, verifier))
        )
        url = await stack.enter_async_context(serving(app))
        registry = await stack.enter_async_context(
            httpx.AsyncClient(base_url=registry_url, timeout=30)
        )
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=30))
        s = world(
            settings=settings,
            app=app,
            http=http,
            registry=registry,
            pool=pool,
            private_key=private_key,
            officer=officer,
            clock=clock,
            **own,
        )
        stack.push_async_callback(s.stop_worker)
        if worker:
            await s.start_worker()
        if roster_csv is not None:
            students, staff = roster_csv
            for path, body in (("/imports/students", students), ("/imports/staff", staff)):
                r = await registry.post(path, content=body.encode(), headers=officer)
                assert r.status_code == 200, r.text
            if worker:
                await s.catch_up()
        yield s


@dataclass(frozen=True)
class RegistryRun:
    """The registry of a module's own stack: its topic, settings and the test's unique name."""

    unique: str
    topic: str
    settings: RegistrySettings


@asynccontextmanager
async def registry_running(infra: Infra, kafka: str) -> AsyncIterator[RegistryRun]:
    """A registry on its own topic and database, its worker running (for a stack made outside
    the function-scoped fixtures: a module's matrix, a fuzz test)."""
    unique = fresh_unique()
    topic = f"test-{unique}.events"
    await ensure_topics(kafka, [TopicSpec(topic, 3, event_topic_config())])
    settings = settings_for(
        REGISTRY, infra, database_name=f"t_{unique}", topics={"registry": topic}
    )
    assert isinstance(settings, RegistrySettings)
    async with worker_of(REGISTRY, settings):
        yield RegistryRun(unique, topic, settings)


@dataclass
class ServiceEnv:
    """The test's infrastructure and the registry it imports the roster through (the function-
    scoped fixtures): a service's env (``committees_env``, ``safety_env``) stands its world up
    on it."""

    infra: Infra
    kafka: str
    topic: str  # the registry's
    unique: str
    database_name: str
    registry_settings: RegistrySettings
    verifier: TokenVerifier
    bearer: Bearer
    keys: tuple[bytes, bytes]


E = TypeVar("E", bound=ServiceEnv)


def env_fixture(env: type[E], name: str) -> Any:
    """The fixture ``name`` giving an ``env`` (it asks for the registry's worker: the world
    imports its roster through it). A test module takes it by importing it: pytest finds the
    fixtures in a module's namespace (under their ``name``), and the conftest stays the kit's."""

    @pytest.fixture(name=name)
    def fixture(
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
    ) -> E:
        return env(
            infra,
            kafka,
            topic,
            unique,
            database_name,
            registry_settings,
            verifier,
            bearer,
            jwt_keys,
        )

    return fixture


T = TypeVar("T")
SettingsOf = Callable[..., Awaitable[S]]  # (infra, kafka, unique, database_name, registry_topic)


@dataclass(frozen=True)
class StackKit:
    """What a stack of a module's own is made with (the fixture ``stack_kit``)."""

    infra: Infra
    kafka: str
    verifier: TokenVerifier
    bearer: Bearer
    private_key: bytes

    @asynccontextmanager
    async def stack(
        self,
        settings_of: SettingsOf[S],
        world_of: Callable[[S, RegistrySettings], AbstractAsyncContextManager[T]],
        **extra: Any,
    ) -> AsyncIterator[T]:
        """A registry of its own (``registry_running``) and the service's world on it: its
        settings (``settings_of``, with ``extra``) and ``world_of`` them and the registry's."""
        async with registry_running(self.infra, self.kafka) as reg:
            settings = await settings_of(
                self.infra, self.kafka, reg.unique, f"t_{reg.unique}", reg.topic, **extra
            )
            async with world_of(settings, reg.settings) as world:
                yield world


@pytest.fixture(name="stack_kit", scope="session")
def stack_kit_fixture(
    infra: Infra, kafka: str, verifier: TokenVerifier, bearer: Bearer, jwt_keys: tuple[bytes, bytes]
) -> StackKit:
    """A test module takes it by importing ``stack_kit_fixture`` (the conftest stays the kit's)."""
    return StackKit(infra, kafka, verifier, bearer, jwt_keys[0])
