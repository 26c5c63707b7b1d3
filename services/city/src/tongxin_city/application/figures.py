"""Every district's KPIs and the city's pooled ones, as of a day (definitions: docs/city.md).

One statement counts every KPI of every district for every asked day (``figures_sql``); the
pure rules of ``domain/kpis`` pool them (the city row: Σ numerators ÷ Σ denominators over the
districts, counts summed) and judge them against the city's targets. A month trend is the same
statement asked for each month's end."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

import asyncpg

from tongxin_city.application.figures_sql import DISTRICTS, FIGURES
from tongxin_city.application.kpi_values import CITY, KpiValue
from tongxin_city.config import CitySettings
from tongxin_city.domain.kpis import BY_KEY, KPIS, TREND_KPIS, KpiDef, Tally, empty, meets, pool
from tongxin_city.domain.kpis import value as value_of
from tongxin_contracts.calendar import CHINA, month_bounds, month_of, school_year_of, year_period

# The parent school's kinds of session (seed 000 二、(三)): taught ones and activities.
LECTURE_KINDS = (
    "lecture",
    "holiday_lecture",
    "term_start_lecture",
    "term_mid_lecture",
    "term_end_lecture",
)
ACTIVITY_KINDS = ("practice", "consultation", "salon")
CARER_KINDS = ("school", "community", "civil_affairs", "womens_federation")

# day index → district → KPI → tally
Counted = dict[int, dict[str, dict[str, Tally]]]


def end_of(day: date) -> datetime:
    """The first instant after ``day`` in China."""
    return datetime.combine(day + timedelta(days=1), time(), CHINA)


def measured_at(day: date, now: datetime | None) -> datetime:
    """The instant a figure of ``day`` is measured at: now, but never after ``day``'s end."""
    end = end_of(day)
    now = now or datetime.now(UTC)
    return min(now, end)


async def districts(pool_: asyncpg.Pool) -> list[str]:
    """Every district the city has heard of, sorted."""
    return [r["district"] for r in await pool_.fetch(DISTRICTS)]


async def _count(
    conn: asyncpg.Pool,
    settings: CitySettings,
    days: Sequence[date],
    now: datetime | None,
    district: str | None,
    kpis: Sequence[str],
) -> Counted:
    years = [school_year_of(d) for d in days]
    rows = await conn.fetch(
        FIGURES,
        list(days),
        [year_period(y).start for y in years],
        years,
        [end_of(d) for d in days],
        [measured_at(d, now) for d in days],
        district,
        list(kpis),
        list(LECTURE_KINDS),
        list(ACTIVITY_KINDS),
        settings.parent_school_sessions,
        settings.parent_school_hours,
        settings.parent_school_activities,
        list(CARER_KINDS),
    )
    out: Counted = defaultdict(lambda: defaultdict(dict))
    for r in rows:
        found, tally = out[r["i"] - 1][r["district"]], Tally(r["num"], r["den"])
        found[r["kpi"]] = found[r["kpi"]] + tally if r["kpi"] in found else tally
    return out


def _value(
    settings: CitySettings, d: KpiDef, tally: Tally, district: str, period: str, as_of: date
) -> KpiValue:
    v = value_of(tally)
    target: float | int | None = getattr(settings.targets, d.key)
    return KpiValue(
        district=district,
        kpi=d.key,
        period=period,
        label_zh=d.label_zh,
        label_en=d.label_en,
        unit=d.unit,
        value=v,
        numerator=tally.num,
        denominator=tally.den,
        target=target,
        meets=meets(d.unit, v, target),
        as_of=as_of,
    )


async def city_kpis(
    pool_: asyncpg.Pool, settings: CitySettings, as_of: date, *, now: datetime | None = None
) -> list[KpiValue]:
    """Every district's KPIs of the school year of ``as_of`` and the city's (district ``CITY``),
    district by district (sorted), the city last; ``now`` (default: the clock) is the instant
    deadlines are judged at, never after ``as_of``'s end."""
    known = await districts(pool_)
    counted = (await _count(pool_, settings, [as_of], now, None, [k.key for k in KPIS]))[0]
    period = school_year_of(as_of)
    out: list[KpiValue] = []
    for code in known:
        out += [
            _value(settings, d, counted[code].get(d.key, empty(d.unit)), code, period, as_of)
            for d in KPIS
        ]
    for d in KPIS:
        pooled = pool((counted[c].get(d.key, empty(d.unit)) for c in known), d.unit)
        out.append(_value(settings, d, pooled, CITY, period, as_of))
    return out


async def district_kpis(
    pool_: asyncpg.Pool,
    settings: CitySettings,
    district: str,
    as_of: date,
    *,
    now: datetime | None = None,
) -> list[KpiValue]:
    """One district's KPIs of the school year of ``as_of`` (those of ``city_kpis``, counted for
    that district alone)."""
    counted = (await _count(pool_, settings, [as_of], now, district, [k.key for k in KPIS]))[0]
    period = school_year_of(as_of)
    return [
        _value(settings, d, counted[district].get(d.key, empty(d.unit)), district, period, as_of)
        for d in KPIS
    ]


def month_ends(as_of: date) -> list[tuple[str, date]]:
    """Every month of ``as_of``'s school year up to its month: (month, its last day or as_of)."""
    out: list[tuple[str, date]] = []
    day = year_period(school_year_of(as_of)).start
    while day <= as_of:
        month = month_of(day)
        end = month_bounds(month)[1]
        out.append((month, min(end, as_of)))
        day = end + timedelta(days=1)
    return out


async def district_trend(
    pool_: asyncpg.Pool,
    settings: CitySettings,
    district: str,
    as_of: date,
    *,
    now: datetime | None = None,
) -> list[KpiValue]:
    """The month values (period "2026-09", …) of the trend KPIs of ``district``, each as of its
    month's end (the current month: as of ``as_of``), KPI by KPI."""
    months = month_ends(as_of)
    counted = await _count(pool_, settings, [d for _, d in months], now, district, TREND_KPIS)
    return [
        _value(
            settings, BY_KEY[k], counted[i][district].get(k, empty(BY_KEY[k].unit)), district, m, d
        )
        for k in TREND_KPIS
        for i, (m, d) in enumerate(months)
    ]
