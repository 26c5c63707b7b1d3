"""The filings the bureaus track (owner: the filings part): the city's own filings, the schools'
monthly visit statistics, the schools each district has."""

from __future__ import annotations

from tongxin_platform.projection import Projection

FILINGS = Projection(
    "filings",
    group="city.filings",
    sources=("registry", "visits"),
    tables=[],
)
