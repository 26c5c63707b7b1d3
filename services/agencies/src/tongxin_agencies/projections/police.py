"""The police's model: guard shifts, incidents and mandatory reports, hazards of their kinds; no
wellbeing data (it reads no wellbeing topic)."""

from __future__ import annotations

from tongxin_platform.projection import Projection, Table

TABLES: list[Table] = []

POLICE = Projection(
    "police",
    group="agencies.police",
    sources=("registry", "safety"),
    description=__doc__,
    tables=TABLES,
)
