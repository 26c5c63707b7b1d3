"""Districts on their own clusters: district B's Kafka is mirrored into the city's by Kafka's
MirrorMaker 2 (``infra/mirror``), and the city's worker reads the copies (``<alias>.<topic>``,
``CITY_MIRRORS``) beside its own cluster's topics.

Two real local clusters: the shared one is the city's (district A publishes there); district B's
is a second ``infra/kafka/start.sh`` on other ports with its own KRaft cluster id
(``tests.support.mirror``). Both districts use the same topic names, as two real deployments
would. The first two tests count with a test-only read model of the city service (one counter
per district, each event adds one: a record applied twice would show as a double count); the
last one reads the city's own read models and compares ``figures.city_kpis`` of three districts,
one of them mirrored, with the independent computation (``tests/support/city_expected``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import asyncpg
import pytest

from tests.support.agencies_expected import Share
from tests.support.agencies_world import SERVICES, Publisher
from tests.support.city_expected import CITY as CITY_ROW
from tests.support.city_expected import KPIS, CityExpected, city_expected
from tests.support.city_world import city_world
from tests.support.cleanup import fresh_unique
from tests.support.kafka_reader import read_all
from tests.support.mirror import (
    Cluster,
    Mirror,
    district_cluster_fixture,  # noqa: F401 - the ``district_cluster`` fixture
    mirror_of,
)
from tests.support.services import database_of, settings_for, worker_of
from tests.support.waiting import caught_up, end_offsets, eventually
from tongxin_city.application import figures
from tongxin_city.application.kpi_values import KpiValue
from tongxin_city.bootstrap import SERVICE as CITY
from tongxin_city.config import CitySettings
from tongxin_city.projections.models import MODELS
from tongxin_contracts.events.registry import ClassOpened
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config
from tongxin_platform.projection import Add, Changes, Projection, Table
from tongxin_platform.service import Service
from tongxin_platform.testing import Infra

pytestmark = pytest.mark.integration

A, B = "330106", "330108"  # district A on the city's cluster, district B on its own

COUNTS = Projection(
    "mirror_counts",
    group="city.mirror_counts",
    sources=("registry",),
    tables=[
        Table(
            "districts",
            key=("district",),
            columns={"district": "text NOT NULL", "events": "bigint NOT NULL DEFAULT 0"},
        )
    ],
)


@COUNTS.on(ClassOpened)
def _count(e: ClassOpened, rows: Changes) -> None:
    rows["districts"].upsert(e.district)
    rows["districts"].update(e.district, events=Add(1))


# The city service with only the counting model (its own read models are not this test's).
COUNTING: Service = dataclasses.replace(CITY, projections=(COUNTS,))


def classes(district: str, first: int, n: int) -> list[ClassOpened]:
    """``n`` classes opened in ``district``: each its own stream (version 1)."""
    school = f"{district}001"
    return [
        ClassOpened(
            district=district,
            school_id=school,
            class_id=f"{school}-{i:04d}",
            class_name=f"{i}班",
            grade=1 + i % 6,
            school_year="2026-2027",
        )
        for i in range(first, first + n)
    ]


async def counts(pool: asyncpg.Pool) -> dict[str, int]:
    rows = await pool.fetch("SELECT district, events FROM mirror_counts.districts")
    return {r["district"]: r["events"] for r in rows}


async def records_on(bootstrap: str, topic: str) -> int:
    return sum((await end_offsets(bootstrap, topic)).values())


async def copied(
    mirror: Mirror, kafka: str, topic: str, at_least: int, timeout: float = 120
) -> float:
    """Wait until ``topic``'s copy holds ``at_least`` records; the seconds it took."""
    started = time.monotonic()

    async def probe() -> int:
        return await records_on(kafka, mirror.copy_of(topic))  # 0 while there is no copy yet

    await eventually(
        probe, lambda n: n >= at_least, timeout=timeout, what=f"{at_least} records copied"
    )
    return time.monotonic() - started


async def settled(pool: asyncpg.Pool, kafka: str, topics: list[str]) -> None:
    """The counting group stored offsets at the end of every topic it reads."""
    await settled_group(pool, COUNTS.group, kafka, topics)


async def settled_group(pool: asyncpg.Pool, group: str, kafka: str, topics: list[str]) -> None:
    """``group`` stored offsets at the end of every one of ``topics``."""

    async def probe() -> bool:
        for t in topics:
            if not await caught_up(pool, group, t, kafka):
                return False
        return True

    await eventually(probe, bool, timeout=120, what=f"{group} caught up")


async def district_topics(kafka: str, district: Cluster) -> str:
    """The registry topic of this test, on the city's cluster and on district B's."""
    topic = f"test-{fresh_unique()}-registry.events"
    for bootstrap in (kafka, district.bootstrap):
        await ensure_topics(bootstrap, [TopicSpec(topic, 3, event_topic_config())])
    return topic


async def test_the_city_counts_district_a_from_its_own_cluster_and_district_b_through_the_mirror(
    infra: Infra, kafka: str, district_cluster: Cluster, tmp_path: Path
) -> None:
    # given district A's events on the city's cluster and district B's on its own, same topic,
    # and a city worker told to read B's copies before any mirror made them
    topic = await district_topics(kafka, district_cluster)
    await Publisher(kafka, {"registry": topic}).publish(classes(A, 0, 40))
    await Publisher(district_cluster.bootstrap, {"registry": topic}).publish(classes(B, 0, 30))
    mirror = Mirror(
        alias=f"b-{fresh_unique()}",
        source=district_cluster.bootstrap,
        target=kafka,
        topics=rf"{topic.split('-registry')[0]}-.*\.events",
        data_dir=tmp_path,
    )
    settings = settings_for(
        COUNTING,
        infra,
        database_name=f"t_{fresh_unique()}_city",
        topics={"registry": topic},
        mirrors=[mirror.alias],
    )
    assert settings.topics_of("registry") == [topic, mirror.copy_of(topic)]
    async with database_of(COUNTING, settings) as pool, worker_of(COUNTING, settings):
        # then the worker starts and counts its own cluster's district at once (the copy it
        # reads is created empty beside the local topic, with its partitions)
        await eventually(lambda: counts(pool), lambda c: c == {A: 40}, what="district A")
        assert await end_offsets(kafka, mirror.copy_of(topic)) == {0: 0, 1: 0, 2: 0}
        try:
            # when MirrorMaker 2 copies district B's topic into that copy
            await mirror.start()
            # then the city's figures hold both districts, each event once
            await eventually(
                lambda: counts(pool), lambda c: c == {A: 40, B: 30}, what="both districts"
            )
            await settled(pool, kafka, settings.topics_of("registry"))
            assert await counts(pool) == {A: 40, B: 30}

            # and district B's later events follow through the running mirror
            started = time.monotonic()
            await Publisher(district_cluster.bootstrap, {"registry": topic}).publish(
                classes(B, 30, 200)
            )
            await eventually(
                lambda: counts(pool), lambda c: c == {A: 40, B: 230}, what="200 more of B"
            )
            print(
                f"\nmirror: started in {mirror.start_seconds[0]:.1f}s; 200 more events of B "
                f"counted in the city {time.monotonic() - started:.1f}s after publishing"
            )
        finally:
            await mirror.stop()

    # and the copies are the records themselves: key, value, partition and every header
    originals = await read_all(district_cluster.bootstrap, topic)
    copies = await read_all(kafka, mirror.copy_of(topic), expect=len(originals))
    assert len(originals) == 230

    def ce_id(headers: list[tuple[str, bytes]]) -> bytes:
        return dict(headers)["ce_id"]

    by_id = {ce_id(r.headers): r for r in originals}
    assert {ce_id(r.headers) for r in copies} == set(by_id)
    for copy in copies:
        original = by_id[ce_id(copy.headers)]
        assert (copy.key, copy.value, copy.partition) == (
            original.key,
            original.value,
            original.partition,
        )
        assert list(copy.headers) == list(original.headers)
    headers = dict(copies[0].headers)
    assert {"ce_id", "ce_source", "ce_type", "ce_time", "ce_streamid", "ce_district"} <= set(
        headers
    )
    assert headers["ce_district"] == B.encode()


async def test_a_mirror_killed_mid_stream_and_restarted_loses_and_doubles_nothing_in_the_figures(
    infra: Infra, kafka: str, district_cluster: Cluster, tmp_path: Path
) -> None:
    # given a running mirror that never committed its progress (flush interval: 10 minutes)
    topic = await district_topics(kafka, district_cluster)
    district_b = Publisher(district_cluster.bootstrap, {"registry": topic})
    await Publisher(kafka, {"registry": topic}).publish(classes(A, 0, 10))
    await district_b.publish(classes(B, 0, 50))
    async with mirror_of(
        district_cluster,
        kafka,
        tmp_path,
        topics=rf"{topic.split('-registry')[0]}-.*\.events",
        flush_ms=600_000,
    ) as mirror:
        await copied(mirror, kafka, topic, 50)
        settings = settings_for(
            COUNTING,
            infra,
            database_name=f"t_{fresh_unique()}_city",
            topics={"registry": topic},
            mirrors=[mirror.alias],
        )
        async with database_of(COUNTING, settings) as pool, worker_of(COUNTING, settings):
            await eventually(lambda: counts(pool), lambda c: c == {A: 10, B: 50})

            # when district B goes on publishing and the mirror is SIGKILLed mid-stream: half
            # of the batches before the kill (the mirror copying them), half while it is down
            killed = asyncio.Event()

            async def stream() -> None:
                for batch in range(10):
                    if batch == 5:
                        await killed.wait()
                    await district_b.publish(classes(B, 50 + 20 * batch, 20))
                    await asyncio.sleep(0.2)

            publishing = asyncio.create_task(stream())
            await copied(mirror, kafka, topic, 90)
            await mirror.kill()
            killed.set()
            await publishing
            assert await records_on(district_cluster.bootstrap, topic) == 250
            # … and is started again
            await mirror.start()
            await copied(mirror, kafka, topic, 250)

            # then the copy holds records twice (the restart copied again what it had not
            # committed), but the city's figures count each event once, none lost
            await eventually(lambda: counts(pool), lambda c: c == {A: 10, B: 250})
            await settled(pool, kafka, settings.topics_of("registry"))
            assert await counts(pool) == {A: 10, B: 250}
            assert await records_on(kafka, mirror.copy_of(topic)) > 250
            assert (mirror.kills, mirror.starts) == (1, 2)
            print(
                f"\nmirror: restarted in {mirror.start_seconds[1]:.1f}s after SIGKILL; "
                f"{await records_on(kafka, mirror.copy_of(topic))} copies of 250 records"
            )


# --- the city's own figures over a mirrored district ------------------------------------------


def assert_figures(got: list[KpiValue], want: CityExpected, districts: list[str]) -> None:
    """Every district's and the city's twelve KPIs equal the independent computation."""
    by = {(v.district, v.kpi): v for v in got}
    assert set(by) == {(d, k) for d in [*districts, CITY_ROW] for k in KPIS}
    for (district, kpi), v in by.items():
        figure = want.figures[district][kpi]
        where = f"{district} {kpi}"
        if isinstance(figure, Share):
            assert (v.numerator, v.denominator) == (figure.num, figure.den), where
        else:
            assert v.value == figure, where


async def total(bootstrap: str, topics: list[str]) -> int:
    return sum([await records_on(bootstrap, t) for t in topics])


async def test_the_city_figures_include_a_district_mirrored_from_its_own_cluster_exactly_through_a_mirror_crash(  # noqa: E501
    infra: Infra, kafka: str, district_cluster: Cluster, tmp_path: Path
) -> None:
    # given the city's world of three districts: district B's events on its own cluster (the
    # same topic names), the others' on the city's; a mirror that never commits its progress
    world = city_world()
    mirrored = world.districts[1]
    unique = fresh_unique()
    topics = {s: f"test-{unique}-{s}.events" for s in (*SERVICES, "city")}
    kpis = f"test-{unique}-city.kpis"
    await ensure_topics(
        kafka,
        [TopicSpec(t, 3, event_topic_config()) for t in topics.values()]
        + [TopicSpec(kpis, 3, {"cleanup.policy": "compact"})],
    )
    services = {s: t for s, t in topics.items() if s in SERVICES}
    await ensure_topics(
        district_cluster.bootstrap,
        [TopicSpec(t, 3, event_topic_config()) for t in services.values()],
    )
    b_events = [e for e in world.events if getattr(e, "district", None) == mirrored]
    a_events = [e for e in world.events if getattr(e, "district", None) != mirrored]
    assert len(a_events) + len(b_events) == len(world.events)
    assert b_events
    await Publisher(kafka, services).publish(a_events)
    district_b = Publisher(district_cluster.bootstrap, services)
    half = len(b_events) // 2
    await district_b.publish(b_events[:half])

    async with mirror_of(
        district_cluster, kafka, tmp_path, topics=rf"test-{unique}-.*\.events", flush_ms=600_000
    ) as mirror:
        settings = settings_for(
            CITY,
            infra,
            database_name=f"t_{unique}_city",
            topics=topics,
            kpis_topic=kpis,
            mirrors=[mirror.alias],
        )
        assert isinstance(settings, CitySettings)
        copies = [mirror.copy_of(t) for t in services.values()]
        async with database_of(CITY, settings) as pool, worker_of(CITY, settings):
            # when district B goes on publishing the rest of its events, and the mirror is
            # SIGKILLed mid-stream (part copied, part published while it is down), then restarted
            killed = asyncio.Event()
            rest = b_events[half:]
            step = len(rest) // 6 + 1
            chunks = [rest[i : i + step] for i in range(0, len(rest), step)]

            async def stream() -> None:
                for n, chunk in enumerate(chunks):
                    if n == len(chunks) // 2:
                        await killed.wait()
                    await district_b.publish(chunk)
                    await asyncio.sleep(0.2)

            publishing = asyncio.create_task(stream())
            first = half + len(chunks[0])

            async def copied_total() -> int:
                return await total(kafka, copies)

            await eventually(copied_total, lambda n: n >= first, timeout=120, what="copies")
            await mirror.kill()
            killed.set()
            await publishing
            published = await total(district_cluster.bootstrap, list(services.values()))
            assert published == len(b_events)
            await mirror.start()
            await eventually(copied_total, lambda n: n >= published, timeout=120, what="copies")
            for model in MODELS:
                for source in model.sources:
                    await settled_group(pool, model.group, kafka, settings.topics_of(source))

            # then the copies hold records twice (the restart copied again what it had not
            # committed), and yet the city's figures are exactly those of the world's events:
            # every district, the mirrored one too, and the city, nothing lost or doubled
            assert await copied_total() > published
            assert await figures.districts(pool) == sorted(world.districts)
            got = await figures.city_kpis(pool, settings, world.day, now=world.now)
            assert_figures(got, city_expected(world), world.districts)
            b_visits = next(v for v in got if (v.district, v.kpi) == (mirrored, "visit_coverage"))
            assert b_visits.denominator
