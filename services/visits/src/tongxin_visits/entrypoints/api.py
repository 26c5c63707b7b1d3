"""The visits HTTP API (port 8003): record visits, confirm them, keep the follow-up ledger,
read coverage, submit and download monthly reports, set the district's rules.

Every route but ``/health`` and the family's confirmation needs a bearer token whose subject is
the caller's ``staff_ref`` (for school staff); ``tongxin_platform.policy`` decides each call.
The family confirms with the one-time code sent to them: the code is their credential.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import FastAPI, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.visits import ConfirmedBy, MonthlyFigures, Visitor
from tongxin_platform import idempotency
from tongxin_platform.auth import Principal, TokenVerifier, public_key_from_env
from tongxin_platform.eventstore import now_utc
from tongxin_platform.http import Caller, ProblemError, install_auth, install_problem_handlers
from tongxin_platform.http import require as require_rule
from tongxin_platform.policy import Action, Scope
from tongxin_visits.application import export, queries
from tongxin_visits.application.family import FamilyCodeError
from tongxin_visits.application.service import Completion, FindingNote
from tongxin_visits.bootstrap import Visits, bootstrap
from tongxin_visits.config import VisitsSettings
from tongxin_visits.domain.calendar import china_date, report_due, semester_of
from tongxin_visits.domain.model import (
    NotAllowedError,
    UnknownCaseError,
    UnknownVisitError,
    VisitRules,
    VisitsError,
)
from tongxin_visits.entrypoints.bodies import (
    ActionBody,
    AsOf,
    CancelBody,
    CaseId,
    CloseBody,
    CompleteBody,
    District,
    FamilyConfirmBody,
    Month,
    OpenFollowUpBody,
    PlanBody,
    RulesBody,
    ScheduleBody,
    SchoolId,
    SchoolYear,
    Semester,
    VisitId,
)

Key = Annotated[str | None, Header(description="Repeat a command safely: same key, same answer.")]
OptionalClass = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_\-]{1,64}$")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def create_app(settings: VisitsSettings, verifier: TokenVerifier | None = None) -> FastAPI:
    state: dict[str, Visits] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["visits"] = await bootstrap(settings)
        try:
            yield
        finally:
            await state["visits"].close()

    app = FastAPI(
        title="Tongxin visits",
        version="0.1.0",
        lifespan=lifespan,
        description="Home visits (家访): lifecycle, confirmation, follow-up ledger (台账), "
        "coverage rules and monthly statistics (统计表).",
    )
    install_problem_handlers(app)
    install_auth(app, verifier or TokenVerifier(public_key_from_env()))

    def v() -> Visits:
        return state["visits"]

    def today() -> date:
        return china_date(now_utc())

    # --- scope and identity -------------------------------------------------------------

    def require(who: Principal, action: Action, where: Scope) -> None:
        require_rule(who, action, where)

    async def visit_scope(visit_id: str) -> Scope:
        s = await v().service.visit(visit_id)
        if s.status == "new":
            raise ProblemError(404, "Not found", f"visit_id: no visit {visit_id}")
        return Scope(s.district, s.school_id, s.class_id)

    async def school_scope(school_id: str, class_id: str | None = None) -> Scope:
        row = await queries.school(v().pool, school_id)
        if row is None:
            raise ProblemError(404, "Not found", f"school_id: no school {school_id}")
        return Scope(row["district"], school_id, class_id)

    async def staff_of(school_id: str, staff_ref: str, field: str) -> dict[str, Any]:
        row = await queries.staff_member(v().pool, staff_ref)
        if row is None or row["school_id"] != school_id:
            raise ProblemError(
                422 if field != "token" else 403,
                "Not a staff member",
                f"{field}: {staff_ref} is not a staff member of school {school_id}",
            )
        return row

    async def run(
        request: Request,
        who: Principal,
        key: str | None,
        act: Callable[[], Awaitable[dict[str, Any]]],
    ) -> JSONResponse:
        async def go() -> tuple[int, dict[str, Any]]:
            try:
                return 200, jsonable_encoder(await act())
            except (UnknownVisitError, UnknownCaseError) as exc:
                raise ProblemError(404, "Not found", f"{exc.field}: {exc}") from exc
            except NotAllowedError as exc:
                raise ProblemError(403, "Forbidden", f"{exc.field or 'caller'}: {exc}") from exc
            except VisitsError as exc:
                raise ProblemError(
                    422,
                    "Refused",
                    f"{exc.field}: {exc}" if exc.field else str(exc),
                    field=exc.field,
                ) from exc

        return await idempotency.command(v().pool, request, who.subject, key, go)

    def names(events: list[IntegrationEvent]) -> dict[str, Any]:
        return {"events": [e.name for e in events]}

    # --- visits -------------------------------------------------------------------------

    @app.post("/visits", summary="Plan a visit to a student's family")
    async def plan(
        body: PlanBody, request: Request, who: Caller, idempotency_key: Key = None
    ) -> Any:
        student = await queries.student(v().pool, body.student_ref)
        if student is None or not student["enrolled"]:
            raise ProblemError(
                404, "Not found", f"student_ref: no enrolled student {body.student_ref}"
            )
        where = Scope(student["district"], student["school_id"], student["class_id"])
        require(who, Action.visit_record, where)
        await staff_of(student["school_id"], who.subject, "token")

        async def act() -> dict[str, Any]:
            visit_id = await v().service.plan(
                district=student["district"],
                school_id=student["school_id"],
                class_id=student["class_id"],
                student_ref=body.student_ref,
                planned_by=who.subject,
                planned_for=body.planned_for,
            )
            return {"visit_id": visit_id, "events": ["VisitPlanned"]}

        return await run(request, who, idempotency_key, act)

    @app.post("/visits/{visit_id}/schedule", summary="Record the appointment made with the family")
    async def schedule(
        visit_id: VisitId,
        body: ScheduleBody,
        request: Request,
        who: Caller,
        idempotency_key: Key = None,
    ) -> Any:
        require(who, Action.visit_record, await visit_scope(visit_id))
        return await run(
            request,
            who,
            idempotency_key,
            lambda: _named(
                v().service.schedule(visit_id, body.appointment_at, body.mode, who.subject)
            ),
        )

    @app.post("/visits/{visit_id}/complete", summary="Record a visit that took place")
    async def complete(
        visit_id: VisitId,
        body: CompleteBody,
        request: Request,
        who: Caller,
        idempotency_key: Key = None,
    ) -> Any:
        where = await visit_scope(visit_id)
        require(who, Action.visit_record, where)
        assert where.school is not None
        for n, visitor in enumerate(body.visitors):
            member = await staff_of(where.school, visitor.staff_ref, f"visitors.{n}.staff_ref")
            if visitor.role.value not in member["roles"]:
                raise ProblemError(
                    422,
                    "Invalid request",
                    f"visitors.{n}.role: {visitor.staff_ref} is not a {visitor.role.value}"
                    " at this school",
                )
        for n, f in enumerate(body.findings):
            if f.owner_ref:
                await staff_of(where.school, f.owner_ref, f"findings.{n}.owner_ref")
        completion = Completion(
            visitors=tuple(Visitor(staff_ref=x.staff_ref, role=x.role) for x in body.visitors),
            mode=body.mode,
            started_at=body.started_at,
            duration_minutes=body.duration_minutes,
            goals=frozenset(body.goals_covered),
            findings=tuple(FindingNote(f.category, f.measure, f.owner_ref) for f in body.findings),
            suggestions=tuple((s.topic, s.text) for s in body.parent_suggestions),
            notes=body.notes,
            integrity_attested=body.integrity_attested,
        )

        async def act() -> dict[str, Any]:
            events = await v().service.complete(visit_id, who.subject, completion)
            cases = [getattr(e, "case_id", None) for e in events if e.name == "FollowUpOpened"]
            return {**names(events), "case_ids": cases}

        return await run(request, who, idempotency_key, act)

    @app.post("/visits/{visit_id}/cancel", summary="Cancel a planned or scheduled visit")
    async def cancel(
        visit_id: VisitId,
        body: CancelBody,
        request: Request,
        who: Caller,
        idempotency_key: Key = None,
    ) -> Any:
        require(who, Action.visit_record, await visit_scope(visit_id))
        return await run(
            request,
            who,
            idempotency_key,
            lambda: _named(v().service.cancel(visit_id, body.reason, who.subject)),
        )

    @app.post("/visits/{visit_id}/confirm", summary="Confirm, as a co-visitor, that it took place")
    async def confirm(
        visit_id: VisitId, request: Request, who: Caller, idempotency_key: Key = None
    ) -> Any:
        require(who, Action.visit_confirm, await visit_scope(visit_id))
        return await run(
            request,
            who,
            idempotency_key,
            lambda: _named(v().service.confirm(visit_id, ConfirmedBy.co_visitor, who.subject)),
        )

    @app.post("/visits/{visit_id}/family-code", summary="Send the family a one-time code")
    async def family_code(
        visit_id: VisitId, request: Request, who: Caller, idempotency_key: Key = None
    ) -> Any:
        require(who, Action.visit_record, await visit_scope(visit_id))

        async def act() -> dict[str, Any]:
            issued = await v().service.issue_family_code(
                visit_id, timedelta(days=settings.family_code_days)
            )
            # The code itself is never in the answer: the teacher must not hold it.
            return {"sent_to_guardians": issued.recipients, "expires_at": issued.expires_at}

        return await run(request, who, idempotency_key, act)

    @app.post(
        "/visits/{visit_id}/family-confirmation",
        summary="The family confirms the visit with its one-time code (no token: the code is "
        "the credential)",
    )
    async def family_confirmation(visit_id: VisitId, body: FamilyConfirmBody) -> Any:
        await visit_scope(visit_id)
        try:
            events = await v().service.confirm_by_family(
                visit_id, body.code, settings.family_code_attempts
            )
        except FamilyCodeError as exc:
            status = 429 if exc.attempts_left <= 0 else 422
            raise ProblemError(
                status, "Code refused", f"code: {exc}", attempts_left=exc.attempts_left
            ) from exc
        except VisitsError as exc:
            raise ProblemError(422, "Refused", str(exc)) from exc
        return names(events)

    @app.get("/visits/{visit_id}", summary="One visit as the board shows it")
    async def get_visit(visit_id: VisitId, who: Caller) -> Any:
        require(who, Action.visit_read, await visit_scope(visit_id))
        row = await queries.visit(v().pool, visit_id)
        if row is None:  # recorded, not yet projected
            raise ProblemError(404, "Not found", f"visit_id: {visit_id} is not on the board yet")
        return jsonable_encoder(row)

    @app.get("/schools/{school_id}/visits", summary="Visits of a school or one of its classes")
    async def school_visits(
        school_id: SchoolId,
        who: Caller,
        class_id: OptionalClass = None,
        status: Annotated[
            str | None, Query(pattern="^(planned|scheduled|completed|cancelled)$")
        ] = None,
        confirmed: bool | None = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    ) -> Any:
        class_id = class_id or who.class_id  # a head teacher: their class
        require(who, Action.visit_read, await school_scope(school_id, class_id))
        return jsonable_encoder(
            await queries.visits(
                v().pool,
                school_id=school_id,
                class_id=class_id,
                status=status,
                confirmed=confirmed,
                limit=limit,
            )
        )

    @app.get("/schools/{school_id}/staff", summary="Staff of a school (pseudonyms and roles)")
    async def staff(school_id: SchoolId, who: Caller) -> Any:
        require(who, Action.visit_read, await school_scope(school_id))
        return await queries.school_staff(v().pool, school_id)

    # --- follow-up ledger ---------------------------------------------------------------

    async def case_scope(case_id: str) -> Scope:
        s = await v().service.case(case_id)
        if s.status == "new":
            raise ProblemError(404, "Not found", f"case_id: no follow-up case {case_id}")
        return Scope(s.district, s.school_id, s.class_id)

    @app.post("/visits/{visit_id}/followups", summary="Open a follow-up case from a visit")
    async def open_followup(
        visit_id: VisitId,
        body: OpenFollowUpBody,
        request: Request,
        who: Caller,
        idempotency_key: Key = None,
    ) -> Any:
        where = await visit_scope(visit_id)
        require(who, Action.followup_manage, where)
        assert where.school is not None
        assert where.district is not None
        owner = body.owner_ref or who.subject
        await staff_of(where.school, owner, "owner_ref")
        rules = await v().service.rules(where.district)
        due = body.due_date or today() + timedelta(days=rules.followup_due_days)

        async def act() -> dict[str, Any]:
            case_id = await v().service.open_followup(
                visit_id,
                measure=body.measure,
                category=body.category,
                owner_ref=owner,
                due_date=due,
            )
            return {"case_id": case_id, "events": ["FollowUpOpened"]}

        return await run(request, who, idempotency_key, act)

    @app.post("/followups/{case_id}/actions", summary="Record an action taken on a case")
    async def followup_action(
        case_id: CaseId,
        body: ActionBody,
        request: Request,
        who: Caller,
        idempotency_key: Key = None,
    ) -> Any:
        require(who, Action.followup_manage, await case_scope(case_id))
        return await run(
            request,
            who,
            idempotency_key,
            lambda: _named(
                v().service.record_action(case_id, who.subject, body.taken_on, body.description)
            ),
        )

    @app.post("/followups/{case_id}/close", summary="Close a case")
    async def followup_close(
        case_id: CaseId, body: CloseBody, request: Request, who: Caller, idempotency_key: Key = None
    ) -> Any:
        require(who, Action.followup_manage, await case_scope(case_id))
        return await run(
            request,
            who,
            idempotency_key,
            lambda: _named(
                v().service.close_followup(case_id, body.outcome, who.subject, body.closed_on)
            ),
        )

    @app.get("/schools/{school_id}/followups", summary="The follow-up ledger (台账)")
    async def ledger(
        school_id: SchoolId,
        who: Caller,
        class_id: OptionalClass = None,
        status: Annotated[str | None, Query(pattern="^(open|closed|overdue)$")] = None,
    ) -> Any:
        class_id = class_id or who.class_id  # a head teacher: their class
        require(who, Action.visit_read, await school_scope(school_id, class_id))
        return jsonable_encoder(
            await queries.followups(
                v().pool, school_id=school_id, today=today(), class_id=class_id, status=status
            )
        )

    # --- coverage -----------------------------------------------------------------------

    async def evaluate(
        where: Scope,
        school_year: str | None,
        semester: int | None,
        as_of: date | None,
        class_id: str | None,
    ) -> Any:
        assert where.district is not None
        assert where.school is not None
        day = as_of or today()
        current = semester_of(day)
        return await queries.coverage(
            v().pool,
            where.school,
            school_year=school_year or current.school_year,
            semester=semester or current.semester,
            as_of=day,
            rules=await queries.rules(v().pool, where.district),
            class_id=class_id,
        )

    @app.get("/schools/{school_id}/coverage", summary="Coverage per student, class and teacher")
    async def school_coverage(
        school_id: SchoolId,
        who: Caller,
        school_year: SchoolYear = None,
        semester: Semester = None,
        as_of: AsOf = None,
        class_id: OptionalClass = None,
    ) -> Any:
        class_id = class_id or who.class_id  # a head teacher: their class
        where = await school_scope(school_id, class_id)
        require(who, Action.coverage_read, where)
        return jsonable_encoder(
            asdict(await evaluate(where, school_year, semester, as_of, class_id))
        )

    @app.get("/districts/{district}/coverage", summary="Coverage per school (no student)")
    async def district_coverage(
        district: District,
        who: Caller,
        school_year: SchoolYear = None,
        semester: Semester = None,
        as_of: AsOf = None,
    ) -> Any:
        require(who, Action.coverage_aggregate_read, Scope(district))
        out = []
        for s in await queries.district_schools(v().pool, district):
            cov = await evaluate(
                Scope(district, s["school_id"]), school_year, semester, as_of, None
            )
            out.append(
                {
                    "school_id": s["school_id"],
                    "school_name": s["school_name"],
                    "school_year": cov.year.school_year,
                    "semester": cov.semester.semester,
                    "as_of": cov.as_of,
                    **asdict(cov.school),
                    "staff": [
                        {"role": x.role, **asdict(x.requirement)}
                        for x in cov.staff
                        if x.role != "head_teacher"
                    ],
                }
            )
        return jsonable_encoder(out)

    # --- monthly reports and rules ------------------------------------------------------

    async def report_view(school_id: str, month: str, who: Principal) -> export.ReportView:
        where = await school_scope(school_id)
        require(who, Action.report_read, where)
        assert where.district is not None
        school = await queries.school(v().pool, school_id)
        submitted = await queries.submitted_report(v().pool, school_id, month)
        rules = await queries.rules(v().pool, where.district)
        if submitted is not None:
            return export.ReportView(
                where.district,
                school_id,
                school["school_name"] if school else school_id,
                month,
                "submitted",
                submitted["revision"],
                submitted["due_date"],
                submitted["submitted_at"],
                submitted["late"],
                MonthlyFigures.model_validate(submitted["figures"]),
            )
        return export.ReportView(
            where.district,
            school_id,
            school["school_name"] if school else school_id,
            month,
            "draft",
            0,
            report_due(month, rules.report_due_day),
            None,
            None,
            await v().service.figures(school_id, month),
        )

    @app.get("/schools/{school_id}/reports/{month}", summary="Monthly statistics (JSON)")
    async def report(school_id: SchoolId, month: Month, who: Caller) -> Any:
        view = await report_view(school_id, month, who)
        body = export.report_json(view)
        if view.status == "submitted":
            body["current_figures"] = (await v().service.figures(school_id, month)).model_dump()
        return body

    @app.get("/schools/{school_id}/reports/{month}/xlsx", summary="Monthly statistics (xlsx)")
    async def report_xlsx(school_id: SchoolId, month: Month, who: Caller) -> Response:
        view = await report_view(school_id, month, who)
        return Response(
            export.report_xlsx(view),
            media_type=XLSX,
            headers={
                "Content-Disposition": f'attachment; filename="visits-{school_id}-{month}.xlsx"'
            },
        )

    @app.post("/schools/{school_id}/reports/{month}/submit", summary="Submit the month's report")
    async def submit(
        school_id: SchoolId,
        month: Month,
        request: Request,
        who: Caller,
        idempotency_key: Key = None,
    ) -> Any:
        where = await school_scope(school_id)
        require(who, Action.report_submit, where)
        assert where.district is not None
        district = where.district

        async def act() -> dict[str, Any]:
            events = await v().service.submit_report(district, school_id, month, who.subject)
            return {**names(events), **({"report": events[0].model_dump()} if events else {})}

        return await run(request, who, idempotency_key, act)

    @app.get("/districts/{district}/reports/{month}", summary="Which schools reported, late or not")
    async def district_reports(district: District, month: Month, who: Caller) -> Any:
        require(who, Action.report_read, Scope(district))
        rules = await queries.rules(v().pool, district)
        return jsonable_encoder(
            await queries.district_reports(v().pool, district, month, today=today(), rules=rules)
        )

    @app.get("/districts/{district}/rules", summary="The district's visit rules")
    async def get_rules(district: District, who: Caller) -> Any:
        require(who, Action.coverage_aggregate_read, Scope(district))
        return asdict(await v().service.rules(district))

    @app.put("/districts/{district}/rules", summary="Set the district's visit rules")
    async def put_rules(
        district: District,
        body: RulesBody,
        request: Request,
        who: Caller,
        idempotency_key: Key = None,
    ) -> Any:
        require(who, Action.visit_rules_set, Scope(district))
        rules = VisitRules(**body.model_dump())
        return await run(
            request,
            who,
            idempotency_key,
            lambda: _named(v().service.set_rules(district, rules, who.subject)),
        )

    @app.get("/family-inbox", summary="Messages sent to families (development SMS stand-in)")
    async def family_inbox(
        who: Caller, visit_id: Annotated[str, Query(pattern=r"^[A-Za-z0-9_\-]{1,64}$")]
    ) -> Any:
        require(who, Action.family_inbox_read, await visit_scope(visit_id))
        rows = await v().pool.fetch(
            "SELECT guardian_ref, visit_id, message, sent_at FROM family_inbox"
            " WHERE visit_id = $1 ORDER BY id",
            visit_id,
        )
        return jsonable_encoder([dict(r) for r in rows])

    @app.get("/health", summary="Liveness and database reachability (no token needed)")
    async def health() -> dict[str, str]:
        await v().pool.fetchval("SELECT 1")
        return {"status": "ok"}

    return app


async def _named(events: Awaitable[list[IntegrationEvent]]) -> dict[str, Any]:
    return {"events": [e.name for e in await events]}


def create_app_from_env() -> FastAPI:
    return create_app(VisitsSettings())
