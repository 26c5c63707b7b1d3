"""A deterministic city for the city aggregator's tests: the agencies' generated world
(``agencies_world.generate``) over three districts — two with good and poor schools, one
small district with a single good school — so that every district has figures, and every KPI is
met somewhere and missed somewhere (``tests/unit/test_city_kpis_world.py`` holds the world to
that). The same student pseudonyms never occur in two districts."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from typing import Any

from tests.support.agencies_world import DAY, World, generate
from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events import safety as sf

# (district code, schools): two full districts (figures that differ), one small one.
DISTRICTS: tuple[tuple[str, int], ...] = (("330106", 2), ("330108", 3), ("330110", 1))


def city_world(*, seed: int = 14, day: date = DAY) -> World:
    """The city's world: every service's events of three districts up to ``day``; in the small
    district every open care file is fully paired (the others keep the agencies' gaps), so
    that this KPI too is met somewhere and missed somewhere."""
    world = generate(seed=seed, day=day, classes=2, students=6, districts=DISTRICTS)
    world.events.extend(complete_care_files(world, DISTRICTS[-1][0]))
    return world


KINDS = tuple(sf.CarerKind)


def complete_care_files(world: World, district: str) -> list[IntegrationEvent]:
    """A pairing accepted for every kind an open care file of ``district`` lacks."""
    opened = {(e.school_id, e.student_ref): e for e in world.of(sf.CareFileOpened)}
    accepted: dict[tuple[str, str], set[sf.CarerKind]] = {}
    for a in world.of(sf.CarerAccepted):
        accepted.setdefault((a.school_id, a.student_ref), set()).add(a.kind)
    out: list[IntegrationEvent] = []
    for n, ((school_id, student_ref), f) in enumerate(sorted(opened.items())):
        if f.district != district:
            continue
        for kind in KINDS:
            if kind in accepted.get((school_id, student_ref), set()):
                continue
            common: dict[str, Any] = {
                "district": district,
                "school_id": school_id,
                "student_ref": student_ref,
                "pairing_id": f"pair-city-{n:03d}-{kind.value}",
                "kind": kind,
            }
            on = f.opened_on + timedelta(days=1)
            out += [
                sf.CarerPaired(
                    **common,
                    carer_ref=f"carer-city-{n:03d}-{kind.value}",
                    org=school_id,
                    paired_on=on,
                    paired_by=f"stf-{school_id}-p",
                ),
                sf.CarerAccepted(**common, accepted_on=on),
            ]
    return out


# A field names a person when it is a pseudonym (``…_ref``, ``ref``, ``…_refs``) or says who
# did something (``…_by`` holding a pseudonym, not a deadline such as ``acknowledge_by``).
DAY_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _names_people(key: str) -> bool:
    return key == "ref" or key.endswith(("_ref", "_refs", "_by"))


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
    guards, inspectors, members — any field that names one, at any depth of the payload."""
    refs: set[str] = set()
    for e in events:
        for key, v in _walk(e.model_dump(mode="json")):
            if not _names_people(key):
                continue
            for x in v if isinstance(v, list) else [v]:
                if isinstance(x, str) and x and not DAY_LIKE.match(x):
                    refs.add(x)
    return refs
