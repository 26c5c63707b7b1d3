"""The police's model: the schools (names), guard posts and shifts, incidents and their mandatory
reports (the number of students involved, never who), and inspections and hazards of the kind
the police answer for (public order and traffic around the school). It reads the registry's and
the safety service's topics only: no wellbeing data, no student pseudonym."""

from __future__ import annotations

from tongxin_agencies.projections.education_safety import (
    guard_tables,
    hazard_tables,
    incident_tables,
    register_guard,
    register_hazards,
    register_incidents,
)
from tongxin_contracts.events.safety import InspectionKind
from tongxin_platform.projection import Projection, Table
from tongxin_platform.roster_part import SCHOOLS, register_schools

# The hazards the police's page shows (the layout: "hazards of their kinds").
POLICE_KINDS = (InspectionKind.order_and_traffic,)

TABLES: list[Table] = [SCHOOLS, *guard_tables(), *incident_tables(), *hazard_tables()]

POLICE = Projection(
    "police",
    group="agencies.police",
    sources=("registry", "safety"),
    description=__doc__,
    tables=TABLES,
)
register_schools(POLICE)
register_guard(POLICE)
register_incidents(POLICE)
register_hazards(POLICE, POLICE_KINDS)
