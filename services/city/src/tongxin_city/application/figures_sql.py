"""The one statement behind every figure: for each asked day (``d``: the day, its school
year's first day, the school year, the end of the day and the instant it is measured at) and
district, each KPI's numerator and denominator (NULL: a count) from the facts' tables. A KPI
not asked (``$7``) is skipped by a one-time filter; ``$6`` narrows to one district."""

from __future__ import annotations

DAYS = """d AS (
  SELECT * FROM unnest($1::date[], $2::date[], $3::text[], $4::timestamptz[], $5::timestamptz[])
    WITH ORDINALITY AS d(day, start, sy, day_end, now_at, i)
)"""


def _per_student(kpi: str, table: str, cond: str) -> str:
    """Enrolled students with a fact in ``table`` meeting ``cond`` ÷ enrolled students: the
    numerator and the denominator as two rows (summed by the reader), each one join."""
    return f"""
SELECT '{kpi}' AS kpi, d.i, s.district, 0 AS num, count(*)::int AS den
FROM d CROSS JOIN facts.students s
WHERE s.enrolled AND ($6::text IS NULL OR s.district = $6) AND '{kpi}' = ANY($7::text[])
GROUP BY d.i, s.district
UNION ALL
SELECT '{kpi}', d.i, s.district, count(DISTINCT s.mark)::int, 0
FROM d JOIN facts.{table} t ON {cond} JOIN facts.students s ON s.mark = t.mark
WHERE s.enrolled AND ($6::text IS NULL OR s.district = $6) AND '{kpi}' = ANY($7::text[])
GROUP BY d.i, s.district"""


def _per_school(kpi: str, has: str) -> str:
    """A yes/no per school, as the share of the district's schools that have it."""
    return f"""
SELECT '{kpi}', d.i, s.district, count(*) FILTER (WHERE {has})::int, count(*)::int
FROM d CROSS JOIN facts.schools s
WHERE ($6::text IS NULL OR s.district = $6) AND '{kpi}' = ANY($7::text[])
GROUP BY d.i, s.district"""


def _rows(kpi: str, table: str, num: str, den: str, where: str = "true") -> str:
    return f"""
SELECT '{kpi}', d.i, t.district, ({num})::int, ({den})::int
FROM d CROSS JOIN facts.{table} t
WHERE ({where}) AND ($6::text IS NULL OR t.district = $6) AND '{kpi}' = ANY($7::text[])
GROUP BY d.i, t.district"""


PARTS = [
    _per_student(
        "visit_coverage",
        "visits",
        "t.mode = 'in_home' AND t.visited_on BETWEEN d.start AND d.day",
    ),
    _per_student(
        "screening_coverage",
        "screenings",
        "t.school_year = d.sy AND t.completed_on <= d.day",
    ),
    _rows(
        "followups_overdue",
        "followups",
        "count(*) FILTER (WHERE t.opened_on <= d.day AND t.due_date < d.day"
        " AND (t.closed_on IS NULL OR t.closed_on > d.day))",
        "NULL",
    ),
    _per_school("counselling_rooms", "s.has_counselling_room"),
    _rows(
        "referral_sla",
        "referrals",
        "count(*) FILTER (WHERE t.acknowledged_at < d.day_end AND t.within_deadline)",
        # acknowledged by the day's end, or not and past its deadline at the instant measured
        "count(*) FILTER (WHERE t.acknowledged_at < d.day_end OR t.acknowledge_by < d.now_at)",
        "t.referred_at < d.day_end",
    ),
    _per_school(
        "parent_school_rule",
        """(SELECT count(*) FILTER (WHERE p.kind = ANY($8::text[])) >= $10::int
              AND coalesce(sum(p.class_hours) FILTER (WHERE p.kind = ANY($8::text[])), 0)
                  >= $11::float8 - 1e-9
              AND count(*) FILTER (WHERE p.kind = ANY($9::text[])) >= $12::int
            FROM facts.parent_school_sessions p
            WHERE p.school_id = s.school_id AND p.school_year = d.sy AND p.held_on <= d.day)""",
    ),
    _per_school(
        "open_days",
        """EXISTS (SELECT 1 FROM facts.open_days o WHERE o.school_id = s.school_id
                   AND o.held_on BETWEEN d.start AND d.day)""",
    ),
    _per_school(
        "coordinators",
        """EXISTS (SELECT 1 FROM (
              SELECT DISTINCT ON (c.mark) c.change FROM facts.coordinators c
              WHERE c.school_id = s.school_id AND c.changed_on <= d.day
              ORDER BY c.mark, c.changed_on DESC) z WHERE z.change = 'appointed')""",
    ),
    _rows(
        "care_files_complete",
        "care_files",
        """count(*) FILTER (WHERE (
              SELECT count(DISTINCT p.kind) FROM facts.pairings p
              WHERE p.school_id = t.school_id AND p.mark = t.mark AND p.accepted_on <= d.day
                AND (p.ended_on IS NULL OR p.ended_on > d.day)
                AND p.kind = ANY($13::text[])) = cardinality($13::text[]))""",
        "count(*)",
        "t.opened_on <= d.day AND (t.closed_on IS NULL OR t.closed_on > d.day)",
    ),
    _rows(
        "guard_completion",
        "guard_shifts",
        "count(*) FILTER (WHERE t.completed)",
        "count(*)",
        "t.shift_on >= d.start AND t.shift_on < d.day",
    ),
    _rows(
        "hazards_overdue",
        "hazards",
        "count(*) FILTER (WHERE t.rectify_by < d.day"
        " AND (t.rectified_on IS NULL OR t.rectified_on > d.day))",
        "NULL",
    ),
    _rows(
        "mandatory_reports_late",
        "incidents",
        "count(*) FILTER (WHERE (t.filed_at < d.day_end AND t.late)"
        " OR (NOT coalesce(t.filed_at < d.day_end, false) AND t.report_due_at < d.now_at))",
        "NULL",
        "t.required AND t.recorded_at < d.day_end",
    ),
]

FIGURES = f"WITH {DAYS}\n" + "\nUNION ALL".join(PARTS)

DISTRICTS = """
SELECT district FROM facts.schools UNION SELECT district FROM facts.students
UNION SELECT district FROM facts.visits UNION SELECT district FROM facts.screenings
UNION SELECT district FROM facts.followups UNION SELECT district FROM facts.referrals
UNION SELECT district FROM facts.guard_shifts UNION SELECT district FROM facts.hazards
UNION SELECT district FROM facts.incidents UNION SELECT district FROM facts.care_files
UNION SELECT district FROM facts.parent_school_sessions UNION SELECT district FROM facts.open_days
UNION SELECT district FROM facts.coordinators
ORDER BY 1"""
