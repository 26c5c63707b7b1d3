"""The wellbeing read model: one projection (one consumer group, one transaction per batch)
whose tables and handlers each part of the service declares in its own module."""

from __future__ import annotations

from tongxin_platform.projection import Projection
from tongxin_wellbeing.projections import attention, referrals, school, screening, training

PARTS = (school, screening, attention, referrals, training)

WELLBEING = Projection(
    "wellbeing",
    group="wellbeing.read_model",
    sources=("registry", "wellbeing"),
    description="The wellbeing read model: the roster as wellbeing knows it, campaigns and "
    "coverage, the attention list, plans, referrals and training of every school.",
    tables=[t for part in PARTS for t in part.TABLES],
)
for _part in PARTS:
    _part.register(WELLBEING)
