"""Wellbeing settings: ``WELLBEING_*`` variables, plus the platform's ``KAFKA_BOOTSTRAP_SERVERS``
and ``DATABASE_URL``. Policy numbers are settings with the seeds' defaults."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tongxin_platform.settings import ServiceSettings


class WellbeingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WELLBEING_", extra="ignore")
    service: ClassVar[str] = "wellbeing"

    database_name: str = "tongxin_wellbeing"
    # Fixed in production; tests give each run their own topics.
    topic: str = "wellbeing.events"
    registry_topic: str = "registry.events"
    visits_topic: str = "visits.events"
    http_port: int = 8004
    worker_http_port: int = 9004
    # A crisis referral must be acknowledged by the hospital within this many seconds
    # (1小时响应通道), else it is escalated to the district's education and health bureaus.
    referral_ack_seconds: int = Field(default=3600, ge=1)
    # District target: counselling rooms (心理辅导室) in this share of schools (seed 004: 100 %).
    counselling_room_target: float = Field(default=1.0, ge=0, le=1)
