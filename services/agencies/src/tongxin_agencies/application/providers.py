"""Every view of every agency's model, registered by importing its module (the routes and the
pages look them up by key in ``tongxin_agencies.application.views``)."""

from __future__ import annotations

from tongxin_agencies.application import (
    carers_views,
    committee_views,
    district_views,
    health_views,
    kpis_committees,
    kpis_safety,
    market_views,
    police_views,
    school_views,
)

MODULES = (
    school_views,
    district_views,
    health_views,
    police_views,
    carers_views,
    market_views,
    committee_views,
    kpis_committees,  # the lists behind the committees' and safety KPIs
    kpis_safety,
)
