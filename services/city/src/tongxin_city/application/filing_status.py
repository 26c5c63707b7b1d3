"""Filed, late or missing per district (owner: the filings part)."""

from __future__ import annotations

from datetime import date

import asyncpg

from tongxin_city.application.kpi_values import FilingRow
from tongxin_city.config import CitySettings


async def filings(pool: asyncpg.Pool, settings: CitySettings, as_of: date) -> list[FilingRow]:
    """Every district's filings of the year of ``as_of``, as of that day."""
    return []
