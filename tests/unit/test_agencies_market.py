"""Market regulation's model holds its shop inspections and their hazards, nothing else: it reads
the registry's and the safety service's topics only, has no wellbeing-derived table and no
``student_ref`` column, keeps only inspections of food and stationery shops; its page and lists
are refused to every other role (403 naming the rule)."""

from __future__ import annotations

from datetime import date

import pytest

from tests.support.agencies_safety import (
    SCHOOL,
    at,
    fold,
    fully_paired,
    hazard,
    incident,
    inspection,
    rectified,
)
from tests.unit.test_agencies_police import WELLBEING_WORDS, ctx
from tongxin_agencies.application import providers  # noqa: F401 - registers every view
from tongxin_agencies.application.views import DASHBOARDS, LISTS
from tongxin_agencies.projections.market import MARKET
from tongxin_contracts.events.safety import InspectionKind
from tongxin_platform.auth import Role
from tongxin_platform.http import ProblemError


def test_the_market_model_reads_the_registry_and_safety_topics_only() -> None:
    assert set(MARKET.sources) == {"registry", "safety"}
    assert {t.split(".")[2] for t in MARKET.handlers} <= {"registry", "safety"}


def test_the_market_model_has_no_wellbeing_derived_table_and_no_student_ref_column() -> None:
    ddl = MARKET.ddl().lower()
    assert "student_ref" not in ddl
    assert "guardian_ref" not in ddl
    for name in MARKET.tables:
        assert not any(word in name for word in WELLBEING_WORDS), name
    assert set(MARKET.tables) == {"schools", "inspections", "hazards"}


async def test_the_market_model_keeps_food_and_stationery_shop_inspections_and_hazards_only() -> (
    None
):
    events = [
        *fully_paired(date(2026, 9, 1)),
        incident("inc_1", at(date(2026, 11, 2))),
        inspection("insp_h_food", InspectionKind.food_shops),
        hazard("h_food", date(2026, 11, 10), InspectionKind.food_shops),
        rectified("h_food", date(2026, 11, 12)),
        inspection("insp_h_paper", InspectionKind.stationery_shops),
        hazard("h_paper", date(2026, 11, 20), InspectionKind.stationery_shops),
        inspection("insp_h_fire", InspectionKind.fire),
        hazard("h_fire", date(2026, 11, 10), InspectionKind.fire),
        rectified("h_fire", date(2026, 11, 12)),
    ]
    t = await fold(MARKET, events)
    assert [(h["hazard_id"], h["rectified_on"]) for h in t["hazards"]] == [
        ("h_food", date(2026, 11, 12)),
        ("h_paper", None),
    ]
    assert [i["kind"] for i in t["inspections"]] == ["food_shops", "stationery_shops"]
    for ref in ("stu_", "carer_", "inc_1"):
        assert ref not in repr(t)


@pytest.mark.parametrize(
    "role",
    [Role.bureau_officer, Role.principal, Role.police, Role.hospital, Role.committee_member],
)
async def test_every_other_role_is_refused_the_market_page_and_lists_naming_the_rule(
    role: Role,
) -> None:
    for provider in (DASHBOARDS["market"], LISTS["market.inspections"], LISTS["market.hazards"]):
        with pytest.raises(ProblemError) as refused:
            await provider(ctx(role))
        assert refused.value.status == 403
        assert refused.value.extra["rule"] == "market.read"


async def test_market_regulation_may_not_read_the_schools_lists() -> None:
    with pytest.raises(ProblemError) as refused:
        await LISTS["school.hazards_overdue"](ctx(Role.market_regulation, {"school_id": SCHOOL}))
    assert refused.value.status == 403
