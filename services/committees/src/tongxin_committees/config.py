"""Committees settings: ``COMMITTEES_*`` variables, plus the platform's
``KAFKA_BOOTSTRAP_SERVERS`` and ``DATABASE_URL``. Targets and time limits are settings with the
seeds' numbers as defaults: different seeds come from different cities."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tongxin_platform.settings import ServiceSettings


class CommitteesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="COMMITTEES_", extra="ignore")
    service: ClassVar[str] = "committees"

    database_name: str = "tongxin_committees"
    # Fixed in production; tests give each run their own topics.
    topic: str = "committees.events"
    registry_topic: str = "registry.events"
    visits_topic: str = "visits.events"
    http_port: int = 8002
    worker_http_port: int = 9002
    # Districts that run a district-level committee with a standing committee (seed 001 is one
    # district's practice): district codes, or "*" for every district.
    district_committees: frozenset[str] = frozenset()
    # Days the school has to answer parents' feedback received through its own channels (a
    # home visit's suggestion carries its own due day, from the visits rules).
    answer_days: int = Field(default=15, ge=1, le=366)
    # The parent school's teaching rule per school year (seed 000): taught sessions, their class
    # hours, and practice or consultation activities.
    parent_school_sessions: int = Field(default=4, ge=0)
    parent_school_hours: float = Field(default=8.0, ge=0)
    parent_school_activities: int = Field(default=2, ge=0)
    # Share of a district's schools assessed standard parent schools (seed 001: ≥ 70 % by 2024).
    standard_school_target: float = Field(default=0.70, ge=0, le=1)
    # Open days (or weeks) per school year (seed 003: at least one).
    open_days_per_year: int = Field(default=1, ge=0)

    def runs_district_committee(self, district: str) -> bool:
        return "*" in self.district_committees or district in self.district_committees
