"""The city's figures on the compacted topic ``city.kpis``, for downstream consumers.

Every ``CITY_PUBLISH_INTERVAL`` seconds the worker's loop ``kpis`` computes, as of today in
China (by the worker's clock):

- every district's KPIs and the city's pooled ones (``figures.city_kpis``), period the school
  year;
- the filing KPIs from ``filing_status.filings`` (shares, target ``CITY_TARGETS__REPORTS_ON_TIME``):
  ``filings_district_plan``, ``filings_school_visit_plan`` and ``filings_december_summary`` per
  district and calendar year (period "2026"), and ``reports_on_time`` for the monthly visit
  statistics per district and school year (period "2026-2027", pooled over its months). Each is
  numerator = filed on time, denominator = filings due by now or already filed (on time + late +
  missing; a filing not due yet and not filed counts in neither), value null while the
  denominator is 0. The city row (district "city") pools every district's counts.

It compares each record with the last one it published for the key (``city_kpis_published``,
the city's own table: the record's fingerprint — every field but ``as_of`` and
``computed_at``), publishes the changed ones through an idempotent producer (``acks=all``) with
key ``district|kpi|period``, and then records them. So a record's ``as_of`` is the day its value
last changed, a restart publishes nothing new unless a figure changed, and a crash between
publishing and recording publishes the same values again (harmless on a compacted topic: the
key's last record is the same).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

import asyncpg
from prometheus_client import Counter

from tongxin_city.application import figures, filing_status
from tongxin_city.application.kpi_values import CITY, FilingRow, KpiValue
from tongxin_city.config import CitySettings, Targets
from tongxin_contracts.calendar import school_year_of
from tongxin_contracts.city_kpis import CityKpi
from tongxin_platform.kafka import reliable_producer
from tongxin_platform.loops import Loop, LoopContext, Publishes
from tongxin_platform.settings import ServiceSettings

CHINA = ZoneInfo("Asia/Shanghai")
LOOP_NAME = "kpis"
_LOCK_KEY = 0x6B70_6973  # "kpis": one publishing round at a time per city database

# Filing kind → (KPI key, Chinese label, English label).
FILING_KPIS: dict[str, tuple[str, str, str]] = {
    "district_plan": ("filings_district_plan", "区家访工作计划按时报送率", "District plan on time"),
    "school_visit_plan": (
        "filings_school_visit_plan",
        "学校家访计划按时报送率",
        "School visit plans on time",
    ),
    "december_summary": (
        "filings_december_summary",
        "年度工作总结按时报送率",
        "December summary on time",
    ),
    "monthly_stats": ("reports_on_time", "月度家访统计按时报送率", "Monthly statistics on time"),
}

Compute = Callable[[date, datetime], Awaitable[list[KpiValue]]]  # as of a day, measured now
Filings = Callable[[date], Awaitable[list[FilingRow]]]
Send = Callable[[Sequence[tuple[str, bytes]]], Awaitable[None]]


def china_day(now: datetime) -> date:
    """The day in China of an aware instant."""
    return now.astimezone(CHINA).date()


def _share(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def filing_kpis(rows: Iterable[FilingRow], targets: Targets, as_of: date) -> list[KpiValue]:
    """The filing KPIs of every district and the city (see the module's docstring)."""
    counts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        kpi = FILING_KPIS[row.kind][0]
        period = school_year_of(as_of) if row.kind == "monthly_stats" else row.period
        for district in (row.district, CITY):
            c = counts[(district, kpi, period)]
            c[0] += row.on_time
            c[1] += row.on_time + row.late + row.missing
    labels = {kpi: (zh, en) for kpi, zh, en in FILING_KPIS.values()}
    target = targets.reports_on_time
    out = []
    for (district, kpi, period), (numerator, denominator) in sorted(counts.items()):
        value = _share(numerator, denominator)
        out.append(
            KpiValue(
                district=district,
                kpi=kpi,
                period=period,
                label_zh=labels[kpi][0],
                label_en=labels[kpi][1],
                unit="share",
                value=value,
                numerator=numerator,
                denominator=denominator,
                target=target,
                meets=None if value is None else value >= target,
                as_of=as_of,
            )
        )
    return out


def record_of(value: KpiValue, computed_at: datetime) -> CityKpi:
    """The ``city.kpis`` record of ``value`` (all its fields), computed at ``computed_at``."""
    return CityKpi(**asdict(value), computed_at=computed_at)


def fingerprint(record: CityKpi) -> str:
    """What decides whether a record changed: every field but the days it was computed."""
    fields = record.model_dump(mode="json", exclude={"as_of", "computed_at"})
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


class Published(Protocol):
    """The last record published per key."""

    async def fingerprints(self) -> dict[str, str]: ...

    async def record(self, records: Sequence[CityKpi], at: datetime) -> None: ...


@dataclass(frozen=True)
class PgPublished:
    """``city_kpis_published`` in the city's database (migration 001_city.sql)."""

    pool: asyncpg.Pool

    async def fingerprints(self) -> dict[str, str]:
        rows = await self.pool.fetch("SELECT key, fingerprint FROM city_kpis_published")
        return {r["key"]: r["fingerprint"] for r in rows}

    async def record(self, records: Sequence[CityKpi], at: datetime) -> None:
        await self.pool.execute(
            """INSERT INTO city_kpis_published
                   (key, district, kpi, period, value, fingerprint, published_at)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
                                    $5::float8[], $6::text[], $7::timestamptz[])
               ON CONFLICT (key) DO UPDATE
                  SET value = EXCLUDED.value, fingerprint = EXCLUDED.fingerprint,
                      published_at = EXCLUDED.published_at""",
            [r.key() for r in records],
            [r.district for r in records],
            [r.kpi for r in records],
            [r.period for r in records],
            [r.value for r in records],
            [fingerprint(r) for r in records],
            [at] * len(records),
        )


@dataclass
class KpiPublisher:
    """One round: compute, compare, publish the changed records, record them."""

    settings: CitySettings
    published: Published
    send: Send
    compute: Compute
    filings: Filings

    async def publish(self, now: datetime) -> list[CityKpi]:
        """The records published this round (empty when nothing changed)."""
        as_of = china_day(now)
        values = await self.compute(as_of, now)
        values += filing_kpis(await self.filings(as_of), self.settings.targets, as_of)
        records = {}
        for value in values:
            record = record_of(value, now)
            records[record.key()] = record  # one per key (the last one computed)
        last = await self.published.fingerprints()
        changed = [r for k, r in sorted(records.items()) if last.get(k) != fingerprint(r)]
        if changed:
            await self.send([(r.key(), r.encode()) for r in changed])
            await self.published.record(changed, now)
        return changed


HEADERS = [("content-type", b"application/json")]


async def _open(ctx: LoopContext) -> KpiPublisher:
    """The loop's publisher: an idempotent producer (closed with the worker) and the city's
    figures and filings as of a day."""
    settings = ctx.settings
    assert isinstance(settings, CitySettings)
    pool, topic = ctx.pool, settings.kpis_topic
    producer = reliable_producer(settings.kafka_bootstrap_servers)
    try:
        await producer.start()
    except BaseException:
        await producer.stop()
        raise
    ctx.resources.push_async_callback(producer.stop)
    counter = Counter(
        "tongxin_city_kpis_published",
        "Records the city published to city.kpis (changed figures only)",
        registry=ctx.metrics,
    )

    async def send(records: Sequence[tuple[str, bytes]]) -> None:
        batch = [
            await producer.send(topic, value, key=key.encode(), headers=HEADERS)
            for key, value in records
        ]
        for delivered in batch:
            await delivered  # acknowledged by every in-sync replica
        counter.inc(len(records))

    async def compute(as_of: date, now: datetime) -> list[KpiValue]:
        return await figures.city_kpis(pool, settings, as_of, now=now)

    async def filings(as_of: date) -> list[FilingRow]:
        return await filing_status.filings(pool, settings, as_of)

    return KpiPublisher(settings, PgPublished(pool), send, compute, filings)


async def publish_kpis(ctx: LoopContext) -> None:
    """One round of the worker's loop ``kpis``: by one worker at a time (a session lock in the
    city's database; a second worker skips the round), so two workers do not both publish the
    same change."""
    publisher = ctx.state.get("publisher")
    if publisher is None:
        publisher = ctx.state["publisher"] = await _open(ctx)
    async with ctx.pool.acquire() as conn:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _LOCK_KEY):
            return
        try:
            await publisher.publish(ctx.clock())
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)


def _interval(settings: ServiceSettings) -> float:
    assert isinstance(settings, CitySettings)
    return settings.publish_interval


def _topic(settings: ServiceSettings) -> str:
    assert isinstance(settings, CitySettings)
    return settings.kpis_topic


KPIS_LOOP = Loop(
    LOOP_NAME,
    publish_kpis,
    _interval,
    description="The city's figures, the changed ones, to the compacted topic city.kpis.",
    publishes=(
        Publishes(
            _topic,
            CityKpi,
            "The city's figures per district (and the city), KPI and period; compacted, key "
            "district|kpi|period, plain JSON records published when a figure changed",
        ),
    ),
)
