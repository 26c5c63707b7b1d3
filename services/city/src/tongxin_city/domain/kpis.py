"""The city's twelve KPIs as pure rules: what each one is (labels, unit, which way is good),
how a district's figure is pooled from its parts and the city's from the districts', and
whether a value meets its target. No I/O: ``application/figures`` counts, this decides.

A share is pooled as Σ numerators ÷ Σ denominators (never an average of averages); a yes/no per
school is a share of schools (the numerator counts the schools that have it); a count is summed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Unit = Literal["share", "count"]
EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class KpiDef:
    key: str  # = the ``Targets`` field of its target
    label_zh: str
    label_en: str
    unit: Unit
    trend: bool = False  # shown by month on the district page


KPIS: tuple[KpiDef, ...] = (
    KpiDef("visit_coverage", "家访覆盖率", "Home-visit coverage", "share", trend=True),
    KpiDef("screening_coverage", "心理筛查覆盖率", "Screening coverage", "share", trend=True),
    KpiDef("followups_overdue", "逾期跟进事项", "Overdue follow-ups", "count", trend=True),
    KpiDef("counselling_rooms", "心理辅导室配备率", "Schools with a counselling room", "share"),
    KpiDef("referral_sla", "转介1小时响应率", "Referrals acknowledged within the hour", "share"),
    KpiDef("parent_school_rule", "家长学校教学达标率", "Parent schools meeting the rule", "share"),
    KpiDef("open_days", "开放日举办率", "Schools holding an open day", "share"),
    KpiDef("coordinators", "家庭教育指导员配备率", "Schools with a coordinator", "share"),
    KpiDef("care_files_complete", "关爱档案结对完整率", "Care files fully paired", "share"),
    KpiDef("guard_completion", "护学岗到岗率", "Guard shifts completed", "share", trend=True),
    KpiDef("hazards_overdue", "逾期未整改隐患", "Overdue hazards", "count", trend=True),
    KpiDef("mandatory_reports_late", "强制报告迟报", "Late mandatory reports", "count"),
)
BY_KEY = {k.key: k for k in KPIS}
TREND_KPIS = tuple(k.key for k in KPIS if k.trend)


@dataclass(frozen=True, slots=True)
class Tally:
    """A KPI's raw figure: a share's numerator and denominator, or a count (``den`` None)."""

    num: int
    den: int | None = None

    def __add__(self, other: Tally) -> Tally:
        if (self.den is None) != (other.den is None):
            raise ValueError("a share and a count do not pool")
        den = None if self.den is None or other.den is None else self.den + other.den
        return Tally(self.num + other.num, den)


def empty(unit: Unit) -> Tally:
    """The figure of a district with nothing to count: a share with no denominator, count 0."""
    return Tally(0, 0) if unit == "share" else Tally(0)


def pool(tallies: Iterable[Tally], unit: Unit) -> Tally:
    """Σ numerators ÷ Σ denominators for a share, the sum for a count."""
    out = empty(unit)
    for t in tallies:
        out = out + t
    return out


def value(t: Tally) -> float | int | None:
    """A share's value (None with nothing to count), a count's number."""
    if t.den is None:
        return t.num
    return t.num / t.den if t.den else None


def meets(unit: Unit, v: float | int | None, target: float | int | None) -> bool | None:
    """A share meets a target at or above it, a count at or below it; None without either."""
    if v is None or target is None:
        return None
    if unit == "share":
        return float(v) >= float(target) - EPSILON
    return float(v) <= float(target) + EPSILON
