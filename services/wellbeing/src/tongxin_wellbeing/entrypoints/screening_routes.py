"""Routes of screening: a district's instruments, a school's yearly campaign and its offers,
consent, screenings (scored by the service from the item answers), coverage.

A result is a *screening*, never a diagnosis: every answer that carries one says
``"label": "screening"``. Item answers and totals stay in this service: the commands answer them
to the screener, the student's record shows them to the school's wellbeing team (each read in
the access log), and the events on ``wellbeing.events`` carry none.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tongxin_contracts import Sealed
from tongxin_contracts.events.wellbeing import Band, ConsentDecision, ConsentGivenBy, RiskFlag
from tongxin_platform import access
from tongxin_platform.auth import Principal
from tongxin_platform.edge import guard, service_router
from tongxin_platform.fields import Day, DistrictId, Key, Ref, SchoolId, SchoolYear
from tongxin_platform.fields import SchoolYearPath as YearPath
from tongxin_platform.fields import SchoolYearQuery as YearQuery
from tongxin_platform.http import Caller, ProblemError, not_found, require
from tongxin_platform.policy import Scope
from tongxin_wellbeing.application import queries, screening_queries
from tongxin_wellbeing.application.policy import POLICY, Action
from tongxin_wellbeing.application.screening import (
    builtin_instruments,
    reveal,
    student_results,
)
from tongxin_wellbeing.domain.calendar import china_date, school_year_of
from tongxin_wellbeing.domain.instruments import DefineInstrument, Instrument
from tongxin_wellbeing.domain.screening import RecordConsent, Student
from tongxin_wellbeing.entrypoints.deps import (
    App,
    StudentRef,
    run,
    school_scope_for,
    student_scope_for,
)

router = service_router(tags=["screening"])

INSTRUMENT_ID = r"^[a-z][a-z0-9_\-]{1,39}$"
InstrumentId = Annotated[str, StringConstraints(pattern=INSTRUMENT_ID)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BandBody(_Body):
    label: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="Name of the band.")
    low: int = Field(ge=0, le=1000, description="Lowest total in the band.")
    high: int = Field(ge=0, le=1000, description="Highest total in the band.")
    flag: RiskFlag | None = Field(default=None, description="Flag a total in the band raises.")


class InstrumentBody(_Body):
    instrument_id: InstrumentId = Field(description="The district's id for it (not phq9/gad7).")
    title: str = Field(
        min_length=1, max_length=200, pattern=r"^[^\x00]*$", description="Display name."
    )
    items: int = Field(ge=1, le=100, description="Number of items.")
    max_answer: int = Field(ge=1, le=10, description="Highest answer to one item (from 0).")
    bands: list[BandBody] = Field(
        min_length=1, max_length=50, description="Bands of the total, in order, from 0."
    )
    self_harm_items: list[Annotated[int, Field(ge=1, le=100)]] = Field(
        default_factory=list,
        max_length=100,
        description="1-based items where any answer above 0 is an immediate high-risk flag.",
    )


class CampaignBody(_Body):
    school_year: SchoolYear = Field(description="School year, e.g. 2026-2027.")
    instruments: list[InstrumentId] = Field(
        min_length=1, max_length=10, description="Ids of the instruments the campaign uses."
    )
    exam_from: Day = Field(description="First day of the school's physical examination.")
    exam_to: Day = Field(description="Last day of the physical examination.")


class ConsentBody(_Body):
    school_year: SchoolYear = Field(description="School year, e.g. 2026-2027.")
    decision: ConsentDecision = Field(description="Consented or refused.")
    given_by: ConsentGivenBy = Field(description="A guardian, or the student (14 or over).")
    guardian_ref: Ref | None = Field(
        default=None, description="The guardian who decided (one of the student's, roster)."
    )


class ScreeningBody(_Body):
    school_year: SchoolYear = Field(description="School year, e.g. 2026-2027.")
    instrument_id: InstrumentId = Field(description="The instrument used.")
    # Each answer's range is the instrument's: the service checks it (``answers.N``).
    answers: list[int] = Field(
        max_length=100, description="Item answers in item order (each from 0 to max_answer)."
    )
    completed_on: Day | None = Field(
        default=None, description="The day of the screening (default: today, China time)."
    )


def _instrument(i: Instrument) -> dict[str, Any]:
    return {
        "instrument_id": i.instrument_id,
        "title": i.title,
        "revision": i.revision,
        "builtin": i.builtin,
        "items": i.items,
        "max_answer": i.max_answer,
        "bands": [b.model_dump(mode="json") for b in i.bands],
        "self_harm_items": list(i.self_harm_items),
        "reference": i.reference or None,
    }


def _student(row: dict[str, Any]) -> Student:
    return Student(
        row["student_ref"],
        row["district"],
        row["school_id"],
        bool(row["enrolled"]),
        row["age_band"],
        tuple(row["guardian_refs"]),
    )


def _names(events: list[Any]) -> list[str]:
    return [e.name for e in events]


# --- instruments ----------------------------------------------------------------------------


@router.post(
    "/districts/{district}/instruments", summary="Define (or revise) a district's own instrument"
)
@guard(POLICY, Action.instrument_define)
async def define_instrument(
    district: DistrictId,
    body: InstrumentBody,
    request: Request,
    who: Caller,
    app: App,
    idempotency_key: Key = None,
) -> Any:
    require(POLICY, who, Action.instrument_define, Scope(district))
    cmd = DefineInstrument(
        district,
        body.instrument_id,
        body.title,
        body.items,
        body.max_answer,
        tuple(Band(**b.model_dump()) for b in body.bands),
        tuple(body.self_harm_items),
        frozenset(builtin_instruments()),
    )

    async def act() -> dict[str, Any]:
        events = await app.service.screening.define_instrument(cmd)
        found = await app.service.screening.instrument(district, body.instrument_id)
        assert found is not None
        return {
            "events": _names(events),
            "instrument_id": found.instrument_id,
            "revision": found.revision,
        }

    return await run(app, request, who, idempotency_key, act)


@router.get(
    "/districts/{district}/instruments", summary="The instruments a district's schools may use"
)
@guard(POLICY, Action.instrument_read)
async def list_instruments(district: DistrictId, who: Caller, app: App) -> Any:
    # Any caller of the district (a school's team too) sees the district's instruments.
    require(POLICY, who, Action.instrument_read, Scope(district, who.school, who.class_id))
    own = await screening_queries.district_instruments(app.pool, district)
    shipped = [_instrument(i) for i in builtin_instruments().values()]
    return jsonable_encoder(
        {
            "district": district,
            "instruments": shipped + [{**r, "builtin": False, "reference": None} for r in own],
        }
    )


# --- campaigns ------------------------------------------------------------------------------


@router.post(
    "/schools/{school_id}/campaigns", summary="Open the school's screening campaign for a year"
)
@guard(POLICY, Action.campaign_manage)
async def open_campaign(
    school_id: SchoolId,
    body: CampaignBody,
    request: Request,
    who: Caller,
    app: App,
    idempotency_key: Key = None,
) -> Any:
    where = await school_scope_for(app, who, Action.campaign_manage, school_id)
    assert where.district is not None

    async def act() -> dict[str, Any]:
        events = await app.service.screening.open_campaign(
            district=where.district or "",
            school_id=school_id,
            school_year=body.school_year,
            instruments=body.instruments,
            exam_from=body.exam_from,
            exam_to=body.exam_to,
        )
        return {"events": _names(events), "school_id": school_id, "school_year": body.school_year}

    return await run(app, request, who, idempotency_key, act)


@router.post(
    "/schools/{school_id}/campaigns/{school_year}/offers",
    summary="Offer the year's screening to every enrolled student not yet offered",
)
@guard(POLICY, Action.campaign_manage)
async def offer(
    school_id: SchoolId,
    school_year: YearPath,
    request: Request,
    who: Caller,
    app: App,
    idempotency_key: Key = None,
) -> Any:
    await school_scope_for(app, who, Action.campaign_manage, school_id)
    students = [_student(r) for r in await queries.enrolled_students(app.pool, school_id)]

    async def act() -> dict[str, Any]:
        events = await app.service.screening.offer_all(school_id, school_year, students)
        return {"events": _names(events), "offered": len(events)}

    return await run(app, request, who, idempotency_key, act)


@router.get(
    "/schools/{school_id}/campaigns/{school_year}/coverage",
    summary="The campaign's coverage: enrolled, offered, consented, refused, screened",
)
@guard(POLICY, Action.coverage_read)
async def coverage(school_id: SchoolId, school_year: YearPath, who: Caller, app: App) -> Any:
    await school_scope_for(app, who, Action.coverage_read, school_id)
    found = await screening_queries.campaign(app.pool, school_id, school_year)
    if found is None:
        raise not_found("school_year", "campaign")
    figures = await screening_queries.school_coverage(app.pool, school_id, school_year)
    return jsonable_encoder({"campaign": found, **figures})


@router.get(
    "/districts/{district}/screening-coverage",
    summary="The district's screening coverage, one row per school (no student)",
)
@guard(POLICY, Action.coverage_read)
async def district_coverage(
    district: DistrictId, who: Caller, app: App, school_year: YearQuery = None
) -> Any:
    require(POLICY, who, Action.coverage_read, Scope(district))
    year = school_year or school_year_of(china_date(app.service.writer.clock()))
    schools = await screening_queries.district_coverage(app.pool, district, year)
    return {
        "district": district,
        "school_year": year,
        "schools": schools,
        "schools_with_full_coverage": sum(1 for s in schools if s["full_coverage"]),
    }


# --- one student ----------------------------------------------------------------------------


async def _located_student(app: App, who: Principal, action: Action, ref: str) -> Student:
    await student_scope_for(app, who, action, ref)
    row = await queries.student(app.pool, ref)
    if row is None:
        raise not_found("student_ref", "student")
    return _student(row)


@router.post("/students/{student_ref}/consents", summary="Record a consent or refusal for a year")
@guard(POLICY, Action.consent_record)
async def record_consent(
    student_ref: StudentRef,
    body: ConsentBody,
    request: Request,
    who: Caller,
    app: App,
    idempotency_key: Key = None,
) -> Any:
    student = await _located_student(app, who, Action.consent_record, student_ref)
    cmd = RecordConsent(student, body.school_year, body.decision, body.given_by, body.guardian_ref)

    async def act() -> dict[str, Any]:
        events = await app.service.screening.record_consent(cmd)
        return {"events": _names(events)}

    return await run(app, request, who, idempotency_key, act)


@router.post(
    "/students/{student_ref}/screenings",
    summary="Record a screening: item answers, scored by the service (a screening, never a "
    "diagnosis)",
)
@guard(POLICY, Action.screening_record)
async def record_screening(
    student_ref: StudentRef,
    body: ScreeningBody,
    request: Request,
    who: Caller,
    app: App,
    idempotency_key: Key = None,
) -> Any:
    student = await _located_student(app, who, Action.screening_record, student_ref)
    instrument = await app.service.screening.instrument(student.district, body.instrument_id)
    if instrument is None:
        raise ProblemError(
            422,
            "Refused",
            f"instrument_id: no instrument {body.instrument_id} in the district",
            field="instrument_id",
            rule="instrument_known",
        )

    async def act() -> dict[str, Any]:
        done, sealed = await app.service.screening.record_screening(
            student=student,
            school_year=body.school_year,
            instrument=instrument,
            answers=body.answers,
            completed_on=body.completed_on,
            recorded_by=who.subject,
        )
        completed = done.events[0]
        # Remembered for the Idempotency-Key as it is: the total and the self-harm flag only
        # sealed (erasing the student shreds them there too), opened below for the screener.
        return {
            "events": _names(done.events),
            "screening_id": getattr(completed, "screening_id", None),
            "instrument_id": instrument.instrument_id,
            "completed_on": done.completed_on,
            "band": done.score.band,
            "risk": done.score.risk,
            "label": "screening",
            SEALED_RESULT: sealed.model_dump(mode="json"),
        }

    answer = await run(app, request, who, idempotency_key, act)
    return await _opened(app, answer)


SEALED_RESULT = "sealed_result"


async def _opened(app: App, answer: JSONResponse) -> JSONResponse:
    """The command's answer (first or replayed) with its sealed result opened: the total and
    whether a self-harm item was positive (``null`` once the student was erased)."""
    if answer.status_code != 200:
        return answer
    body = json.loads(bytes(answer.body))
    sealed = body.pop(SEALED_RESULT, None)
    if sealed is None:
        return answer
    async with app.transactions.read() as uow:
        opened = await reveal(uow, Sealed.model_validate(sealed))
    body["total"] = opened["total"] if opened else None
    body["self_harm_item_positive"] = opened["self_harm"] if opened else None
    headers = {k: v for k, v in answer.headers.items() if k.lower() != "content-length"}
    return JSONResponse(body, status_code=200, headers=headers)


@router.get(
    "/students/{student_ref}/screenings",
    summary="A student's screenings with their answers (restricted; each read is logged)",
)
@guard(POLICY, Action.record_read)
async def student_screenings(student_ref: StudentRef, who: Caller, app: App) -> Any:
    # A hospital's scope is the students referred to it (``student_scope_for``): the receiving
    # hospital sees their screenings; any other student is answered like a missing one.
    where = await student_scope_for(app, who, Action.record_read, student_ref)
    async with app.transactions.begin() as uow:
        results = await student_results(uow, student_ref)
        await access.log_reads(
            uow.conn, who, Action.record_read.value, [student_ref], district=where.district or ""
        )
    years = await screening_queries.student_years(app.pool, student_ref)
    return jsonable_encoder(
        {"student_ref": student_ref, "label": "screening", "years": years, "screenings": results}
    )
