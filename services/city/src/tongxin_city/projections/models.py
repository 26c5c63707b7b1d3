"""Every read model of the city, each its own consumer group and schema."""

from __future__ import annotations

from tongxin_city.projections.facts import FACTS
from tongxin_city.projections.filings import FILINGS
from tongxin_platform.projection import Projection

MODELS: tuple[Projection, ...] = (FACTS, FILINGS)
