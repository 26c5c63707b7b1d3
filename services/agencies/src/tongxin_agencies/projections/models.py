"""Every agency's read model: one projection each (its own schema, consumer group and topics),
so that each holds only what its agency may see and is rebuilt from offset 0 on its own."""

from __future__ import annotations

from tongxin_agencies.projections.carers import CARERS
from tongxin_agencies.projections.committee import COMMITTEE
from tongxin_agencies.projections.education import EDUCATION
from tongxin_agencies.projections.health import HEALTH
from tongxin_agencies.projections.market import MARKET
from tongxin_agencies.projections.police import POLICE

MODELS = (EDUCATION, HEALTH, POLICE, CARERS, MARKET, COMMITTEE)
