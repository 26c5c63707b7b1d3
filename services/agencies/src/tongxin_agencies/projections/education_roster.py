"""The roster part of the education model (the kit's ``roster_part``, extended): schools with
their stage and counselling room, classes with their head teacher, students (school, class,
enrolled, in a special group) and staff with their roles — the denominators of every KPI."""

from __future__ import annotations

from tongxin_platform.projection import Projection, Table
from tongxin_platform.roster_part import register_roster, roster_tables

TABLES: list[Table] = roster_tables(extended=True)


def register(p: Projection) -> None:
    """The handlers of this part, on the education model."""
    register_roster(p, extended=True)
