"""The police's model holds what the police may see and nothing else: it reads the registry's
and the safety service's topics only, has no wellbeing-derived table and no ``student_ref``
column, keeps an incident's number of students (never who) and only the hazards of public order
and traffic; its page and lists are refused to every other role (403 naming the rule) and a
police token may not read the school's or the bureau's lists."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.support.agencies_safety import (
    DIST,
    SCHOOL,
    D,
    at,
    completed,
    file_opened,
    filed,
    fold,
    fully_paired,
    hazard,
    incident,
    inspection,
    post,
    rectified,
    scheduled,
)
from tongxin_agencies.application import providers  # noqa: F401 - registers every view
from tongxin_agencies.application.views import DASHBOARDS, LISTS, ViewContext
from tongxin_agencies.config import AgenciesSettings
from tongxin_agencies.projections.police import POLICE
from tongxin_contracts.events.safety import InspectionKind
from tongxin_platform.auth import Principal, Role
from tongxin_platform.http import ProblemError

WELLBEING_WORDS = ("screening", "attention", "referral", "care_", "wellbeing", "training")


def test_the_police_model_reads_the_registry_and_safety_topics_only() -> None:
    assert set(POLICE.sources) == {"registry", "safety"}
    services = {t.split(".")[2] for t in POLICE.handlers}
    assert services <= {"registry", "safety"}


def test_the_police_model_has_no_wellbeing_derived_table_and_no_student_ref_column() -> None:
    ddl = POLICE.ddl().lower()
    assert "student_ref" not in ddl
    assert "guardian_ref" not in ddl
    for name in POLICE.tables:
        assert not any(word in name for word in WELLBEING_WORDS), name
    assert set(POLICE.tables) == {
        "schools",
        "guard_posts",
        "guard_shifts",
        "incidents",
        "inspections",
        "hazards",
    }


async def test_the_police_model_keeps_shifts_incidents_as_counts_and_only_order_and_traffic() -> (
    None
):
    events = [
        *fully_paired(date(2026, 9, 1)),  # care files: not the police's
        file_opened(date(2026, 9, 2), student="stu_other"),
        post(),
        scheduled("sh_1", date(2026, 11, 2)),
        completed("sh_1", date(2026, 11, 2)),
        incident("inc_1", at(date(2026, 11, 2)), students=("stu_a", "stu_b", "stu_c")),
        filed("inc_1", at(date(2026, 11, 2), 12), 7200, False),
        inspection("insp_h_traffic", InspectionKind.order_and_traffic),
        hazard("h_traffic", date(2026, 11, 10), InspectionKind.order_and_traffic),
        rectified("h_traffic", date(2026, 11, 9)),
        inspection("insp_h_fire", InspectionKind.fire),
        hazard("h_fire", date(2026, 11, 10), InspectionKind.fire),
        rectified("h_fire", date(2026, 11, 12)),
        hazard("h_food", date(2026, 11, 10), InspectionKind.food_shops),
    ]
    t = await fold(POLICE, events)
    assert [h["hazard_id"] for h in t["hazards"]] == ["h_traffic"]
    assert t["hazards"][0]["rectified_on"] == date(2026, 11, 9)
    assert [i["inspection_id"] for i in t["inspections"]] == ["insp_h_traffic"]
    assert [(i["incident_id"], i["students_involved"]) for i in t["incidents"]] == [("inc_1", 3)]
    assert [s["status"] for s in t["guard_shifts"]] == ["completed"]
    text = repr(t)
    for ref in ("stu_", "carer_", "p_school"):
        assert ref not in text


def ctx(role: Role, params: dict[str, str] | None = None, school: str | None = None) -> ViewContext:
    who = Principal(subject="u_1", role=role, district=DIST, school=school)
    return ViewContext(
        pool=None,  # type: ignore[arg-type] - a refusal is decided before any read
        settings=AgenciesSettings(),
        who=who,
        params=params or {"district": DIST},
        today=D,
        now=datetime(2026, 11, 16, 2, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    "role",
    [
        Role.bureau_officer,
        Role.principal,
        Role.psych_teacher,
        Role.hospital,
        Role.community_worker,
        Role.market_regulation,
        Role.committee_member,
    ],
)
async def test_every_other_role_is_refused_the_police_page_and_lists_naming_the_rule(
    role: Role,
) -> None:
    for provider in (
        DASHBOARDS["police"],
        LISTS["police.incidents"],
        LISTS["police.hazards"],
        LISTS["police.guard_shifts"],
    ):
        with pytest.raises(ProblemError) as refused:
            await provider(ctx(role))
        assert refused.value.status == 403
        assert refused.value.extra["rule"] == "police.read"


@pytest.mark.parametrize(
    "key",
    [
        "school.hazards_overdue",
        "district.mandatory_reports",
        "district.care_files",
        "school.representation",
    ],
)
async def test_the_police_may_not_read_the_schools_or_the_bureaus_lists(key: str) -> None:
    with pytest.raises(ProblemError) as refused:
        await LISTS[key](ctx(Role.police, {"school_id": SCHOOL}))
    assert refused.value.status == 403
