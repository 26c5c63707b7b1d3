"""Screening instruments as data: how many items, the answer scale, the bands of the total and
which band raises which flag, the self-harm items. PHQ-9 (Kroenke 2001) and GAD-7 (Spitzer 2006)
ship with the service as JSON definitions; a district adds its own (``InstrumentDefined``).

A result is a *screening*, never a diagnosis: the band of a total, and a risk flag — the band's,
or ``high`` whatever the total when any self-harm item is answered above 0.

Pure: a definition is checked and a screening scored here; reading the JSON files is the
application's business.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.wellbeing import Band, InstrumentDefined, RiskFlag
from tongxin_wellbeing.domain.errors import WellbeingError

# Bounds of a definition: a screening questionnaire, not an exam.
MAX_ITEMS = 100
MAX_ANSWER = 10
LABEL = "result: a screening, never a diagnosis"


@dataclass(frozen=True, slots=True)
class Instrument:
    instrument_id: str
    title: str
    revision: int
    items: int
    max_answer: int
    bands: tuple[Band, ...]
    self_harm_items: tuple[int, ...]  # 1-based
    district: str | None = None  # None: built in
    reference: str = ""

    @property
    def max_total(self) -> int:
        return self.items * self.max_answer

    @property
    def builtin(self) -> bool:
        return self.district is None

    def same_definition(self, other: Instrument) -> bool:
        return (self.title, self.items, self.max_answer, self.bands, self.self_harm_items) == (
            other.title,
            other.items,
            other.max_answer,
            other.bands,
            other.self_harm_items,
        )


@dataclass(frozen=True, slots=True)
class Score:
    """What the service computes from the item answers; the total and the answers stay in the
    service."""

    total: int
    band: str
    risk: RiskFlag | None
    self_harm: bool  # a self-harm item answered above 0


def check(instrument: Instrument) -> Instrument:
    """The definition, or a refusal naming the field and rule it breaks."""
    if not 1 <= instrument.items <= MAX_ITEMS:
        raise WellbeingError(
            f"an instrument has 1 to {MAX_ITEMS} items", "items", "instrument_items"
        )
    if not 1 <= instrument.max_answer <= MAX_ANSWER:
        raise WellbeingError(
            f"answers run from 0 to a maximum between 1 and {MAX_ANSWER}",
            "max_answer",
            "instrument_answer_scale",
        )
    if not instrument.title.strip():
        raise WellbeingError("an instrument has a title", "title", "instrument_title")
    bands = instrument.bands
    if not bands:
        raise WellbeingError("an instrument has at least one band", "bands", "bands_contiguous")
    labels: set[str] = set()
    expected_low = 0
    for n, band in enumerate(bands):
        if not band.label.strip():
            raise WellbeingError("a band has a label", f"bands.{n}.label", "band_labels_unique")
        if band.label in labels:
            raise WellbeingError(
                f"band {band.label!r} appears twice", f"bands.{n}.label", "band_labels_unique"
            )
        labels.add(band.label)
        if band.low != expected_low:
            raise WellbeingError(
                f"bands are contiguous from 0: band {n} should start at {expected_low}",
                f"bands.{n}.low",
                "bands_contiguous",
            )
        if band.high < band.low:
            raise WellbeingError(
                "a band's high is not below its low", f"bands.{n}.high", "bands_contiguous"
            )
        expected_low = band.high + 1
    if bands[-1].high != instrument.max_total:
        raise WellbeingError(
            f"the bands cover every total up to items × max_answer = {instrument.max_total}",
            f"bands.{len(bands) - 1}.high",
            "bands_cover_total",
        )
    seen: set[int] = set()
    for n, item in enumerate(instrument.self_harm_items):
        if not 1 <= item <= instrument.items:
            raise WellbeingError(
                f"self-harm items are numbered 1 to {instrument.items}",
                f"self_harm_items.{n}",
                "self_harm_item_in_range",
            )
        if item in seen:
            raise WellbeingError(
                f"self-harm item {item} is listed twice",
                f"self_harm_items.{n}",
                "self_harm_item_in_range",
            )
        seen.add(item)
    return instrument


def from_definition(data: Mapping[str, Any], district: str | None = None) -> Instrument:
    """An instrument from its JSON definition (a shipped file), checked."""
    try:
        bands = tuple(Band.model_validate(b) for b in data["bands"])
        instrument = Instrument(
            instrument_id=str(data["instrument_id"]),
            title=str(data["title"]),
            revision=int(data.get("revision", 1)),
            items=int(data["items"]),
            max_answer=int(data["max_answer"]),
            bands=bands,
            self_harm_items=tuple(int(i) for i in data.get("self_harm_items", ())),
            district=district,
            reference=str(data.get("reference", "")),
        )
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise WellbeingError(
            f"not an instrument definition: {exc}", "definition", "instrument_definition"
        ) from exc
    return check(instrument)


def from_event(e: InstrumentDefined) -> Instrument:
    return Instrument(
        instrument_id=e.instrument_id,
        title=e.title,
        revision=e.revision,
        items=e.items,
        max_answer=e.max_answer,
        bands=tuple(e.bands),
        self_harm_items=tuple(e.self_harm_items),
        district=e.district,
    )


def score(instrument: Instrument, answers: Sequence[int]) -> Score:
    """The total, its band and the risk flag; a refusal naming ``answers`` (their count) or
    ``answers.N`` (0-based, an answer outside 0..max_answer)."""
    if len(answers) != instrument.items:
        raise WellbeingError(
            f"{instrument.instrument_id} has {instrument.items} items; "
            f"{len(answers)} answers were given",
            "answers",
            "answer_count",
        )
    for n, answer in enumerate(answers):
        if isinstance(answer, bool) or not isinstance(answer, int):
            raise WellbeingError("an answer is a whole number", f"answers.{n}", "answer_range")
        if not 0 <= answer <= instrument.max_answer:
            raise WellbeingError(
                f"item {n + 1} is answered from 0 to {instrument.max_answer}",
                f"answers.{n}",
                "answer_range",
            )
    total = sum(answers)
    band = next(b for b in instrument.bands if b.low <= total <= b.high)
    self_harm = any(answers[item - 1] > 0 for item in instrument.self_harm_items)
    risk = RiskFlag.high if self_harm else band.flag
    return Score(total, band.label, risk, self_harm)


# --- a district's own instrument: stream instrument-<district>-<instrument_id> ---------------


@dataclass(frozen=True, slots=True)
class DefineInstrument:
    district: str
    instrument_id: str
    title: str
    items: int
    max_answer: int
    bands: tuple[Band, ...]
    self_harm_items: tuple[int, ...]
    builtin_ids: frozenset[str]  # ids a district cannot take: the shipped instruments'


def current(history: Sequence[IntegrationEvent]) -> Instrument | None:
    """The latest revision of a district's instrument (a revision replaces the previous one)."""
    found: Instrument | None = None
    for e in history:
        if isinstance(e, InstrumentDefined):
            found = from_event(e)
    return found


def decide_define(
    cmd: DefineInstrument, history: Sequence[IntegrationEvent]
) -> list[IntegrationEvent]:
    if cmd.instrument_id in cmd.builtin_ids:
        raise WellbeingError(
            f"{cmd.instrument_id} is a shipped instrument; give the district's own another id",
            "instrument_id",
            "builtin_instrument",
        )
    previous = current(history)
    proposed = check(
        Instrument(
            cmd.instrument_id,
            cmd.title,
            (previous.revision + 1) if previous else 1,
            cmd.items,
            cmd.max_answer,
            cmd.bands,
            cmd.self_harm_items,
            cmd.district,
        )
    )
    if previous is not None and previous.same_definition(proposed):
        return []  # the same definition again: nothing to revise
    return [
        InstrumentDefined(
            district=cmd.district,
            instrument_id=proposed.instrument_id,
            title=proposed.title,
            revision=proposed.revision,
            items=proposed.items,
            max_answer=proposed.max_answer,
            bands=list(proposed.bands),
            self_harm_items=list(proposed.self_harm_items),
        )
    ]
