"""Every figure of market regulation's page opens exactly the items it counts: hazards open,
past their deadline, rectified this school year (``status``, the figure's own rule), the
inspections of each kind (``kind``); without a status the list holds them all; an unknown one is
a 422 naming the parameter."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.support.agencies_safety import (
    DIST,
    D,
    fold,
    hazard,
    inspection,
    rectified,
)
from tests.unit.test_agencies_police_links import context as ctx
from tests.unit.test_agencies_police_links import figures_of, market_pool, open_link
from tongxin_agencies.application import providers  # noqa: F401 - registers every view
from tongxin_agencies.application.views import DASHBOARDS, LISTS
from tongxin_agencies.projections.market import MARKET
from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.safety import InspectionKind
from tongxin_platform.auth import Role
from tongxin_platform.http import ProblemError

FOOD, PAPER = InspectionKind.food_shops, InspectionKind.stationery_shops


def market_world() -> list[IntegrationEvent]:
    return [
        inspection("insp_h_open", FOOD),
        hazard("h_open", date(2026, 11, 30), FOOD),
        inspection("insp_h_due_today", PAPER, date(2026, 11, 2)),
        hazard("h_due_today", D, PAPER),  # due today: open, not overdue yet
        inspection("insp_h_overdue", PAPER, date(2026, 10, 2)),
        hazard("h_overdue", date(2026, 11, 1), PAPER),
        inspection("insp_h_fixed", FOOD, date(2026, 10, 3)),
        hazard("h_fixed", date(2026, 11, 1), FOOD),
        rectified("h_fixed", date(2026, 11, 5)),
        hazard("h_fixed_late", date(2026, 10, 1), FOOD),
        rectified("h_fixed_late", date(2026, 10, 20)),
        hazard("h_fixed_last_year", date(2026, 6, 1), FOOD),
        rectified("h_fixed_last_year", date(2026, 6, 20)),
    ]


@pytest.mark.parametrize(
    ("key", "param", "value", "count"),
    [
        ("hazards_open", "status", "open", 3),
        ("hazards_overdue", "status", "overdue", 1),
        ("hazards_rectified", "status", "rectified", 2),
        ("inspections", None, None, 4),
    ],
)
async def test_each_market_figure_opens_a_list_of_exactly_the_items_it_counts(
    key: str, param: str | None, value: str | None, count: int
) -> None:
    # given market regulation's model after hazards of every status
    pool = market_pool(await fold(MARKET, market_world()))
    # when the page is built and the figure's link is followed
    board = await DASHBOARDS["market"](ctx(pool, Role.market_regulation, {"district": DIST}))
    figure = figures_of(board)[key]
    assert figure.link is not None
    if param is not None:
        assert dict(parse_qsl(urlsplit(figure.link).query))[param] == value
    listed = await open_link(pool, Role.market_regulation, figure.link)
    # then the list has as many rows as the figure says
    assert figure.value == count
    assert len(listed.rows) == count


async def test_the_market_table_cells_open_the_items_they_count() -> None:
    pool = market_pool(await fold(MARKET, market_world()))
    board = await DASHBOARDS["market"](ctx(pool, Role.market_regulation, {"district": DIST}))
    (table,) = [t for p in board.panels for t in p.tables]
    keys = [c.key for c in table.columns]
    (row,) = table.rows
    for key in ("food_shops", "stationery_shops", "open", "overdue", "rectified"):
        cell = row[keys.index(key)]
        assert cell.link is not None
        listed = await open_link(pool, Role.market_regulation, cell.link)
        assert len(listed.rows) == cell.value, key


async def test_the_market_hazards_without_status_are_the_open_and_this_years_rectified() -> None:
    pool = market_pool(await fold(MARKET, market_world()))
    listed = await LISTS["market.hazards"](ctx(pool, Role.market_regulation, {"district": DIST}))
    assert sorted(str(r[1].value) for r in listed.rows) == [
        "h_due_today",
        "h_fixed",
        "h_fixed_late",
        "h_open",
        "h_overdue",
    ]


@pytest.mark.parametrize(
    ("key", "param"), [("market.hazards", "status"), ("market.inspections", "kind")]
)
async def test_an_unknown_market_status_or_kind_is_refused_naming_the_parameter(
    key: str, param: str
) -> None:
    pool = market_pool(await fold(MARKET, market_world()))
    ask = {"district": DIST, param: "fire"}
    with pytest.raises(ProblemError) as refused:
        await LISTS[key](ctx(pool, Role.market_regulation, ask))
    assert refused.value.status == 422
    assert refused.value.extra["field"] == param
