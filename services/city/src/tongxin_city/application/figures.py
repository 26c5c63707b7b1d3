"""Every district's KPIs and the city's pooled ones, as of a day (owner: the KPI part)."""

from __future__ import annotations

from datetime import date

import asyncpg

from tongxin_city.application.kpi_values import KpiValue
from tongxin_city.config import CitySettings


async def city_kpis(pool: asyncpg.Pool, settings: CitySettings, as_of: date) -> list[KpiValue]:
    """Every district's KPIs of the school year of ``as_of`` and the city's (district ``CITY``)."""
    return []
