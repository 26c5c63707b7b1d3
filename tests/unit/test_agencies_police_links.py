"""Every figure of the police's page opens exactly the items it counts: its link narrows the list
by ``status`` with the figure's own rule (missed, unrecorded, required, filed, late, escalated,
open, overdue, rectified), a list without ``status`` holds everything, and an unknown status is a
422 naming the parameter. The views read the rows the police's model keeps after the events
(folded in memory), through a pool that answers the views' statements as PostgreSQL would."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.support.agencies_safety import (
    DIST,
    SCHOOL,
    D,
    at,
    completed,
    filed,
    fold,
    hazard,
    incident,
    inspection,
    missed,
    post,
    rectified,
    scheduled,
)
from tongxin_agencies.application import (
    market_views,
    police_views,
    providers,  # noqa: F401 - registers every view
)
from tongxin_agencies.application.views import DASHBOARDS, LISTS, ViewContext
from tongxin_agencies.config import AgenciesSettings
from tongxin_agencies.projections.police import POLICE
from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.safety import InspectionKind, MandatoryReportEscalated
from tongxin_platform.auth import Principal, Role
from tongxin_platform.http import ProblemError

NOW = datetime(2026, 11, 16, 2, tzinfo=UTC)  # 10:00 in Beijing on D
Rows = list[dict[str, Any]]


class ModelPool:
    """Answers the statements the views send with the folded rows, as the SQL would."""

    def __init__(self, schema: str, tables: dict[str, Rows], answers: dict[str, Any]) -> None:
        self.schema, self.tables, self.answers = schema, tables, answers

    async def fetch(self, sql: str, *args: Any) -> Rows:
        if sql.strip().startswith(f"SELECT school_id, school_name FROM {self.schema}.schools"):
            return [{"school_id": SCHOOL, "school_name": "第一小学"}]
        answer: Callable[..., Rows] = self.answers[sql]
        return answer(*args)

    async def fetchrow(self, sql: str, school_id: str) -> dict[str, Any] | None:
        assert sql.startswith(f"SELECT district, school_name FROM {self.schema}.schools")
        return {"district": DIST, "school_name": "第一小学"} if school_id == SCHOOL else None


def _grouped(rows: Rows, *keys: str) -> Rows:
    counted = Counter(tuple(r[k] for k in keys) for r in rows)
    return [{**dict(zip(keys, k, strict=True)), "n": n} for k, n in counted.items()]


def police_pool(t: dict[str, Rows]) -> ModelPool:
    posts = {p["post_id"]: p for p in t["guard_posts"]}

    def shifts(schools: list[str], start: date, end: date) -> Rows:
        return [
            {**posts.get(s["post_id"], {}), **s}
            for s in t["guard_shifts"]
            if s["school_id"] in schools and start <= s["shift_on"] < end
        ]

    def hazards(schools: list[str], start: date) -> Rows:
        return [
            h
            for h in t["hazards"]
            if h["school_id"] in schools
            and (h["rectified_on"] is None or h["rectified_on"] >= start)
        ]

    return ModelPool(
        "police",
        t,
        {
            police_views.SHIFTS: shifts,
            police_views.SHIFT_COUNTS: lambda *a: _grouped(shifts(*a), "school_id", "status"),
            police_views.SHIFT_DAYS: lambda *a: _grouped(shifts(*a), "shift_on", "status"),
            police_views.POSTS: lambda schools, d: [
                {"school_id": g["school_id"], "posts": g["n"]}
                for g in _grouped(
                    [p for p in t["guard_posts"] if p["established_on"] <= d], "school_id"
                )
            ],
            police_views.INCIDENTS: lambda schools, start, end: [
                i for i in t["incidents"] if start <= i["recorded_on"] <= end
            ],
            police_views.HAZARDS: hazards,
        },
    )


def context(pool: ModelPool, role: Role, params: dict[str, str]) -> ViewContext:
    return ViewContext(
        pool=pool,  # answers the statements of the views
        settings=AgenciesSettings(),
        who=Principal(subject="u_1", role=role, district=DIST),
        params=params,
        today=D,
        now=NOW,
    )


def escalated(iid: str, when: datetime) -> MandatoryReportEscalated:
    return MandatoryReportEscalated(
        district=DIST,
        school_id=SCHOOL,
        incident_id=iid,
        category=incident(iid, when).category,
        report_due_at=when - timedelta(hours=1),
        escalated_at=when,
    )


def police_world() -> Sequence[IntegrationEvent]:
    """A case of every status, and the boundaries: today's shift, a hazard due today, a report
    whose deadline has not passed, a hazard rectified last school year."""
    return [
        post(),
        scheduled("sh_done", date(2026, 11, 2)),
        completed("sh_done", date(2026, 11, 2)),
        scheduled("sh_missed", date(2026, 11, 3)),
        missed("sh_missed", date(2026, 11, 3)),
        scheduled("sh_nothing", date(2026, 11, 4)),
        scheduled("sh_nothing_2", date(2026, 11, 5)),
        scheduled("sh_today", D),  # may yet be recorded: not counted
        incident("inc_late", at(date(2026, 11, 2))),
        filed("inc_late", at(date(2026, 11, 4)), 172800, True),
        incident("inc_on_time", at(date(2026, 11, 3))),
        filed("inc_on_time", at(date(2026, 11, 3), 12), 7200, False),
        incident("inc_unfiled", at(date(2026, 11, 9))),  # due on the 10th: late, escalated
        escalated("inc_unfiled", at(date(2026, 11, 10), 11)),
        incident("inc_pending", at(date(2026, 11, 16), 9)),  # due tomorrow
        incident("inc_none", at(date(2026, 11, 4)), required=False),
        inspection("insp_h_open", InspectionKind.order_and_traffic),
        hazard("h_open", date(2026, 11, 30), InspectionKind.order_and_traffic),
        hazard("h_due_today", D, InspectionKind.order_and_traffic),
        hazard("h_overdue", date(2026, 11, 1), InspectionKind.order_and_traffic),
        hazard("h_fixed", date(2026, 11, 1), InspectionKind.order_and_traffic),
        rectified("h_fixed", date(2026, 11, 5)),
        hazard("h_fixed_last_year", date(2026, 6, 1), InspectionKind.order_and_traffic),
        rectified("h_fixed_last_year", date(2026, 6, 20)),
    ]


def figures_of(board: Any) -> dict[str, Any]:
    return {f.key: f for p in board.panels for f in p.figures}


async def open_link(pool: ModelPool, role: Role, link: str) -> Any:
    """The list a link names, asked as the page's link asks it."""
    parts = urlsplit(link)
    key = parts.path.removeprefix("/lists/")
    return await LISTS[key](context(pool, role, dict(parse_qsl(parts.query))))


# (figure, status its link narrows to, the column of the list that says so, expected count)
POLICE_FIGURES = [
    ("shifts_missed", "missed", "status", 1),
    ("shifts_unrecorded", "unrecorded", "status", 2),
    ("reports_required", "required", "required", 4),
    ("reports_filed", "filed", "filed", 2),
    ("mandatory_reports_late", "late", "late", 2),
    ("reports_escalated", "escalated", "escalated", 1),
    ("hazards_open", "open", None, 3),
    ("hazards_overdue", "overdue", "days_overdue", 1),
]


@pytest.mark.parametrize(("key", "status", "column", "count"), POLICE_FIGURES)
async def test_each_police_figure_opens_a_list_of_exactly_the_items_it_counts(
    key: str, status: str, column: str | None, count: int
) -> None:
    # given the police's model after a case of every status
    pool = police_pool(await fold(POLICE, police_world()))
    # when the page is built and the figure's link is followed
    board = await DASHBOARDS["police"](context(pool, Role.police, {"district": DIST}))
    figure = figures_of(board)[key]
    link = figure.link
    assert link is not None
    assert dict(parse_qsl(urlsplit(link).query))["status"] == status
    listed = await open_link(pool, Role.police, link)
    # then the list holds as many rows as the figure says, each of that status
    assert figure.value == count
    assert len(listed.rows) == figure.value
    if column is not None:
        at_col = [c.key for c in listed.columns].index(column)
        assert all(r[at_col].value not in (None, False) for r in listed.rows)
        if column == "status":
            assert {r[at_col].value for r in listed.rows} == {status}


async def test_a_police_list_without_status_holds_everything_it_can_narrow_to() -> None:
    pool = police_pool(await fold(POLICE, police_world()))
    ask = {"district": DIST}
    shifts = await LISTS["police.guard_shifts"](context(pool, Role.police, ask))
    incidents = await LISTS["police.incidents"](context(pool, Role.police, ask))
    hazards = await LISTS["police.hazards"](context(pool, Role.police, ask))
    # every shift counted (not today's), every incident this year, every hazard open or fixed
    # this school year (not last year's)
    assert Counter(r[6].value for r in shifts.rows) == {
        "completed": 1,
        "missed": 1,
        "unrecorded": 2,
    }
    assert sorted(str(r[1].value) for r in incidents.rows) == [
        "inc_late",
        "inc_none",
        "inc_on_time",
        "inc_pending",
        "inc_unfiled",
    ]
    assert sorted(str(r[1].value) for r in hazards.rows) == [
        "h_due_today",
        "h_fixed",
        "h_open",
        "h_overdue",
    ]
    board = await DASHBOARDS["police"](context(pool, Role.police, ask))
    assert figures_of(board)["incidents"].value == len(incidents.rows)


async def test_the_police_guard_table_cells_open_the_shifts_they_count() -> None:
    pool = police_pool(await fold(POLICE, police_world()))
    board = await DASHBOARDS["police"](context(pool, Role.police, {"district": DIST}))
    (table,) = [t for p in board.panels for t in p.tables if t.key == "guard_by_school"]
    keys = [c.key for c in table.columns]
    (row,) = table.rows
    for key in ("shifts", "completed", "missed", "unrecorded"):
        cell = row[keys.index(key)]
        assert cell.link is not None
        listed = await open_link(pool, Role.police, cell.link)
        assert len(listed.rows) == cell.value, key


@pytest.mark.parametrize("key", ["police.guard_shifts", "police.incidents", "police.hazards"])
async def test_an_unknown_status_is_refused_naming_the_parameter(key: str) -> None:
    pool = police_pool(await fold(POLICE, police_world()))
    with pytest.raises(ProblemError) as refused:
        await LISTS[key](context(pool, Role.police, {"district": DIST, "status": "lost"}))
    assert refused.value.status == 422
    assert refused.value.extra["field"] == "status"


def market_pool(t: dict[str, Rows]) -> ModelPool:
    return ModelPool(
        "market",
        t,
        {
            market_views.INSPECTIONS: lambda schools, start, end: [
                i for i in t["inspections"] if start <= i["inspected_on"] <= end
            ],
            market_views.HAZARDS: lambda schools, start: [
                h for h in t["hazards"] if h["rectified_on"] is None or h["rectified_on"] >= start
            ],
        },
    )
