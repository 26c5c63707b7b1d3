"""Market regulation's model: its inspections of shops near schools and their hazards."""

from __future__ import annotations

from tongxin_platform.projection import Projection, Table

TABLES: list[Table] = []

MARKET = Projection(
    "market",
    group="agencies.market",
    sources=("registry", "safety"),
    description=__doc__,
    tables=TABLES,
)
