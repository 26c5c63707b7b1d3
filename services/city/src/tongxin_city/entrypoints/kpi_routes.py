"""The city's figures as JSON: every district's KPIs and the city's (``GET /kpis``), one
district's KPIs and their month trend (``GET /districts/{district}/kpis``). Aggregates only:
never a student. A district the caller may not see answers like one that does not exist."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, Field

from tongxin_city.application import figures
from tongxin_city.application.kpi_values import KpiValue
from tongxin_city.application.policy import POLICY, Action
from tongxin_city.entrypoints.deps import App, now, today
from tongxin_contracts.calendar import school_year_of
from tongxin_platform.edge import guard, service_router
from tongxin_platform.fields import IDENT, AsOf
from tongxin_platform.http import Caller, not_found, require
from tongxin_platform.policy import Scope, in_scope

router = service_router(tags=["kpis"])
District = Annotated[str, Path(pattern=IDENT, description="A district's code, e.g. 330106.")]


class CityKpis(BaseModel):
    as_of: date
    school_year: str = Field(description="The school year of as_of, e.g. 2026-2027.")
    districts: list[str] = Field(description="Every district the city has heard of.")
    values: list[KpiValue] = Field(description="Each district's KPIs, then the city's.")


class DistrictKpis(BaseModel):
    district: str
    as_of: date
    values: list[KpiValue] = Field(description="The district's KPIs of the school year.")
    trend: list[KpiValue] = Field(description="Month values of the trend KPIs.")


@router.get("/kpis", response_model=CityKpis)
@guard(POLICY, Action.city_read)
async def get_kpis(app: App, who: Caller, as_of: AsOf = None) -> CityKpis:
    """Every district's KPIs and the city's pooled ones, as of a day."""
    require(POLICY, who, Action.city_read, Scope())
    day = today(app, as_of)
    values = await figures.city_kpis(app.pool, app.settings, day, now=now(app))
    known = sorted({v.district for v in values} - {"city"})
    return CityKpis(as_of=day, school_year=school_year_of(day), districts=known, values=values)


@router.get("/districts/{district}/kpis", response_model=DistrictKpis)
@guard(POLICY, Action.district_read)
async def get_district_kpis(
    app: App, who: Caller, district: District, as_of: AsOf = None
) -> DistrictKpis:
    """One district's KPIs and month trend; 404 for a district unknown or out of scope."""
    if not in_scope(who, Scope(district)):
        raise not_found("district", "district")
    if district not in await figures.districts(app.pool):
        raise not_found("district", "district")
    day, at = today(app, as_of), now(app)
    values = await figures.district_kpis(app.pool, app.settings, district, day, now=at)
    trend = await figures.district_trend(app.pool, app.settings, district, day, now=at)
    return DistrictKpis(district=district, as_of=day, values=values, trend=trend)
