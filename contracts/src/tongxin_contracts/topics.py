"""Kafka topics: one per producing service, dead letters per consumer group."""

from __future__ import annotations

from typing import Final

TOPICS: Final[dict[str, str]] = {
    "registry": "registry.events",
    "committees": "committees.events",
    "visits": "visits.events",
    "wellbeing": "wellbeing.events",
    "safety": "safety.events",
    "city": "city.events",
}

# The city's figures per district, KPI and period (compacted: the latest value per key).
CITY_KPIS_TOPIC: Final[str] = "city.kpis"


def dlq_topic(topic: str, group: str) -> str:
    """Dead-letter topic of one consumer group reading one topic: ``<topic>.dlq.<group>``."""
    return f"{topic}.dlq.{group}"
