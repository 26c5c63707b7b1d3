"""The health agency's model: crisis referrals to each hospital with their deadlines; screening
coverage per school (no scores)."""

from __future__ import annotations

from tongxin_platform.projection import Projection, Table

TABLES: list[Table] = []

HEALTH = Projection(
    "health",
    group="agencies.health",
    sources=("registry", "wellbeing"),
    description=__doc__,
    tables=TABLES,
)
