"""The city's twelve KPIs computed INDEPENDENTLY from the generated events, in plain Python:
each school's figure by the agencies' independent computation (``agencies_expected``, which
imports nothing of a service), pooled per district and over the city word for word from the
layout's definitions — shares Σ numerators ÷ Σ denominators, a yes/no per school the share of
schools, counts summed — never through ``tongxin_city``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from tests.support.agencies_expected import Facts, Share, end_of, month_ends, school_kpis
from tests.support.agencies_world import World
from tongxin_contracts.calendar import school_year_of

CITY = "city"
# city KPI → (the agencies' per-school KPI, how a school counts)
SOURCES: dict[str, tuple[str, str]] = {
    "visit_coverage": ("visit_coverage", "share"),
    "screening_coverage": ("screening_coverage", "share"),
    "followups_overdue": ("followups_overdue", "count"),
    "counselling_rooms": ("counselling_room", "flag"),
    "referral_sla": ("referral_sla", "share"),
    "parent_school_rule": ("parent_school_rule", "flag"),
    "open_days": ("open_days", "at_least_one"),
    "coordinators": ("coordinator", "flag"),
    "care_files_complete": ("care_files_complete", "share"),
    "guard_completion": ("guard_completion", "share"),
    "hazards_overdue": ("hazards_overdue", "count"),
    "mandatory_reports_late": ("mandatory_reports_late", "count"),
}
KPIS = tuple(SOURCES)
TREND = (
    "visit_coverage",
    "screening_coverage",
    "followups_overdue",
    "guard_completion",
    "hazards_overdue",
)
# The seeds' targets (the settings' defaults), written out: shares at least, counts at most.
TARGETS: dict[str, float] = {
    "visit_coverage": 1.0,
    "screening_coverage": 1.0,
    "followups_overdue": 0,
    "counselling_rooms": 1.0,
    "referral_sla": 1.0,
    "parent_school_rule": 1.0,
    "open_days": 1.0,
    "coordinators": 1.0,
    "care_files_complete": 1.0,
    "guard_completion": 0.95,
    "hazards_overdue": 0,
    "mandatory_reports_late": 0,
}

Figure = Share | int  # a share (num, den) or a count


@dataclass(frozen=True)
class CityExpected:
    day: date
    school_year: str
    figures: dict[str, dict[str, Figure]]  # district (or "city") → KPI → figure
    trend: dict[str, dict[str, list[tuple[str, Figure]]]]  # district → KPI → (month, figure)


def value(f: Figure) -> float | int | None:
    return f.value if isinstance(f, Share) else f


def meets(kpi: str, f: Figure) -> bool | None:
    v = value(f)
    if v is None:
        return None
    if isinstance(f, Share):
        return v >= TARGETS[kpi] - 1e-9
    return v <= TARGETS[kpi] + 1e-9


def _school_figure(kpi: str, raw: Share | int | bool | None) -> Figure | None:
    how = SOURCES[kpi][1]
    if how == "share":
        return raw if isinstance(raw, Share) else None  # None: nothing to count in the school
    if how == "count":
        return raw if isinstance(raw, int) else 0
    if how == "flag":
        return Share(1 if raw else 0, 1)
    return Share(1 if isinstance(raw, int) and raw >= 1 else 0, 1)  # at least one open day


def _pool(kpi: str, figures: list[Figure | None]) -> Figure:
    if SOURCES[kpi][1] == "count":
        return sum(int(f) for f in figures if isinstance(f, int))
    shares = [f for f in figures if isinstance(f, Share)]
    return Share(sum(s.num for s in shares), sum(s.den for s in shares))


def district_figures(
    world: World, f: Facts, day: date, now: datetime
) -> dict[str, dict[str, Figure]]:
    at = min(now, end_of(day))
    per_school = {s.school_id: school_kpis(f, s.school_id, day, at)[0] for s in world.schools}
    out: dict[str, dict[str, Figure]] = {}
    for code in world.districts:
        ids = [s.school_id for s in world.schools_of(code)]
        out[code] = {
            k: _pool(k, [_school_figure(k, per_school[i][SOURCES[k][0]]) for i in ids])
            for k in KPIS
        }
    out[CITY] = {k: _pool(k, [out[c][k] for c in world.districts]) for k in KPIS}
    return out


def city_expected(
    world: World, day: date | None = None, now: datetime | None = None
) -> CityExpected:
    d = day or world.day
    now = now or world.now
    f = Facts(world)
    figures = district_figures(world, f, d, now)
    trend: dict[str, dict[str, list[tuple[str, Figure]]]] = {
        c: {k: [] for k in TREND} for c in world.districts
    }
    for month, end in month_ends(d):
        at_end = district_figures(world, f, end, now)
        for c in world.districts:
            for k in TREND:
                trend[c][k].append((month, at_end[c][k]))
    return CityExpected(d, school_year_of(d), figures, trend)
