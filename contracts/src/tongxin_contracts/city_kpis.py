"""The records of the compacted topic ``city.kpis``: the city's figures per district, KPI and
period, the latest value per key (a downstream consumer reads the topic from offset 0 and keeps
the last record of each key).

Plain JSON records, not CloudEvents: the key is ``"{district}|{kpi}|{period}"`` (UTF-8,
``kpi_key``), the value a ``CityKpi`` (header ``content-type: application/json``). A record is
published only when a figure changed, so the topic holds one current value per key. Aggregates
only: no record names a student, guardian or member of staff.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

KEY_SEPARATOR = "|"


def kpi_key(district: str, kpi: str, period: str) -> str:
    """The record's key: ``"330106|visit_coverage|2026-2027"``. None of the parts may contain
    the separator."""
    parts = (district, kpi, period)
    for part in parts:
        if not part or KEY_SEPARATOR in part:
            raise ValueError(f"key part {part!r}: non-empty and without {KEY_SEPARATOR!r}")
    return KEY_SEPARATOR.join(parts)


def parse_kpi_key(key: str) -> tuple[str, str, str]:
    """``kpi_key``'s inverse: ``(district, kpi, period)``."""
    parts = key.split(KEY_SEPARATOR)
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"key {key!r}: expected district|kpi|period")
    return parts[0], parts[1], parts[2]


class CityKpi(BaseModel):
    """One KPI of one district (or of the whole city) for one period, as the city computed it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # The schema's identity (``contracts/schemas/records/CityKpi.v1.json``).
    name: ClassVar[str] = "CityKpi"
    version: ClassVar[int] = 1
    topic: ClassVar[str] = "city.kpis"

    district: str = Field(
        description='Six-digit district code, or "city" for the value pooled over every district.',
        min_length=1,
    )
    kpi: str = Field(
        description="Stable key of the KPI, e.g. visit_coverage, followups_overdue, "
        "filings_district_plan, reports_on_time.",
        min_length=1,
    )
    period: str = Field(
        description='What the value covers: a school year "2026-2027", a month "2026-11" or a '
        'calendar year "2026" (the filings of the year).',
        min_length=1,
    )
    unit: Literal["share", "count"] = Field(
        description="share: a fraction 0..1 (numerator ÷ denominator); count: a number of things."
    )
    value: float | None = Field(
        description="The figure; null when there is nothing to count yet (no denominator)."
    )
    numerator: int | None = Field(
        default=None, description="What was counted (shares); null for a count."
    )
    denominator: int | None = Field(
        default=None, description="What it was counted out of (shares); null for a count."
    )
    target: float | None = Field(
        default=None, description="The city's target (a setting); null when there is none."
    )
    meets: bool | None = Field(
        default=None,
        description="Whether the value meets the target (a share at or above it, a count at or "
        "below it); null without a target or a value.",
    )
    as_of: date = Field(description="The day (China) the figure was computed as of.")
    computed_at: datetime = Field(description="When the city computed and published it (UTC).")
    label_zh: str = Field(description="The KPI's name in Chinese, as the city page shows it.")
    label_en: str = Field(description="The KPI's name in English.")

    def key(self) -> str:
        """The record's Kafka key."""
        return kpi_key(self.district, self.kpi, self.period)

    def encode(self) -> bytes:
        """The record's value: UTF-8 JSON."""
        return self.model_dump_json().encode()

    @classmethod
    def decode(cls, value: bytes | str) -> CityKpi:
        return cls.model_validate_json(value)


def city_kpi_schema() -> dict[str, object]:
    """The JSON Schema of ``CityKpi`` as committed in ``contracts/schemas``."""
    schema: dict[str, object] = CityKpi.model_json_schema()
    schema["$id"] = f"urn:tongxin:schema:{CityKpi.topic}:{CityKpi.name}:v{CityKpi.version}"
    return schema
