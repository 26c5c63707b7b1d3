"""Agencies settings: ``AGENCIES_*`` variables, plus the platform's ``KAFKA_BOOTSTRAP_SERVERS``
and ``DATABASE_URL``.

Every target is a setting per city with the seeds' numbers as defaults: different seeds come
from different cities (100 % counselling rooms in seed 004's, ≥ 70 % standard parent schools in
seed 001's). The rhythms the read models count with (contacts due, a report's due day) are the
producing services' defaults: the agencies service reads events only, and a city that changes a
rule there changes it here too.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from tongxin_web.settings import PageSettings

Share = Field(ge=0, le=1)


class Targets(BaseModel):
    """The district page's targets (a figure that misses its target is shown red)."""

    # Home visits (seed 002 §5, seed 000): every student an in-home visit per school year; the
    # head teacher every student of the class each semester; special groups in home each
    # semester; principals ≥ 5 and middle leaders ≥ 10 students a year.
    visit_coverage: float = Field(default=1.0, ge=0, le=1)
    head_teacher_coverage: float = Field(default=1.0, ge=0, le=1)
    special_group_coverage: float = Field(default=1.0, ge=0, le=1)
    principal_visits: int = Field(default=5, ge=0)
    middle_leader_visits: int = Field(default=10, ge=0)
    # Monthly statistics received by the bureau by this day of the month (seed 002).
    report_due_day: int = Field(default=30, ge=1, le=31)
    reports_on_time: float = Field(default=1.0, ge=0, le=1)
    followups_overdue: int = Field(default=0, ge=0)  # the most a school may have
    # Mental health (seed 004): screening of every student, counselling rooms in 100 % of
    # schools, referrals acknowledged within the hour, training of every head and psychology
    # teacher.
    screening_coverage: float = Field(default=1.0, ge=0, le=1)
    counselling_rooms: float = Field(default=1.0, ge=0, le=1)
    referral_sla: float = Field(default=1.0, ge=0, le=1)
    training_coverage: float = Field(default=1.0, ge=0, le=1)
    # Committees (seeds 000, 001, 003): every class represented, the parent school's teaching
    # rule, the district's standard parent schools ≥ 70 %, an open day a year, a coordinator.
    representation: float = Field(default=1.0, ge=0, le=1)
    parent_school_rule: float = Field(default=1.0, ge=0, le=1)
    standard_parent_schools: float = Field(default=0.70, ge=0, le=1)
    open_days_per_year: int = Field(default=1, ge=0)
    coordinators: float = Field(default=1.0, ge=0, le=1)
    # Child safety (Minors Protection Law, seed 000's 护平安): every care file paired with all
    # four kinds, no contact overdue, guard shifts ≥ 95 % completed, no hazard past its
    # deadline, no mandatory report late.
    care_files_complete: float = Field(default=1.0, ge=0, le=1)
    care_contacts_overdue: int = Field(default=0, ge=0)
    guard_completion: float = Field(default=0.95, ge=0, le=1)
    hazards_overdue: int = Field(default=0, ge=0)
    mandatory_reports_late: int = Field(default=0, ge=0)


class AgenciesSettings(PageSettings):
    model_config = SettingsConfigDict(
        env_prefix="AGENCIES_", env_nested_delimiter="__", extra="ignore"
    )
    service: ClassVar[str] = "agencies"

    database_name: str = "tongxin_agencies"
    # The agencies service publishes nothing (its event store stays empty: ``topic`` names a
    # topic nothing is ever written to); it reads every service's topic (tests give each run
    # its own topics).
    topic: str = "agencies.events"
    registry_topic: str = "registry.events"
    visits_topic: str = "visits.events"
    wellbeing_topic: str = "wellbeing.events"
    safety_topic: str = "safety.events"
    committees_topic: str = "committees.events"
    http_port: int = 8010
    worker_http_port: int = 9010
    # The city's targets: AGENCIES_TARGETS__GUARD_COMPLETION=0.9, …
    targets: Targets = Field(default_factory=Targets)
    # Contact rhythm of a care file by risk level, and when a left-behind child's parents'
    # contact is stale (days; the safety service's defaults).
    contact_days_low: int = Field(default=30, ge=1)
    contact_days_medium: int = Field(default=14, ge=1)
    contact_days_high: int = Field(default=7, ge=1)
    parent_contact_days: int = Field(default=7, ge=1)
    # The parent school's teaching rule per school year (seed 000; the committees service's).
    parent_school_sessions: int = Field(default=4, ge=0)
    parent_school_hours: float = Field(default=8.0, ge=0)
    parent_school_activities: int = Field(default=2, ge=0)
    # The pages (``tongxin_web.settings.PageSettings``): AGENCIES_DEMO_SIGN_IN,
    # AGENCIES_SESSION_TTL, AGENCIES_LIVE_INTERVAL (seconds; 2 here).
