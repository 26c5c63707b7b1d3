"""The education model's KPIs, the district page and the school page on PostgreSQL: small
hand-made event sequences written as the worker writes them, each KPI rule met and missed at
its boundary (a visit on the school year's first day vs the day before, a report due on the
30th filed late, a follow-up due yesterday vs today), the views' refusals and what the bureau's
answers never hold; and the model in PostgreSQL equal to its fold in memory."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tests.support import agencies_education as ev
from tests.support.agencies_env import AgenciesEnv
from tongxin_agencies.application import providers  # noqa: F401 - registers every view
from tongxin_agencies.application.district_views import kpi_defs, kpi_figures, kpi_trend
from tongxin_agencies.application.education_queries import Periods
from tongxin_agencies.application.kpis import plain
from tongxin_agencies.application.views import DASHBOARDS, LISTS, ViewContext
from tongxin_agencies.config import AgenciesSettings
from tongxin_agencies.projections.education import EDUCATION
from tongxin_contracts import IntegrationEvent
from tongxin_contracts.calendar import CHINA
from tongxin_platform.auth import Principal, Role
from tongxin_platform.http import ProblemError

D = date(2026, 10, 15)  # first semester of 2026-2027
SY_START = date(2026, 9, 1)
SETTINGS = AgenciesSettings()


@pytest.fixture
async def pool(migrated_db: str) -> AsyncIterator[asyncpg.Pool]:
    p = await asyncpg.create_pool(migrated_db, min_size=1, max_size=6)
    try:
        yield p
    finally:
        await p.close()


async def kpis(
    pool: asyncpg.Pool, events: Sequence[IntegrationEvent], day: date = D, school: str = "sch1"
) -> dict[str, Any]:
    await ev.write_model(pool, events)
    now = datetime.combine(day, time(12), CHINA)
    figs = await kpi_figures(pool, SETTINGS, [school], day, now)
    return {k: plain(v) for k, v in figs[school].items()}


ROSTER: list[IntegrationEvent] = [
    ev.school("sch1"),
    ev.klass("c1", head="h1"),
    ev.klass("c2", head="h2"),
    ev.student("s1", "c1"),
    ev.student("s2", "c1"),
    ev.student("s3", "c2"),
    ev.student("s4", "c2"),
    ev.staff("h1", "head_teacher", classes=["c1"]),
    ev.staff("h2", "head_teacher", "psych_teacher", classes=["c2"]),
    ev.staff("p1", "principal"),
    ev.staff("m1", "middle_leader"),
]


# --- KPIs 1–7 --------------------------------------------------------------------------------


async def test_an_in_home_visit_on_the_school_year_s_first_day_counts_and_the_day_before_not(
    pool: asyncpg.Pool,
) -> None:
    events = [
        *ROSTER,
        ev.visit("v1", "s1", SY_START, ("h1", "head_teacher")),
        ev.visit("v2", "s2", SY_START - timedelta(days=1), ("h1", "head_teacher")),
        ev.visit("v3", "s3", D, ("h2", "head_teacher"), mode="phone", class_id="c2"),
        ev.visit("v4", "s4", D + timedelta(days=1), ("h2", "head_teacher"), class_id="c2"),
    ]
    got = await kpis(pool, events)
    # Only s1: s2's visit was last school year, s3's by phone, s4's after D
    assert got["visit_coverage"] == 0.25


async def test_a_student_who_left_is_not_counted_and_a_cancelled_visit_never_covers(
    pool: asyncpg.Pool,
) -> None:
    events = [*ROSTER, ev.left("s4"), ev.visit("v1", "s1", D), ev.cancelled("v9")]
    assert (await kpis(pool, events))["visit_coverage"] == pytest.approx(1 / 3)


async def test_head_teacher_coverage_counts_only_the_class_s_head_teacher_this_semester(
    pool: asyncpg.Pool,
) -> None:
    events = [
        *ROSTER,
        ev.visit("v1", "s1", D, ("h1", "head_teacher"), mode="phone"),  # counts (any mode)
        ev.visit("v2", "s2", D, ("h2", "head_teacher")),  # not c1's head teacher
        ev.visit("v3", "s3", date(2026, 8, 31), ("h2", "head_teacher"), class_id="c2"),
        ev.visit("v4", "s4", SY_START, ("p1", "principal"), ("h2", "head_teacher")),
    ]
    assert (await kpis(pool, events))["head_teacher_coverage"] == 0.5


async def test_special_group_coverage_is_none_without_special_students_and_needs_in_home(
    pool: asyncpg.Pool,
) -> None:
    assert (await kpis(pool, ROSTER))["special_group_coverage"] is None
    events = [
        *ROSTER,
        ev.special("s1"),
        ev.special("s2"),
        ev.visit("v1", "s1", D),
        ev.visit("v2", "s2", D, mode="online"),
    ]
    assert (await kpis(pool, events))["special_group_coverage"] == 0.5


async def test_principal_and_middle_leader_visits_count_distinct_students(
    pool: asyncpg.Pool,
) -> None:
    events = [
        *ROSTER,
        ev.visit("v1", "s1", D, ("p1", "principal")),
        ev.visit("v2", "s1", D, ("p1", "principal")),
        ev.visit("v3", "s2", D, ("p1", "principal"), ("m1", "middle_leader")),
        ev.visit("v4", "s3", SY_START - timedelta(days=1), ("m1", "middle_leader")),
    ]
    got = await kpis(pool, events)
    assert (got["principal_visits"], got["middle_leader_visits"]) == (2, 1)


async def test_the_smallest_principal_counts_and_no_principal_gives_none(
    pool: asyncpg.Pool,
) -> None:
    events = [*ROSTER, ev.staff("p2", "principal"), ev.visit("v1", "s1", D, ("p1", "principal"))]
    assert (await kpis(pool, events))["principal_visits"] == 0
    # A school without a principal has no figure (not a zero)
    other = [ev.school("sch3"), ev.staff("x1", "head_teacher", school_id="sch3")]
    assert (await kpis(pool, other, school="sch3"))["principal_visits"] is None


async def test_a_report_due_on_the_30th_filed_late_misses_and_one_filed_on_time_meets(
    pool: asyncpg.Pool,
) -> None:
    on_time = datetime(2026, 9, 30, 18, 0, tzinfo=CHINA)
    late = datetime(2026, 10, 1, 9, 0, tzinfo=CHINA)
    day = date(2026, 11, 5)  # September's and October's reports are due
    events = [
        *ROSTER,
        ev.report("2026-09", on_time, late=False),
        ev.report("2026-10", late.replace(month=11, day=1), late=True),
        ev.report("2026-10", late.replace(month=11, day=2), late=False, revision=2),
    ]
    # October's first revision was late: a later on-time revision does not repair it
    assert (await kpis(pool, events, day))["reports_on_time"] == 0.5


async def test_no_report_is_due_on_the_30th_itself(pool: asyncpg.Pool) -> None:
    assert (await kpis(pool, ROSTER, date(2026, 9, 30)))["reports_on_time"] is None
    assert (await kpis(pool, ROSTER, date(2026, 10, 1)))["reports_on_time"] == 0.0


async def test_a_follow_up_due_yesterday_is_overdue_and_one_due_today_not(
    pool: asyncpg.Pool,
) -> None:
    events = [
        *ROSTER,
        ev.followup("f1", D - timedelta(days=10), D - timedelta(days=1)),
        ev.followup("f2", D - timedelta(days=10), D),
        ev.followup("f3", D - timedelta(days=10), D - timedelta(days=1)),
        ev.closed("f3", D),
        ev.followup("f4", D - timedelta(days=10), D - timedelta(days=2)),
        ev.closed("f4", D + timedelta(days=1)),  # closed after D: still overdue on D
    ]
    assert (await kpis(pool, events))["followups_overdue"] == 2


# --- KPIs 8–11, 17 ---------------------------------------------------------------------------


async def test_screening_coverage_counts_distinct_enrolled_students_screened_by_d(
    pool: asyncpg.Pool,
) -> None:
    events = [
        *ROSTER,
        ev.screened("x1", "s1", D),
        ev.screened("x2", "s1", D),  # a second instrument: still one student
        ev.screened("x3", "s2", D + timedelta(days=1)),
        ev.screened("x4", "s3", date(2026, 5, 1), sy="2025-2026"),
    ]
    assert (await kpis(pool, events))["screening_coverage"] == 0.25


async def test_counselling_room_and_attention_list_size(pool: asyncpg.Pool) -> None:
    events = [*ROSTER, ev.listed("s1"), ev.listed("s2"), ev.unlisted("s2"), ev.listed("s3")]
    got = await kpis(pool, events)
    assert (got["counselling_room"], got["attention_list"]) == (True, 2)
    await ev.write_model(pool, [ev.school("sch1", room=False)])
    assert (await kpis(pool, []))["counselling_room"] is False


async def test_referral_sla_counts_acknowledged_in_time_over_those_due(
    pool: asyncpg.Pool,
) -> None:
    at = datetime.combine(D, time(8), CHINA)
    events = [
        *ROSTER,
        ev.referred("r1", at),
        ev.acknowledged("r1", at + timedelta(minutes=30), True),
        ev.referred("r2", at),
        ev.acknowledged("r2", at + timedelta(hours=2), False),
        ev.referred("r3", at),  # unacknowledged, deadline passed by noon
        ev.referred("r4", datetime.combine(D, time(11, 50), CHINA)),  # deadline not yet passed
        ev.referred("r5", datetime.combine(D + timedelta(days=1), time(8), CHINA)),  # after D
    ]
    assert (await kpis(pool, events))["referral_sla"] == pytest.approx(1 / 3)


async def test_training_coverage_counts_head_and_psychology_teachers_trained_this_year(
    pool: asyncpg.Pool,
) -> None:
    events = [
        *ROSTER,
        ev.trained("t1", D, "h1", "p1"),
        ev.trained("t2", D, "h2", topic="classroom_emotion_module"),
    ]
    assert (await kpis(pool, events))["training_coverage"] == 0.5
    later = [*events, ev.trained("t3", date(2026, 8, 30), "h2")]  # last school year
    assert (await kpis(pool, later))["training_coverage"] == 0.5


# --- the pages -------------------------------------------------------------------------------


def ctx(
    pool: asyncpg.Pool, who: Principal, params: Mapping[str, str], day: date = D
) -> ViewContext:
    now = datetime.combine(day, time(12), CHINA)
    return ViewContext(pool, SETTINGS, who, dict(params), day, now)


OFFICER = Principal("o1", Role.bureau_officer, district="d1")
WORLD: list[IntegrationEvent] = [
    *ROSTER,
    ev.school("sch2", room=False),
    ev.klass("k1", "sch2", head="hh"),
    ev.student("z1", "k1", "sch2"),
    ev.student("z2", "k1", "sch2"),
    ev.visit("v1", "s1", D, ("h1", "head_teacher")),
    ev.visit("v2", "z1", D, ("hh", "head_teacher"), class_id="k1", school_id="sch2"),
    ev.visit("v3", "z2", D, ("hh", "head_teacher"), class_id="k1", school_id="sch2"),
    ev.followup("f1", D - timedelta(days=10), D - timedelta(days=1)),
    ev.followup("f2", D - timedelta(days=10), D - timedelta(days=3), class_id="c2"),
    ev.listed("s3", "c2"),
]


def holds_no_person(answer: Any) -> None:
    text = json.dumps(answer.model_dump(mode="json"), ensure_ascii=False)
    for ref in ("s1", "s2", "s3", "s4", "z1", "z2", "h1", "h2", "hh", "p1", "m1", "g-s1"):
        assert f'"{ref}"' not in text, ref


async def test_the_district_page_shows_each_school_s_kpis_pooled_totals_and_trends(
    pool: asyncpg.Pool,
) -> None:
    await ev.write_model(pool, WORLD)
    page = await DASHBOARDS["district"](ctx(pool, OFFICER, {"district": "d1"}))
    panels = {p.key: p for p in page.panels}
    table = panels["schools"].tables[0]
    keys = [c.key for c in table.columns]
    cov = keys.index("visit_coverage")
    assert [r[0].value for r in table.rows] == ["学校 sch1", "学校 sch2"]
    assert [r[cov].value for r in table.rows] == [0.25, 1.0]
    assert [r[cov].meets for r in table.rows] == [False, True]
    assert table.rows[0][cov].link is not None
    totals = {f.key: f for f in panels["totals"].figures}
    assert totals["visit_coverage"].value == 0.5  # (1 + 2) / (4 + 2)
    assert totals["counselling_room"].value == 0.5
    assert totals["counselling_room"].meets is False
    assert totals["followups_overdue"].value == 2
    assert totals["attention_list"].value == 1
    charts = {c.key: c for c in panels["trends"].charts}
    assert charts["visit_coverage"].months == ["2026-09", "2026-10"]
    assert charts["visit_coverage"].lines["学校 sch1"] == [0.0, 0.25]
    assert charts["followups_overdue"].lines["学校 sch1"] == [0.0, 2.0]
    holds_no_person(page)


async def test_the_district_lists_behind_the_figures_hold_no_person(pool: asyncpg.Pool) -> None:
    await ev.write_model(pool, WORLD)
    for key in [k for k in LISTS if k.startswith("district.")]:
        listed = await LISTS[key](ctx(pool, OFFICER, {"district": "d1"}))
        holds_no_person(listed)
    overdue = await LISTS["district.followups_overdue"](
        ctx(pool, OFFICER, {"district": "d1", "school_id": "sch1"})
    )
    assert [r[0].value for r in overdue.rows] == ["f1", "f2"]
    assert [r[-1].value for r in overdue.rows] == [1, 3]
    leaders = await LISTS["district.leaders"](ctx(pool, OFFICER, {"district": "d1"}))
    # one row per leader, without who they are: sch1's principal and middle leader
    assert [(r[0].value, r[1].value, r[2].value, r[2].meets) for r in leaders.rows] == [
        ("学校 sch1", "middle_leader", 0, False),
        ("学校 sch1", "principal", 0, False),
    ]
    coverage = await LISTS["district.classes_coverage"](ctx(pool, OFFICER, {"district": "d1"}))
    assert [(r[1].value, r[2].value, r[3].value) for r in coverage.rows] == [
        ("c1", 2, 1),
        ("c2", 2, 0),
        ("k1", 2, 2),
    ]


async def test_another_district_is_not_found_and_a_principal_may_not_read_a_district(
    pool: asyncpg.Pool,
) -> None:
    await ev.write_model(pool, WORLD)
    with pytest.raises(ProblemError) as e:
        await DASHBOARDS["district"](ctx(pool, OFFICER, {"district": "d2"}))
    assert e.value.status == 404
    principal = Principal("p1", Role.principal, district="d1", school="sch1")
    with pytest.raises(ProblemError) as e:
        await DASHBOARDS["district"](ctx(pool, principal, {"district": "d1"}))
    assert e.value.status == 403
    with pytest.raises(ProblemError) as e:
        await DASHBOARDS["district"](ctx(pool, OFFICER, {}))
    assert e.value.status == 422


async def test_the_school_page_shows_coverage_by_class_and_teacher_and_the_ledger(
    pool: asyncpg.Pool,
) -> None:
    await ev.write_model(pool, WORLD)
    principal = Principal("p1", Role.principal, district="d1", school="sch1")
    page = await DASHBOARDS["school"](ctx(pool, principal, {"school_id": "sch1"}))
    panels = {p.key: p for p in page.panels}
    figures = {f.key: f for f in panels["visits"].figures}
    assert figures["visit_coverage"].value == 0.25
    assert figures["followups_overdue"].value == 2
    tables = {t.key: t for t in panels["visits"].tables}
    assert [(r[0].value, r[3].value) for r in tables["coverage_by_class"].rows] == [
        ("c1", 1),
        ("c2", 2),
    ]
    assert [r[0].value for r in tables["visits_by_teacher"].rows] == ["h1"]
    well = {f.key: f for f in panels["wellbeing"].figures}
    assert well["attention_list"].value == 1
    assert well["attention_list"].link is None  # a principal is not the wellbeing team
    with pytest.raises(ProblemError) as e:
        await LISTS["school.attention_list"](ctx(pool, principal, {"school_id": "sch1"}))
    assert e.value.status == 403
    # a role that may never see who is listed is refused before any school is looked up
    with pytest.raises(ProblemError) as e:
        await LISTS["school.attention_list"](ctx(pool, principal, {"school_id": "sch2"}))
    assert e.value.status == 403
    psych = Principal("h2", Role.psych_teacher, district="d1", school="sch1")
    listed = await LISTS["school.attention_list"](ctx(pool, psych, {"school_id": "sch1"}))
    assert [(r[0].value, r[1].value) for r in listed.rows] == [("c2", "s3")]


async def test_a_head_teacher_sees_only_their_class_s_part(pool: asyncpg.Pool) -> None:
    await ev.write_model(pool, WORLD)
    head = Principal("h2", Role.head_teacher, district="d1", school="sch1", class_id="c2")
    page = await DASHBOARDS["school"](ctx(pool, head, {"school_id": "sch1"}))
    figures = {f.key: f for f in page.panels[0].figures}
    assert figures["visit_coverage"].value == 0.0
    assert figures["followups_overdue"].value == 1
    overdue = await LISTS["school.followups_overdue"](ctx(pool, head, {"school_id": "sch1"}))
    assert [r[0].value for r in overdue.rows] == ["f2"]
    with pytest.raises(ProblemError) as e:
        await LISTS["school.students_not_visited"](
            ctx(pool, head, {"school_id": "sch1", "class_id": "c1"})
        )
    assert e.value.status == 404
    with pytest.raises(ProblemError) as e:
        await DASHBOARDS["school"](ctx(pool, head, {"school_id": "sch2"}))
    assert e.value.status == 404


async def test_the_bureau_reads_a_school_page_without_any_pseudonym(pool: asyncpg.Pool) -> None:
    await ev.write_model(pool, WORLD)
    page = await DASHBOARDS["school"](ctx(pool, OFFICER, {"school_id": "sch1"}))
    holds_no_person(page)
    links = {f.key: f.link for p in page.panels for f in p.figures}
    assert links["principal_visits"] == "/lists/district.leaders?school_id=sch1&district=d1"
    assert links["counselling_room"] == "/lists/school.profile?school_id=sch1"
    profile = await LISTS["school.profile"](ctx(pool, OFFICER, {"school_id": "sch1"}))
    assert [c.value for c in profile.rows[0]] == ["学校 sch1", "primary", True]
    for key in ("school.students_not_visited", "school.followups_overdue", "school.training"):
        holds_no_person(await LISTS[key](ctx(pool, OFFICER, {"school_id": "sch1"})))
    with pytest.raises(ProblemError) as e:
        await LISTS["school.visitors"](ctx(pool, OFFICER, {"school_id": "sch1"}))
    assert e.value.status == 403


async def test_the_model_in_postgresql_equals_its_fold_in_memory(pool: asyncpg.Pool) -> None:
    await ev.write_model(pool, WORLD)
    memory = ev.fold_rows(WORLD)
    for name, table in EDUCATION.tables.items():
        got = {
            tuple(r[k] for k in table.key): dict(r)
            for r in await pool.fetch(f"SELECT * FROM education.{name}")
        }
        want = memory.rows("education", name)
        assert got == want, name


async def test_the_month_trend_equals_each_month_end_s_own_figures(pool: asyncpg.Pool) -> None:
    day = date(2027, 3, 10)  # the trend crosses into the second semester
    events = [
        *WORLD,
        ev.visit("w1", "s2", date(2026, 11, 3), ("h1", "head_teacher")),
        ev.visit("w2", "s3", date(2027, 2, 1), ("h2", "head_teacher"), class_id="c2"),
        ev.visit("w3", "s4", date(2027, 1, 31), ("h2", "head_teacher"), class_id="c2"),
        ev.visit("w4", "s1", date(2027, 3, 11), ("h1", "head_teacher")),  # after the day
        ev.followup("f9", date(2026, 12, 1), date(2027, 1, 5)),
        ev.closed("f9", date(2027, 2, 2)),
        ev.screened("x1", "s1", date(2026, 12, 31)),
        ev.screened("x2", "z1", date(2027, 3, 10), school_id="sch2"),
    ]
    await ev.write_model(pool, events)
    now = datetime.combine(day, time(12), CHINA)
    trend = await kpi_trend(pool, SETTINGS, ["sch1", "sch2"], day, now)
    keys = [d.key for d in kpi_defs().values() if d.trend]
    ends = Periods.of(day).month_ends()
    assert list(trend) == [m for m, _ in ends]
    for month, end in ends:
        own = await kpi_figures(pool, SETTINGS, ["sch1", "sch2"], end, now)
        for school in ("sch1", "sch2"):
            got = {k: plain(trend[month][school].get(k)) for k in keys}
            want = {k: plain(own[school].get(k)) for k in keys}
            assert got == want, (month, school)


# --- through the real stack (events on Kafka → the agencies worker → its HTTP API) -----------


def problem(r: httpx.Response, status: int, rule: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    if rule is not None:
        assert body.get("rule") == rule, body
    return body


async def test_the_bureau_reads_its_district_over_http_and_no_other(
    agencies_env: AgenciesEnv,
) -> None:
    env = agencies_env
    district = env.district
    r = await env.http.get(
        "/dashboards/district",
        params={"district": district},
        headers=env.token("bureau_officer", district=district),
    )
    assert r.status_code == 200, r.text
    page = r.json()
    assert {p["key"] for p in page["panels"]} >= {"totals", "schools", "trends"}
    table = next(t for p in page["panels"] for t in p["tables"] if t["key"] == "kpis")
    assert len(table["rows"]) == len(env.world.schools_of(district))
    # a list behind a figure, by its link (a key with a dot)
    link = next(
        f["link"] for p in page["panels"] for f in p["figures"] if f["key"] == "reports_on_time"
    )
    listed = await env.http.get(link, headers=env.token("bureau_officer", district=district))
    assert listed.status_code == 200, listed.text
    other = next(d for d in env.world.districts if d != district)
    problem(
        await env.http.get(
            "/dashboards/district",
            params={"district": other},
            headers=env.token("bureau_officer", district=district),
        ),
        404,
    )
    school = env.world.schools_of(district)[0].school_id
    problem(
        await env.http.get(
            "/dashboards/district",
            params={"district": district},
            headers=env.token("principal", district=district, school=school),
        ),
        403,
        "district.read",
    )


async def test_a_new_visit_reaches_the_school_page_and_leaves_the_not_visited_list(
    agencies_env: AgenciesEnv,
) -> None:
    env = agencies_env
    district = env.district
    later = (env.world.day + timedelta(days=3)).isoformat()  # the world's day stays as it was
    # a head teacher of a class with a student not visited in home yet
    found = None
    for head in env.world.staff_with("head_teacher"):
        if head.district != district or not head.class_ids:
            continue
        class_id = head.class_ids[0]
        headers = env.token(
            "head_teacher",
            head.staff_ref,
            district=district,
            school=head.school_id,
            class_id=class_id,
        )
        params = {"school_id": head.school_id, "as_of": later}
        before = await env.http.get(
            "/lists/school.students_not_visited", params=params, headers=headers
        )
        assert before.status_code == 200, before.text
        refs = [row[1]["value"] for row in before.json()["rows"]]
        if refs:
            found = (head, class_id, headers, params, refs)
            break
    assert found is not None, "the generated district has a student not visited in home"
    head, class_id, headers, params, refs = found
    school_id = head.school_id
    target = refs[0]
    await env.publish(
        [
            ev.visit(
                f"a2-visit-{target}",
                target,
                env.world.day + timedelta(days=1),
                (head.staff_ref, "head_teacher"),
                class_id=class_id,
                school_id=school_id,
            ).model_copy(update={"district": district})
        ]
    )
    after = await env.http.get("/lists/school.students_not_visited", params=params, headers=headers)
    assert [row[1]["value"] for row in after.json()["rows"]] == refs[1:]
    page = (await env.http.get("/dashboards/school", params=params, headers=headers)).json()
    figures = {f["key"]: f for p in page["panels"] for f in p["figures"]}
    enrolled = sum(1 for s in env.world.students if s.class_id == class_id and not s.left)
    assert figures["visit_coverage"]["value"] == pytest.approx(
        (enrolled - len(refs) + 1) / enrolled
    )
    # the attention list is the wellbeing team's: a head teacher is refused, naming the rule
    problem(
        await env.http.get("/lists/school.attention_list", params=params, headers=headers),
        403,
        "school.attention",
    )
