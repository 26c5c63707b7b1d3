"""The health, carers and committee models on the real stack (Kafka, PostgreSQL, the agencies
worker and API over HTTP, ``agencies_env``): the figures each page shows equal those computed
here, independently, from the generated world's events; each reader sees only its own (another
hospital's queue, another carer's pairing, another committee: 404); the committee model holds
no student; a new event reaches a page without a restart."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from tests.support.agencies_env import AgenciesEnv, wait_caught_up
from tests.support.agencies_pages import figures_by_key as figures
from tongxin_agencies.config import AgenciesSettings
from tongxin_agencies.projections.carers import CARERS
from tongxin_agencies.projections.committee import COMMITTEE
from tongxin_agencies.projections.health import HEALTH
from tongxin_contracts import IntegrationEvent, default_registry
from tongxin_contracts.calendar import CHINA, china_date, school_year_of, year_period
from tongxin_contracts.events import committees as cm
from tongxin_contracts.events import registry as rg
from tongxin_contracts.events import safety as sf
from tongxin_contracts.events import wellbeing as wb
from tongxin_platform.consumer import ConsumerRuntime
from tongxin_platform.projection import Projection


def of(events: Iterable[IntegrationEvent], *kinds: type[IntegrationEvent]) -> list[Any]:
    return [e for e in events if isinstance(e, kinds)]


# --- independent computations over the world's events -----------------------------------------


def hospital_expected(
    events: list[IntegrationEvent], hospital: str, d: date, now: datetime
) -> dict[str, Any]:
    referred = {
        e.referral_id: e for e in of(events, wb.CrisisReferred) if e.hospital_id == hospital
    }
    acks = {e.referral_id: e for e in of(events, wb.ReferralAcknowledged)}
    resolved = {e.referral_id: e.resolved_on for e in of(events, wb.ReferralResolved)}
    open_ids, overdue, on_time, judged = [], 0, 0, 0
    for rid, e in referred.items():
        if china_date(e.referred_at) > d:
            continue
        ack = acks.get(rid)
        is_open = not (rid in resolved and resolved[rid] <= d)
        if is_open:
            open_ids.append(rid)
            if ack is None and e.acknowledge_by < now:
                overdue += 1
        if ack is not None:
            judged += 1
            on_time += ack.within_deadline
        elif e.acknowledge_by < now:
            judged += 1
    return {
        "open": len(open_ids),
        "open_ids": sorted(open_ids),
        "overdue": overdue,
        "sla": on_time / judged if judged else None,
        "students": {referred[r].student_ref for r in open_ids},
    }


def enrolled_at(events: list[IntegrationEvent]) -> dict[str, str]:
    """student_ref → school, for students the latest roster event keeps enrolled."""
    where: dict[str, str | None] = {}
    for e in of(events, rg.StudentEnrolled, rg.StudentTransferred, rg.StudentLeft):
        where[e.student_ref] = None if isinstance(e, rg.StudentLeft) else e.school_id
    return {s: school for s, school in where.items() if school is not None}


def screening_expected(events: list[IntegrationEvent], d: date) -> dict[str, dict[str, int]]:
    sy = school_year_of(d)
    enrolled = enrolled_at(events)
    offered = {e.student_ref for e in of(events, wb.ScreeningOffered) if e.school_year == sy}
    consent: dict[str, wb.ConsentRecorded] = {}
    for e in of(events, wb.ConsentRecorded):
        if e.school_year == sy:
            consent[e.student_ref] = e
    screened = {
        e.student_ref
        for e in of(events, wb.ScreeningCompleted)
        if e.school_year == sy and e.completed_on <= d
    }
    out: dict[str, dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(("enrolled", "offered", "consented", "refused", "screened"), 0)
    )
    for student, school in enrolled.items():
        row = out[school]
        row["enrolled"] += 1
        row["offered"] += student in offered
        c = consent.get(student)
        if c is not None and c.recorded_on <= d:
            row[c.decision.value] += 1
        row["screened"] += student in screened
    return out


def carer_expected(
    events: list[IntegrationEvent], carer: str, d: date, settings: AgenciesSettings
) -> dict[str, int]:
    paired = {e.pairing_id: e for e in of(events, sf.CarerPaired) if e.carer_ref == carer}
    accepted = {e.pairing_id: e.accepted_on for e in of(events, sf.CarerAccepted)}
    ended = {
        e.pairing_id
        for e in of(events, sf.CarerDeclined, sf.CarerReleased)
        if (e.declined_on if isinstance(e, sf.CarerDeclined) else e.released_on) <= d
    }
    files: dict[tuple[str, str], date] = {}
    closed: dict[tuple[str, str], date] = {}
    risk: dict[tuple[str, str], str] = {}
    groups: dict[tuple[str, str], set[str]] = {}
    parents: dict[tuple[str, str], list[date]] = defaultdict(list)
    for e in events:
        key = (getattr(e, "school_id", ""), getattr(e, "student_ref", ""))
        if isinstance(e, sf.CareFileOpened):
            files[key] = e.opened_on
            closed.pop(key, None)
            groups[key] = {g.value for g in e.care_groups}
        elif isinstance(e, sf.CareGroupsChanged):
            groups[key] = {g.value for g in e.care_groups}
        elif isinstance(e, sf.ParentContactRecorded) and e.contact_on <= d:
            parents[key].append(e.contact_on)
        elif isinstance(e, sf.CareFileClosed):
            closed[key] = e.closed_on
        elif isinstance(e, sf.CareFileHandedOver):
            closed[key] = e.handed_over_on
        elif isinstance(e, sf.RiskLevelSet):
            risk[key] = e.level.value
    contacts: dict[str, list[date]] = defaultdict(list)
    for e in of(events, sf.CareContactLogged):
        if e.contact_on <= d:
            contacts[e.pairing_id].append(e.contact_on)
    days = {
        "low": settings.contact_days_low,
        "medium": settings.contact_days_medium,
        "high": settings.contact_days_high,
    }
    shown = pending = overdue = stale = 0
    for pid, e in paired.items():
        key = (e.school_id, e.student_ref)
        file_open = key in files and files[key] <= d and not (key in closed and closed[key] <= d)
        if e.paired_on > d or pid in ended or not file_open:
            continue
        shown += 1
        if "left_behind" in groups.get(key, set()):
            last_parents = max(parents[key], default=None)
            stale += last_parents is None or (
                last_parents + timedelta(days=settings.parent_contact_days) < d
            )
        acc = accepted.get(pid)
        if acc is None or acc > d:
            pending += 1
            continue
        last = max(contacts[pid], default=acc)
        if last + timedelta(days=days[risk.get(key, "low")]) < d:
            overdue += 1
    return {
        "pairings": shown,
        "pending": pending,
        "contacts_overdue": overdue,
        "parents_stale": stale,
    }


def committee_expected(events: list[IntegrationEvent], cid: str, d: date) -> dict[str, int]:
    seats = 0
    held: dict[str, tuple[date, str | None]] = {}
    gone: dict[str, date] = {}
    for e in of(
        events,
        cm.CommitteeElected,
        cm.ByElectionHeld,
        cm.MemberResigned,
        cm.MemberRemoved,
        cm.MembershipEnding,
    ):
        if e.committee_id != cid:
            continue
        if isinstance(e, (cm.CommitteeElected, cm.ByElectionHeld)):
            seats = e.seats
            since = e.elected_on if isinstance(e, cm.CommitteeElected) else e.held_on
            for m in e.members:
                held[m.guardian_ref] = (since, m.class_id)
                gone.pop(m.guardian_ref, None)
        elif isinstance(e, cm.MemberResigned):
            gone[e.guardian_ref] = e.resigned_on
        elif isinstance(e, cm.MemberRemoved):
            gone[e.guardian_ref] = e.removed_on
        else:
            gone[e.guardian_ref] = e.ends_on + timedelta(days=1)
    current = {
        g: c for g, (since, c) in held.items() if since <= d and not (g in gone and gone[g] <= d)
    }
    received = {
        e.item_id: e
        for e in of(events, cm.ParentFeedbackReceived)
        if e.committee_id == cid and e.received_on <= d
    }
    answers = {
        e.item_id: e
        for e in of(events, cm.ParentFeedbackAnswered)
        if e.item_id in received and e.answered_on <= d
    }
    start = year_period(school_year_of(d)).start
    joint = [
        e
        for e in of(events, cm.JointMeetingHeld, cm.ParentMeetingHeld)
        if cid in e.committee_ids and start <= e.held_on <= d
    ]
    return {
        "seats": seats,
        "held": len(current),
        "vacancies": max(seats - len(current), 0),
        "classes": len({c for c in current.values() if c}),
        "meetings": len(joint),
        "feedback_received": len(received),
        "feedback_answered": len(answers),
        "feedback_on_time": sum(a.on_time for a in answers.values()),
        "feedback_open": len(received) - len(answers),
        "feedback_overdue": sum(
            1 for i, e in received.items() if i not in answers and e.due_on < d
        ),
    }


# --- the hospital -----------------------------------------------------------------------------


async def test_each_hospitals_queue_shows_its_referrals_with_the_figures_computed_from_the_events(
    agencies_env: AgenciesEnv,
) -> None:
    env, world = agencies_env, agencies_env.world
    assert world.hospitals  # the world refers students to hospitals
    for hospital, district in world.hospitals.items():
        # given the hospital's on-call token; when it opens its queue (no parameter)
        r = await env.http.get(
            "/dashboards/hospital", headers=env.token("hospital", org=hospital, district=district)
        )
        assert r.status_code == 200, r.text
        page = r.json()
        # then its figures and open referrals equal those computed from the events
        want = hospital_expected(world.events, hospital, world.day, world.now)
        got = figures(page)
        assert (got["open"]["value"], got["overdue"]["value"]) == (want["open"], want["overdue"])
        assert got["referral_sla"]["value"] == want["sla"]
        queue = page["panels"][0]["tables"][0]
        assert sorted(row[0]["value"] for row in queue["rows"]) == want["open_ids"]
        assert {row[2]["value"] for row in queue["rows"]} == want["students"]
        assert queue["columns"][4]["unit"] == "deadline"
        # and the figure's list holds what the figure counts
        listed = await env.http.get(
            got["overdue"]["link"], headers=env.token("hospital", org=hospital, district=district)
        )
        assert listed.status_code == 200, listed.text
        assert len(listed.json()["rows"]) == want["overdue"]


async def test_another_hospitals_queue_is_not_found_and_the_police_may_not_read_any(
    agencies_env: AgenciesEnv,
) -> None:
    env = agencies_env
    mine, other = sorted(env.world.hospitals)[:2]
    headers = env.token("hospital", org=mine)
    r = await env.http.get("/dashboards/hospital", params={"hospital_id": other}, headers=headers)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await env.http.get(
        "/lists/health.referrals", params={"hospital_id": other}, headers=headers
    )
    assert r.status_code == 404
    r = await env.http.get(
        "/dashboards/hospital", params={"hospital_id": mine}, headers=env.token("police")
    )
    assert (r.status_code, r.json()["rule"]) == (403, "health.read")


async def test_screening_coverage_per_school_equals_the_counts_from_the_events(
    agencies_env: AgenciesEnv,
) -> None:
    env, world = agencies_env, agencies_env.world
    r = await env.http.get(
        "/dashboards/screening",
        params={"district": env.district},
        headers=env.token("bureau_officer"),
    )
    assert r.status_code == 200, r.text
    want = screening_expected(world.events, world.day)
    table = r.json()["panels"][0]["tables"][0]
    keys = [c["key"] for c in table["columns"]]
    schools = world.schools_of(env.district)
    assert len(table["rows"]) == len(schools)
    for row, school in zip(table["rows"], sorted(schools, key=lambda s: s.school_id), strict=True):
        got = {k: cell["value"] for k, cell in zip(keys, row, strict=True)}
        w = want[school.school_id]
        assert {k: got[k] for k in w} == w, school.school_id
        assert got["coverage"] == (w["screened"] / w["enrolled"] if w["enrolled"] else None)
    # and nothing in the answer names a student
    students = {s.student_ref for s in world.students}
    assert not any(s in r.text for s in students)
    # a hospital reads it too; another district's is not found
    r = await env.http.get(
        "/dashboards/screening",
        params={"district": "000000"},
        headers=env.token("hospital", org="h"),
    )
    assert r.status_code == 404


async def test_the_health_model_holds_no_band_score_or_flag(agencies_env: AgenciesEnv) -> None:
    columns = await agencies_env.pool.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'health'"
    )
    names = [c["column_name"] for c in columns]
    assert "acknowledge_by" in names
    assert [
        n for n in names if any(w in n for w in ("band", "score", "flag", "risk", "note"))
    ] == []
    bands = {e.band for e in agencies_env.world.of(wb.ScreeningFlagged)}
    for table in ("referrals", "screening", "screened"):
        rows = await agencies_env.pool.fetch(f"SELECT t::text AS r FROM health.{table} t")
        assert not any(b in r["r"] for r in rows for b in bands if len(b) > 3)


# --- the carers -------------------------------------------------------------------------------


async def test_each_carers_page_shows_their_own_pairings_with_the_contacts_overdue_from_the_events(
    agencies_env: AgenciesEnv,
) -> None:
    env, world = agencies_env, agencies_env.world
    assert world.carers
    for carer in world.carers.values() if isinstance(world.carers, dict) else world.carers:
        school = next((p.school_id for p in world.pairings if p.carer_ref == carer.carer_ref), None)
        headers = env.token(
            carer.role,
            carer.carer_ref,
            district=carer.district,
            school=school if carer.role == "head_teacher" else None,
        )
        r = await env.http.get("/dashboards/carers", headers=headers)
        assert r.status_code == 200, (carer, r.text)
        got = {k: f["value"] for k, f in figures(r.json()).items()}
        want = carer_expected(world.events, carer.carer_ref, world.day, env.settings)
        assert {k: got[k] for k in want} == want, carer
        # the students listed are only those paired to this carer
        mine = {p.student_ref for p in world.pairings if p.carer_ref == carer.carer_ref}
        rows = r.json()["panels"][0]["tables"][0]["rows"]
        assert {row[2]["value"] for row in rows} <= mine


async def test_another_carers_pairing_is_not_found(agencies_env: AgenciesEnv) -> None:
    env, world = agencies_env, agencies_env.world
    agency = [
        c
        for c in (world.carers.values() if isinstance(world.carers, dict) else world.carers)
        if c.role != "head_teacher"
    ]
    me = agency[0]
    theirs = next(p for p in world.pairings if p.carer_ref != me.carer_ref)
    mine = next(p for p in world.pairings if p.carer_ref == me.carer_ref)
    headers = env.token(me.role, me.carer_ref, district=me.district)
    r = await env.http.get(
        "/lists/carers.contacts", params={"pairing_id": theirs.pairing_id}, headers=headers
    )
    assert r.status_code == 404
    r = await env.http.get(
        "/lists/carers.contacts", params={"pairing_id": mine.pairing_id}, headers=headers
    )
    assert r.status_code == 200, r.text


# --- the committees ---------------------------------------------------------------------------


async def test_each_members_committee_page_equals_the_figures_from_the_events(
    agencies_env: AgenciesEnv,
) -> None:
    env, world = agencies_env, agencies_env.world
    current = [m for m in world.members if m.current]
    assert current
    for m in current:
        headers = env.token(
            "committee_member", m.guardian_ref, district=m.district, school=m.school_id
        )
        r = await env.http.get(
            "/dashboards/committee", params={"committee_id": m.committee_id}, headers=headers
        )
        assert r.status_code == 200, r.text
        got = {k: f["value"] for k, f in figures(r.json()).items()}
        want = committee_expected(world.events, m.committee_id, world.day)
        meetings = want.pop("meetings")
        assert {k: got[k] for k in want} == want, m
        assert got["joint"] + got["parent_meeting"] == meetings


async def test_a_former_member_and_another_committee_are_not_found(
    agencies_env: AgenciesEnv,
) -> None:
    env, world = agencies_env, agencies_env.world
    former = [m for m in world.members if not m.current]
    assert former
    m = former[0]
    headers = env.token("committee_member", m.guardian_ref, district=m.district, school=m.school_id)
    r = await env.http.get(
        "/dashboards/committee", params={"committee_id": m.committee_id}, headers=headers
    )
    assert r.status_code == 404
    member = next(x for x in world.members if x.current)
    other = next(x.committee_id for x in world.members if x.committee_id != member.committee_id)
    headers = env.token(
        "committee_member", member.guardian_ref, district=member.district, school=member.school_id
    )
    r = await env.http.get(
        "/lists/committee.feedback", params={"committee_id": other}, headers=headers
    )
    assert r.status_code == 404


async def test_the_committee_model_holds_no_student(agencies_env: AgenciesEnv) -> None:
    pool = agencies_env.pool
    columns = await pool.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'committee'"
    )
    assert columns
    assert [c["column_name"] for c in columns if "student" in c["column_name"]] == []
    students = {s.student_ref for s in agencies_env.world.students}
    for table in ("committees", "members", "meetings", "feedback"):
        for r in await pool.fetch(f"SELECT t::text AS r FROM committee.{table} t"):
            assert not any(s in r["r"] for s in students), table


# --- live -------------------------------------------------------------------------------------


async def test_a_new_referral_and_its_acknowledgement_reach_the_hospitals_page(
    agencies_env: AgenciesEnv,
) -> None:
    # given a district and hospital of this test's own, a day after the world's
    env = agencies_env
    district, school, hospital = "990401", "990401001", "hosp-a4-live"
    day = env.world.day + timedelta(days=1)
    at = datetime.combine(day, time(9, 0), CHINA)
    headers = env.token("hospital", org=hospital, district=district)
    params = {"as_of": day.isoformat()}
    referred = wb.CrisisReferred(
        district=district,
        school_id=school,
        referral_id="ref-a4-live",
        student_ref="stu-a4-live",
        hospital_id=hospital,
        referred_by="psy-a4",
        referred_at=at,
        acknowledge_by=at + timedelta(hours=1),
    )
    # when it is referred, then the queue shows it open
    await env.publish([referred])
    r = await env.http.get("/dashboards/hospital", params=params, headers=headers)
    assert figures(r.json())["open"]["value"] == 1
    # when the hospital acknowledges within the hour, then the share says so
    ack = wb.ReferralAcknowledged(
        district=district,
        school_id=school,
        referral_id="ref-a4-live",
        hospital_id=hospital,
        acknowledged_at=at + timedelta(minutes=12),
        within_deadline=True,
    )
    await env.publish([ack])
    r = await env.http.get("/dashboards/hospital", params=params, headers=headers)
    got = figures(r.json())
    assert (got["open"]["value"], got["overdue"]["value"], got["referral_sla"]["value"]) == (
        1,
        0,
        1.0,
    )


# --- replay -----------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [HEALTH, CARERS, COMMITTEE], ids=lambda m: m.name)
async def test_a_rebuild_from_offset_0_in_small_batches_equals_the_live_model(
    agencies_env: AgenciesEnv, model: Projection
) -> None:
    # given the live model caught up; when it is rebuilt from offset 0 by a group of its own,
    # 7 records a batch, into a fresh schema
    env = agencies_env
    await env.caught_up()
    suffix = uuid.uuid4().hex[:8]
    schema, group = f"{model.name}_rebuilt_{suffix}", f"agencies.{model.name}.rebuild-{suffix}"
    topics = [env.settings.topic_of(s) for s in model.sources]
    async with env.pool.acquire() as conn:
        await model.create_tables(conn, schema)
    runtime = ConsumerRuntime(
        group=group,
        topics=topics,
        apply=model.apply_to(schema),
        handles=model.handles,
        registry=default_registry(),
        pool=env.pool,
        bootstrap=env.settings.kafka_bootstrap_servers,
        max_batch=7,
    )
    task = asyncio.create_task(runtime.run())
    try:
        for topic in topics:
            await wait_caught_up(env.pool, group, topic, env.settings.kafka_bootstrap_servers)
    finally:
        runtime.stop()
        await task
    # then its digest equals the live model's, table by table, and neither is empty
    async with env.pool.acquire() as conn:
        rebuilt, live = await model.digest(conn, schema), await model.digest(conn)
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    assert rebuilt == live
    assert [t for t, d in live.items() if d == "empty"] == []
