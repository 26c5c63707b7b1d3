"""Care files (一人一档) over real HTTP, Kafka and PostgreSQL: a school's roster imported through
the registry; a file opened by hand (once), paired with the four kinds of carer — a kind counts
once accepted and is missing again when declined —, the risk level refused a change without a
reason, contacts due at the rhythm of the level and overdue the day after (``as_of``), the
left-behind child's notice missing and parents' contact stale; the school's ledger, the
district's figures and a carer's own list agreeing with figures computed here from the settings;
a carer of one community refused (404) another community's child; every read of a file in the
access log."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
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
from tongxin_platform.auth import Role
from tongxin_platform.eventstore import now_utc
from tongxin_safety.domain.calendar import china_date

pytestmark = pytest.mark.integration

# A roster (seed 12) with no child in a care group: the worker's reaction opens no file of its
# own, so the files and figures here are exactly those the tests open by hand.
SPEC = DemoSpec(schools=2, classes_per_school=2, students_per_class=3, seed=12)
VILLAGE_A, VILLAGE_B = "village-dongshan", "village-xishan"
CIVIL, WOMEN = "mz-330106", "fl-330106"


@pytest.fixture
async def stack(safety_env: SafetyEnv) -> AsyncIterator[SafetySchool]:
    async with safety_env.world(SPEC) as s:
        yield s


async def call(
    s: SafetySchool, method: str, path: str, who: dict[str, str], status: int = 200, **kw: Any
) -> Any:
    r = await s.http.request(method, path, headers=who, **kw)
    assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text}"
    return r.json()


async def until_visible(s: SafetySchool, path: str, who: dict[str, str]) -> Any:
    """The read model catches up with a command (the scope of a file is read from it)."""

    async def probe() -> httpx.Response:
        return await s.http.get(path, headers=who)

    r = await eventually(probe, lambda r: r.status_code == 200, timeout=30, what=path)
    return r.json()


async def until(
    s: SafetySchool, probe: Callable[[], Any], done: Callable[[Any], bool], what: str
) -> Any:
    return await eventually(probe, done, timeout=30, what=what)


def today() -> date:
    return china_date(now_utc())


async def test_a_left_behind_child_s_file_with_its_four_carers_risk_contacts_and_notice(
    stack: SafetySchool,
) -> None:
    s = stack
    cls = s.roster.classes_of(s.school_id)[0]
    a = s.roster.of_class(cls)[0]
    lead, head = s.principal(), s.head_teacher(cls)
    base = f"/students/{a}/care-file"

    # Given a left-behind child's file opened by hand, once.
    opened = await call(s, "POST", base, head, json={"care_groups": ["left_behind"]})
    assert opened["events"] == ["CareFileOpened"]
    again = await call(s, "POST", base, lead, json={"care_groups": ["left_behind"]})
    assert again["events"] == [], "one child, one file"
    record = await until_visible(s, base, lead)
    assert record["status"] == "open"
    assert record["care_groups"] == ["left_behind"]
    assert record["missing_kinds"] == ["school", "community", "civil_affairs", "womens_federation"]

    # When the school pairs the four kinds.
    teacher = s.roster.head_of(cls)
    carers = {
        "school": (teacher, None, s.head_teacher(cls)),
        "community": ("cw-1", VILLAGE_A, s.token(Role.community_worker, "cw-1", org=VILLAGE_A)),
        "civil_affairs": ("mz-1", CIVIL, s.token(Role.civil_affairs, "mz-1", org=CIVIL)),
        "womens_federation": ("fl-1", WOMEN, s.token(Role.womens_federation, "fl-1", org=WOMEN)),
    }
    pairing = {}
    for kind, (ref, org, _) in carers.items():
        body = {"kind": kind, "carer_ref": ref, **({"org": org} if org else {})}
        made = await call(s, "POST", f"{base}/pairings", lead, json=body)
        assert made["events"] == ["CarerPaired"]
        pairing[kind] = made["pairing_id"]
    twice = await call(
        s,
        "POST",
        f"{base}/pairings",
        lead,
        409,
        json={"kind": "community", "carer_ref": "cw-2", "org": VILLAGE_A},
    )
    assert twice["rule"] == "one_pairing_per_kind"
    stranger = await call(
        s,
        "POST",
        f"{base}/pairings",
        lead,
        422,
        json={
            "kind": "school",
            "carer_ref": s.roster.head_of(s.roster.classes_of(s.school_id)[1]) + "x",
        },
    )
    assert stranger["rule"] == "school_carer_of_school"

    # Each carer answers; a carer answering another's pairing is refused.
    for kind in ("school", "community", "womens_federation"):
        path = f"{base}/pairings/{pairing[kind]}/acceptance"
        who = carers[kind][2]
        await until_visible(s, base, who)  # their pairing gives them the file
        assert (await call(s, "POST", path, who, json={}))["events"] == ["CarerAccepted"]
    civil = carers["civil_affairs"][2]
    await until_visible(s, base, civil)
    not_theirs = await call(
        s,
        "POST",
        f"{base}/pairings/{pairing['civil_affairs']}/acceptance",
        carers["womens_federation"][2],
        403,
        json={},
    )
    assert not_theirs["rule"] == "own_pairing_only"
    declined = await call(
        s,
        "POST",
        f"{base}/pairings/{pairing['civil_affairs']}/decline",
        civil,
        json={"reason": "caseload_full"},
    )
    assert declined["events"] == ["CarerDeclined"]

    # Then the declined kind is missing again, and the declining carer has lost the file.
    record = await call(s, "GET", base, lead)
    assert record["missing_kinds"] == ["civil_affairs"]
    status = {p["kind"]: p["status"] for p in record["pairings"]}
    assert status == {
        "school": "accepted",
        "community": "accepted",
        "civil_affairs": "declined",
        "womens_federation": "accepted",
    }
    await until(
        s,
        lambda: s.http.get(base, headers=civil),
        lambda r: r.status_code == 404,
        "the declining carer loses the file",
    )

    # The risk level: set without a reason, changed only with one.
    assert (await call(s, "POST", f"{base}/risk", head, json={"level": "low"}))["events"] == [
        "RiskLevelSet"
    ]
    refused = await call(s, "POST", f"{base}/risk", head, 422, json={"level": "high"})
    assert (refused["field"], refused["rule"]) == ("reason", "reason_required")
    reason = "祖母住院，孩子独自在家"
    await call(s, "POST", f"{base}/risk", lead, json={"level": "high", "reason": reason})

    # Contacts at the high level's rhythm: due a week after acceptance or the last contact.
    day = today()
    rhythm = s.settings.contact_days_high
    logged = await call(
        s,
        "POST",
        f"{base}/contacts",
        carers["community"][2],
        json={"pairing_id": pairing["community"], "contact_on": str(day), "mode": "home_visit"},
    )
    assert logged["events"] == ["CareContactLogged"]
    future = await call(
        s,
        "POST",
        f"{base}/contacts",
        carers["community"][2],
        422,
        json={
            "pairing_id": pairing["community"],
            "contact_on": str(day + timedelta(days=1)),
            "mode": "phone",
        },
    )
    assert future["rule"] == "not_future"
    due = day + timedelta(days=rhythm)
    on_due = await call(s, "GET", base, lead, params={"as_of": str(due)})
    assert {c["kind"]: (c["next_due_on"], c["overdue"]) for c in on_due["contacts"]} == {
        k: (str(due), False) for k in ("school", "community", "womens_federation")
    }
    after = await call(s, "GET", base, lead, params={"as_of": str(due + timedelta(days=1))})
    assert all(c["overdue"] for c in after["contacts"])
    assert after["risk"]["level"] == "high"
    assert after["risk"]["previous"] == "low"
    assert after["risk"]["reason"] == reason

    # The parents' notice missing and their contact stale until recorded.
    assert on_due["notice"]["missing"] is True
    assert on_due["parents_contact"]["stale"] is True
    await call(
        s,
        "POST",
        f"{base}/notice",
        head,
        json={
            "relation": "grandparent",
            "notice_on": str(day),
            "entrusted_name": "王秀英",
            "entrusted_contact": "13800001111",
        },
    )
    await call(
        s, "POST", f"{base}/parent-contacts", head, json={"contact_on": str(day), "mode": "video"}
    )
    fresh = await call(s, "GET", base, lead)
    assert fresh["notice"]["missing"] is False
    assert fresh["notice"]["entrusted_name"] == "王秀英"
    assert fresh["parents_contact"]["stale"] is False
    week_on = day + timedelta(days=s.settings.parent_contact_days + 1)
    stale = await call(s, "GET", base, lead, params={"as_of": str(week_on)})
    assert stale["parents_contact"]["stale"] is True

    # Concerns raised by a carer and assessed by a leader.
    concern = await call(
        s, "POST", f"{base}/concerns", carers["community"][2], json={"detail": "夜间独自在家"}
    )
    assessed = await call(
        s,
        "POST",
        f"{base}/concerns/{concern['concern_id']}/assessment",
        lead,
        json={"outcome": "monitored"},
    )
    assert assessed["events"] == ["CareConcernAssessed"]

    # Nothing written in clear on the wire of the events.
    payloads = await s.pool.fetch(
        "SELECT convert_from(payload, 'UTF8') AS p FROM events WHERE stream_id = $1",
        f"care-file-{a}",
    )
    wire = " ".join(r["p"] for r in payloads)
    for clear in (reason, "王秀英", "13800001111", "夜间独自在家"):
        assert clear not in wire

    # Every read of the file is in the access log, with who read it.
    readers = await s.pool.fetch(
        "SELECT DISTINCT actor, role FROM access_log WHERE action = 'file.read' AND record = $1",
        a,
    )
    assert {(r["actor"], r["role"]) for r in readers} >= {
        (s.roster.one("principal", s.school_id), "principal"),
        ("cw-1", "community_worker"),
        ("mz-1", "civil_affairs"),
    }


async def test_carers_see_only_their_own_organisation_s_children_and_staff_only_their_scope(
    stack: SafetySchool,
) -> None:
    s = stack
    c1, c2 = s.roster.classes_of(s.school_id)[:2]
    a, b = s.roster.of_class(c1)[0], s.roster.of_class(c2)[0]
    lead = s.principal()
    carer_a = s.token(Role.community_worker, "cw-a", org=VILLAGE_A)
    carer_b = s.token(Role.community_worker, "cw-b", org=VILLAGE_B)
    for ref, (sub, org) in ((a, ("cw-a", VILLAGE_A)), (b, ("cw-b", VILLAGE_B))):
        await call(s, "POST", f"/students/{ref}/care-file", lead, json={"care_groups": []})
        await until_visible(s, f"/students/{ref}/care-file", lead)
        await call(
            s,
            "POST",
            f"/students/{ref}/care-file/pairings",
            lead,
            json={"kind": "community", "carer_ref": sub, "org": org},
        )
    await until_visible(s, f"/students/{a}/care-file", carer_a)
    await until_visible(s, f"/students/{b}/care-file", carer_b)

    # A carer of community A is refused community B's child exactly like a missing one.
    refused = await s.http.get(f"/students/{b}/care-file", headers=carer_a)
    missing = await s.http.get("/students/nobody/care-file", headers=carer_a)
    assert (refused.status_code, missing.status_code) == (404, 404)
    assert refused.json() == missing.json()
    # The same person with a token of another organisation, or of another kind, sees nothing.
    other_org = s.token(Role.community_worker, "cw-a", org=VILLAGE_B)
    assert (await s.http.get(f"/students/{a}/care-file", headers=other_org)).status_code == 404
    civil = s.token(Role.civil_affairs, "cw-a", org=VILLAGE_A)
    assert (await s.http.get(f"/students/{a}/care-file", headers=civil)).status_code == 404
    no_org = s.token(Role.community_worker, "cw-a")
    assert (await s.http.get(f"/students/{a}/care-file", headers=no_org)).json()["rule"] == (
        "carer_org"
    )
    # A carer may not write to another community's child either.
    write = await s.http.post(
        f"/students/{b}/care-file/concerns", json={"detail": "x"}, headers=carer_a
    )
    assert write.status_code == 404

    # The head teacher sees their class's child only; a subject teacher only a child they are
    # the paired school carer of; the police never see a file.
    head = s.head_teacher(c1)
    assert (await s.http.get(f"/students/{a}/care-file", headers=head)).status_code == 200
    assert (await s.http.get(f"/students/{b}/care-file", headers=head)).status_code == 404
    teacher = s.roster.head_of(c2)
    subject = s.token(Role.subject_teacher, teacher, school=s.school_id)
    assert (await s.http.get(f"/students/{a}/care-file", headers=subject)).status_code == 404
    await call(
        s,
        "POST",
        f"/students/{a}/care-file/pairings",
        lead,
        json={"kind": "school", "carer_ref": teacher},
    )
    await until_visible(s, f"/students/{a}/care-file", subject)
    police = s.token(Role.police, "police-1")
    forbidden = await s.http.get(f"/students/{a}/care-file", headers=police)
    assert forbidden.status_code == 403
    assert forbidden.json()["rule"] == "file.read"

    # The carer's own list names only their own files.
    mine = await call(s, "GET", "/carers/me/files", carer_a)
    assert [f["student_ref"] for f in mine["files"]] == [a]
    assert mine["files"][0]["status"] == "proposed"


async def test_the_ledger_and_the_figures_agree_with_the_settings_on_a_day(
    stack: SafetySchool,
) -> None:
    s = stack
    lead = s.principal()
    c1 = s.roster.classes_of(s.school_id)[0]
    a, b, c = s.roster.of_class(c1)[:3]
    day = today()
    groups = {a: ["left_behind"], b: ["left_behind"], c: ["orphan_or_unsupported"]}
    for ref, g in groups.items():
        await call(s, "POST", f"/students/{ref}/care-file", lead, json={"care_groups": g})
    for ref in groups:
        await until_visible(s, f"/students/{ref}/care-file", lead)
    # a: all four accepted, medium, notice and parents' contact; b: community only; c: nothing.
    carers = {
        "school": (s.roster.head_of(c1), None, s.head_teacher(c1)),
        "community": ("cw-1", VILLAGE_A, s.token(Role.community_worker, "cw-1", org=VILLAGE_A)),
        "civil_affairs": ("mz-1", CIVIL, s.token(Role.civil_affairs, "mz-1", org=CIVIL)),
        "womens_federation": ("fl-1", WOMEN, s.token(Role.womens_federation, "fl-1", org=WOMEN)),
    }
    for ref, kinds in ((a, list(carers)), (b, ["community"])):
        for kind in kinds:
            carer_ref, org, who = carers[kind]
            body = {"kind": kind, "carer_ref": carer_ref, **({"org": org} if org else {})}
            made = await call(s, "POST", f"/students/{ref}/care-file/pairings", lead, json=body)
            path = f"/students/{ref}/care-file"
            await until_visible(s, path, who)
            await call(s, "POST", f"{path}/pairings/{made['pairing_id']}/acceptance", who, json={})
    await call(s, "POST", f"/students/{a}/care-file/risk", lead, json={"level": "medium"})
    await call(
        s,
        "POST",
        f"/students/{a}/care-file/notice",
        lead,
        json={
            "relation": "other_relative",
            "notice_on": str(day),
            "entrusted_name": "李四",
            "entrusted_contact": "13900002222",
        },
    )
    await call(
        s,
        "POST",
        f"/students/{a}/care-file/parent-contacts",
        lead,
        json={"contact_on": str(day), "mode": "phone"},
    )

    # On the day after the medium rhythm: a's four carers overdue; b's community carer (low
    # rhythm) not yet.
    medium, low = s.settings.contact_days_medium, s.settings.contact_days_low
    as_of = day + timedelta(days=medium + 1)
    assert medium + 1 <= low, "the test's day lies between the two rhythms"
    stale_parents = medium + 1 > s.settings.parent_contact_days

    async def ledger() -> Any:
        r = await s.http.get(
            f"/schools/{s.school_id}/care-ledger", params={"as_of": str(as_of)}, headers=lead
        )
        return r.json() if r.status_code == 200 else r.text

    def caught_up(body: Any) -> bool:
        rows = {r["student_ref"]: r for r in body["files"]} if isinstance(body, dict) else {}
        return (
            len(rows) == 3
            and rows[a]["risk_level"] == "medium"
            and rows[a]["complete"]
            and not rows[a]["notice_missing"]
            and rows[b]["missing_kinds"] == ["school", "civil_affairs", "womens_federation"]
        )

    body = await until(s, ledger, caught_up, "the ledger")
    rows = {r["student_ref"]: r for r in body["files"]}
    assert rows[a]["overdue_contacts"] == sorted(carers)
    assert rows[a]["parents_contact_stale"] is stale_parents
    assert rows[a]["risk_review_due"] is False
    assert rows[b]["overdue_contacts"] == []
    assert rows[b]["notice_missing"] is True
    assert rows[b]["parents_contact_stale"] is True
    assert rows[b]["risk_review_due"] is True
    assert rows[c]["missing_kinds"] == list(carers)
    assert rows[c]["notice_missing"] is False, "not a left-behind child"
    assert rows[c]["parents_contact_stale"] is False

    figures = await call(
        s, "GET", f"/districts/{s.district}/care-figures", lead, params={"as_of": str(as_of)}
    )
    (mine,) = figures["schools"]
    expected = {
        "school_id": s.school_id,
        "files": 3,
        "complete": 1,
        "missing_a_kind": 2,
        "missing_by_kind": {
            "school": 2,
            "community": 1,
            "civil_affairs": 2,
            "womens_federation": 2,
        },
        "contacts_overdue": 4,
        "files_with_contact_overdue": 1,
        "notice_missing": 1,
        "parents_contact_stale": 1 + stale_parents,
        "risk_reviews_due": 2,
        "open_concerns": 0,
    }
    assert mine == expected
    officer = s.token(Role.bureau_officer, "officer-1")
    district = await call(
        s, "GET", f"/districts/{s.district}/care-figures", officer, params={"as_of": str(as_of)}
    )
    assert len(district["schools"]) == SPEC.schools
    assert dict(district["totals"]) == {k: v for k, v in expected.items() if k != "school_id"}
    analyst = s.token(Role.city_analyst, "city-1")
    assert (
        await s.http.get(f"/schools/{s.school_id}/care-ledger", headers=analyst)
    ).status_code == 403

    # The community carer's own list: two files, b's contact due at the low rhythm.
    mine_list = await call(
        s, "GET", "/carers/me/files", carers["community"][2], params={"as_of": str(as_of)}
    )
    due = {f["student_ref"]: (f["next_due_on"], f["overdue"]) for f in mine_list["files"]}
    assert due == {
        a: (str(day + timedelta(days=medium)), True),
        b: (str(day + timedelta(days=low)), False),
    }


async def test_a_file_handed_over_follows_the_child_and_a_closed_file_leaves_the_ledger(
    stack: SafetySchool,
) -> None:
    s = stack
    lead = s.principal()
    c1 = s.roster.classes_of(s.school_id)[0]
    a, b = s.roster.of_class(c1)[:2]
    for ref in (a, b):
        await call(s, "POST", f"/students/{ref}/care-file", lead, json={"care_groups": []})
        await until_visible(s, f"/students/{ref}/care-file", lead)
    carer = s.token(Role.community_worker, "cw-1", org=VILLAGE_A)
    for ref in (a, b):
        for kind, carer_ref, who in (
            ("school", s.roster.head_of(c1), s.head_teacher(c1)),
            ("community", "cw-1", carer),
        ):
            body = {"kind": kind, "carer_ref": carer_ref, "org": VILLAGE_A}
            made = await call(s, "POST", f"/students/{ref}/care-file/pairings", lead, json=body)
            path = f"/students/{ref}/care-file"
            await until_visible(s, path, who)
            # An acceptance's body is empty: it may be left out.
            await call(s, "POST", f"{path}/pairings/{made['pairing_id']}/acceptance", who)

    # When the child moves to the district's other school (the reactions' hand-over) …
    other = await s.pool.fetchval(
        "SELECT school_id FROM safety.schools WHERE school_id <> $1 ORDER BY 1 LIMIT 1", s.school_id
    )
    other_principal = await s.pool.fetchval(
        "SELECT staff_ref FROM safety.staff WHERE school_id = $1 AND 'principal' = ANY(roles)",
        other,
    )
    safety = s.app.state.service
    moved = await safety.service.files.hand_over(a, other, s.district, None, today())
    assert [e.name for e in moved] == ["CarerReleased", "CareFileHandedOver"]
    assert await safety.service.files.hand_over(a, other, s.district, None, today()) == []
    receiving = s.token(Role.principal, other_principal, school=other)

    # … the receiving school sees the file, the school carer is missing again, the community
    # carer keeps the child; the old school no longer sees it.
    record = await until_visible(s, f"/students/{a}/care-file", receiving)
    assert record["school_id"] == other
    assert record["missing_kinds"] == ["school", "civil_affairs", "womens_federation"]
    assert record["handed_over"][0]["from_school_id"] == s.school_id
    await until(
        s,
        lambda: s.http.get(f"/students/{a}/care-file", headers=lead),
        lambda r: r.status_code == 404,
        "the old school loses the file",
    )
    assert (await s.http.get(f"/students/{a}/care-file", headers=carer)).status_code == 200

    # When the school closes b's file, its carers are released and it leaves the ledger.
    closed = await call(
        s, "POST", f"/students/{b}/care-file/closure", lead, json={"reason": "no_longer_in_need"}
    )
    assert closed["events"] == ["CarerReleased", "CarerReleased", "CareFileClosed"]
    again = await call(
        s, "POST", f"/students/{b}/care-file/closure", lead, 404, json={"reason": "other"}
    )
    assert again["rule"] == "care_file_open"

    async def ledger() -> Any:
        r = await s.http.get(f"/schools/{s.school_id}/care-ledger", headers=lead)
        return [row["student_ref"] for row in r.json()["files"]] if r.status_code == 200 else r

    assert await until(s, ledger, lambda refs: refs == [], "b leaves the ledger") == []
    await until(
        s,
        lambda: s.http.get(f"/students/{b}/care-file", headers=carer),
        lambda r: r.status_code == 404,
        "the released carer loses the closed file",
    )
    final = await call(s, "GET", f"/students/{b}/care-file", lead)
    assert final["status"] == "closed"
    assert final["closed"]["reason"] == "no_longer_in_need"
    reopened = await call(
        s, "POST", f"/students/{b}/care-file", lead, json={"care_groups": ["left_behind"]}
    )
    assert reopened["events"] == ["CareFileOpened"], "a closed file opens again as a new one"
