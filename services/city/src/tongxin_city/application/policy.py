"""Who may see the city's figures and who files what (the platform's ``Policy`` decides).

DESIGN.md §1: the city bureau (市教育局) sees per-district aggregates only, never a student. A
district's bureau sees its own district's row of the city page and files the district's plan
and December summary; a principal files the school's visit plan.
"""

from __future__ import annotations

from enum import StrEnum

from tongxin_platform.auth import Role
from tongxin_platform.policy import Policy

R = Role


class Action(StrEnum):
    city_read = "city.read"  # the city page, every district's figures, the filings
    district_read = "city.district"  # one district's figures and filings
    file_district = "filing.district"  # a district's plan, its December summary
    file_school = "filing.school"  # a school's visit plan
    # POST /filings at the edge, before its body (the kind) is read: may the caller file any
    # kind at all? Then the kind's own rule (filing.district, filing.school) decides.
    file_any = "filing"


POLICY = Policy(
    {
        Action.city_read: {R.city_analyst, R.auditor},
        Action.district_read: {R.city_analyst, R.auditor, R.bureau_officer},
        Action.file_district: {R.bureau_officer},
        Action.file_school: {R.principal, R.bureau_officer},
        Action.file_any: {R.principal, R.bureau_officer},  # every role of the two above
    },
)
