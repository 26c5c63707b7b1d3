"""Civil affairs', the women's federation's and community workers' model: the care files paired to
each carer and the contacts due."""

from __future__ import annotations

from tongxin_platform.projection import Projection, Table

TABLES: list[Table] = []

CARERS = Projection(
    "carers",
    group="agencies.carers",
    sources=("registry", "safety"),
    description=__doc__,
    tables=TABLES,
)
