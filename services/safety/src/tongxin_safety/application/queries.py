"""Reads of the roster part of the read model (schema ``safety``): schools, classes, students,
staff. Each part of the service keeps its own reads in its own module."""

from __future__ import annotations

from tongxin_platform.roster_part import RosterReads

S = "safety"  # the read model's schema (the projection's name)


_ROSTER = RosterReads(S)
row = _ROSTER.row
school = _ROSTER.school
district_schools = _ROSTER.district_schools
class_ = _ROSTER.class_
student = _ROSTER.student
staff_member = _ROSTER.staff_member
holds_role = _ROSTER.holds_role
