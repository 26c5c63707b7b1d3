"""The city worker's loop on the real Kafka and PostgreSQL: the city's figures on a compacted
topic as CityKpi records keyed district|kpi|period, a changed figure republished under its key
alone, and a restarted worker publishing nothing new."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

import asyncpg
import pytest
from aiokafka import ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from tests.support.city_env import CityEnv
from tests.support.kafka_reader import read_all
from tests.support.services import settings_for, worker_of
from tests.support.waiting import eventually
from tongxin_city.application import figures, filing_status
from tongxin_city.application.kpi_values import CITY, FilingRow, KpiValue
from tongxin_city.bootstrap import SERVICE
from tongxin_city.config import CitySettings
from tongxin_contracts.city_kpis import CityKpi, kpi_key
from tongxin_contracts.topics import CITY_KPIS_TOPIC
from tongxin_platform.db import create_pool
from tongxin_platform.kafka import TopicSpec, ensure_topics, read_topics_file
from tongxin_platform.liveness import report
from tongxin_platform.testing import Infra
from tongxin_platform.worker import Worker, WorkerOptions

ROOT = Path(__file__).resolve().parents[2]
ONLY_LOOPS = WorkerOptions(
    relay=False, projection=False, reactions=False, deadlines=False, notifications=False
)


def coverage(district: str, numerator: int) -> KpiValue:
    value = numerator / 4
    return KpiValue(
        district=district, kpi="visit_coverage", period="2026-2027", label_zh="家访覆盖率",
        label_en="Home visit coverage", unit="share", value=value, numerator=numerator,
        denominator=4, target=1.0, meets=value >= 1.0, as_of=date(2026, 11, 28),
    )  # fmt: skip


@dataclass
class Figures:
    """What the figures and filings functions answer (the city's read models stand aside)."""

    values: list[KpiValue] = field(default_factory=list)
    rows: list[FilingRow] = field(default_factory=list)

    async def city_kpis(
        self, _pool: asyncpg.Pool, _s: CitySettings, as_of: date, *, now: datetime | None = None
    ) -> list[KpiValue]:
        return [replace(v, as_of=as_of) for v in self.values]

    async def filings(self, _pool: asyncpg.Pool, _s: CitySettings, as_of: date) -> list[FilingRow]:
        return list(self.rows)


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Figures:
    answers = Figures(
        [coverage("330106", 3), coverage("330108", 2), coverage(CITY, 5)],
        [FilingRow("330106", "district_plan", "2026", date(2026, 4, 20), 1, 1, 0, 0, 0)],
    )
    monkeypatch.setattr(figures, "city_kpis", answers.city_kpis)
    monkeypatch.setattr(filing_status, "filings", answers.filings)
    return answers


@pytest.fixture
async def kpis_topic(kafka: str, unique: str) -> str:
    """The test's city.kpis, made as infra/kafka/topics.txt makes the real one."""
    (spec,) = [
        s for s in read_topics_file(ROOT / "infra/kafka/topics.txt") if s.name == CITY_KPIS_TOPIC
    ]
    name = f"test-{unique}-city.kpis"
    await ensure_topics(kafka, [TopicSpec(name, spec.partitions, spec.config)])
    return name


@pytest.fixture
def settings(infra: Infra, kpis_topic: str, database_name: str) -> CitySettings:
    s = settings_for(
        SERVICE,
        infra,
        database_name=database_name,
        topics={},
        kpis_topic=kpis_topic,
        publish_interval=0.2,
        worker_heartbeat_interval=0.2,
    )
    assert isinstance(s, CitySettings)
    return s


@pytest.fixture
async def pool(settings: CitySettings) -> AsyncIterator[asyncpg.Pool]:
    from tongxin_platform.service import prepare_database

    pool = await create_pool(await prepare_database(SERVICE, settings), min_size=1, max_size=2)
    yield pool
    await pool.close()


def rounds(worker: Worker) -> float:
    return worker.metrics.get_sample_value("tongxin_loop_rounds_total", {"loop": "kpis"}) or 0.0


def published(worker: Worker) -> float:
    return worker.metrics.get_sample_value("tongxin_city_kpis_published_total") or 0.0


async def records(kafka: str, topic: str, expect: int) -> list[ConsumerRecord]:
    return await read_all(kafka, topic, expect=expect, timeout=60)


KEYS = {
    "330106|visit_coverage|2026-2027",
    "330108|visit_coverage|2026-2027",
    "city|visit_coverage|2026-2027",
    "330106|filings_district_plan|2026",
    "city|filings_district_plan|2026",
}


async def test_the_city_kpis_topic_is_compacted_like_the_real_one(
    kafka: str, kpis_topic: str
) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        (response,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, kpis_topic)]
        )
    finally:
        await admin.close()
    (resource,) = response.resources
    configs = {entry[0]: entry[1] for entry in resource[4]}
    assert configs["cleanup.policy"] == "compact"


async def test_the_worker_publishes_every_figure_as_a_city_kpi_keyed_by_district_kpi_period(
    kafka: str, kpis_topic: str, settings: CitySettings, answers: Figures
) -> None:
    async with worker_of(SERVICE, settings, ONLY_LOOPS) as worker:
        await eventually(
            lambda: _async(published(worker)), lambda n: n >= len(KEYS), what="publishing"
        )
    got = await records(kafka, kpis_topic, len(KEYS))
    assert len(got) == len(KEYS)
    assert {r.key.decode() for r in got} == KEYS
    for r in got:
        record = CityKpi.decode(r.value)
        assert record.key() == r.key.decode()
        assert dict(r.headers)["content-type"] == b"application/json"
    by_key = {r.key.decode(): CityKpi.decode(r.value) for r in got}
    assert by_key["330108|visit_coverage|2026-2027"].numerator == 2
    assert by_key["330106|filings_district_plan|2026"].value == 1.0


async def test_a_changed_figure_is_republished_under_its_key_alone_and_a_restart_adds_nothing(
    kafka: str, kpis_topic: str, settings: CitySettings, answers: Figures, pool: asyncpg.Pool
) -> None:
    async with worker_of(SERVICE, settings, ONLY_LOOPS) as worker:
        await eventually(
            lambda: _async(published(worker)), lambda n: n >= len(KEYS), what="publishing"
        )
        answers.values[1] = coverage("330108", 4)
        await eventually(
            lambda: _async(published(worker)), lambda n: n >= len(KEYS) + 1, what="the change"
        )
        settled = rounds(worker)
        await eventually(lambda: _async(rounds(worker)), lambda n: n >= settled + 3, what="rounds")
        assert published(worker) == len(KEYS) + 1
    async with worker_of(SERVICE, settings, ONLY_LOOPS) as restarted:
        await eventually(lambda: _async(rounds(restarted)), lambda n: n >= 3, what="rounds")
        assert published(restarted) == 0
        beats = await eventually(
            lambda: pool.fetch("SELECT part, kind FROM worker_liveness WHERE part = 'kpis'"),
            lambda rows: len(rows) == 1,
            what="the loop's heartbeat",
        )
        assert beats[0]["kind"] == "loop"
        ready = await report(
            pool, None, SERVICE.worker_parts(), stale_after=30, statement_timeout=5
        )
        assert ready["loops"]["kpis"]["alive"] is True
    got = await records(kafka, kpis_topic, len(KEYS) + 1)
    assert len(got) == len(KEYS) + 1
    changed = [r for r in got if r.key == b"330108|visit_coverage|2026-2027"]
    assert [CityKpi.decode(r.value).numerator for r in changed] == [2, 4]
    assert CityKpi.decode(changed[-1].value).meets is True
    stored = await pool.fetch("SELECT key, value FROM city_kpis_published ORDER BY key")
    assert {r["key"] for r in stored} == KEYS


async def _async(value: float) -> float:
    return value


async def latest_records(kafka: str, topic: str) -> dict[str, CityKpi]:
    """What a downstream consumer of the compacted topic holds: the last record of each key."""
    last = {}
    for r in await read_all(kafka, topic, timeout=60):
        last[r.key.decode()] = CityKpi.decode(r.value)
    return last


async def test_the_topic_ends_with_every_figure_the_city_api_answers(city_env: CityEnv) -> None:
    """End to end on the city's world: its events through the city's read models, the worker's
    loop on the real figures, the compacted topic read back from offset 0."""
    day = city_env.world.day
    r = await city_env.http.get(
        "/kpis", params={"as_of": day.isoformat()}, headers=city_env.token("city_analyst")
    )
    assert r.status_code == 200, r.text
    want = {kpi_key(v["district"], v["kpi"], v["period"]): v for v in r.json()["values"]}
    assert {v["district"] for v in want.values()} >= {*r.json()["districts"], CITY}

    def same(last: dict[str, CityKpi]) -> bool:
        return all(
            k in last
            and (last[k].value, last[k].numerator, last[k].denominator, last[k].meets)
            == (v["value"], v["numerator"], v["denominator"], v["meets"])
            for k, v in want.items()
        )

    kafka, topic = city_env.settings.kafka_bootstrap_servers, city_env.settings.kpis_topic
    last = await eventually(
        lambda: latest_records(kafka, topic), same, timeout=120, what="the API's figures"
    )
    assert {rec.as_of for k, rec in last.items() if k in want} <= {day}
    for district in r.json()["districts"]:
        assert f"{district}|visit_coverage|{r.json()['school_year']}" in last


async def test_two_workers_at_once_publish_each_figure_once(
    kafka: str, kpis_topic: str, settings: CitySettings, answers: Figures
) -> None:
    async with (
        worker_of(SERVICE, settings, ONLY_LOOPS) as one,
        worker_of(SERVICE, settings, ONLY_LOOPS) as two,
    ):
        await eventually(
            lambda: _async(published(one) + published(two)),
            lambda n: n >= len(KEYS),
            what="publishing",
        )
        settled = rounds(one) + rounds(two)
        await eventually(
            lambda: _async(rounds(one) + rounds(two)), lambda n: n >= settled + 6, what="rounds"
        )
        assert published(one) + published(two) == len(KEYS)
    got = await records(kafka, kpis_topic, len(KEYS))
    assert sorted(r.key.decode() for r in got) == sorted(KEYS)
