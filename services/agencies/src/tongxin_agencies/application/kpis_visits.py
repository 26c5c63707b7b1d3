"""KPIs 1–7 of the district page (home visits, monthly reports, follow-ups) for many schools at
once, on a day D: one statement for all of them (agencies-layout's definitions)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import asyncpg

from tongxin_agencies.application.education_queries import Periods, S, by_school, ids
from tongxin_agencies.application.kpis import Figures, KpiDef, KpiPart, Ratio
from tongxin_agencies.application.views import L
from tongxin_agencies.config import AgenciesSettings

# $1 schools, $2 D, $3 SY.start, $4 SEM.start, $5 the months whose report was due before D.
SQL = f"""
WITH s AS (SELECT unnest($1::text[]) AS school_id),
st AS (
    SELECT student_ref, school_id, class_id, in_special_group FROM {S}.students
    WHERE enrolled AND school_id = ANY($1::text[])
),
cov AS (
    SELECT st.school_id,
        count(*) AS enrolled,
        count(*) FILTER (WHERE EXISTS (
            SELECT 1 FROM {S}.visits v WHERE v.student_ref = st.student_ref
              AND v.mode = 'in_home' AND v.visited_on BETWEEN $3 AND $2)) AS visited,
        count(*) FILTER (WHERE st.in_special_group) AS special,
        count(*) FILTER (WHERE st.in_special_group AND EXISTS (
            SELECT 1 FROM {S}.visits v WHERE v.student_ref = st.student_ref
              AND v.mode = 'in_home' AND v.visited_on BETWEEN $4 AND $2)) AS special_visited
    FROM st GROUP BY st.school_id
),
ht AS (
    SELECT st.school_id, count(*) AS students,
        count(*) FILTER (WHERE EXISTS (
            SELECT 1 FROM {S}.visit_visitors vv WHERE vv.student_ref = st.student_ref
              AND vv.staff_ref = c.head_teacher_ref AND vv.visited_on BETWEEN $4 AND $2)) AS visited
    FROM st JOIN {S}.classes c ON c.class_id = st.class_id
    WHERE c.head_teacher_ref IS NOT NULL
    GROUP BY st.school_id
),
leader AS (
    SELECT sf.school_id, r.role,
        (SELECT count(DISTINCT vv.student_ref) FROM {S}.visit_visitors vv
         WHERE vv.staff_ref = sf.staff_ref AND vv.visited_on BETWEEN $3 AND $2) AS students
    FROM {S}.staff sf CROSS JOIN unnest(ARRAY['principal', 'middle_leader']) AS r(role)
    WHERE sf.school_id = ANY($1::text[]) AND r.role = ANY(sf.roles)
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
    coalesce(ht.students, 0) AS ht_students, coalesce(ht.visited, 0) AS ht_visited,
    leaders.principal, leaders.middle_leader,
    coalesce(reports.on_time, 0) AS reports_on_time,
    coalesce(overdue.n, 0) AS followups_overdue
FROM s
LEFT JOIN cov USING (school_id)
LEFT JOIN ht USING (school_id)
LEFT JOIN leaders USING (school_id)
LEFT JOIN reports USING (school_id)
LEFT JOIN overdue USING (school_id)
"""


async def figures(
    pool: asyncpg.Pool, settings: AgenciesSettings, schools: Sequence[str], day: date
) -> Figures:
    p = Periods.of(day)
    months = p.months_due(settings.targets.report_due_day)
    rows = await by_school(pool, SQL, ids(schools), day, p.sy_start, p.sem_start, months)
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


PART: KpiPart = figures

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
    ),
    KpiDef(
        "middle_leader_visits",
        L("中层干部家访学生数", "Students visited by middle leaders"),
        "count",
        "at_least",
        "middle_leader_visits",
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
