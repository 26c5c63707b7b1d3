"""A deterministic city for the city aggregator's tests: the agencies' generated world
(``agencies_world.generate``) over three districts — two with a good and a poor school, one
small district with a single good school — so that every district has figures, and every KPI is
met somewhere and missed somewhere (``tests/unit/test_city_kpis_world.py`` holds the world to
that). The same student pseudonyms never occur in two districts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from tests.support.agencies_world import DAY, World, generate
from tongxin_contracts import IntegrationEvent

# (district code, schools): two full districts, one small one.
DISTRICTS: tuple[tuple[str, int], ...] = (("330106", 2), ("330108", 2), ("330110", 1))


def city_world(*, seed: int = 14, day: date = DAY) -> World:
    """The city's world: every service's events of three districts up to ``day``."""
    return generate(seed=seed, day=day, classes=2, students=6, districts=DISTRICTS)


PERSON_FIELDS = (
    "student_ref",
    "guardian_ref",
    "staff_ref",
    "owner_ref",
    "carer_ref",
    "recorded_by",
    "referred_by",
    "closed_by",
    "filed_by",
    "set_by",
    "paired_by",
    "led_by",
    "appointee_ref",
    "given_by",
    "head_teacher_ref",
    "ref",
)
PERSON_LISTS = ("student_refs", "staff_refs", "visitors", "guardians", "guards", "members")


def _walk(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield k, v
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


def people_refs(events: Iterable[IntegrationEvent]) -> set[str]:
    """Every pseudonym of a person in the events: students, guardians, staff, visitors, carers,
    guards, members — any field that names one, at any depth of the payload."""
    refs: set[str] = set()
    for e in events:
        for key, v in _walk(e.model_dump(mode="json")):
            if key in PERSON_FIELDS and isinstance(v, str) and v:
                refs.add(v)
            elif key in PERSON_LISTS and isinstance(v, list):
                refs.update(x for x in v if isinstance(x, str) and x)
    return refs
