"""Filing routes: a district's plan and December summary (its bureau officer), a school's visit
plan (its principal, or the district's bureau officer), each filed once per ``Idempotency-Key``
and revised by filing again; filed, late or missing per district as of a day (the city's
analysts and auditors; a district's bureau officer for their own district)."""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Annotated, Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from tongxin_city.application import filing_status
from tongxin_city.application.filings import Filings, caller_mark, school_district
from tongxin_city.application.kpi_values import FilingRow
from tongxin_city.application.policy import POLICY, Action
from tongxin_city.domain.filings import DISTRICT_KINDS, FileFiling
from tongxin_city.entrypoints.deps import App, today
from tongxin_contracts.events.city import FiledAs, FilingKind, filing_id
from tongxin_platform import idempotency
from tongxin_platform.auth import Role
from tongxin_platform.edge import guard, service_router
from tongxin_platform.fields import IDENT, AsOf, Day, DistrictId, Key
from tongxin_platform.http import Caller, ProblemError, not_found, require
from tongxin_platform.policy import Scope

router = service_router(tags=["filings"])

District = Annotated[str, Field(pattern=r"^[0-9]{6}$", description="A district code (区县代码).")]


class FilingBody(BaseModel):
    """One filing (a second one of the same district, kind, year and school is a revision)."""

    model_config = ConfigDict(extra="forbid")

    kind: FilingKind = Field(description="What is filed.")
    district: District
    year: int = Field(ge=2000, le=2100, description="The calendar year the filing is for.")
    school_id: str | None = Field(
        default=None, pattern=IDENT, description="The school (school_visit_plan only)."
    )
    filed_on: Day | None = Field(
        default=None, description="The day it was filed (China time; default today, not later)."
    )


def _rows(as_of: Any, rows: list[FilingRow]) -> dict[str, Any]:
    return {"as_of": as_of, "rows": jsonable_encoder([asdict(r) for r in rows])}


@router.post("/filings", status_code=201)
# At the edge: may the caller file anything at all (a neutral rule, "filing")? After the body:
# the rule of the kind asked (filing.district, filing.school), so a refusal names that one.
@guard(POLICY, Action.file_any)
async def file(
    body: FilingBody, request: Request, app: App, who: Caller, idempotency_key: Key = None
) -> JSONResponse:
    if body.kind in DISTRICT_KINDS:
        require(POLICY, who, Action.file_district, Scope(body.district))
    else:
        if body.school_id is None:
            raise ProblemError(
                422,
                "Refused",
                "school_id: a school_visit_plan names its school",
                field="school_id",
                rule="school_plan_names_school",
            )
        # School ids are public bureau codes: an unknown one is a 404, another's a 403.
        where = await school_district(app.pool, body.school_id)
        if where is None:
            raise not_found("school_id", "school")
        require(POLICY, who, Action.file_school, Scope(where, body.school_id))
    cmd = FileFiling(
        district=body.district,
        kind=body.kind,
        year=body.year,
        school_id=body.school_id,
        filed_on=body.filed_on or today(app),
        filed_as=FiledAs.principal if who.role is Role.principal else FiledAs.bureau_officer,
    )
    filings = Filings(app.writer, app.pool)

    async def decide() -> list[Any]:
        return list(await filings.file(cmd))

    # The key's owner is kept as a mark, never the caller's pseudonym (the city keeps no one).
    owner = replace(who, subject=caller_mark(app.settings.mark_secret(), who.subject))
    answer = await idempotency.decided(
        app.transactions,
        request,
        owner,
        idempotency_key,
        decide,
        filing_id=filing_id(cmd.district, cmd.kind, cmd.year, cmd.school_id),
    )
    if answer.status_code == 200:
        answer.status_code = 201  # filed (or, for a key seen before, the same filing's answer)
    return answer


@router.get("/filings")
@guard(POLICY, Action.city_read)
async def city_filings(app: App, who: Caller, as_of: AsOf = None) -> dict[str, Any]:
    require(POLICY, who, Action.city_read, Scope())
    day = today(app, as_of)
    return _rows(day, await filing_status.filings(app.pool, app.settings, day))


@router.get("/districts/{district}/filings")
@guard(POLICY, Action.district_read)
async def district_filings(
    district: DistrictId, app: App, who: Caller, as_of: AsOf = None
) -> dict[str, Any]:
    # Another district's, and one the city never heard of: the same 404.
    missing = not_found("district", "district")
    if not POLICY.authorize(who, Action.district_read, Scope(district)).allowed:
        raise missing
    if not await filing_status.known_district(app.pool, district):
        raise missing
    day = today(app, as_of)
    rows = await filing_status.district_filings(app.pool, app.settings, district, day)
    return _rows(day, rows)
