"""The district's KPIs per school: each part of the education model computes its own figures for
a set of schools on a day (``KpiPart``); this module knows their definitions (label, unit,
target, which way is good, the list behind them) and judges them against the city's targets.
The district page and the school page both show them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

import asyncpg

from tongxin_agencies.config import AgenciesSettings, Targets
from tongxin_contracts.calendar import CHINA
from tongxin_web.views import Label, Unit


@dataclass(frozen=True)
class Ratio:
    """A share with its parts, so that the district pools them (sum of numerators ÷ sum of
    denominators) instead of averaging schools; ``value`` is None with nothing to count."""

    num: int
    den: int

    @property
    def value(self) -> float | None:
        return self.num / self.den if self.den else None


Value = Ratio | float | int | bool | None
# A part's figures: school_id → KPI key → value (None: nothing to measure, e.g. no referral).
Figures = dict[str, dict[str, Value]]
KpiPart = Callable[[asyncpg.Pool, AgenciesSettings, Sequence[str], date], Awaitable[Figures]]
# Optional, beside a part's ``PART``: its trend KPIs as of each month end of the school year up
# to the day (month → figures), in fewer statements than one ``PART`` per month. A part without
# one is asked once per month end.
TrendPart = Callable[
    [asyncpg.Pool, AgenciesSettings, Sequence[str], date], Awaitable[dict[str, Figures]]
]


@dataclass(frozen=True)
class KpiDef:
    key: str
    label: Label
    unit: Unit
    # ``at_least``: value ≥ target; ``at_most``: value ≤ target; ``true``: the value must be
    # true; ``none``: shown, not judged (e.g. the attention list's size).
    rule: Literal["at_least", "at_most", "true", "none"]
    target: str | None = None  # the attribute of ``Targets`` (None with rule "true"/"none")
    list_key: str | None = None  # the list behind the figure (``views.LISTS``)
    trend: bool = False  # shown by month on the district page
    # A count's district figure: the schools' sum (how many overdue in the district), the
    # fewest (a floor every school must reach: each principal's ≥ 5 visits) or the most (the
    # longest delay). None: the sum, or the fewest for a floor (``at_least``).
    pool: Literal["sum", "min", "max"] | None = None

    def pooling(self) -> Literal["sum", "min", "max"]:
        if self.pool is not None:
            return self.pool
        return "min" if self.rule == "at_least" else "sum"

    def target_of(self, targets: Targets) -> float | int | None:
        return getattr(targets, self.target) if self.target else None

    def meets(self, value: Value, targets: Targets) -> bool | None:
        """Whether ``value`` meets the city's target; None when nothing is judged."""
        value = plain(value)
        if value is None or self.rule == "none":
            return None
        if self.rule == "true":
            return bool(value)
        target = self.target_of(targets)
        if target is None:
            return None
        if self.rule == "at_least":
            return float(value) >= float(target) - 1e-9
        return float(value) <= float(target) + 1e-9


def merge(parts: Sequence[Figures]) -> Figures:
    out: Figures = {}
    for figures in parts:
        for school, values in figures.items():
            out.setdefault(school, {}).update(values)
    return out


def definitions(defs: Sequence[Sequence[KpiDef]]) -> Mapping[str, KpiDef]:
    out: dict[str, KpiDef] = {}
    for group in defs:
        for d in group:
            if d.key in out:
                raise ValueError(f"KPI {d.key!r} is defined twice")
            out[d.key] = d
    return out


def plain(value: Value) -> float | int | bool | None:
    """A figure's value as shown (a ``Ratio`` as its share)."""
    return value.value if isinstance(value, Ratio) else value


_NOW: ContextVar[datetime | None] = ContextVar("kpi_now", default=None)


@contextmanager
def measured_at(now: datetime) -> Iterator[None]:
    """The instant the views measure at (a part's figures that depend on the time of day —
    an unacknowledged referral past its deadline — read it through ``now_for``)."""
    token = _NOW.set(now)
    try:
        yield
    finally:
        _NOW.reset(token)


def now_for(day: date) -> datetime:
    """The instant a KPI of ``day`` is measured at: the views' clock, but never after the end
    of ``day`` in China (a figure as of a past month end does not see later deadlines pass)."""
    end = datetime.combine(day + timedelta(days=1), time(), CHINA)
    now = _NOW.get()
    return end if now is None or now > end else now
