"""City settings: ``CITY_*`` variables, plus the platform's ``KAFKA_BOOTSTRAP_SERVERS`` and
``DATABASE_URL``.

Targets are the city's (``CITY_TARGETS__<KPI>``), with the seeds' numbers as defaults, like the
agencies' district page; the filing deadlines are the seeds' dates (seed 000 三: districts'
plans to the city by 20 April, the December summary; seed 002 七: schools' visit plans, the
monthly visit statistics by the 30th).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import ClassVar

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from tongxin_city.domain.marks import mark
from tongxin_contracts.topics import CITY_KPIS_TOPIC
from tongxin_platform.secrets import require_secret
from tongxin_platform.settings import ServiceSettings

# A published default: development only (production refuses it, ``check_secrets``).
DEV_MARK_KEY = "tongxin-dev-city-mark-key-change-me-0000"


class Targets(BaseModel):
    """The city page's targets (a district that misses one is shown red)."""

    visit_coverage: float = Field(default=1.0, ge=0, le=1)
    screening_coverage: float = Field(default=1.0, ge=0, le=1)
    followups_overdue: int = Field(default=0, ge=0)
    counselling_rooms: float = Field(default=1.0, ge=0, le=1)
    referral_sla: float = Field(default=1.0, ge=0, le=1)
    parent_school_rule: float = Field(default=1.0, ge=0, le=1)
    open_days: float = Field(default=1.0, ge=0, le=1)
    coordinators: float = Field(default=1.0, ge=0, le=1)
    care_files_complete: float = Field(default=1.0, ge=0, le=1)
    guard_completion: float = Field(default=0.95, ge=0, le=1)
    hazards_overdue: int = Field(default=0, ge=0)
    mandatory_reports_late: int = Field(default=0, ge=0)
    reports_on_time: float = Field(default=1.0, ge=0, le=1)


class Deadlines(BaseModel):
    """When each filing is due (month-day, China days)."""

    district_plan: str = Field(default="04-20", pattern=r"^\d\d-\d\d$")  # seed 000 三(一)
    school_visit_plan: str = Field(default="04-28", pattern=r"^\d\d-\d\d$")  # seed 002 七
    monthly_stats_day: int = Field(default=30, ge=1, le=31)  # seed 002 七 (or the month's last)
    december_summary: str = Field(default="12-31", pattern=r"^\d\d-\d\d$")  # seed 000 三(三)


class CitySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CITY_", env_nested_delimiter="__", extra="ignore")
    service: ClassVar[str] = "city"

    database_name: str = "tongxin_city"
    topic: str = "city.events"  # its own: the filings
    # Every topic it reads is declared, so tests can move them (and ``mirrors``, from the
    # kit's settings, adds each district cluster's MirrorMaker 2 copy of each).
    registry_topic: str = "registry.events"
    visits_topic: str = "visits.events"
    wellbeing_topic: str = "wellbeing.events"
    safety_topic: str = "safety.events"
    committees_topic: str = "committees.events"
    kpis_topic: str = CITY_KPIS_TOPIC
    http_port: int = 8020
    worker_http_port: int = 9020
    targets: Targets = Field(default_factory=Targets)
    deadlines: Deadlines = Field(default_factory=Deadlines)
    # The key of the one-way marks that count a student once without keeping who
    # (HMAC per district, KPI and period): never a pseudonym in the city's store.
    mark_key: SecretStr = SecretStr(DEV_MARK_KEY)
    # How often the worker recomputes the figures and publishes the changed ones to city.kpis.
    publish_interval: float = Field(default=5.0, gt=0)
    # The parent school's teaching rule per school year (seed 000; the committees service's).
    parent_school_sessions: int = Field(default=4, ge=0)
    parent_school_hours: float = Field(default=8.0, ge=0)
    parent_school_activities: int = Field(default=2, ge=0)
    # Pages: demo users and /demo/<role> (empty: on exactly in development; never in
    # production), the session's life, how often an open page asks for fresh figures.
    demo_sign_in: bool | None = None
    session_ttl: int = Field(default=8 * 3600, ge=60)
    live_interval: float = Field(default=5.0, gt=0)

    def demo_enabled(self) -> bool:
        if self.demo_sign_in is None:
            return self.environment == "development"
        return self.demo_sign_in and self.environment == "development"

    def check_secrets(self) -> None:
        super().check_secrets()
        self.mark_secret()

    def ledger_stream_ids(self) -> Callable[[str], str]:
        """The ledger keeps the streams it read as marks: a stream's id may be a pseudonym's
        (a care file's is its child's), and the city keeps nobody."""
        return partial(mark, self.mark_secret(), "stream")

    def mark_secret(self) -> bytes:
        """The marks' key, refused outside development when it is the published default,
        empty or short."""
        return require_secret(self, "CITY_MARK_KEY", self.mark_key, published={DEV_MARK_KEY})
