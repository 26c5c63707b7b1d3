"""Safety settings: ``SAFETY_*`` variables, plus the platform's ``KAFKA_BOOTSTRAP_SERVERS`` and
``DATABASE_URL``. Policy numbers are settings with the law's or the seeds' defaults: districts
differ, and a city sets its own rhythm."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tongxin_platform.settings import ServiceSettings


class SafetySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SAFETY_", extra="ignore")
    service: ClassVar[str] = "safety"

    database_name: str = "tongxin_safety"
    # Fixed in production; tests give each run their own topics.
    topic: str = "safety.events"
    registry_topic: str = "registry.events"
    visits_topic: str = "visits.events"
    http_port: int = 8005
    worker_http_port: int = 9005
    # Contact rhythm per risk level (days between a paired carer's contacts with the child):
    # monthly at low, fortnightly at medium, weekly at high (a district setting).
    contact_days_low: int = Field(default=30, ge=1, le=366)
    contact_days_medium: int = Field(default=14, ge=1, le=366)
    contact_days_high: int = Field(default=7, ge=1, le=366)
    # A left-behind child's parents should be in contact at least weekly (MPL art. 23).
    parent_contact_days: int = Field(default=7, ge=1, le=366)
    # The risk level is reviewed at least each term: older than this, the review is overdue.
    risk_review_days: int = Field(default=140, ge=1, le=366)
    # A mandatory report is due "immediately" (MPL art. 11): past this many seconds from the
    # incident's recording, an unreported incident escalates to the district bureau, once.
    report_limit_seconds: int = Field(default=7200, ge=1)
    # Law education by the legal vice-principal per school year (MoE Order No. 52: ≥ 4 hours).
    law_hours_target: float = Field(default=4.0, ge=0)
    # Guard shifts: the share of scheduled shifts completed that the district aims for.
    guard_completion_target: float = Field(default=0.95, ge=0, le=1)
