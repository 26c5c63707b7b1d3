"""Parent committees' model: committees, meetings, feedback and answers; no student."""

from __future__ import annotations

from tongxin_platform.projection import Projection, Table

TABLES: list[Table] = []

COMMITTEE = Projection(
    "committee",
    group="agencies.committee",
    sources=("committees",),
    description=__doc__,
    tables=TABLES,
)
