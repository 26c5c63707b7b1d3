"""Market regulation's model: the schools (names) and its inspections of the food and stationery
shops near them, with their hazards (rectify-by, rectified on). It reads the registry's and the
safety service's topics only, and keeps nothing about a student."""

from __future__ import annotations

from tongxin_agencies.projections.education_safety import hazard_tables, register_hazards
from tongxin_contracts.events.safety import InspectionKind
from tongxin_platform.projection import Projection, Table
from tongxin_platform.roster_part import SCHOOLS, register_schools

MARKET_KINDS = (InspectionKind.food_shops, InspectionKind.stationery_shops)

TABLES: list[Table] = [SCHOOLS, *hazard_tables()]

MARKET = Projection(
    "market",
    group="agencies.market",
    sources=("registry", "safety"),
    description=__doc__,
    tables=TABLES,
)
register_schools(MARKET)
register_hazards(MARKET, MARKET_KINDS)
