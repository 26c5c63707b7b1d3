"""Visits settings: ``VISITS_*`` variables, plus the platform's ``KAFKA_BOOTSTRAP_SERVERS`` and
``DATABASE_URL``."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from tongxin_platform.settings import ServiceSettings


class VisitsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="VISITS_", extra="ignore")
    service: ClassVar[str] = "visits"

    database_name: str = "tongxin_visits"
    # Fixed in production (visits.events, registry.events); tests give each run their own.
    topic: str = "visits.events"
    registry_topic: str = "registry.events"
    http_port: int = 8003
    worker_http_port: int = 9003
    # Family confirmation codes: how long one is valid and how many wrong tries lock it.
    family_code_days: int = 7
    family_code_attempts: int = 5
