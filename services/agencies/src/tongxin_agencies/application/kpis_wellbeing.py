"""KPIs 8–11 and 17 of the district page (screening, counselling rooms, the attention list's
size, referral SLA, training) for many schools at once, on a day D: one statement for all."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

import asyncpg

from tongxin_agencies.application.education_queries import Periods, S, by_school, fetch, ids
from tongxin_agencies.application.kpis import (
    Figures,
    KpiDef,
    KpiPart,
    Ratio,
    TrendPart,
    now_for,
)
from tongxin_agencies.config import AgenciesSettings
from tongxin_contracts.calendar import CHINA
from tongxin_web.views import L

# $1 schools, $2 D, $3 SY.start, $4 SY, $5 the end of D in China, $6 now.
SQL = f"""
WITH s AS (SELECT unnest($1::text[]) AS school_id),
scr AS (
    SELECT st.school_id, count(*) AS enrolled,
        count(*) FILTER (WHERE EXISTS (
            SELECT 1 FROM {S}.screenings x WHERE x.student_ref = st.student_ref
              AND x.school_year = $4 AND x.completed_on <= $2)) AS screened
    FROM {S}.students st
    WHERE st.enrolled AND st.school_id = ANY($1::text[])
    GROUP BY st.school_id
),
att AS (
    SELECT school_id, count(*) AS listed FROM {S}.attention
    WHERE listed AND school_id = ANY($1::text[]) GROUP BY school_id
),
ref AS (
    SELECT school_id,
        count(*) FILTER (WHERE acknowledged_at IS NOT NULL AND within_deadline) AS within,
        count(*) FILTER (WHERE acknowledged_at IS NOT NULL OR acknowledge_by < $6) AS due
    FROM {S}.referrals
    WHERE school_id = ANY($1::text[]) AND referred_at < $5
    GROUP BY school_id
),
trained AS (
    SELECT sf.school_id, count(*) AS staff,
        count(*) FILTER (WHERE EXISTS (
            SELECT 1 FROM {S}.training_attendance ta WHERE ta.staff_ref = sf.staff_ref
              AND ta.topic = 'crisis_identification' AND ta.held_on BETWEEN $3 AND $2)) AS trained
    FROM {S}.staff sf
    WHERE sf.school_id = ANY($1::text[]) AND sf.roles && ARRAY['head_teacher', 'psych_teacher']
    GROUP BY sf.school_id
)
SELECT s.school_id, sc.has_counselling_room,
    coalesce(scr.enrolled, 0) AS enrolled, coalesce(scr.screened, 0) AS screened,
    coalesce(att.listed, 0) AS listed,
    coalesce(ref.within, 0) AS ref_within, coalesce(ref.due, 0) AS ref_due,
    coalesce(trained.staff, 0) AS staff, coalesce(trained.trained, 0) AS trained
FROM s
LEFT JOIN {S}.schools sc USING (school_id)
LEFT JOIN scr USING (school_id)
LEFT JOIN att USING (school_id)
LEFT JOIN ref USING (school_id)
LEFT JOIN trained USING (school_id)
"""


# The trend of screening coverage: each enrolled student's first screening of the school year,
# counted by month ($1 schools, $2 D, $3 SY).
TREND_SQL = f"""
WITH per AS (
    SELECT st.school_id, st.student_ref, min(x.completed_on) AS first
    FROM {S}.students st
    LEFT JOIN {S}.screenings x
        ON x.student_ref = st.student_ref AND x.school_year = $3 AND x.completed_on <= $2
    WHERE st.enrolled AND st.school_id = ANY($1::text[])
    GROUP BY st.school_id, st.student_ref
)
SELECT school_id, to_char(first, 'YYYY-MM') AS month, count(*) AS n
FROM per GROUP BY 1, 2
"""


def end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), CHINA)


async def figures(
    pool: asyncpg.Pool, settings: AgenciesSettings, schools: Sequence[str], day: date
) -> Figures:
    p = Periods.of(day)
    rows = await by_school(
        pool, SQL, ids(schools), day, p.sy_start, p.school_year, end_of(day), now_for(day)
    )
    out: Figures = {}
    for school_id, r in rows.items():
        out[school_id] = {
            "screening_coverage": Ratio(r["screened"], r["enrolled"]),
            "counselling_room": bool(r["has_counselling_room"]),
            "attention_list": r["listed"],
            "referral_sla": Ratio(r["ref_within"], r["ref_due"]),
            "training_coverage": Ratio(r["trained"], r["staff"]),
        }
    return out


async def trend(
    pool: asyncpg.Pool, settings: AgenciesSettings, schools: Sequence[str], day: date
) -> dict[str, Figures]:
    """Screening coverage as of each month end of the school year up to ``day``."""
    p = Periods.of(day)
    records = await fetch(pool, TREND_SQL, ids(schools), day, p.school_year)
    n = {(r["school_id"], r["month"]): r["n"] for r in records}
    enrolled = dict.fromkeys(ids(schools), 0)
    for (school_id, _), count in n.items():
        enrolled[school_id] += count
    out: dict[str, Figures] = {}
    for school_id in ids(schools):
        screened = 0
        for month, _ in p.month_ends():
            screened += n.get((school_id, month), 0)
            out.setdefault(month, {})[school_id] = {
                "screening_coverage": Ratio(screened, enrolled[school_id])
            }
    return out


PART: KpiPart = figures
TREND: TrendPart = trend

DEFS: list[KpiDef] = [
    KpiDef(
        "screening_coverage",
        L("心理健康筛查覆盖率", "Mental-health screening coverage"),
        "share",
        "at_least",
        "screening_coverage",
        "district.screening",
        trend=True,
    ),
    KpiDef(
        "counselling_room",
        L("心理辅导室", "Counselling room"),
        "flag",
        "true",
        None,
        "district.schools",
    ),
    KpiDef(
        "attention_list",
        L("重点关注名单人数", "Attention list (size)"),
        "count",
        "none",
        None,
        None,
    ),
    KpiDef(
        "referral_sla",
        L("危机转介按时响应率", "Crisis referrals acknowledged in time"),
        "share",
        "at_least",
        "referral_sla",
        "district.referrals",
    ),
    KpiDef(
        "training_coverage",
        L("危机识别培训覆盖率", "Crisis-identification training coverage"),
        "share",
        "at_least",
        "training_coverage",
        "district.training",
    ),
]
