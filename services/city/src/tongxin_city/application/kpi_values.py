"""What the city's figures are, as values: the KPIs (``figures``) and the filings
(``filing_status``) answer these, the routes, the pages and the city.kpis publisher read them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

CITY = "city"  # the district field of a city-wide (pooled) value


@dataclass(frozen=True, slots=True)
class KpiValue:
    """One KPI of one district (or ``CITY``) for one period."""

    district: str
    kpi: str  # stable key, e.g. "visit_coverage"
    period: str  # a school year "2026-2027" or a month "2026-11"
    label_zh: str
    label_en: str
    unit: Literal["share", "count"]
    value: float | int | None  # None: nothing to count yet (no denominator)
    numerator: int | None
    denominator: int | None
    target: float | int | None
    meets: bool | None  # None: no target, or no value
    as_of: date


@dataclass(frozen=True, slots=True)
class FilingRow:
    """One kind of filing of one district for one period, as of a day."""

    district: str
    kind: Literal["district_plan", "school_visit_plan", "monthly_stats", "december_summary"]
    period: str  # the year "2026" (plans, summary) or the month "2026-11" (monthly stats)
    due: date
    expected: int  # 1 for the district's own; one per school for schools' filings
    on_time: int
    late: int
    missing: int  # past due and not filed
    pending: int  # not due yet and not filed
