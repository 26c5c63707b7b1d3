"""The city's facts of every district (owner: the KPI part): what the figures count, never a
student — schools, classes, dated counts, and one-way marks that count a student once."""

from __future__ import annotations

from tongxin_platform.projection import Projection

FACTS = Projection(
    "facts",
    group="city.facts",
    sources=("registry", "visits", "wellbeing", "safety", "committees"),
    tables=[],
)
