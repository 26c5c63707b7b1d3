"""``tongxin seed --city`` through the real services: a tiny city (2 districts × 1 school × 2
classes × 5 students) imported and played over HTTP against the registry, visits, wellbeing,
safety, committees and the city (APIs served in the test's loop, workers running, real Kafka
and PostgreSQL); its summary's counts are what the services hold, and a second run adds
nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from tests.support.servers import serving
from tests.support.services import database_of, settings_for, worker_of
from tongxin_city.bootstrap import SERVICE as CITY
from tongxin_city.entrypoints.api import create_app as city_app
from tongxin_cli.demo_city import CitySpec, DistrictRun
from tongxin_cli.seed_cmd import Urls, seed_city
from tongxin_committees.bootstrap import SERVICE as COMMITTEES
from tongxin_committees.entrypoints.api import create_app as committees_app
from tongxin_platform.auth import Principal, Role, TokenVerifier, mint
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config
from tongxin_platform.service import Service
from tongxin_platform.testing import Infra
from tongxin_registry.bootstrap import SERVICE as REGISTRY
from tongxin_registry.entrypoints.api import create_app as registry_app
from tongxin_safety.bootstrap import SERVICE as SAFETY
from tongxin_safety.entrypoints.api import create_app as safety_app
from tongxin_visits.bootstrap import SERVICE as VISITS
from tongxin_visits.entrypoints.api import create_app as visits_app
from tongxin_wellbeing.bootstrap import SERVICE as WELLBEING
from tongxin_wellbeing.entrypoints.api import create_app as wellbeing_app

TINY = CitySpec(districts=2, schools=1, classes=2, students=5)
STACK: list[tuple[Service, Callable[..., FastAPI]]] = [
    (REGISTRY, registry_app),
    (VISITS, visits_app),
    (WELLBEING, wellbeing_app),
    (SAFETY, safety_app),
    (COMMITTEES, committees_app),
    (CITY, city_app),
]
PLAYED = ("registry", "visits", "wellbeing", "safety", "committees")
FILED = ("district_plan", "school_visit_plan", "december_summary")


@dataclass
class City:
    urls: Urls
    pools: dict[str, asyncpg.Pool]
    private_key: bytes

    def headers(self, role: Role, district: str | None, school: str | None = None) -> Any:
        token = mint(self.private_key, Principal("test", role, district, school), ttl=600)
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def city(
    infra: Infra,
    kafka: str,
    unique: str,
    verifier: TokenVerifier,
    jwt_dir: Path,
    jwt_keys: tuple[bytes, bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[City]:
    """Every service on the test's own topics and databases, served on free ports, workers
    running; the CLI signs its tokens with the test's key."""
    monkeypatch.setenv("TONGXIN_JWT_PRIVATE_KEY_FILE", str(jwt_dir / "private.pem"))
    monkeypatch.delenv("TONGXIN_TOKEN", raising=False)
    topics = {service.name: f"test-{unique}-{service.name}.events" for service, _ in STACK}
    await ensure_topics(kafka, [TopicSpec(t, 3, event_topic_config()) for t in topics.values()])
    urls: dict[str, str] = {}
    pools: dict[str, asyncpg.Pool] = {}
    async with AsyncExitStack() as stack:
        for service, create_app in STACK:
            settings = settings_for(
                service, infra, database_name=f"t_{unique}_{service.name}", topics=topics
            )
            pools[service.name] = await stack.enter_async_context(database_of(service, settings))
            await stack.enter_async_context(worker_of(service, settings))
            urls[service.name] = await stack.enter_async_context(
                serving(create_app(settings, verifier))
            )
        yield City(Urls(**urls), pools, jwt_keys[0])


async def stored(pool: asyncpg.Pool, district: str) -> int:
    count: int = await pool.fetchval("SELECT count(*) FROM events WHERE district = $1", district)
    return count


async def test_a_tiny_city_is_played_through_every_service_and_its_summary_is_what_they_hold(
    city: City,
) -> None:
    runs: list[DistrictRun] = await asyncio.to_thread(seed_city, TINY, city.urls, None)

    assert [r.district for r in runs] == ["330102", "330105"]
    async with (
        httpx.AsyncClient(base_url=city.urls.registry) as registry,
        httpx.AsyncClient(base_url=city.urls.city) as city_api,
    ):
        for run in runs:
            d, school = run.district, f"{run.district}001"
            # The roster: the registry's read model holds the summary's classes and students.
            r = await registry.get(
                f"/schools/{school}/classes", headers=city.headers(Role.principal, d, school)
            )
            assert r.status_code == 200, r.text
            assert len(r.json()) == run.figures.classes == 2
            assert sum(c["enrolled"] for c in r.json()) == run.figures.students == 10
            staff = await registry.get(
                f"/schools/{school}/staff", headers=city.headers(Role.principal, d, school)
            )
            assert len(staff.json()) == run.figures.staff
            # Every service appended what the summary says (its workers' reactions besides).
            assert await stored(city.pools["registry"], d) == run.events["registry"] > 0
            for service in PLAYED[1:]:
                assert await stored(city.pools[service], d) >= run.events[service] > 0, service
            # The city holds the district's filings as the summary counts them.
            r = await city_api.get(
                f"/districts/{d}/filings", headers=city.headers(Role.bureau_officer, d)
            )
            assert r.status_code == 200, r.text
            rows = [row for row in r.json()["rows"] if row["kind"] in FILED]
            assert run.filings is not None
            for status in ("on_time", "late", "missing"):
                assert sum(row[status] for row in rows) == run.filings[status], status
            assert run.filings["on_time"] >= 1
            assert run.filings["late"] == 1

    again: list[DistrictRun] = await asyncio.to_thread(seed_city, TINY, city.urls, None)

    assert [sum(r.events.values()) for r in again] == [0, 0]
    assert [r.filings for r in again] == [None, None]
    for run in runs:
        assert await stored(city.pools["registry"], run.district) == run.events["registry"]
