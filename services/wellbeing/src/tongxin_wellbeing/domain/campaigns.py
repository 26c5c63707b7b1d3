"""A school's yearly screening campaign (seed 004: once a year, with the physical examination, full
coverage). Stream ``campaign-<school_id>-<school_year>``: one campaign per school and school year
is the stream's identity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.wellbeing import ScreeningCampaignOpened
from tongxin_platform.domain import ConflictError
from tongxin_wellbeing.domain.calendar import school_year_of
from tongxin_wellbeing.domain.errors import WellbeingError


@dataclass(frozen=True, slots=True)
class OpenCampaign:
    district: str
    school_id: str
    school_year: str
    instruments: tuple[str, ...]
    exam_from: date
    exam_to: date
    available: frozenset[str]  # the instruments the school's district may use


@dataclass(frozen=True, slots=True)
class CampaignState:
    opened: bool = False
    school_year: str = ""
    instruments: tuple[str, ...] = ()
    exam_from: date | None = None
    exam_to: date | None = None


def fold_campaign(history: Sequence[IntegrationEvent]) -> CampaignState:
    state = CampaignState()
    for e in history:
        if isinstance(e, ScreeningCampaignOpened):
            state = CampaignState(True, e.school_year, tuple(e.instruments), e.exam_from, e.exam_to)
    return state


def decide_campaign(cmd: OpenCampaign, state: CampaignState) -> list[IntegrationEvent]:
    if state.opened:
        raise CampaignExistsError(
            f"the school's campaign for {cmd.school_year} is already open: one a school year",
            "school_year",
            "one_campaign_per_school_year",
        )
    if cmd.exam_from > cmd.exam_to:
        raise WellbeingError(
            "the physical examination ends on or after the day it starts",
            "exam_to",
            "exam_dates_in_order",
        )
    for name, day in (("exam_from", cmd.exam_from), ("exam_to", cmd.exam_to)):
        if school_year_of(day) != cmd.school_year:
            raise WellbeingError(
                f"the physical examination falls within the school year {cmd.school_year}",
                name,
                "exam_within_school_year",
            )
    if not cmd.instruments:
        raise WellbeingError(
            "a campaign uses at least one instrument", "instruments", "campaign_instruments"
        )
    for n, instrument_id in enumerate(cmd.instruments):
        if instrument_id in cmd.instruments[:n]:
            raise WellbeingError(
                f"{instrument_id} is listed twice", f"instruments.{n}", "campaign_instruments"
            )
        if instrument_id not in cmd.available:
            raise WellbeingError(
                f"no instrument {instrument_id} in the district (shipped or its own)",
                f"instruments.{n}",
                "instrument_known",
            )
    return [
        ScreeningCampaignOpened(
            district=cmd.district,
            school_id=cmd.school_id,
            school_year=cmd.school_year,
            instruments=list(cmd.instruments),
            exam_from=cmd.exam_from,
            exam_to=cmd.exam_to,
        )
    ]


class CampaignExistsError(WellbeingError, ConflictError):
    """409: the school's campaign for that year exists already."""
