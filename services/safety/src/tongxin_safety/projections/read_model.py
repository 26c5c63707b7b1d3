"""The safety read model: one projection (one consumer group, one transaction per batch) whose
tables and handlers each part of the service declares in its own module."""

from __future__ import annotations

from tongxin_platform.projection import Projection
from tongxin_safety.projections import files, guard, incidents, inspections, school

PARTS = (school, files, guard, inspections, incidents)

SAFETY = Projection(
    "safety",
    group="safety.read_model",
    sources=("registry", "safety"),
    description="The safety read model: the roster as safety knows it, care files and the "
    "ledger, guard posts and shifts, vice-principals, inspections and hazards, incidents and "
    "mandatory reports, guidance committee referrals.",
    tables=[t for part in PARTS for t in part.TABLES],
)
for _part in PARTS:
    _part.register(SAFETY)
