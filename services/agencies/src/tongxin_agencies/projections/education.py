"""The education system's model, read by a school's staff and by the district bureau: the
roster, home visits and their follow-up ledger, monthly reports, wellbeing aggregates,
committees and the parent school, and child safety — every school's facts dated, so that a
figure is computed for any day (the district's month trend). One projection whose tables and
handlers each part declares in its own module; the bureau's views answer aggregates only."""

from __future__ import annotations

from tongxin_agencies.projections import (
    education_committees,
    education_roster,
    education_safety,
    education_visits,
    education_wellbeing,
)
from tongxin_platform.projection import Projection

PARTS = (
    education_roster,
    education_visits,
    education_wellbeing,
    education_committees,
    education_safety,
)

EDUCATION = Projection(
    "education",
    group="agencies.education",
    sources=("registry", "visits", "wellbeing", "safety", "committees"),
    description=__doc__,
    tables=[t for part in PARTS for t in part.TABLES],
)
for _part in PARTS:
    _part.register(EDUCATION)
