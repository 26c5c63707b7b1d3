"""Visits settings: ``VISITS_*`` variables, plus the platform's ``KAFKA_BOOTSTRAP_SERVERS`` and
``DATABASE_URL``."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tongxin_platform.settings import ServiceSettings
from tongxin_visits.domain.family_code import CodeRules


class VisitsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="VISITS_", extra="ignore")
    service: ClassVar[str] = "visits"

    database_name: str = "tongxin_visits"
    # Fixed in production (visits.events, registry.events); tests give each run their own.
    topic: str = "visits.events"
    registry_topic: str = "registry.events"
    # Targeted home visits (重点家访) asked by the wellbeing service (TargetedVisitRequested).
    wellbeing_topic: str = "wellbeing.events"
    # The committees service's answers to parents' suggestions (ParentFeedbackAnswered with the
    # visit): the visit shows each suggestion answered.
    committees_topic: str = "committees.events"
    http_port: int = 8003
    worker_http_port: int = 9003
    # Family confirmation codes: how long one is valid, how many wrong tries (per visit, over
    # all its codes) lock the visit for good, how many codes one visit may be sent (the first
    # included), and how many re-sends one staff member may make per day (China time).
    family_code_days: int = Field(default=7, ge=1)
    family_code_attempts: int = Field(default=5, ge=1)
    family_code_sends_per_visit: int = Field(default=3, ge=1)
    family_code_resends_per_day: int = Field(default=10, ge=1)

    def family_code_rules(self) -> CodeRules:
        return CodeRules(
            max_attempts=self.family_code_attempts,
            sends_per_visit=self.family_code_sends_per_visit,
            resends_per_day=self.family_code_resends_per_day,
            valid_for=timedelta(days=self.family_code_days),
        )
