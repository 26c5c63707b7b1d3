"""The city's facts of every district: what the figures count, never a person — schools, dated
counts, and one-way marks (``domain/marks``) that count a student once. One projection (group
``city.facts``) whose tables and handlers each part declares in its own module; its handlers
mark with the key of the service's settings (``FACTS.configure``)."""

from __future__ import annotations

from tongxin_city.projections import facts_schools, facts_students
from tongxin_city.projections.facts_mark import MARK
from tongxin_platform.projection import Projection

PARTS = (facts_students, facts_schools)

FACTS = Projection(
    "facts",
    group="city.facts",
    sources=("registry", "visits", "wellbeing", "safety", "committees"),
    description=__doc__,
    tables=[t for part in PARTS for t in part.TABLES],
    configure=MARK.configure,
)
for _part in PARTS:
    _part.register(FACTS)
