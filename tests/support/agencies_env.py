"""The agencies service stood up once per test session on a generated district
(``tests.support.agencies_world``): per-run topics for the five services it reads, the world's
events published on them as the relays publish, the agencies worker (every read model) and its
API over real HTTP on a free port, both on one fixed clock (``world.now``, noon in China on
``world.day``), and a wait until every model's consumer group reached the end of every topic it
reads.

    async def test_x(agencies_env: AgenciesEnv) -> None:
        r = await agencies_env.http.get(
            "/dashboards/district", params={"district": "330106"},
            headers=agencies_env.token("bureau_officer"),
        )

The fixture is session-scoped (one stack for every test file that asks for it): a test that
publishes more (``publish``) must keep the world's figures on ``world.day`` as they were — date
its events after ``world.day`` and ask with ``as_of`` a later day — or use a district of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
import httpx
import pytest

from tests.support.agencies_world import SERVICES, Publisher, World, generate
from tests.support.cleanup import fresh_unique
from tests.support.services import settings_for, standing
from tests.support.waiting import caught_up, eventually
from tongxin_agencies.bootstrap import SERVICE
from tongxin_agencies.config import AgenciesSettings
from tongxin_agencies.entrypoints.api import create_app
from tongxin_agencies.projections.models import MODELS
from tongxin_contracts import IntegrationEvent
from tongxin_platform.auth import Principal, Role, TokenVerifier, mint
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config
from tongxin_platform.testing import Infra

_DEFAULT = "<the world's first district>"


async def wait_caught_up(
    pool: asyncpg.Pool, group: str, topic: str, bootstrap: str, *, timeout: float = 120
) -> None:
    """Wait until ``group`` stored offsets at the end of ``topic``."""

    async def probe() -> bool:
        return await caught_up(pool, group, topic, bootstrap)

    await eventually(probe, bool, timeout=timeout, what=f"{group} caught up with {topic}")


@dataclass
class FixedClock:
    """The stack's clock: a fixed instant a test may move (``clock.at = …``)."""

    at: datetime

    def __call__(self) -> datetime:
        return self.at


@dataclass
class AgenciesEnv:
    world: World
    settings: AgenciesSettings
    base_url: str
    http: httpx.AsyncClient  # on base_url
    pool: asyncpg.Pool  # the agencies database (every model's schema)
    clock: FixedClock
    publisher: Publisher
    private_key: bytes
    topics: dict[str, str] = field(default_factory=dict)  # service → the run's topic

    @property
    def district(self) -> str:
        return self.world.districts[0]

    def token(
        self,
        role: Role | str,
        sub: str | None = None,
        *,
        district: str | None = _DEFAULT,
        school: str | None = None,
        class_id: str | None = None,
        org: str | None = None,
    ) -> dict[str, str]:
        """Headers with a bearer token (dev keys) for ``role`` in a scope; the district defaults
        to the world's first (``district=None``: city level)."""
        where = self.district if district == _DEFAULT else district
        p = Principal(sub or f"test-{role}", Role(role), where, school, class_id, org=org)
        return {"Authorization": f"Bearer {mint(self.private_key, p, ttl=3600)}"}

    async def publish(self, events: Iterable[IntegrationEvent]) -> None:
        """Publish more events (after the world's, the stream versions going on) and wait until
        every model has read them."""
        await self.publisher.publish(events)
        await self.caught_up()

    async def caught_up(self, timeout: float = 120) -> None:
        """Wait until every model's group stored offsets at the end of every topic it reads."""
        bootstrap = self.settings.kafka_bootstrap_servers
        for model in MODELS:
            for source in model.sources:
                topic = self.settings.topic_of(source)
                await wait_caught_up(self.pool, model.group, topic, bootstrap, timeout=timeout)


async def agencies_topics(kafka: str, unique: str) -> dict[str, str]:
    topics = {s: f"test-{unique}-{s}.events" for s in (*SERVICES, "agencies")}
    await ensure_topics(kafka, [TopicSpec(t, 3, event_topic_config()) for t in topics.values()])
    return topics


def agencies_settings(infra: Infra, topics: dict[str, str], unique: str) -> AgenciesSettings:
    settings = settings_for(SERVICE, infra, database_name=f"t_{unique}_agencies", topics=topics)
    assert isinstance(settings, AgenciesSettings)
    return settings


@pytest.fixture(name="agencies_env", scope="session")
async def agencies_env_fixture(
    infra: Infra, kafka: str, verifier: TokenVerifier, jwt_keys: tuple[bytes, bytes]
) -> AsyncIterator[AgenciesEnv]:
    """The agencies service on the generated world (see the module's docstring)."""
    world = generate()
    unique = fresh_unique()
    topics = await agencies_topics(kafka, unique)
    settings = agencies_settings(infra, topics, unique)
    clock = FixedClock(world.now)
    publisher = Publisher(kafka, topics)
    await publisher.publish(world.events)
    app = create_app(settings, verifier, clock=clock)
    async with standing(SERVICE, settings, app, clock=clock) as up:
        env = AgenciesEnv(
            world, settings, up.url, up.http, up.pool, clock, publisher, jwt_keys[0], topics
        )
        await env.caught_up()
        yield env
