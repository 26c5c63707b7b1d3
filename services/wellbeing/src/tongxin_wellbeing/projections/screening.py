"""Screening in the read model: the districts' own instruments, the schools' campaigns, and each
student's year (offered, the latest consent decision, screened) — what coverage counts. No
score: the results live in the service's own table (``screening_results``), not here."""

from __future__ import annotations

import json

from tongxin_contracts.events.wellbeing import (
    ConsentRecorded,
    InstrumentDefined,
    ScreeningCampaignOpened,
    ScreeningCompleted,
    ScreeningFlagged,
    ScreeningOffered,
)
from tongxin_platform.projection import Add, Changes, Projection, Table

T, NN = "text", "text NOT NULL"
TABLES = [
    Table(
        "instruments",
        ("district", "instrument_id"),
        {
            "district": T,
            "instrument_id": T,
            "title": NN,
            "revision": "integer NOT NULL",
            "items": "integer NOT NULL",
            "max_answer": "integer NOT NULL",
            "bands": "jsonb NOT NULL",
            "self_harm_items": "integer[] NOT NULL DEFAULT '{}'",
        },
    ),
    Table(
        "campaigns",
        ("school_id", "school_year"),
        {
            "school_id": T,
            "school_year": T,
            "district": NN,
            "instruments": "text[] NOT NULL",
            "exam_from": "date NOT NULL",
            "exam_to": "date NOT NULL",
        },
        indexes={"campaigns_by_district": "(district, school_year)"},
    ),
    Table(
        "screening_years",
        ("student_ref", "school_year"),
        {
            "student_ref": T,
            "school_year": T,
            "district": NN,
            "school_id": NN,
            "offered": "boolean NOT NULL DEFAULT false",
            "consent": T,  # the latest decision: consented / refused; NULL: none recorded
            "screenings": "integer NOT NULL DEFAULT 0",
            "flags": "integer NOT NULL DEFAULT 0",
        },
        indexes={"screening_years_by_school": "(school_id, school_year)"},
    ),
]


def register(p: Projection) -> None:
    """The handlers of screening's events, on the service's one read model."""

    @p.on(InstrumentDefined)
    def _(e: InstrumentDefined, rows: Changes) -> None:
        rows["instruments"].upsert(
            (e.district, e.instrument_id),
            title=e.title,
            revision=e.revision,
            items=e.items,
            max_answer=e.max_answer,
            bands=json.dumps([b.model_dump(mode="json") for b in e.bands]),
            self_harm_items=list(e.self_harm_items),
        )

    @p.on(ScreeningCampaignOpened)
    def _(e: ScreeningCampaignOpened, rows: Changes) -> None:
        rows["campaigns"].upsert(
            (e.school_id, e.school_year),
            district=e.district,
            instruments=list(e.instruments),
            exam_from=e.exam_from,
            exam_to=e.exam_to,
        )

    @p.on(ScreeningOffered)
    def _(e: ScreeningOffered, rows: Changes) -> None:
        rows["screening_years"].upsert(
            (e.student_ref, e.school_year), district=e.district, school_id=e.school_id, offered=True
        )

    @p.on(ConsentRecorded)
    def _(e: ConsentRecorded, rows: Changes) -> None:
        rows["screening_years"].upsert(
            (e.student_ref, e.school_year),
            district=e.district,
            school_id=e.school_id,
            offered=True,
            consent=e.decision.value,
        )

    @p.on(ScreeningCompleted)
    def _(e: ScreeningCompleted, rows: Changes) -> None:
        # The row exists: the year's offer (or consent) comes before any screening.
        rows["screening_years"].update((e.student_ref, e.school_year), screenings=Add(1))

    @p.on(ScreeningFlagged)
    def _(e: ScreeningFlagged, rows: Changes) -> None:
        rows["screening_years"].update((e.student_ref, e.school_year), flags=Add(1))
