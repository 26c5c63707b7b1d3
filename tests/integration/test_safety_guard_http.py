"""Guard posts (校家警护学岗) and vice-principals from outside, over real HTTP, Kafka and
PostgreSQL: a school's leader and the district's police set up posts and shifts with police,
staff and parent volunteers; shifts are completed, missed or left unrecorded; the completion
rates per school and district equal the ones counted here by hand. The legal and fire
vice-principals are appointed (a legal one from fire and rescue refused), the legal one records
law lessons (another legal vice-principal refused), the school names its fire-safety contacts
(staff of another school refused), and schools without them show up. Refusals are
problem+json naming the field and the rule; a post of another district is not found."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.support.safety_school import (
    SafetyEnv,
    SafetySchool,
    safety_env_fixture,  # noqa: F401 - the fixture safety_env, found here by pytest
)
from tests.support.waiting import eventually
from tongxin_cli.demo import DemoSpec
from tongxin_platform.eventstore import now_utc
from tongxin_safety.domain.calendar import china_date, school_year_of

pytestmark = pytest.mark.integration

SPEC = DemoSpec(schools=2, classes_per_school=2, students_per_class=2)
PROBLEM = "application/problem+json"


def police_officer(w: SafetySchool, district: str | None = None) -> dict[str, str]:
    """The police officer who records shifts here (``officer-7``, a guard of the posts)."""
    return w.token("police", "officer-7", district=district)


@pytest.fixture
async def w(safety_env: SafetyEnv) -> AsyncIterator[SafetySchool]:
    async with safety_env.world(SPEC) as world:
        yield world


def refused(r: httpx.Response, status: int, field: str, rule: str | None = None) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert field in body["detail"], body
    if rule is not None:
        assert body.get("rule") == rule, body


async def ok(r: Any) -> dict[str, Any]:
    resp = await r
    assert resp.status_code == 200, resp.text
    out: dict[str, Any] = resp.json()
    return out


async def when(
    w: SafetySchool, path: str, me: dict[str, str], done: Any, what: str, **params: Any
) -> Any:
    async def read() -> Any:
        r = await w.http.get(path, params=params, headers=me)
        assert r.status_code == 200, r.text
        return r.json()

    return await eventually(read, done, what=what)


# --- guard posts and shifts ----------------------------------------------------------------


async def test_shifts_completed_missed_and_unrecorded_give_the_rates_per_school_and_district(
    w: SafetySchool,
) -> None:
    today = china_date(now_utc())
    yesterday, before = today - timedelta(days=1), today - timedelta(days=2)
    a, b = w.schools
    leader, police = w.principal(a), police_officer(w)
    teacher = w.roster.one("head_teacher", a)
    parent = w.roster.guardians_of(a)[0]
    start = str(today - timedelta(days=30))

    made = await ok(
        w.http.post(
            f"/schools/{a}/guard-posts",
            json={"place": "school_gate", "police_station": "ps-12", "established_on": start},
            headers=leader,
        )
    )
    assert made["events"] == ["GuardPostEstablished"]
    post_a = made["post_id"]
    # the police set up the other school's post in their district
    post_b = (
        await ok(
            w.http.post(
                f"/schools/{b}/guard-posts",
                json={"place": "crossing", "established_on": start},
                headers=police,
            )
        )
    )["post_id"]

    rota = [
        {"kind": "police", "ref": "officer-7"},
        {"kind": "staff", "ref": teacher},
        {"kind": "parent_volunteer", "ref": parent},
    ]

    async def shift(post: str, on: date, period: str, me: dict[str, str]) -> str:
        body = {"on": str(on), "period": period, "guards": rota if post == post_a else rota[:1]}
        out = await ok(w.http.post(f"/guard-posts/{post}/shifts", json=body, headers=me))
        assert out["events"] == ["GuardShiftScheduled"]
        shift_id: str = out["shift_id"]
        return shift_id

    stood = await shift(post_a, yesterday, "morning", leader)
    missed = await shift(post_a, yesterday, "afternoon", police)
    await shift(post_a, before, "morning", leader)  # nobody records it: unrecorded
    pending = await shift(post_a, today, "morning", leader)  # today, not yet recorded
    b_stood = await shift(post_b, yesterday, "morning", police)

    done = await ok(
        w.http.post(
            f"/guard-shifts/{stood}/completion",
            json={"guards_present": ["police", "staff", "parent_volunteer"]},
            headers=leader,
        )
    )
    assert done == {"shift_id": stood, "events": ["GuardShiftCompleted"]}
    await ok(
        w.http.post(f"/guard-shifts/{missed}/miss", json={"reason": "no_show"}, headers=police)
    )
    await ok(
        w.http.post(
            f"/guard-shifts/{b_stood}/completion",
            json={"guards_present": ["police"]},
            headers=police,
        )
    )

    # by hand: school a — 1 completed, 1 missed, 1 unrecorded (counts against), 1 pending
    # (counts nowhere): 1 / 3; school b — 1 / 1; the district — 2 / 4 (not the mean of rates)
    week = {"from": str(today - timedelta(days=7)), "to": str(today)}
    got = await when(
        w,
        f"/schools/{a}/guard-shifts",
        leader,
        lambda x: len(x["shifts"]) == 4 and x["completion"]["missed"] == 1,
        "school a's shifts",
        **week,
    )
    c = got["completion"]
    assert (c["completed"], c["missed"], c["unrecorded"], c["pending"]) == (1, 1, 1, 1)
    assert (c["scheduled"], c["posts"]) == (4, 1)
    assert c["rate"] == pytest.approx(1 / 3)
    assert (c["target"], c["target_met"]) == (0.95, False)
    by_id = {s["shift_id"]: s for s in got["shifts"]}
    assert by_id[stood]["status"] == "completed"
    assert by_id[stood]["guards_present"] == ["police", "staff", "parent_volunteer"]
    assert by_id[missed]["missed_reason"] == "no_show"
    assert by_id[missed]["recorded_by"] == "officer-7"
    assert by_id[pending]["status"] == "pending"
    assert sorted(s["status"] for s in got["shifts"]) == [
        "completed",
        "missed",
        "pending",
        "unrecorded",
    ]
    assert by_id[stood]["guards"] == rota

    figures = await when(
        w,
        f"/districts/{w.district}/guard-figures",
        police,
        lambda x: x["totals"]["completed"] == 2,
        "the district's figures",
        **week,
    )
    rows = {r["school_id"]: r for r in figures["schools"]}
    assert rows[a] == {"school_id": a, **c}
    assert (rows[b]["completed"], rows[b]["rate"], rows[b]["target_met"]) == (1, 1.0, True)
    t = figures["totals"]
    assert (t["schools"], t["posts"], t["completed"], t["missed"], t["unrecorded"]) == (
        2,
        2,
        2,
        1,
        1,
    )
    assert (t["pending"], t["scheduled"]) == (1, 5)
    assert t["rate"] == pytest.approx(2 / 4)
    assert figures["schools_below_target"] == [a]
    assert figures["schools_without_posts"] == []

    # a range that ends yesterday leaves today's shift out
    until = await ok(
        w.http.get(
            f"/schools/{a}/guard-shifts",
            params={"from": week["from"], "to": str(yesterday)},
            headers=leader,
        )
    )
    assert until["completion"]["scheduled"] == 3
    assert until["completion"]["pending"] == 0
    # without a range: from the first day of the current term to today
    default = await ok(w.http.get(f"/schools/{a}/guard-shifts", headers=leader))
    assert default["to"] == str(today)
    assert default["completion"] == c

    posts = await ok(w.http.get(f"/schools/{a}/guard-posts", headers=police))
    assert [(p["post_id"], p["place"], p["police_station"]) for p in posts["posts"]] == [
        (post_a, "school_gate", "ps-12")
    ]
    # the city sees the figures, never a school's rota
    city = w.bearer("city_analyst")
    assert (await w.http.get(f"/districts/{w.district}/guard-figures", headers=city)).is_success
    refused(await w.http.get(f"/schools/{a}/guard-shifts", headers=city), 403, "city_analyst")


async def test_shifts_refuse_people_of_another_school_a_day_to_come_and_a_second_record(
    w: SafetySchool,
) -> None:
    today = china_date(now_utc())
    a, b = w.schools
    leader = w.principal(a)
    start = str(today - timedelta(days=10))
    post = (
        await ok(
            w.http.post(
                f"/schools/{a}/guard-posts",
                json={"place": "bus_stop", "established_on": start},
                headers=leader,
            )
        )
    )["post_id"]
    path = f"/guard-posts/{post}/shifts"
    day = str(today - timedelta(days=1))
    stranger = w.roster.one("head_teacher", b)
    body = {"on": day, "period": "noon", "guards": [{"kind": "staff", "ref": stranger}]}
    refused(
        await w.http.post(path, json=body, headers=leader),
        422,
        "guards.0.ref",
        "staff_guard_on_school_staff",
    )
    other_parent = w.roster.guardians_of(b)[0]
    volunteer = {"kind": "parent_volunteer", "ref": other_parent}
    refused(
        await w.http.post(path, json={**body, "guards": [volunteer]}, headers=leader),
        422,
        "guards.0.ref",
        "volunteer_is_guardian_of_school",
    )
    rota = [{"kind": "staff", "ref": w.roster.one("middle_leader", a)}]
    early = {**body, "guards": rota, "on": str(today - timedelta(days=11))}
    refused(
        await w.http.post(path, json=early, headers=leader),
        422,
        "on",
        "shift_after_post_established",
    )
    made = await ok(w.http.post(path, json={**body, "guards": rota}, headers=leader))
    again = await ok(w.http.post(path, json={**body, "guards": rota}, headers=leader))
    assert again == {"shift_id": made["shift_id"], "events": []}, "the same rota: a no-op"
    police_rota = [{"kind": "police", "ref": "officer-9"}]
    refused(
        await w.http.post(path, json={**body, "guards": police_rota}, headers=leader),
        409,
        "period",
        "one_shift_per_post_period",
    )
    sid = made["shift_id"]
    refused(
        await w.http.post(
            f"/guard-shifts/{sid}/completion", json={"guards_present": ["police"]}, headers=leader
        ),
        422,
        "guards_present.0",
        "present_kind_scheduled",
    )
    await ok(
        w.http.post(
            f"/guard-shifts/{sid}/completion", json={"guards_present": ["staff"]}, headers=leader
        )
    )
    refused(
        await w.http.post(f"/guard-shifts/{sid}/miss", json={"reason": "weather"}, headers=leader),
        409,
        "shift_id",
        "shift_recorded_once",
    )
    tomorrow = await ok(
        w.http.post(
            path,
            json={**body, "on": str(today + timedelta(days=1)), "guards": rota},
            headers=leader,
        )
    )
    refused(
        await w.http.post(
            f"/guard-shifts/{tomorrow['shift_id']}/completion",
            json={"guards_present": ["staff"]},
            headers=leader,
        ),
        422,
        "on",
        "not_before_shift_day",
    )


async def test_callers_outside_the_school_or_district_are_refused_or_not_found(
    w: SafetySchool,
) -> None:
    today = china_date(now_utc())
    a, b = w.schools
    leader = w.principal(a)
    body = {"place": "school_gate", "established_on": str(today)}
    key = {**leader, "Idempotency-Key": "gate-post-1"}
    first = await ok(w.http.post(f"/schools/{a}/guard-posts", json=body, headers=key))
    again = await ok(w.http.post(f"/schools/{a}/guard-posts", json=body, headers=key))
    assert again == first, "one key, one post"
    post = first["post_id"]
    shift = {"on": str(today), "period": "morning", "guards": [{"kind": "police", "ref": "p-1"}]}
    sid = (await ok(w.http.post(f"/guard-posts/{post}/shifts", json=shift, headers=leader)))[
        "shift_id"
    ]

    neighbour = w.principal(b)
    refused(
        await w.http.post(f"/schools/{a}/guard-posts", json=body, headers=neighbour),
        403,
        "scope",
        "guard.manage",
    )
    refused(
        await w.http.post(f"/guard-posts/{post}/shifts", json=shift, headers=neighbour),
        404,
        "post_id",
    )
    refused(
        await w.http.post(
            f"/guard-shifts/{sid}/miss",
            json={"reason": "other"},
            headers=police_officer(w, "330107"),
        ),
        404,
        "shift_id",
    )
    head = w.bearer("head_teacher", w.district, a, subject=w.roster.one("head_teacher", a))
    refused(
        await w.http.post(f"/schools/{a}/guard-posts", json=body, headers=head),
        403,
        "head_teacher",
        "guard.manage",
    )
    # A school's leader sees their own school's row of the district's figures, no other.
    own = await ok(w.http.get(f"/districts/{w.district}/guard-figures", headers=w.principal(a)))
    assert [s["school_id"] for s in own["schools"]] == [a]
    assert own["totals"]["schools"] == 1
    refused(
        await w.http.get("/districts/330999/guard-figures", headers=w.principal(a)),
        403,
        "scope",
        "guard.figures",
    )
    refused(
        await w.http.post(f"/guard-posts/{'0' * 8}/shifts", json=shift, headers=leader),
        404,
        "post_id",
    )
    refused(
        await w.http.get(
            f"/schools/{a}/guard-shifts",
            params={"from": str(today), "to": str(today - timedelta(days=1))},
            headers=leader,
        ),
        422,
        "from",
        "date_range",
    )
    # year 1 has no term before it: refused, never a server error
    for params in ({"to": "0001-01-15"}, {"from": "9999-01-01", "to": str(today)}):
        r = await w.http.get(f"/schools/{a}/guard-shifts", params=params, headers=leader)
        refused(r, 422, next(iter(params)))


# --- vice-principals from outside ----------------------------------------------------------


async def test_vice_principals_law_hours_and_fire_contacts_show_the_schools_gaps(
    w: SafetySchool,
) -> None:
    today = china_date(now_utc())
    year = school_year_of(today)
    a, b = w.schools
    leader = w.principal(a)
    vp_path = f"/schools/{a}/vice-principals"
    first_day = str(date(int(year[:4]), 9, 1))
    legal = {
        "post": "legal",
        "appointee_ref": "lvp-1",
        "from_org": "fire_rescue",
        "appointed_on": first_day,
    }
    refused(
        await w.http.post(vp_path, json=legal, headers=leader),
        422,
        "from_org",
        "legal_vp_from_judicial_org",
    )
    made = await ok(
        w.http.post(vp_path, json={**legal, "from_org": "procuratorate"}, headers=leader)
    )
    assert made["events"] == ["VicePrincipalAppointed"]
    fire = {**legal, "post": "fire", "appointee_ref": "fvp-1", "from_org": "police"}
    refused(
        await w.http.post(vp_path, json=fire, headers=leader),
        422,
        "from_org",
        "fire_vp_from_fire_rescue",
    )
    officer = w.bearer("bureau_officer", w.district)
    await ok(w.http.post(vp_path, json={**fire, "from_org": "fire_rescue"}, headers=officer))

    lessons = f"/schools/{a}/law-lessons"
    lvp = w.bearer("legal_vp", w.district, a, subject="lvp-1")
    lesson = {"school_year": year, "given_on": str(today), "hours": 2.5}
    given = await ok(w.http.post(lessons, json=lesson, headers=lvp))
    assert given["events"] == ["LawLessonGiven"]
    assert given["lesson_id"]
    await ok(w.http.post(lessons, json={**lesson, "hours": 1.0}, headers=leader))
    imposter = w.bearer("legal_vp", w.district, a, subject="lvp-2")
    refused(
        await w.http.post(lessons, json=lesson, headers=imposter),
        403,
        "caller",
        "lesson_by_appointed_legal_vp",
    )
    refused(
        await w.http.post(f"/schools/{b}/law-lessons", json=lesson, headers=w.principal(b)),
        422,
        "school_id",
        "legal_vp_appointed",
    )

    contacts = f"/schools/{a}/fire-safety-contacts"
    refused(
        await w.http.post(
            contacts, json={"staff_ref": w.roster.one("principal", b)}, headers=leader
        ),
        422,
        "staff_ref",
        "contact_on_school_staff",
    )
    named, kept = w.roster.one("middle_leader", a), w.roster.one("psych_teacher", a)
    for ref in (named, kept):
        out = await ok(w.http.post(contacts, json={"staff_ref": ref}, headers=leader))
        assert out["events"] == ["FireSafetyContactNamed"]

    police = police_officer(w)
    got = await when(
        w,
        vp_path,
        police,
        lambda x: len(x["fire_safety_contacts"]) == 2 and x["law_hours"] == 3.5,
        "school a's vice-principals",
        school_year=year,
    )
    # by hand: 2.5 + 1.0 = 3.5 hours, short of the 4 of MoE Order No. 52
    assert (got["law_hours"], got["law_hours_target"], got["law_hours_met"]) == (3.5, 4.0, False)
    assert got["legal"]["appointee_ref"] == "lvp-1"
    assert (got["legal"]["from_org"], got["legal"]["in_office"]) == ("procuratorate", True)
    assert got["fire"]["appointee_ref"] == "fvp-1"
    assert {x["given_by"] for x in got["lessons"]} == {"lvp-1"}
    assert got["fire_safety_contacts"] == sorted([named, kept])
    assert got["gaps"] == ["law_hours_short"]

    await ok(w.http.post(lessons, json={**lesson, "hours": 0.5}, headers=lvp))
    await ok(w.http.post(f"{contacts}/{named}/withdrawal", headers=leader))
    refused(
        await w.http.post(f"{contacts}/{named}/withdrawal", headers=leader),
        404,
        "staff_ref",
    )
    figures = await when(
        w,
        f"/districts/{w.district}/vice-principal-figures",
        officer,
        lambda x: (
            (x["totals"]["law_hours"], sum(r["fire_safety_contacts"] for r in x["schools"]))
            == (4.0, 1)
        ),
        "the district's vice-principal figures",
        school_year=year,
    )
    rows = {r["school_id"]: r for r in figures["schools"]}
    assert rows[a] == {
        "school_id": a,
        "legal_vp_in_office": True,
        "legal_vp_from": "procuratorate",
        "fire_vp_in_office": True,
        "law_hours": 4.0,
        "law_hours_met": True,
        "fire_safety_contacts": 1,
        "gaps": [],
    }
    assert rows[b]["gaps"] == [
        "no_legal_vp",
        "law_hours_short",
        "no_fire_vp",
        "no_fire_safety_contact",
    ]
    t = figures["totals"]
    assert (t["schools"], t["with_legal_vp"], t["with_fire_vp"], t["law_hours_met"]) == (2, 1, 1, 1)
    assert (t["with_fire_safety_contact"], t["schools_with_gaps"]) == (1, 1)

    # the school year before: nobody was in office yet (as of its last day), no hours
    start = int(year[:4])
    last_year = await ok(
        w.http.get(vp_path, params={"school_year": f"{start - 1}-{start}"}, headers=leader)
    )
    assert last_year["legal"]["in_office"] is False
    assert last_year["law_hours"] == 0
    assert last_year["gaps"][:3] == ["no_legal_vp", "law_hours_short", "no_fire_vp"]

    # a successor replaces the legal vice-principal: the old one may no longer record
    court = {**legal, "appointee_ref": "lvp-3", "from_org": "court", "appointed_on": str(today)}
    await ok(w.http.post(vp_path, json=court, headers=leader))
    refused(
        await w.http.post(lessons, json=lesson, headers=lvp),
        403,
        "caller",
        "lesson_by_appointed_legal_vp",
    )
    # market regulation may not see the vice-principals
    market = w.bearer("market_regulation", w.district, subject="mr-1")
    refused(await w.http.get(vp_path, headers=market), 403, "market_regulation", "vp.read")
