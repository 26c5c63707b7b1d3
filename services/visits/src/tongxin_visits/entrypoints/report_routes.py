"""Routes of coverage (per school and per district), the monthly statistics (统计表) and the
district's rules."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response

from tongxin_contracts.calendar import report_due, semester_of
from tongxin_contracts.events.visits import MonthlyFigures
from tongxin_platform.auth import Principal
from tongxin_platform.edge import guard, service_router
from tongxin_platform.fields import AsOf, Key
from tongxin_platform.fields import SchoolYearQuery as SchoolYear
from tongxin_platform.http import Caller, require
from tongxin_platform.policy import Scope
from tongxin_visits.application import export, queries
from tongxin_visits.application.policy import POLICY, Action
from tongxin_visits.bootstrap import Visits
from tongxin_visits.domain.coverage import SchoolCoverage
from tongxin_visits.domain.model import VisitRules
from tongxin_visits.entrypoints.bodies import (
    District,
    Month,
    RulesBody,
    SchoolId,
    Semester,
)
from tongxin_visits.entrypoints.deps import App, OptionalClass, named, run, school_scope, today

router = service_router(tags=["coverage and reports"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def evaluate(
    app: Visits,
    where: Scope,
    school_year: str | None,
    semester: int | None,
    as_of: date | None,
    class_id: str | None = None,
) -> SchoolCoverage:
    assert where.district is not None
    assert where.school is not None
    day = as_of or today()
    current = semester_of(day)
    return await queries.coverage(
        app.pool,
        where.school,
        school_year=school_year or current.school_year,
        semester=semester or current.semester,
        as_of=day,
        rules=await queries.rules(app.pool, where.district),
        class_id=class_id,
    )


@router.get("/schools/{school_id}/coverage", summary="Coverage per student, class and teacher")
async def school_coverage(
    school_id: SchoolId,
    who: Caller,
    app: App,
    school_year: SchoolYear = None,
    semester: Semester = None,
    as_of: AsOf = None,
    class_id: OptionalClass = None,
) -> Any:
    class_id = class_id or who.class_id  # a head teacher: their class
    where = await school_scope(app, school_id, class_id)
    require(POLICY, who, Action.coverage_read, where)
    coverage = await evaluate(app, where, school_year, semester, as_of, class_id)
    return jsonable_encoder(asdict(coverage))


@router.get("/districts/{district}/coverage", summary="Coverage per school (no student)")
async def district_coverage(
    district: District,
    who: Caller,
    app: App,
    school_year: SchoolYear = None,
    semester: Semester = None,
    as_of: AsOf = None,
) -> Any:
    require(POLICY, who, Action.coverage_aggregate_read, Scope(district))
    out = []
    for s in await queries.district_schools(app.pool, district):
        cov = await evaluate(app, Scope(district, s["school_id"]), school_year, semester, as_of)
        out.append(
            {
                "school_id": s["school_id"],
                "school_name": s["school_name"],
                "school_year": cov.year.school_year,
                "semester": cov.semester.semester,
                "as_of": cov.as_of,
                **asdict(cov.school),
                # Leaders' quotas as counts; head teachers are people of a class: not here.
                "staff": [
                    {"role": x.role, **asdict(x.requirement)}
                    for x in cov.staff
                    if x.role != "head_teacher"
                ],
            }
        )
    return jsonable_encoder(out)


async def report_view(app: Visits, school_id: str, month: str, who: Principal) -> export.ReportView:
    where = await school_scope(app, school_id)
    require(POLICY, who, Action.report_read, where)
    assert where.district is not None
    school = await queries.school(app.pool, school_id)
    name = school["school_name"] if school else school_id
    submitted = await queries.submitted_report(app.pool, school_id, month)
    if submitted is not None:
        return export.ReportView(
            where.district,
            school_id,
            name,
            month,
            "submitted",
            submitted["revision"],
            submitted["due_date"],
            submitted["submitted_at"],
            submitted["late"],
            MonthlyFigures.model_validate(submitted["figures"]),
        )
    rules = await queries.rules(app.pool, where.district)
    figures = await app.service.reports.figures(
        school_id, month, await queries.special_students(app.pool, school_id)
    )
    due = report_due(month, rules.report_due_day)
    return export.ReportView(
        where.district, school_id, name, month, "draft", 0, due, None, None, figures
    )


@router.get("/schools/{school_id}/reports/{month}", summary="Monthly statistics (JSON)")
async def report(school_id: SchoolId, month: Month, who: Caller, app: App) -> Any:
    view = await report_view(app, school_id, month, who)
    body = export.report_json(view)
    if view.status == "submitted":
        special = await queries.special_students(app.pool, school_id)
        now = await app.service.reports.figures(school_id, month, special)
        body["current_figures"] = now.model_dump()
    return body


@router.get("/schools/{school_id}/reports/{month}/xlsx", summary="Monthly statistics (xlsx)")
async def report_xlsx(school_id: SchoolId, month: Month, who: Caller, app: App) -> Response:
    view = await report_view(app, school_id, month, who)
    return Response(
        export.report_xlsx(view),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="visits-{school_id}-{month}.xlsx"'},
    )


@router.post("/schools/{school_id}/reports/{month}/submit", summary="Submit the month's report")
@guard(POLICY, Action.report_submit)
async def submit(
    school_id: SchoolId,
    month: Month,
    request: Request,
    who: Caller,
    app: App,
    idempotency_key: Key = None,
) -> Any:
    where = await school_scope(app, school_id)
    require(POLICY, who, Action.report_submit, where)
    assert where.district is not None
    district = where.district

    async def act() -> dict[str, Any]:
        special = await queries.special_students(app.pool, school_id)
        events = await app.service.reports.submit(district, school_id, month, who.subject, special)
        out: dict[str, Any] = {"events": [e.name for e in events]}
        if events:
            out["report"] = events[0].model_dump()
        return out

    return await run(app, request, who, idempotency_key, act)


@router.get("/districts/{district}/reports/{month}", summary="Which schools reported, late or not")
async def district_reports(district: District, month: Month, who: Caller, app: App) -> Any:
    require(POLICY, who, Action.report_read, Scope(district))
    rules = await queries.rules(app.pool, district)
    rows = await queries.district_reports(app.pool, district, month, today=today(), rules=rules)
    return jsonable_encoder(rows)


@router.get("/districts/{district}/rules", summary="The district's visit rules")
async def get_rules(district: District, who: Caller, app: App) -> Any:
    require(POLICY, who, Action.coverage_aggregate_read, Scope(district))
    return asdict(await app.service.reports.rules(district))


@router.put("/districts/{district}/rules", summary="Set the district's visit rules")
@guard(POLICY, Action.visit_rules_set)
async def put_rules(
    district: District,
    body: RulesBody,
    request: Request,
    who: Caller,
    app: App,
    idempotency_key: Key = None,
) -> Any:
    require(POLICY, who, Action.visit_rules_set, Scope(district))
    rules = VisitRules(**body.model_dump())
    return await run(
        app,
        request,
        who,
        idempotency_key,
        lambda: named(app.service.reports.set_rules(district, rules, who.subject)),
    )
