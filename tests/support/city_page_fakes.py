"""The city's figures as the pages' tests give them: two districts' 12 KPIs and the city's, the
month trends, the filings — fixed values, some missing their targets — answered in place of
``figures`` and ``filing_status`` (``install(monkeypatch)``), so that the pages' rules are
tested without the read models (the figures have their own tests)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tongxin_city.application import figures, filing_status
from tongxin_city.application.kpi_values import CITY, FilingRow, KpiValue
from tongxin_city.config import CitySettings

AS_OF = date(2026, 11, 20)
DISTRICTS = ["330106", "330108"]
# kpi → (zh, en, unit, target, {district: value})
KPIS: dict[str, tuple[str, str, str, float | int, dict[str, float | int | None]]] = {
    "visit_coverage": ("家访覆盖率", "Visit coverage", "share", 1.0,
                       {"330106": 0.5, "330108": 1.0, CITY: 0.75}),
    "screening_coverage": ("心理筛查覆盖率", "Screening coverage", "share", 1.0,
                           {"330106": 1.0, "330108": 0.875, CITY: 0.9375}),
    "followups_overdue": ("逾期跟进", "Follow-ups overdue", "count", 0,
                          {"330106": 3, "330108": 0, CITY: 3}),
    "counselling_rooms": ("心理辅导室", "Counselling rooms", "share", 1.0,
                          {"330106": 1.0, "330108": 1.0, CITY: 1.0}),
    "referral_sla": ("转介按时确认", "Referrals acknowledged in time", "share", 1.0,
                     {"330106": None, "330108": 1.0, CITY: 1.0}),
    "parent_school_rule": ("家长学校达标", "Parent school rule", "share", 1.0,
                           {"330106": 0.5, "330108": 1.0, CITY: 0.75}),
    "open_days": ("开放日", "Open days", "share", 1.0, {"330106": 1.0, "330108": 0.0, CITY: 0.5}),
    "coordinators": ("家庭教育指导员", "Coordinators", "share", 1.0,
                     {"330106": 1.0, "330108": 1.0, CITY: 1.0}),
    "care_files_complete": ("关爱档案完整", "Care files complete", "share", 1.0,
                            {"330106": 0.8, "330108": 1.0, CITY: 0.9}),
    "guard_completion": ("护学岗到岗率", "Guard shifts completed", "share", 0.95,
                         {"330106": 0.96, "330108": 0.9, CITY: 0.93}),
    "hazards_overdue": ("逾期隐患", "Hazards overdue", "count", 0,
                        {"330106": 0, "330108": 2, CITY: 2}),
    "mandatory_reports_late": ("强制报告逾期", "Mandatory reports late", "count", 0,
                               {"330106": 0, "330108": 1, CITY: 1}),
}  # fmt: skip
TREND = ("visit_coverage", "screening_coverage", "followups_overdue", "guard_completion",
         "hazards_overdue")  # fmt: skip
MONTHS = ["2026-09", "2026-10", "2026-11"]


def meets(value: float | int | None, target: float | int, unit: str) -> bool | None:
    if value is None:
        return None
    return value >= target if unit == "share" else value <= target


def value(district: str, kpi: str, period: str, v: float | int | None) -> KpiValue:
    zh, en, unit, target, _ = KPIS[kpi]
    return KpiValue(
        district=district,
        kpi=kpi,
        period=period,
        label_zh=zh,
        label_en=en,
        unit="share" if unit == "share" else "count",
        value=v,
        numerator=None,
        denominator=None,
        target=target,
        meets=meets(v, target, unit),
        as_of=AS_OF,
    )


def kpis() -> list[KpiValue]:
    return [
        value(d, k, "2026-2027", spec[4][d]) for d in [*DISTRICTS, CITY] for k, spec in KPIS.items()
    ]


def trend(district: str) -> list[KpiValue]:
    out = []
    for k in TREND:
        now = KPIS[k][4][district]
        for i, month in enumerate(MONTHS):
            v = now if now is None or KPIS[k][2] == "count" else round(now * (i + 1) / 3, 4)
            out.append(value(district, k, month, v))
    return out


def filings() -> list[FilingRow]:
    return [
        FilingRow("330106", "district_plan", "2026", date(2026, 4, 20), 1, 1, 0, 0, 0),
        FilingRow("330108", "district_plan", "2026", date(2026, 4, 20), 1, 0, 0, 1, 0),
        FilingRow("330106", "school_visit_plan", "2026", date(2026, 4, 28), 4, 3, 1, 0, 0),
        FilingRow("330108", "school_visit_plan", "2026", date(2026, 4, 28), 4, 4, 0, 0, 0),
        FilingRow("330106", "monthly_stats", "2026-10", date(2026, 10, 30), 1, 1, 0, 0, 0),
        FilingRow("330106", "monthly_stats", "2026-11", date(2026, 11, 30), 1, 0, 0, 0, 1),
        FilingRow("330108", "monthly_stats", "2026-10", date(2026, 10, 30), 1, 0, 1, 0, 0),
        FilingRow("330108", "monthly_stats", "2026-11", date(2026, 11, 30), 1, 0, 0, 0, 1),
        FilingRow("330106", "december_summary", "2026", date(2026, 12, 31), 1, 0, 0, 0, 1),
        FilingRow("330108", "december_summary", "2026", date(2026, 12, 31), 1, 0, 0, 0, 1),
    ]


def install(monkeypatch: pytest.MonkeyPatch, districts: list[str] | None = None) -> None:
    """``figures`` and ``filing_status`` answer the fakes (``districts``: the city has heard of
    these; default both)."""
    heard = list(DISTRICTS if districts is None else districts)

    async def city_kpis(
        pool: object, settings: CitySettings, as_of: date, *, now: datetime | None = None
    ) -> list[KpiValue]:
        return [v for v in kpis() if v.district in (*heard, CITY)]

    async def district_kpis(
        pool: object,
        settings: CitySettings,
        district: str,
        as_of: date,
        *,
        now: datetime | None = None,
    ) -> list[KpiValue]:
        return [v for v in kpis() if v.district == district and district in heard]

    async def district_trend(
        pool: object,
        settings: CitySettings,
        district: str,
        as_of: date,
        *,
        now: datetime | None = None,
    ) -> list[KpiValue]:
        return trend(district) if district in heard else []

    async def known(pool: object) -> list[str]:
        return heard

    async def filed(pool: object, settings: CitySettings, as_of: date) -> list[FilingRow]:
        return [r for r in filings() if r.district in heard]

    monkeypatch.setattr(figures, "city_kpis", city_kpis)
    monkeypatch.setattr(figures, "district_kpis", district_kpis)
    monkeypatch.setattr(figures, "district_trend", district_trend)
    monkeypatch.setattr(figures, "districts", known)
    monkeypatch.setattr(filing_status, "filings", filed)
