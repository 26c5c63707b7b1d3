"""(A3 replaces this stub: the committees KPIs of the district page, same shape as kpis_visits.)"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import asyncpg

from tongxin_agencies.application.kpis import Figures, KpiDef, KpiPart
from tongxin_agencies.config import AgenciesSettings


async def figures(
    pool: asyncpg.Pool, settings: AgenciesSettings, schools: Sequence[str], day: date
) -> Figures:
    return {}


PART: KpiPart = figures
DEFS: list[KpiDef] = []
