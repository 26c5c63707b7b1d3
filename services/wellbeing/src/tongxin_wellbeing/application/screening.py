"""Screening commands: a district's instruments, the school's yearly campaign, the offers,
consent, and the screenings — scored here, from the item answers, by the instrument's
definition.

Item answers and totals never leave the service: they are sealed with the student's key (so
that erasing the student shreds them) and stored in the service's own table
``screening_results`` in the command's unit of work; the events carry no score.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import date, datetime
from importlib.resources import files
from typing import Any

from tongxin_contracts import IntegrationEvent, Sealed
from tongxin_contracts.events.wellbeing import (
    campaign_stream,
    instrument_stream,
    screening_stream,
)
from tongxin_platform.commands import Writer, new_events, retrying
from tongxin_platform.uow import UnitOfWork
from tongxin_wellbeing.domain import instruments as defs
from tongxin_wellbeing.domain import screening
from tongxin_wellbeing.domain.campaigns import (
    CampaignState,
    OpenCampaign,
    decide_campaign,
    fold_campaign,
)
from tongxin_wellbeing.domain.errors import UnknownRecordError
from tongxin_wellbeing.domain.instruments import DefineInstrument, Instrument
from tongxin_wellbeing.domain.screening import (
    OfferScreening,
    RecordConsent,
    RecordScreening,
    Screened,
    Student,
)

BUILTIN_FILES = ("phq9.json", "gad7.json")


@functools.cache
def builtin_instruments() -> dict[str, Instrument]:
    """The instruments shipped in the package (``tongxin_wellbeing/instruments/*.json``), read
    and checked on first use — never at import."""
    folder = files("tongxin_wellbeing") / "instruments"
    found: dict[str, Instrument] = {}
    for name in BUILTIN_FILES:
        instrument = defs.from_definition(json.loads((folder / name).read_text("utf-8")))
        found[instrument.instrument_id] = instrument
    return found


class ScreeningCommands:
    def __init__(self, writer: Writer) -> None:
        self.writer = writer

    # --- instruments ------------------------------------------------------------------------

    async def instrument(self, district: str, instrument_id: str) -> Instrument | None:
        """A shipped instrument, or the district's own (its latest revision)."""
        builtin = builtin_instruments().get(instrument_id)
        if builtin is not None:
            return builtin
        return defs.current(await self.writer.history(instrument_stream(district, instrument_id)))

    async def define_instrument(self, cmd: DefineInstrument) -> list[IntegrationEvent]:
        return await self.writer.run(
            instrument_stream(cmd.district, cmd.instrument_id),
            lambda history, _: defs.decide_define(cmd, history),
        )

    # --- campaigns --------------------------------------------------------------------------

    async def campaign(self, school_id: str, school_year: str) -> CampaignState:
        return fold_campaign(await self.writer.history(campaign_stream(school_id, school_year)))

    async def open_campaign(
        self,
        *,
        district: str,
        school_id: str,
        school_year: str,
        instruments: Sequence[str],
        exam_from: date,
        exam_to: date,
    ) -> list[IntegrationEvent]:
        available = {i for i in instruments if await self.instrument(district, i) is not None}
        cmd = OpenCampaign(
            district,
            school_id,
            school_year,
            tuple(instruments),
            exam_from,
            exam_to,
            frozenset(available),
        )
        return await self.writer.run(
            campaign_stream(school_id, school_year),
            lambda history, _: decide_campaign(cmd, fold_campaign(history)),
        )

    async def offer_all(
        self, school_id: str, school_year: str, students: Sequence[Student]
    ) -> list[IntegrationEvent]:
        """Offer the year's screening to every student not yet offered: one load of all their
        streams, one append, in one unit of work (started over after a concurrent change)."""
        if not (await self.campaign(school_id, school_year)).opened:
            raise UnknownRecordError(
                f"no campaign of the school for {school_year}", "school_year", "campaign_open"
            )
        streams = [screening_stream(s.student_ref, school_year) for s in students]
        writer = self.writer

        async def attempt() -> list[IntegrationEvent]:
            now = writer.clock()
            async with writer.transactions.begin() as uow:
                loaded = await uow.events.load(streams)
                decided: list[IntegrationEvent] = []
                batches = []
                for student, stream in zip(students, streams, strict=True):
                    events = screening.decide_offer(
                        OfferScreening(student, school_year), screening.fold(loaded.of(stream))
                    )
                    if events:
                        decided += events
                        batches.append(
                            (
                                stream,
                                loaded.head(stream),
                                new_events(events, now, new_id=writer.new_id),
                            )
                        )
                if batches:
                    await uow.events.append_many(batches)
                return decided

        return await retrying(attempt)

    # --- one student's year -----------------------------------------------------------------

    async def record_consent(self, cmd: RecordConsent) -> list[IntegrationEvent]:
        return await self.writer.run(
            screening_stream(cmd.student.student_ref, cmd.school_year),
            lambda history, now: screening.decide_consent(cmd, screening.fold(history), now),
        )

    async def record_screening(
        self,
        *,
        student: Student,
        school_year: str,
        instrument: Instrument,
        answers: Sequence[int],
        completed_on: date | None,
        recorded_by: str,
    ) -> tuple[Screened, Sealed]:
        """The screening decided and stored; its answers, total and self-harm flag sealed with
        the student's key (what the answer to the screener may carry, so that a remembered
        answer is shredded with the student too)."""
        campaign = await self.campaign(student.school_id, school_year)
        cmd = RecordScreening(
            student,
            school_year,
            str(self.writer.new_id()),
            instrument,
            tuple(answers),
            campaign,
            completed_on,
        )
        outcome: list[Screened] = []
        sealed: list[Sealed] = []

        def decide(history: list[IntegrationEvent], now: datetime) -> list[IntegrationEvent]:
            outcome.clear()
            outcome.append(screening.decide_screening(cmd, screening.fold(history), now))
            return outcome[0].events

        async def store(uow: UnitOfWork, _: list[str]) -> None:
            sealed[:] = [await save_result(uow, cmd, outcome[0], recorded_by, self.writer.clock())]

        await self.writer.run(
            screening_stream(student.student_ref, school_year), decide, after=store
        )
        return outcome[0], sealed[0]


# --- the service's own table: results, answers and totals sealed ------------------------------


async def save_result(
    uow: UnitOfWork, cmd: RecordScreening, done: Screened, recorded_by: str, at: datetime
) -> Sealed:
    s = cmd.student
    sealed = await uow.keys.seal(
        s.student_ref,
        {
            "answers": list(cmd.answers),
            "total": done.score.total,
            "self_harm": done.score.self_harm,
        },
    )
    await uow.conn.execute(
        """INSERT INTO screening_results (screening_id, student_ref, district, school_id,
               school_year, instrument_id, instrument_revision, completed_on, band, risk,
               sealed, recorded_by, recorded_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)""",
        cmd.screening_id,
        s.student_ref,
        s.district,
        s.school_id,
        cmd.school_year,
        cmd.instrument.instrument_id,
        cmd.instrument.revision,
        done.completed_on,
        done.score.band,
        done.score.risk.value if done.score.risk else None,
        sealed.model_dump(mode="json"),
        recorded_by,
        at,
    )
    return sealed


async def reveal(uow: UnitOfWork, sealed: Sealed) -> dict[str, Any] | None:
    """A result sealed by ``save_result``, opened; ``None`` once the student was erased."""
    [opened] = await uow.keys.open_many([sealed])
    return opened


async def student_results(uow: UnitOfWork, student_ref: str) -> list[dict[str, Any]]:
    """The student's screenings, newest first, answers and totals opened (``None`` once the
    student was erased: the key is gone)."""
    rows = await uow.conn.fetch(
        """SELECT * FROM screening_results WHERE student_ref = $1
           ORDER BY completed_on DESC, recorded_at DESC""",
        student_ref,
    )
    sealed = [Sealed.model_validate(r["sealed"]) for r in rows]
    opened = await uow.keys.open_many(sealed) if sealed else []
    out = []
    for r, data in zip(rows, opened, strict=True):
        out.append(
            {
                "screening_id": r["screening_id"],
                "school_year": r["school_year"],
                "school_id": r["school_id"],
                "instrument_id": r["instrument_id"],
                "instrument_revision": r["instrument_revision"],
                "completed_on": r["completed_on"],
                "total": data["total"] if data else None,
                "answers": data["answers"] if data else None,
                "band": r["band"],
                "risk": r["risk"],
                "self_harm_item_positive": data["self_harm"] if data else None,
                "recorded_by": r["recorded_by"],
                "label": "screening",
            }
        )
    return out
