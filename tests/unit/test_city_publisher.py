"""The city's publisher of city.kpis: only changed figures are published, keyed
district|kpi|period; a restart (a new publisher on the same table) publishes nothing new; the
filing KPIs are on-time shares of what is due or filed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

import pytest

from tongxin_city.application.kpi_values import CITY, FilingRow, KpiValue
from tongxin_city.application.publisher import (
    KPIS_LOOP,
    KpiPublisher,
    china_day,
    filing_kpis,
    fingerprint,
)
from tongxin_city.bootstrap import SERVICE
from tongxin_city.config import CitySettings, Targets
from tongxin_contracts.city_kpis import CityKpi
from tongxin_platform.loops import LOOP
from tongxin_platform.worker import Worker

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # 10:00 in China
AS_OF = date(2026, 11, 28)


def kpi(district: str, name: str, value: float | None, *, numerator: int | None = None) -> KpiValue:
    return KpiValue(
        district=district, kpi=name, period="2026-2027", label_zh="家访覆盖率",
        label_en="Home visit coverage", unit="share", value=value, numerator=numerator,
        denominator=4, target=1.0, meets=None if value is None else value >= 1.0, as_of=AS_OF,
    )  # fmt: skip


@dataclass
class Table:
    """``city_kpis_published`` in memory."""

    rows: dict[str, str] = field(default_factory=dict)

    async def fingerprints(self) -> dict[str, str]:
        return dict(self.rows)

    async def record(self, records: Sequence[CityKpi], at: datetime) -> None:
        self.rows.update({r.key(): fingerprint(r) for r in records})


@dataclass
class Topic:
    sent: list[tuple[str, bytes]] = field(default_factory=list)

    async def send(self, records: Sequence[tuple[str, bytes]]) -> None:
        self.sent += records


@dataclass
class World:
    values: list[KpiValue]
    rows: list[FilingRow] = field(default_factory=list)
    table: Table = field(default_factory=Table)
    topic: Topic = field(default_factory=Topic)

    def publisher(self) -> KpiPublisher:
        async def compute(as_of: date, _now: datetime) -> list[KpiValue]:
            return [replace(v, as_of=as_of) for v in self.values]

        async def filings(_as_of: date) -> list[FilingRow]:
            return list(self.rows)

        return KpiPublisher(CitySettings(), self.table, self.topic.send, compute, filings)

    def keys(self) -> list[str]:
        return [k for k, _ in self.topic.sent]


async def test_the_first_round_publishes_every_figure_keyed_by_district_kpi_and_period() -> None:
    w = World(
        [kpi("330106", "visit_coverage", 0.75, numerator=3), kpi(CITY, "visit_coverage", 0.75)]
    )
    published = await w.publisher().publish(NOW)
    assert w.keys() == ["330106|visit_coverage|2026-2027", "city|visit_coverage|2026-2027"]
    assert [r.key() for r in published] == w.keys()
    record = CityKpi.decode(w.topic.sent[0][1])
    assert (record.value, record.numerator, record.as_of) == (0.75, 3, AS_OF)
    assert record.computed_at == NOW


async def test_a_round_in_which_nothing_changed_publishes_nothing() -> None:
    w = World([kpi("330106", "visit_coverage", 0.75)])
    publisher = w.publisher()
    await publisher.publish(NOW)
    assert await publisher.publish(NOW.replace(hour=3)) == []
    assert len(w.topic.sent) == 1


async def test_a_new_day_alone_is_not_a_change() -> None:
    w = World([kpi("330106", "visit_coverage", 0.75)])
    await w.publisher().publish(NOW)
    assert await w.publisher().publish(datetime(2026, 11, 30, 2, tzinfo=UTC)) == []


async def test_a_restarted_publisher_on_the_same_table_publishes_nothing_new() -> None:
    w = World([kpi("330106", "visit_coverage", 0.75), kpi("330108", "visit_coverage", None)])
    await w.publisher().publish(NOW)
    restarted = w.publisher()
    assert await restarted.publish(NOW) == []
    assert len(w.topic.sent) == 2


async def test_a_changed_figure_republishes_its_key_only() -> None:
    w = World([kpi("330106", "visit_coverage", 0.75), kpi("330108", "visit_coverage", 0.5)])
    await w.publisher().publish(NOW)
    w.values[1] = kpi("330108", "visit_coverage", 1.0)
    changed = await w.publisher().publish(NOW)
    assert [r.key() for r in changed] == ["330108|visit_coverage|2026-2027"]
    assert w.keys()[-1] == "330108|visit_coverage|2026-2027"
    assert CityKpi.decode(w.topic.sent[-1][1]).meets is True


async def test_a_figure_published_but_not_recorded_is_published_again() -> None:
    w = World([kpi("330106", "visit_coverage", 0.75)])

    async def lost(records: Sequence[CityKpi], at: datetime) -> None:
        raise ConnectionError("the database went away after the broker acknowledged")

    publisher = w.publisher()
    publisher.published = Table()
    publisher.published.record = lost  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        await publisher.publish(NOW)
    await w.publisher().publish(NOW)
    assert w.keys() == ["330106|visit_coverage|2026-2027"] * 2  # the same value: compaction


def test_the_day_is_china_s_day_of_the_worker_s_clock() -> None:
    assert china_day(datetime(2026, 11, 28, 16, 30, tzinfo=UTC)) == date(2026, 11, 29)
    assert china_day(datetime(2026, 11, 28, 15, 59, tzinfo=UTC)) == date(2026, 11, 28)


def row(district: str, kind: str, period: str, **counts: int) -> FilingRow:
    c = {"expected": 1, "on_time": 0, "late": 0, "missing": 0, "pending": 0, **counts}
    return FilingRow(district=district, kind=kind, period=period, due=AS_OF, **c)  # type: ignore[arg-type]


def test_a_filing_kpi_is_the_share_on_time_of_the_filings_due_or_filed() -> None:
    rows = [
        row("330106", "school_visit_plan", "2026", expected=10, on_time=6, late=2, missing=1),
        row("330108", "school_visit_plan", "2026", expected=5, on_time=5),
    ]
    values = {(v.district, v.kpi): v for v in filing_kpis(rows, Targets(), AS_OF)}
    mine = values[("330106", "filings_school_visit_plan")]
    assert (mine.numerator, mine.denominator, mine.period, mine.meets) == (6, 9, "2026", False)
    assert mine.value == 6 / 9
    city = values[(CITY, "filings_school_visit_plan")]
    assert (city.numerator, city.denominator) == (11, 14)
    assert values[("330108", "filings_school_visit_plan")].meets is True


def test_monthly_statistics_pool_into_reports_on_time_of_the_school_year() -> None:
    rows = [
        row("330106", "monthly_stats", "2026-09", on_time=1),
        row("330106", "monthly_stats", "2026-10", late=1),
        row("330106", "monthly_stats", "2026-11", pending=1),
    ]
    (district, city) = sorted(
        filing_kpis(rows, Targets(reports_on_time=0.5), AS_OF), key=lambda v: v.district != "330106"
    )
    assert (district.kpi, district.period) == ("reports_on_time", "2026-2027")
    assert (district.numerator, district.denominator, district.value) == (1, 2, 0.5)
    assert district.meets is True
    assert city.district == CITY


def test_a_filing_not_due_and_not_filed_leaves_the_share_empty() -> None:
    (value, _) = filing_kpis([row("330106", "district_plan", "2027", pending=1)], Targets(), AS_OF)
    assert (value.value, value.meets, value.denominator) == (None, None, 0)


async def test_filing_kpis_are_published_beside_the_figures() -> None:
    w = World([], rows=[row("330106", "december_summary", "2026", missing=1)])
    await w.publisher().publish(NOW)
    assert w.keys() == [
        "330106|filings_december_summary|2026",
        "city|filings_december_summary|2026",
    ]


def test_the_city_service_declares_the_kpis_loop_and_its_migrations() -> None:
    assert KPIS_LOOP in SERVICE.loops
    assert ("kpis", LOOP) in SERVICE.worker_parts()
    assert SERVICE.migrations == "tongxin_city.migrations"
    assert KPIS_LOOP.interval(CitySettings(publish_interval=7.5)) == 7.5


def test_the_city_worker_s_asyncapi_shows_its_publisher_of_city_kpis_with_the_record() -> None:
    doc = json.loads(Worker(SERVICE, CitySettings()).specification().to_specification().to_json())
    channel = doc["channels"]["city.kpis:Publisher"]
    assert channel["address"] == "city.kpis"
    assert doc["operations"]["city.kpis:Publisher"]["action"] == "send"
    (ref,) = [m["$ref"] for m in channel["messages"].values()]
    message = doc["components"]["messages"][ref.rsplit("/", 1)[1]]
    payload = json.dumps(message["payload"])
    assert "CityKpi" in payload
