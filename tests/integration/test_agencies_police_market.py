"""The police's and market regulation's pages on the real stack (Kafka → the agencies worker →
PostgreSQL → the API over HTTP), on the generated district (``agencies_env``): their figures
equal those computed independently here from the generated events, every figure's list holds
what it counts, nothing of wellbeing and no student pseudonym reaches them, another district is
not found and other roles are refused. And the education model's committees and safety KPIs,
computed by their parts in SQL, equal the independent computation of ``agencies_expected``."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.support.agencies_env import AgenciesEnv
from tests.support.agencies_expected import end_of, expected, refs_in, value_of
from tests.support.agencies_pages import SAFETY_AND_COMMITTEE_LISTS
from tests.support.agencies_pages import figures_by_key as figures_of
from tongxin_agencies.application import kpis_committees, kpis_safety
from tongxin_agencies.application.kpis import measured_at, plain
from tongxin_contracts.calendar import china_date, school_year_of, year_period
from tongxin_contracts.events import safety as sf

SAFETY_KPIS = (
    "care_files_complete",
    "care_contacts_overdue",
    "guard_completion",
    "hazards_overdue",
    "mandatory_reports_late",
)
COMMITTEE_KPIS = (
    "representation",
    "parent_school_rule",
    "standard_parent_school",
    "open_days",
    "coordinator",
)
WELLBEING_WORDS = ("screening", "attention", "referral", "crisis", "counselling", "consent")


def police_expected(env: AgenciesEnv) -> dict[str, Any]:
    """The police page's district figures, from the world's events alone."""
    w, d = env.world, env.world.day
    start = year_period(school_year_of(d)).start
    schools = {s.school_id for s in w.schools_of(env.district)}

    def mine(kind: type[Any]) -> list[Any]:
        return [e for e in w.of(kind) if e.school_id in schools]

    shifts = [s for s in mine(sf.GuardShiftScheduled) if start <= s.on < d]
    done = {c.shift_id for c in mine(sf.GuardShiftCompleted)}
    missed = {m.shift_id for m in mine(sf.GuardShiftMissed)}
    incidents = [i for i in mine(sf.IncidentReported) if start <= china_date(i.recorded_at) <= d]
    filed = {m.incident_id: m for m in mine(sf.MandatoryReportFiled) if m.filed_at < end_of(d)}
    required = [i for i in incidents if i.mandatory_report_required]
    late = [
        i
        for i in required
        if (i.incident_id in filed and filed[i.incident_id].late)
        or (i.incident_id not in filed and i.report_due_at is not None and i.report_due_at < w.now)
    ]
    fixed = {h.hazard_id for h in mine(sf.HazardRectified) if h.rectified_on <= d}
    traffic = [h for h in mine(sf.HazardReported) if h.kind == sf.InspectionKind.order_and_traffic]
    open_h = [h for h in traffic if h.hazard_id not in fixed]
    return {
        "guard_completion": sum(1 for s in shifts if s.shift_id in done) / len(shifts),
        "shifts_missed": sum(1 for s in shifts if s.shift_id in missed),
        "shifts_unrecorded": sum(
            1 for s in shifts if s.shift_id not in done and s.shift_id not in missed
        ),
        "incidents": len(incidents),
        "reports_required": len(required),
        "reports_filed": sum(1 for i in required if i.incident_id in filed),
        "mandatory_reports_late": len(late),
        "hazards_open": len(open_h),
        "hazards_overdue": sum(1 for h in open_h if h.rectify_by < d),
        "students": sum(len(set(i.student_refs)) for i in incidents),
    }


def market_expected(env: AgenciesEnv) -> dict[str, Any]:
    w, d = env.world, env.world.day
    start = year_period(school_year_of(d)).start
    schools = {s.school_id for s in w.schools_of(env.district)}
    shops = (sf.InspectionKind.food_shops, sf.InspectionKind.stationery_shops)
    fixed = {h.hazard_id: h.rectified_on for h in w.of(sf.HazardRectified) if h.rectified_on <= d}
    hazards = [h for h in w.of(sf.HazardReported) if h.school_id in schools and h.kind in shops]
    open_h = [h for h in hazards if h.hazard_id not in fixed]
    return {
        "inspections": sum(
            1
            for i in w.of(sf.InspectionCompleted)
            if i.school_id in schools and i.kind in shops and start <= i.inspected_on <= d
        ),
        "hazards_open": len(open_h),
        "hazards_overdue": sum(1 for h in open_h if h.rectify_by < d),
        "hazards_rectified": sum(
            1 for h in hazards if h.hazard_id in fixed and fixed[h.hazard_id] >= start
        ),
    }


async def get(env: AgenciesEnv, path: str, role: str, **token: Any) -> Any:
    r = await env.http.get(path, headers=env.token(role, **token))
    assert r.status_code == 200, r.text
    return r.json()


async def test_the_police_page_shows_the_districts_guard_shifts_incidents_and_hazards(
    agencies_env: AgenciesEnv,
) -> None:
    env = agencies_env
    page = await get(env, f"/dashboards/police?district={env.district}", "police")
    shown = figures_of(page)
    want = police_expected(env)
    assert shown["guard_completion"]["value"] == pytest.approx(want["guard_completion"])
    for key in (
        "shifts_missed",
        "shifts_unrecorded",
        "incidents",
        "reports_required",
        "reports_filed",
        "mandatory_reports_late",
        "hazards_open",
        "hazards_overdue",
    ):
        assert shown[key]["value"] == want[key], key
    # the world has a missed case of each of these, shown red
    assert shown["hazards_overdue"]["value"] >= 1
    assert shown["hazards_overdue"]["meets"] is False
    assert shown["mandatory_reports_late"]["meets"] is False
    # the month trend: completion as of each month end, the current month's = today's
    (trend,) = [c for p in page["panels"] for c in p["charts"]]
    assert trend["months"][0] == "2026-09"
    assert trend["lines"]["all"][-1] == pytest.approx(want["guard_completion"])
    w = env.world
    schools = {s.school_id for s in w.schools_of(env.district)}
    done = {c.shift_id for c in w.of(sf.GuardShiftCompleted)}
    expected_line: list[float | None] = []
    for end in (date(2026, 9, 30), date(2026, 10, 31), w.day):
        counted = [
            s.shift_id
            for s in w.of(sf.GuardShiftScheduled)
            if s.school_id in schools and date(2026, 9, 1) <= s.on < end
        ]
        expected_line.append(
            sum(1 for c in counted if c in done) / len(counted) if counted else None
        )
    assert trend["months"] == ["2026-09", "2026-10", "2026-11"]
    assert [None if v is None else round(v, 9) for v in trend["lines"]["all"]] == [
        None if v is None else round(v, 9) for v in expected_line
    ]
    by_category = next(
        t for p in page["panels"] for t in p["tables"] if t["key"] == "incidents_by_category"
    )
    assert sum(row[2]["value"] for row in by_category["rows"]) == want["students"]


async def test_every_police_figure_opens_the_list_of_what_it_counts(
    agencies_env: AgenciesEnv,
) -> None:
    env = agencies_env
    shown = figures_of(await get(env, f"/dashboards/police?district={env.district}", "police"))
    # each figure's list holds exactly the items it counts, and only those
    overdue = await get(env, shown["hazards_overdue"]["link"], "police")
    assert len(overdue["rows"]) == shown["hazards_overdue"]["value"] >= 1
    assert all(r[6]["value"] is not None for r in overdue["rows"])
    open_h = await get(env, shown["hazards_open"]["link"], "police")
    assert len(open_h["rows"]) == shown["hazards_open"]["value"]
    assert all(r[5]["value"] is None for r in open_h["rows"])
    late = await get(env, shown["mandatory_reports_late"]["link"], "police")
    assert len(late["rows"]) == shown["mandatory_reports_late"]["value"] >= 1
    assert all(r[8]["value"] for r in late["rows"])
    escalated = await get(env, shown["reports_escalated"]["link"], "police")
    assert len(escalated["rows"]) == shown["reports_escalated"]["value"]
    assert all(r[10]["value"] for r in escalated["rows"])
    for key in ("incidents", "reports_required", "reports_filed"):
        listed = await get(env, shown[key]["link"], "police")
        assert len(listed["rows"]) == shown[key]["value"], key
    for key, status in (("shifts_missed", "missed"), ("shifts_unrecorded", "unrecorded")):
        shifts = await get(env, shown[key]["link"], "police")
        assert [r[6]["value"] for r in shifts["rows"]] == [status] * shown[key]["value"], key
    # without a status, the whole list: every hazard open or rectified this year, every shift
    everything = await get(env, f"/lists/police.hazards?district={env.district}", "police")
    want = police_expected(env)
    assert len(everything["rows"]) == want["hazards_open"] + sum(
        1 for r in everything["rows"] if r[5]["value"] is not None
    )
    shifts = await get(env, f"/lists/police.guard_shifts?district={env.district}", "police")
    statuses = [r[6]["value"] for r in shifts["rows"]]
    assert statuses.count("missed") == shown["shifts_missed"]["value"]
    assert statuses.count("unrecorded") == shown["shifts_unrecorded"]["value"]
    # an unknown status is refused, naming the parameter
    r = await env.http.get(
        f"/lists/police.incidents?district={env.district}&status=lost",
        headers=env.token("police"),
    )
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "status"


async def test_the_police_see_no_wellbeing_data_and_no_student_pseudonym(
    agencies_env: AgenciesEnv,
) -> None:
    env = agencies_env
    texts = []
    page = await env.http.get(
        f"/dashboards/police?district={env.district}", headers=env.token("police")
    )
    texts.append(page.text)
    for f in figures_of(page.json()).values():
        if f["link"]:
            texts.append((await env.http.get(f["link"], headers=env.token("police"))).text)
    refs = {s.student_ref for s in env.world.students}
    refs |= {m.guardian_ref for m in env.world.members}
    for text in texts:
        assert not any(ref in text for ref in refs)
        assert not any(word in text.lower() for word in WELLBEING_WORDS)
    rows = await env.pool.fetch(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = 'police'"
    )
    assert rows
    assert not [r for r in rows if r["column_name"] in ("student_ref", "guardian_ref")]
    dump = await env.pool.fetchval(
        "SELECT string_agg(t::text, '|') FROM (SELECT * FROM police.incidents) t"
    )
    assert dump
    assert not any(ref in dump for ref in refs)


async def test_another_district_is_not_found_and_other_roles_are_refused(
    agencies_env: AgenciesEnv,
) -> None:
    env = agencies_env
    other = env.world.districts[1]
    for page in ("police", "market"):
        role = "police" if page == "police" else "market_regulation"
        r = await env.http.get(
            f"/dashboards/{page}?district={env.district}", headers=env.token(role, district=other)
        )
        assert r.status_code == 404, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        for refused in ("bureau_officer", "hospital", "committee_member"):
            r = await env.http.get(
                f"/dashboards/{page}?district={env.district}", headers=env.token(refused)
            )
            assert r.status_code == 403, r.text
            assert r.json()["rule"] == f"{page}.read"


async def test_the_market_page_shows_its_shop_inspections_and_their_hazards(
    agencies_env: AgenciesEnv,
) -> None:
    env = agencies_env
    page = await get(env, f"/dashboards/market?district={env.district}", "market_regulation")
    shown = figures_of(page)
    want = market_expected(env)
    for key, value in want.items():
        assert shown[key]["value"] == value, key
    for key in ("hazards_open", "hazards_overdue", "hazards_rectified"):
        listed = await get(env, shown[key]["link"], "market_regulation")
        assert len(listed["rows"]) == want[key], key
    hazards = await get(env, f"/lists/market.hazards?district={env.district}", "market_regulation")
    assert len(hazards["rows"]) == want["hazards_open"] + want["hazards_rectified"]
    assert {r[2]["value"] for r in hazards["rows"]} <= {"food_shops", "stationery_shops"}
    inspections = await get(env, shown["inspections"]["link"], "market_regulation")
    assert len(inspections["rows"]) == want["inspections"]
    refs = {s.student_ref for s in env.world.students}
    assert not any(ref in str(page) + str(hazards) for ref in refs)


async def test_the_education_models_safety_and_committee_kpis_equal_the_independent_ones(
    agencies_env: AgenciesEnv,
) -> None:
    env = agencies_env
    d = env.world.day
    want = expected(env.world)
    schools = [s.school_id for s in env.world.schools]
    with measured_at(env.world.now):  # the views' clock, as the district page sets it
        safety = await kpis_safety.safety_part(env.pool, env.settings, schools, d)
    # The classes are the roster part's (A2's table): here as that table holds them.
    rows = {
        key: await kpis_committees.fetch(env.pool, key, schools, d)
        for key in kpis_committees.SQL
        if key != "classes"
    }
    rows["classes"] = [
        {"school_id": c.school_id, "class_id": c.class_id, "grade": c.grade}
        for c in env.world.classes
    ]
    committees = kpis_committees.figures(env.settings, schools, d, rows)
    for school in schools:
        for key in SAFETY_KPIS:
            assert plain(safety[school][key]) == pytest.approx(
                value_of(want.schools[school][key])
            ), (
                school,
                key,
            )
        assert (
            safety[school]["mandatory_report_longest_delay"] == (want.longest_delay_minutes[school])
        )
        for key in COMMITTEE_KPIS:
            assert plain(committees[school][key]) == pytest.approx(
                value_of(want.schools[school][key])
            ), (
                school,
                key,
            )
    # a month end of the trend (the figures of any day, from the dated facts)
    oct_end = date(2026, 10, 31)
    then = expected(env.world, oct_end)
    with measured_at(env.world.now):
        earlier = await kpis_safety.safety_part(env.pool, env.settings, schools, oct_end)
    for school in schools:
        for key in ("guard_completion", "hazards_overdue"):
            assert plain(earlier[school][key]) == pytest.approx(value_of(then.schools[school][key]))


def district_table(page: dict[str, Any]) -> tuple[list[str], list[list[dict[str, Any]]]]:
    """The district page's table of KPIs per school: its column keys and its rows."""
    for panel in page["panels"]:
        for table in panel["tables"]:
            keys = [c["key"] for c in table["columns"]]
            if "hazards_overdue" in keys:
                return keys, table["rows"]
    raise AssertionError("the district page has no table of KPIs per school")


async def test_the_district_pages_safety_and_committee_cells_open_lists_of_what_they_count(
    agencies_env: AgenciesEnv,
) -> None:
    env = agencies_env
    page = await get(env, f"/dashboards/district?district={env.district}", "bureau_officer")
    keys, rows = district_table(page)
    people = {s.student_ref for s in env.world.students}
    people |= {m.guardian_ref for m in env.world.members} | {s.staff_ref for s in env.world.staff}
    schools = {s.school_id for s in env.world.schools_of(env.district)}
    checked = 0
    for row in rows:
        cells = dict(zip(keys, row, strict=True))
        for key in (*SAFETY_KPIS, *COMMITTEE_KPIS):
            link = cells[key]["link"]
            assert link, key
            r = await env.http.get(link, headers=env.token("bureau_officer"))
            assert r.status_code == 200, (link, r.text)
            assert not refs_in(r.text, people), link
            listed = r.json()["rows"]
            value = cells[key]["value"]
            if key in ("hazards_overdue", "care_contacts_overdue", "open_days"):
                assert len(listed) == value, key
            elif key == "mandatory_reports_late":
                # exactly the late reports: the list is narrowed by the figure's own rule
                late = [c["key"] for c in r.json()["columns"]].index("late")
                assert len(listed) == value
                assert all(x[late]["value"] for x in listed)
            elif key == "representation" and value is not None:
                assert sum(1 for x in listed if x[3]["value"]) / len(listed) == pytest.approx(value)
            checked += 1
    assert checked == len(schools) * (len(SAFETY_KPIS) + len(COMMITTEE_KPIS))


async def test_a_principal_opens_the_schools_lists_with_pseudonyms_and_not_another_school(
    agencies_env: AgenciesEnv,
) -> None:
    env = agencies_env
    first, second = env.world.schools_of(env.district)[:2]
    token = env.token("principal", school=first.school_id)
    for key in SAFETY_AND_COMMITTEE_LISTS:
        r = await env.http.get(f"/lists/school.{key}?school_id={first.school_id}", headers=token)
        assert r.status_code == 200, r.text
        r = await env.http.get(f"/lists/school.{key}?school_id={second.school_id}", headers=token)
        assert r.status_code == 404, r.text
    r = await env.http.get(
        f"/lists/school.representation?school_id={first.school_id}", headers=token
    )
    members = [c["key"] for c in r.json()["columns"]].index("members")
    shown = {m for row in r.json()["rows"] for m in (row[members]["value"] or "").split(", ") if m}
    assert shown  # the school's staff see who sits for each class
    assert shown <= {m.guardian_ref for m in env.world.members}


async def test_the_care_figures_counted_in_sql_equal_the_rules_on_every_day_of_the_year(
    agencies_env: AgenciesEnv,
) -> None:
    """The district page's care figures (one statement for all schools) and the pure rules the
    lists use, over the rows they read, agree on every day from the school year's first."""
    env = agencies_env
    schools = [s.school_id for s in env.world.schools]
    day = year_period(school_year_of(env.world.day)).start
    days = 0
    while day <= env.world.day + timedelta(days=7):
        with measured_at(env.world.now):
            counted = await kpis_safety.safety_part(env.pool, env.settings, schools, day)
        rows = {
            key: await kpis_safety.fetch(env.pool, key, schools, day)
            for key in ("files", "pairings", "risks", *kpis_safety.PART_KEYS)
        }
        ruled = kpis_safety.figures(env.settings, schools, day, env.world.now, rows)
        for school in schools:
            for key in ("care_files_complete", "care_contacts_overdue"):
                assert counted[school][key] == ruled[school][key], (day, school, key)
        days += 1
        day += timedelta(days=1)
    assert days > 80
