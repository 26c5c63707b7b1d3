"""A fake dashboard and list for the pages' tests, registered under test keys (``test_web``,
``test_web.items``) in the very registries the real providers use: the pages render whatever a
provider answers, so their rules are tested without any read model. ``STATE`` is what the fake
answers (a test changes it to see a live page follow)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from tongxin_agencies.application.views import DASHBOARDS, LISTS, ViewContext
from tongxin_platform.http import ProblemError, not_found
from tongxin_web.views import (
    Cell,
    Column,
    Dashboard,
    Figure,
    ItemList,
    L,
    Panel,
    Series,
    Table,
    list_link,
)

PAGE, LIST = "test_web", "test_web.items"
STATE: dict[str, Any] = {"overdue": 3, "coverage": 0.875, "deadline_in": 3600.0}


def reset() -> None:
    STATE.update(overdue=3, coverage=0.875, deadline_in=3600.0)


def _school(ctx: ViewContext) -> str:
    school = ctx.param("school_id")
    if school == "forbidden":
        raise ProblemError(403, "Forbidden", "role x may not test.read", rule="test.read")
    if school == "elsewhere":
        raise not_found("school_id", "school")
    return school


async def fake_dashboard(ctx: ViewContext) -> Dashboard:
    school = _school(ctx)
    overdue = int(STATE["overdue"])
    due: datetime = ctx.now + timedelta(seconds=float(STATE["deadline_in"]))
    return Dashboard(
        page=PAGE,
        title=L("测试页面", "Test page"),
        scope=school,
        as_of=ctx.today,
        panels=[
            Panel(
                key="visits",
                label=L("家访", "Home visits"),
                figures=[
                    Figure(
                        key="followups_overdue",
                        label=L("逾期跟进", "Overdue follow-ups"),
                        value=overdue,
                        target=0,
                        meets=overdue <= 0,
                        link=list_link(LIST, school_id=school),
                    ),
                    Figure(
                        key="visit_coverage",
                        label=L("家访覆盖率", "Visit coverage"),
                        value=STATE["coverage"],
                        unit="share",
                        target=0.8,
                        meets=STATE["coverage"] >= 0.8,
                    ),
                    Figure(
                        key="counselling_room",
                        label=L("心理辅导室", "Counselling room"),
                        value=True,
                        unit="flag",
                    ),
                ],
                tables=[
                    Table(
                        key="queue",
                        label=L("转介队列", "Referral queue"),
                        columns=[
                            Column(key="case", label=L("个案", "Case")),
                            Column(key="due", label=L("截止", "Deadline"), unit="deadline"),
                            Column(key="overdue", label=L("逾期", "Overdue"), unit="count"),
                        ],
                        rows=[
                            [
                                Cell(value="case-1<b>"),
                                Cell(value=due),
                                Cell(
                                    value=overdue,
                                    meets=overdue <= 0,
                                    link=list_link(LIST, school_id=school),
                                ),
                            ],
                            [
                                Cell(value="case-2"),
                                Cell(value=None),
                                Cell(value=0, link="javascript:alert(1)"),
                            ],
                        ],
                    )
                ],
                charts=[
                    Series(
                        key="coverage_trend",
                        label=L("覆盖率趋势", "Coverage trend"),
                        months=["2026-09", "2026-10", "2026-11"],
                        lines={school: [0.2, 0.5, STATE["coverage"]]},
                        target=0.8,
                    )
                ],
            )
        ],
    )


async def fake_list(ctx: ViewContext) -> ItemList:
    school = _school(ctx)
    return ItemList(
        key=LIST,
        title=L("逾期跟进", "Overdue follow-ups"),
        scope=school,
        as_of=ctx.today,
        columns=[Column(key="case", label=L("个案", "Case"))],
        rows=[[Cell(value=f"case-{i}")] for i in range(int(STATE["overdue"]))],
    )


@contextmanager
def registered() -> Iterator[None]:
    """The fakes registered (and ``STATE`` as at first) for the block's time only, so that no
    other test sees a test key among the real views."""
    DASHBOARDS[PAGE], LISTS[LIST] = fake_dashboard, fake_list
    reset()
    try:
        yield
    finally:
        DASHBOARDS.pop(PAGE, None)
        LISTS.pop(LIST, None)
        reset()
