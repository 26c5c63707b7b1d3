"""The city's figures over real Kafka and PostgreSQL: the world's events of three districts read
by the city worker, ``GET /kpis`` and ``GET /districts/{d}/kpis`` compared KPI by KPI with the
independent computation (``tests/support/city_expected``), who may read which, and a rebuild of
the facts from offset 0 equal to the live model."""

from __future__ import annotations

import io
import time
from datetime import date
from typing import Any

import pytest
from rich.console import Console

from tests.support.agencies_expected import Share
from tests.support.city_env import CityEnv
from tests.support.city_expected import CITY, KPIS, TARGETS, TREND, city_expected, meets, value
from tongxin_city.projections.facts import FACTS
from tongxin_contracts import default_registry
from tongxin_platform.consumer import ConsumerRuntime
from tongxin_platform.replay import EQUAL, Target
from tongxin_platform.replay_run import replay_projection

pytestmark = pytest.mark.integration


def by_key(values: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(v["district"], v["kpi"], v["period"]): v for v in values}


def check(got: dict[str, Any], kpi: str, want: Share | int) -> None:
    where = f"{got['district']} {kpi} {got['period']}"
    want_value = value(want)
    if want_value is None:
        assert got["value"] is None, where
    else:
        assert got["value"] == pytest.approx(want_value), where
    if isinstance(want, Share):
        assert (got["numerator"], got["denominator"]) == (want.num, want.den), where
        assert got["unit"] == "share", where
    else:
        assert got["unit"] == "count", where
    assert got["meets"] is meets(kpi, want), where
    assert got["target"] == pytest.approx(TARGETS[kpi]), where


async def test_every_district_and_the_city_have_the_kpis_computed_from_the_events(
    city_env: CityEnv,
) -> None:
    # given the world of three districts read by the city worker
    world, want = city_env.world, city_expected(city_env.world)
    # when the city analyst asks for the figures of the world's day
    r = await city_env.http.get(
        "/kpis", params={"as_of": world.day.isoformat()}, headers=city_env.token("city_analyst")
    )
    # then every district's and the city's KPIs equal the independent computation
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["school_year"] == want.school_year == "2026-2027"
    assert body["districts"] == sorted(world.districts)
    got = by_key(body["values"])
    assert len(body["values"]) == (len(world.districts) + 1) * len(KPIS)
    for district in [*world.districts, CITY]:
        for kpi in KPIS:
            check(got[(district, kpi, want.school_year)], kpi, want.figures[district][kpi])
    # and every KPI is judged both ways: met in one district, missed in another
    for kpi in KPIS:
        assert {got[(d, kpi, want.school_year)]["meets"] for d in world.districts} == {
            True,
            False,
        }, kpi


async def test_the_figures_as_of_an_earlier_day_count_only_what_was_known_then(
    city_env: CityEnv,
) -> None:
    # given the world read by the city worker, and a day a month before the world's
    world = city_env.world
    day = date(2026, 10, 15)
    want = city_expected(world, day=day)
    # when the city analyst asks for the figures as of that day
    r = await city_env.http.get(
        "/kpis", params={"as_of": day.isoformat()}, headers=city_env.token("city_analyst")
    )
    # then every KPI equals the independent computation for that day, and differs from today's
    assert r.status_code == 200, r.text
    got = by_key(r.json()["values"])
    for district in [*world.districts, CITY]:
        for kpi in KPIS:
            check(got[(district, kpi, want.school_year)], kpi, want.figures[district][kpi])
    today = city_expected(world).figures
    assert any(want.figures[CITY][k] != today[CITY][k] for k in KPIS)


async def test_a_district_gives_its_kpis_and_their_month_trend(city_env: CityEnv) -> None:
    # given the world read by the city worker and a district's bureau officer
    world, want = city_env.world, city_expected(city_env.world)
    district = world.districts[1]
    # when the officer asks for their district's figures
    r = await city_env.http.get(
        f"/districts/{district}/kpis",
        params={"as_of": world.day.isoformat()},
        headers=city_env.token("bureau_officer", district=district),
    )
    # then its KPIs and every month's trend value equal the independent computation
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["district"] == district
    got = by_key(body["values"])
    assert {k for _, k, _ in got} == set(KPIS)
    for kpi in KPIS:
        check(got[(district, kpi, want.school_year)], kpi, want.figures[district][kpi])
    trend = by_key(body["trend"])
    months = [m for m, _ in want.trend[district][TREND[0]]]
    assert months == ["2026-09", "2026-10", "2026-11"]
    assert len(body["trend"]) == len(TREND) * len(months)
    for kpi in TREND:
        for month, figure in want.trend[district][kpi]:
            check(trend[(district, kpi, month)], kpi, figure)


async def test_a_bureau_officer_of_another_district_gets_the_404_of_an_unknown_one(
    city_env: CityEnv,
) -> None:
    # given an officer of the first district
    world = city_env.world
    headers = city_env.token("bureau_officer", district=world.districts[0])
    # when they ask for another district, and for one that does not exist
    other = await city_env.http.get(f"/districts/{world.districts[1]}/kpis", headers=headers)
    unknown = await city_env.http.get("/districts/999999/kpis", headers=headers)
    analyst = await city_env.http.get(
        "/districts/999999/kpis", headers=city_env.token("city_analyst")
    )
    # then both are the same 404 naming the district, for the analyst too
    assert other.status_code == unknown.status_code == analyst.status_code == 404
    assert other.json() == unknown.json()
    assert other.json()["field"] == "district"


async def test_the_city_figures_are_refused_to_a_district_and_to_a_school_role(
    city_env: CityEnv,
) -> None:
    # given a district's officer and a principal
    officer = city_env.token("bureau_officer", district=city_env.world.districts[0])
    principal = city_env.token("principal", district=city_env.world.districts[0])
    # when they ask for every district's figures
    r1 = await city_env.http.get("/kpis", headers=officer)
    r2 = await city_env.http.get("/kpis", headers=principal)
    # then both are refused, naming the rule
    assert r1.status_code == r2.status_code == 403
    assert r1.json()["rule"] == r2.json()["rule"] == "city.read"


def target(env: CityEnv) -> Target:
    topics = tuple(env.settings.topic_of(s) for s in FACTS.sources)

    def consumer(group: str, schema: str) -> ConsumerRuntime:
        return ConsumerRuntime(
            group=group,
            topics=topics,
            registry=default_registry(),
            bootstrap=env.settings.kafka_bootstrap_servers,
            pool=env.pool,
            apply=FACTS.apply_to(schema),
            handles=FACTS.handles,
            stream_ids=env.settings.ledger_stream_ids(),
            max_batch=7,
            service="city",
        )

    return Target(
        topics=topics,
        live_schema=FACTS.schema,
        live_group=FACTS.group,
        create_tables=FACTS.create_tables,
        digest=FACTS.digest,
        tables=tuple(FACTS.tables),
        consumer=consumer,
    )


async def test_a_rebuild_of_the_facts_from_offset_0_equals_the_live_model(
    city_env: CityEnv,
) -> None:
    # given the live facts caught up with the world
    await city_env.caught_up()
    async with city_env.pool.acquire() as conn:
        rows = await conn.fetchval("SELECT count(*) FROM facts.students")
    assert rows > 0
    # when they are rebuilt from offset 0 into a fresh schema, in batches of 7
    out = io.StringIO()
    console = Console(file=out, width=200)
    code = await replay_projection(
        city_env.pool,
        city_env.settings.kafka_bootstrap_servers,
        target(city_env),
        swap_in=False,
        deadline=time.monotonic() + 120,
        console=console,
        out=console,
    )
    # then every table's digest equals the live one's
    assert code == EQUAL, out.getvalue()
