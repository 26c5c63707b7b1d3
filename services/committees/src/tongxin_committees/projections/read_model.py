"""The committees read model: one projection (one consumer group, one transaction per batch)
whose tables and handlers each part of the service declares in its own module."""

from __future__ import annotations

from tongxin_committees.projections import committees, feedback, meetings, parent_school, school
from tongxin_platform.projection import Projection

PARTS = (school, committees, feedback, meetings, parent_school)

COMMITTEES = Projection(
    "committees",
    group="committees.read_model",
    sources=("registry", "committees"),
    description="The committees read model: the roster as committees knows it (classes, "
    "guardians by class, staff), committees and their seats, parents' feedback and its "
    "answers, meetings, the parent school and its sessions, coordinators.",
    tables=[t for part in PARTS for t in part.TABLES],
)
for _part in PARTS:
    _part.register(COMMITTEES)
