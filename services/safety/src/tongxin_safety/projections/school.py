"""The roster as safety knows it (from ``registry.events``, the kit's roster part): schools,
classes with their head teacher, students (guardians: parent volunteers at guard posts are
guardians), staff with their roles (school carers, leaders, the vice-principals)."""

from __future__ import annotations

from tongxin_platform.roster_part import register_roster, roster_tables

TABLES = roster_tables()
register = register_roster
