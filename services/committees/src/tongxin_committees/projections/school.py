"""The roster as committees knows it (from ``registry.events``, the kit's roster part): schools,
classes (a school committee seats a parent of every class), students by class with their
guardians (candidates are guardians of children enrolled in the committee's scope; a seat ends
with its member's last child), staff with their roles."""

from __future__ import annotations

from tongxin_platform.roster_part import register_roster, roster_tables

TABLES = roster_tables({"students_by_guardian": "USING gin (guardian_refs)"})
register = register_roster
