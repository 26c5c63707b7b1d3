"""KPIs 1–7 of the district page (home visits, monthly reports, follow-ups) for many schools at
once, on a day D: one statement for all of them (agencies-layout's definitions)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import asyncpg

from tongxin_agencies.application.education_queries import Periods, S, by_school, fetch, ids
from tongxin_agencies.application.kpis import Figures, KpiDef, KpiPart, Ratio, TrendPart
from tongxin_agencies.config import AgenciesSettings
from tongxin_web.views import L

# $1 schools, $2 D, $3 SY.start, $4 SEM.start, $5 the months whose report was due before D,
# $6 the start of the school year's second semester.
# Each enrolled student's first visits of the year and semester (one pass over their visits).
PER_STUDENT = f"""
st AS MATERIALIZED (
    SELECT s.student_ref, s.school_id, s.in_special_group, c.head_teacher_ref
    FROM {S}.students s LEFT JOIN {S}.classes c ON c.class_id = s.class_id
    WHERE s.enrolled AND s.school_id = ANY($1::text[])
),
per AS (
    SELECT st.school_id, st.student_ref, st.in_special_group, st.head_teacher_ref,
        min(v.visited_on) FILTER (WHERE v.mode = 'in_home') AS first_in_home,
        min(v.visited_on) FILTER (WHERE v.mode = 'in_home' AND v.visited_on >= $4)
            AS sem_in_home,
        min(v.visited_on) FILTER (
            WHERE v.visited_on >= $4 AND st.head_teacher_ref = ANY(v.visitor_refs)) AS sem_by_head,
        min(v.visited_on) FILTER (
            WHERE v.visited_on < $6 AND st.head_teacher_ref = ANY(v.visitor_refs)) AS s1_by_head,
        min(v.visited_on) FILTER (
            WHERE v.visited_on >= $6 AND st.head_teacher_ref = ANY(v.visitor_refs)) AS s2_by_head
    FROM st LEFT JOIN {S}.visits v
        ON v.student_ref = st.student_ref AND v.visited_on BETWEEN $3 AND $2
        AND v.visited_on IS NOT NULL
    GROUP BY st.school_id, st.student_ref, st.in_special_group, st.head_teacher_ref
)"""

SQL = f"""
WITH s AS (SELECT unnest($1::text[]) AS school_id),
{PER_STUDENT},
cov AS (
    SELECT school_id, count(*) AS enrolled, count(first_in_home) AS visited,
        count(*) FILTER (WHERE in_special_group) AS special,
        count(sem_in_home) FILTER (WHERE in_special_group) AS special_visited,
        count(*) FILTER (WHERE head_teacher_ref IS NOT NULL) AS ht_students,
        count(sem_by_head) AS ht_visited
    FROM per GROUP BY school_id
),
leader AS (
    SELECT sf.school_id, r.role, sf.staff_ref, count(DISTINCT vv.student_ref) AS students
    FROM {S}.staff sf
    CROSS JOIN unnest(ARRAY['principal', 'middle_leader']) AS r(role)
    LEFT JOIN {S}.visit_visitors vv
        ON vv.staff_ref = sf.staff_ref AND vv.visited_on BETWEEN $3 AND $2
    WHERE sf.school_id = ANY($1::text[]) AND r.role = ANY(sf.roles)
    GROUP BY sf.school_id, r.role, sf.staff_ref
),
leaders AS (
    SELECT school_id,
        min(students) FILTER (WHERE role = 'principal') AS principal,
        min(students) FILTER (WHERE role = 'middle_leader') AS middle_leader
    FROM leader GROUP BY school_id
),
first_report AS (
    SELECT DISTINCT ON (school_id, month) school_id, month, submitted_on, late
    FROM {S}.monthly_reports
    WHERE school_id = ANY($1::text[]) AND month = ANY($5::text[])
    ORDER BY school_id, month, revision
),
reports AS (
    SELECT school_id, count(*) FILTER (WHERE NOT late AND submitted_on <= $2) AS on_time
    FROM first_report GROUP BY school_id
),
overdue AS (
    SELECT school_id, count(*) AS n FROM {S}.followups
    WHERE school_id = ANY($1::text[]) AND opened_on <= $2 AND due_date < $2
      AND (closed_on IS NULL OR closed_on > $2)
    GROUP BY school_id
)
SELECT s.school_id,
    coalesce(cov.enrolled, 0) AS enrolled, coalesce(cov.visited, 0) AS visited,
    coalesce(cov.special, 0) AS special, coalesce(cov.special_visited, 0) AS special_visited,
    coalesce(cov.ht_students, 0) AS ht_students, coalesce(cov.ht_visited, 0) AS ht_visited,
    leaders.principal, leaders.middle_leader,
    coalesce(reports.on_time, 0) AS reports_on_time,
    coalesce(overdue.n, 0) AS followups_overdue
FROM s
LEFT JOIN cov USING (school_id)
LEFT JOIN leaders USING (school_id)
LEFT JOIN reports USING (school_id)
LEFT JOIN overdue USING (school_id)
"""

# The month trend in one statement: how many students had their first visit of the year (and
# of each semester by their head teacher) in each month — the figure as of a month's end is
# the running sum — and the follow-ups overdue as of each month end ($5 months, $7 their ends).
TREND_SQL = f"""
WITH {PER_STUDENT},
firsts AS (
    SELECT school_id, 'visited' AS kind, to_char(first_in_home, 'YYYY-MM') AS month,
        count(*) AS n FROM per WHERE first_in_home IS NOT NULL GROUP BY 1, 3
    UNION ALL
    SELECT school_id, 'head_s1', to_char(s1_by_head, 'YYYY-MM'), count(*)
    FROM per WHERE s1_by_head IS NOT NULL GROUP BY 1, 3
    UNION ALL
    SELECT school_id, 'head_s2', to_char(s2_by_head, 'YYYY-MM'), count(*)
    FROM per WHERE s2_by_head IS NOT NULL GROUP BY 1, 3
    UNION ALL
    SELECT school_id, 'enrolled', NULL, count(*) FROM per GROUP BY 1
    UNION ALL
    SELECT school_id, 'ht_students', NULL, count(*) FROM per
    WHERE head_teacher_ref IS NOT NULL GROUP BY 1
),
overdue AS (
    SELECT f.school_id, 'overdue' AS kind, m.month, count(*) AS n
    FROM {S}.followups f
    JOIN unnest($5::text[], $7::date[]) AS m(month, day)
        ON f.opened_on <= m.day AND f.due_date < m.day
        AND (f.closed_on IS NULL OR f.closed_on > m.day)
    WHERE f.school_id = ANY($1::text[]) AND f.due_date < $2
    GROUP BY f.school_id, m.month
)
SELECT school_id, kind, month, n FROM firsts
UNION ALL
SELECT school_id, kind, month, n FROM overdue
"""


async def figures(
    pool: asyncpg.Pool, settings: AgenciesSettings, schools: Sequence[str], day: date
) -> Figures:
    p = Periods.of(day)
    months = p.months_due(settings.targets.report_due_day)
    rows = await by_school(
        pool, SQL, ids(schools), day, p.sy_start, p.sem_start, months, p.sem2_start
    )
    out: Figures = {}
    for school_id, r in rows.items():
        out[school_id] = {
            "visit_coverage": Ratio(r["visited"], r["enrolled"]),
            "head_teacher_coverage": Ratio(r["ht_visited"], r["ht_students"]),
            "special_group_coverage": Ratio(r["special_visited"], r["special"]),
            "principal_visits": r["principal"],
            "middle_leader_visits": r["middle_leader"],
            "reports_on_time": Ratio(r["reports_on_time"], len(months)),
            "followups_overdue": r["followups_overdue"],
        }
    return out


async def trend(
    pool: asyncpg.Pool, settings: AgenciesSettings, schools: Sequence[str], day: date
) -> dict[str, Figures]:
    """The trend KPIs of this part as of each month end of the school year up to ``day``
    (month → the figures ``figures`` gives on that month's last day, ``day`` for this one)."""
    p = Periods.of(day)
    ends = p.month_ends()
    records = await fetch(
        pool,
        TREND_SQL,
        ids(schools),
        day,
        p.sy_start,
        p.sem_start,
        [m for m, _ in ends],
        p.sem2_start,
        [e for _, e in ends],
    )
    n: dict[tuple[str, str, str | None], int] = {
        (r["school_id"], r["kind"], r["month"]): r["n"] for r in records
    }
    out: dict[str, Figures] = {}
    for school_id in ids(schools):
        visited = head_s1 = head_s2 = 0
        for month, end in ends:
            visited += n.get((school_id, "visited", month), 0)
            head_s1 += n.get((school_id, "head_s1", month), 0)
            head_s2 += n.get((school_id, "head_s2", month), 0)
            head = head_s1 if end < p.sem2_start else head_s2
            out.setdefault(month, {})[school_id] = {
                "visit_coverage": Ratio(visited, n.get((school_id, "enrolled", None), 0)),
                "head_teacher_coverage": Ratio(head, n.get((school_id, "ht_students", None), 0)),
                "followups_overdue": n.get((school_id, "overdue", month), 0),
            }
    return out


PART: KpiPart = figures
TREND: TrendPart = trend

DEFS: list[KpiDef] = [
    KpiDef(
        "visit_coverage",
        L("家访覆盖率", "Home-visit coverage"),
        "share",
        "at_least",
        "visit_coverage",
        "district.classes_coverage",
        trend=True,
    ),
    KpiDef(
        "head_teacher_coverage",
        L("班主任家访覆盖率（本学期）", "Head-teacher visit coverage (semester)"),
        "share",
        "at_least",
        "head_teacher_coverage",
        "district.classes_coverage",
        trend=True,
    ),
    KpiDef(
        "special_group_coverage",
        L("特殊群体入户家访率（本学期）", "Special groups visited in home (semester)"),
        "share",
        "at_least",
        "special_group_coverage",
        "district.classes_coverage",
    ),
    KpiDef(
        "principal_visits",
        L("校长家访学生数", "Students visited by the principal"),
        "count",
        "at_least",
        "principal_visits",
        "district.leaders",
    ),
    KpiDef(
        "middle_leader_visits",
        L("中层干部家访学生数", "Students visited by middle leaders"),
        "count",
        "at_least",
        "middle_leader_visits",
        "district.leaders",
    ),
    KpiDef(
        "reports_on_time",
        L("月报按时报送率", "Monthly reports on time"),
        "share",
        "at_least",
        "reports_on_time",
        "district.reports",
    ),
    KpiDef(
        "followups_overdue",
        L("逾期未办结跟进事项", "Overdue follow-ups"),
        "count",
        "at_most",
        "followups_overdue",
        "district.followups_overdue",
        trend=True,
    ),
]
