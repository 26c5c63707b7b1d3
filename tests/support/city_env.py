"""The city aggregator stood up once per test session on the city's world
(``tests.support.city_world``: three districts): per-run topics for the five services it reads
(and its own two), the world's events published on them as the relays publish, the city worker
(every read model) and its API over real HTTP on a free port, both on one fixed clock
(``world.now``), and a wait until every model's consumer group reached the end of every topic.

    async def test_x(city_env: CityEnv) -> None:
        r = await city_env.http.get("/kpis", headers=city_env.token("city_analyst"))

A test that publishes more must keep the world's figures on ``world.day`` as they were (date
its events later, or use a district of its own).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from tests.support.agencies_env import FixedClock, wait_caught_up
from tests.support.agencies_world import SERVICES, Publisher, World
from tests.support.city_world import city_world
from tests.support.cleanup import fresh_unique
from tests.support.servers import serving
from tests.support.services import database_of, settings_for, worker_of
from tongxin_city.bootstrap import SERVICE
from tongxin_city.config import CitySettings
from tongxin_city.entrypoints.api import create_app
from tongxin_city.projections.models import MODELS
from tongxin_platform.auth import Principal, Role, TokenVerifier, mint
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config
from tongxin_platform.testing import Infra


@dataclass
class CityEnv:
    world: World
    settings: CitySettings
    base_url: str
    http: httpx.AsyncClient
    pool: asyncpg.Pool  # the city's database
    clock: FixedClock
    publisher: Publisher
    private_key: bytes
    topics: dict[str, str]

    def token(
        self, role: Role | str, *, district: str | None = None, sub: str | None = None
    ) -> dict[str, str]:
        """Headers with a bearer token (dev keys) for ``role`` (``district`` None: city level)."""
        p = Principal(sub or f"test-{role}", Role(role), district, None, None)
        return {"Authorization": f"Bearer {mint(self.private_key, p, ttl=3600)}"}

    async def caught_up(self, timeout: float = 120) -> None:
        bootstrap = self.settings.kafka_bootstrap_servers
        for model in MODELS:
            for source in model.sources:
                topic = self.settings.topic_of(source)
                await wait_caught_up(self.pool, model.group, topic, bootstrap, timeout=timeout)


@pytest.fixture(name="city_env", scope="session")
async def city_env_fixture(
    infra: Infra, kafka: str, verifier: TokenVerifier, jwt_keys: tuple[bytes, bytes]
) -> AsyncIterator[CityEnv]:
    """The city service on the city's world (see the module's docstring)."""
    world = city_world()
    unique = fresh_unique()
    topics = {s: f"test-{unique}-{s}.events" for s in (*SERVICES, "city")}
    kpis = f"test-{unique}-city.kpis"
    await ensure_topics(
        kafka,
        [TopicSpec(t, 3, event_topic_config()) for t in topics.values()]
        + [TopicSpec(kpis, 3, {"cleanup.policy": "compact"})],
    )
    settings = settings_for(
        SERVICE, infra, database_name=f"t_{unique}_city", topics=topics, kpis_topic=kpis
    )
    assert isinstance(settings, CitySettings)
    clock = FixedClock(world.now)
    publisher = Publisher(kafka, {s: t for s, t in topics.items() if s in SERVICES})
    await publisher.publish(world.events)
    async with (
        database_of(SERVICE, settings) as pool,
        worker_of(SERVICE, settings, clock=clock),
        serving(create_app(settings, verifier, clock=clock)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        env = CityEnv(world, settings, url, http, pool, clock, publisher, jwt_keys[0], topics)
        await env.caught_up()
        yield env
