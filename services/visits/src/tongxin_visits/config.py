"""Visits settings: ``VISITS_*`` variables, plus the platform's ``KAFKA_BOOTSTRAP_SERVERS`` and
``DATABASE_URL``."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from tongxin_platform.settings import PlatformSettings


class VisitsSettings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="VISITS_", extra="ignore")

    database_name: str = "tongxin_visits"
    # Fixed in production (visits.events, registry.events); tests give each run their own.
    topic: str = "visits.events"
    registry_topic: str = "registry.events"
    http_host: str = "127.0.0.1"
    http_port: int = 8003
    pool_size: int = 10
    projection_batch_size: int = 1000
    # Family confirmation codes: how long one is valid and how many wrong tries lock it.
    family_code_days: int = 7
    family_code_attempts: int = 5
