"""Proof (issue 11's "done when"): a term of one school's safety work runs through the real
stack — registry and safety over HTTP, real Kafka and PostgreSQL, the safety worker a real
process. The roster's categorised children get their care files (the worker's reaction), each
paired with all four carer kinds but one whose women's-federation carer declines; contacts are
on time and overdue; guard shifts completed, missed and left unrecorded; a fire inspection's
hazards, one rectified by re-inspection and one overdue; an incident that must be reported is
left unreported past its limit and escalated exactly once, although the worker is SIGKILLed
before the limit and restarted after it (and killed and restarted once more). Every figure the
service answers equals the one this test computes from what it did; a carer of one community
is refused another community's child; no name or free text is on the raw bytes of
``safety.events``.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import Bearer
from tests.support.kafka_reader import payloads_of, read_all
from tests.support.processes import WorkerProcess, environment_of, running
from tests.support.receiver import receiving
from tests.support.servers import serving
from tests.support.services import settings_for
from tests.support.waiting import eventually
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_platform.auth import Principal, Role, TokenVerifier, mint
from tongxin_platform.eventstore import now_utc
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config
from tongxin_platform.testing import Infra
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints.api import create_app as registry_app
from tongxin_safety.bootstrap import SERVICE
from tongxin_safety.config import SafetySettings
from tongxin_safety.domain.calendar import china_date
from tongxin_safety.entrypoints.api import create_app as safety_app

pytestmark = [pytest.mark.integration, pytest.mark.slow]

D, S = "330106", "330106001"
LIMIT = 20  # seconds an incident that must be reported may stay unreported (hours in production)
SPEC = DemoSpec(schools=1, classes_per_school=6, students_per_class=40)
CARE_GROUPS = {"left_behind", "orphan_or_unsupported"}
AGENCY_KINDS = ("community", "civil_affairs", "womens_federation")
ROLE_OF = {
    "community": Role.community_worker,
    "civil_affairs": Role.civil_affairs,
    "womens_federation": Role.womens_federation,
}
RHYTHM = {"low": 30, "medium": 14, "high": 7}  # the settings' defaults, written out
# Free text that must never travel in clear.
ENTRUSTED = "王秀兰（祖母）13800000000"
NOTE = "孩子说最近晚上一个人在家"
ACCOUNT = "课间在操场发现孩子手臂有多处淤青，孩子不愿说明原因"
HAZARD = "教学楼二楼东侧安全出口被杂物堵塞"


def care_children(students_csv: str) -> tuple[int, int]:
    """From the roster itself: how many children are in a care group, and how many of them are
    left behind (the files the safety service must open, computed without it)."""
    rows = list(csv.DictReader(io.StringIO(students_csv)))
    groups = [set(filter(None, r["special_groups"].split(";"))) for r in rows]
    in_care = [g for g in groups if g & CARE_GROUPS]
    return len(in_care), sum("left_behind" in g for g in in_care)


async def test_a_term_of_one_school_gives_the_figures_computed_here_and_escalates_once(
    infra: Infra,
    kafka: str,
    unique: str,
    database_name: str,
    registry_settings: RegistrySettings,
    registry_worker: None,
    verifier: TokenVerifier,
    bearer: Bearer,
    jwt_keys: tuple[bytes, bytes],
) -> None:
    own, visits = f"test-{unique}-safety.events", f"test-{unique}-visits.events"
    await ensure_topics(kafka, [TopicSpec(t, 3, event_topic_config()) for t in (own, visits)])
    settings = settings_for(
        SERVICE,
        infra,
        database_name=f"{database_name}_safety",
        topics={"safety": own, "registry": registry_settings.topic, "visits": visits},
        report_limit_seconds=LIMIT,
    )
    assert isinstance(settings, SafetySettings)
    students_csv, staff_csv = demo_roster(SPEC)
    n_files, n_left_behind = care_children(students_csv)
    assert n_files >= 6, "the demo roster has too few children in a care group"
    assert n_left_behind >= 2, "the demo roster has too few left-behind children"
    officer = bearer("bureau_officer", D)
    principal = bearer("principal", D, S)
    police = bearer("police", D, subject="pol-0001")
    today = china_date(now_utc())

    def token(principal: Principal) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint(jwt_keys[0], principal)}"}

    def carer(kind: str, org: str) -> dict[str, str]:
        return token(Principal(f"carer-{org}", ROLE_OF[kind], D, org=org))

    async with (
        receiving() as receiver,
        serving(registry_app(registry_settings, verifier)) as registry_url,
        httpx.AsyncClient(base_url=registry_url, timeout=60) as registry,
        serving(safety_app(settings, verifier)) as url,
        httpx.AsyncClient(base_url=url, timeout=60) as http,
        running(
            WorkerProcess(SERVICE, environment_of(SERVICE, settings, **receiver.as_robot_of(D)))
        ) as worker,
    ):

        async def ok(method: str, path: str, who: dict[str, str], body: Any = None) -> Any:
            r = await http.request(method, path, json=body, headers=who)
            assert r.status_code in (200, 201), f"{method} {path}: {r.status_code} {r.text}"
            return r.json()

        for kind, csv_text in (("students", students_csv), ("staff", staff_csv)):
            r = await registry.post(f"/imports/{kind}", content=csv_text.encode(), headers=officer)
            assert r.status_code == 200, r.text

        async def registry_classes() -> list[dict[str, Any]]:
            r = await registry.get(f"/schools/{S}/classes", headers=principal)
            return list(r.json()) if r.status_code == 200 else []

        classes = await eventually(
            registry_classes,
            lambda c: len(c) == SPEC.classes_per_school,
            timeout=60,
            what="classes",
        )
        heads = {c["class_id"]: c["head_teacher_ref"] for c in classes}
        guardians = (
            await registry.get(f"/classes/{classes[0]['class_id']}/students", headers=principal)
        ).json()[0]["guardians"]

        # --- the roster's care groups open one file per child (the worker's reaction) --------
        async def ledger(as_of: date = today) -> list[dict[str, Any]]:
            r = await http.get(f"/schools/{S}/care-ledger?as_of={as_of}", headers=principal)
            return list(r.json().get("files", [])) if r.status_code == 200 else []

        files = await eventually(
            ledger, lambda rows: len(rows) >= n_files, timeout=120, what="the care files"
        )
        assert len(files) == n_files
        assert sum("left_behind" in f["care_groups"] for f in files) == n_left_behind
        files.sort(key=lambda f: f["student_ref"])
        refs = [f["student_ref"] for f in files]
        left_behind = [f["student_ref"] for f in files if "left_behind" in f["care_groups"]]

        # --- four carers per file; one women's-federation carer declines --------------------
        community = {
            ref: "community-A" if n % 2 == 0 else "community-B" for n, ref in enumerate(refs)
        }
        orgs = {"civil_affairs": "mz-330106", "womens_federation": "fl-330106"}
        declined = refs[0]
        accepted: dict[str, int] = {}
        for f in files:
            ref = f["student_ref"]
            head = heads[f["class_id"]]
            pairs = [("school", head, S)] + [
                (k, f"carer-{o}", o) for k, o in (("community", community[ref]), *orgs.items())
            ]
            made = {}
            for kind, carer_ref, org in pairs:
                body = {"kind": kind, "carer_ref": carer_ref, "org": org}
                path = f"/students/{ref}/care-file/pairings"
                made[kind] = (await ok("POST", path, principal, body))["pairing_id"]
            for kind, _, org in pairs:
                who = (
                    bearer("head_teacher", D, S, f["class_id"], subject=head)
                    if kind == "school"
                    else carer(kind, org)
                )

                async def seen(who: dict[str, str] = who, ref: str = ref) -> int:
                    r = await http.get(f"/students/{ref}/care-file", headers=who)
                    return r.status_code

                # The carer finds the file once the read model holds the pairing.
                await eventually(seen, lambda s: s == 200, timeout=30, what="the paired file")
                path = f"/students/{ref}/care-file/pairings/{made[kind]}"
                if ref == declined and kind == "womens_federation":
                    await ok("POST", f"{path}/decline", who, {"reason": "caseload_full"})
                    continue
                await ok("POST", f"{path}/acceptance", who, {})
                accepted[ref] = accepted.get(ref, 0) + 1
                # Every accepted carer is in contact on the day (the rhythm counts from it).
                contact = {"pairing_id": made[kind], "contact_on": str(today)}
                contact |= {"mode": "home_visit", "note": NOTE}
                await ok("POST", f"/students/{ref}/care-file/contacts", who, contact)

        # --- risk levels, the parents' notice and contacts for left-behind children ---------
        level = {ref: "high" if n % 3 == 0 else "low" for n, ref in enumerate(refs)}
        for ref in refs:
            await ok("POST", f"/students/{ref}/care-file/risk", principal, {"level": level[ref]})
        with_notice = left_behind[: len(left_behind) // 2]
        for ref in with_notice:
            body = {"relation": "grandparent", "notice_on": str(today)}
            body |= {"entrusted_name": ENTRUSTED, "entrusted_contact": "13800000000"}
            await ok("POST", f"/students/{ref}/care-file/notice", principal, body)
        no_parent_contact = left_behind[-1]
        for ref in left_behind:
            if ref != no_parent_contact:
                body = {"contact_on": str(today), "mode": "video"}
                await ok("POST", f"/students/{ref}/care-file/parent-contacts", principal, body)

        # The figures, computed here from what was done, on two days of the term.
        def expected(as_of: date) -> dict[str, Any]:
            days = (as_of - today).days
            overdue = {ref: accepted[ref] if days > RHYTHM[level[ref]] else 0 for ref in refs}
            return {
                "files": n_files,
                "complete": n_files - 1,
                "missing_a_kind": 1,
                "contacts_overdue": sum(overdue.values()),
                "files_with_contact_overdue": sum(1 for n in overdue.values() if n),
                "notice_missing": len(left_behind) - len(with_notice),
                "parents_contact_stale": 1 if days <= 7 else len(left_behind),
                "risk_reviews_due": 0,
            }

        for as_of in (today + timedelta(days=3), today + timedelta(days=10)):

            async def figures(as_of: date = as_of) -> dict[str, Any]:
                r = await http.get(f"/districts/{D}/care-figures?as_of={as_of}", headers=officer)
                return dict(r.json()["totals"]) if r.status_code == 200 else {}

            want = expected(as_of)
            got = await eventually(
                figures,
                lambda t, want=want: {k: t.get(k) for k in want} == want,
                timeout=60,
                what=f"the care figures on {as_of}",
            )
            assert got["missing_by_kind"]["womens_federation"] == 1
        assert expected(today + timedelta(days=10))["contacts_overdue"] > 0  # on time and overdue

        # A carer of community A sees A's children and is refused B's like a missing child.
        a_child = next(r for r in refs if community[r] == "community-A")
        b_child = next(r for r in refs if community[r] == "community-B")
        a_carer = carer("community", "community-A")
        assert (
            await http.get(f"/students/{a_child}/care-file", headers=a_carer)
        ).status_code == 200
        refused = await http.get(f"/students/{b_child}/care-file", headers=a_carer)
        missing = await http.get("/students/nobody-at-all/care-file", headers=a_carer)
        assert refused.status_code == missing.status_code == 404, refused.text
        assert refused.json() == missing.json(), (refused.json(), missing.json())

        # --- guard shifts: three completed, one missed, one left unrecorded -----------------
        post = await ok(
            "POST",
            f"/schools/{S}/guard-posts",
            principal,
            {"place": "school_gate", "established_on": str(today - timedelta(days=30))},
        )
        guards = [
            {"kind": "police", "ref": "pol-0001"},
            {"kind": "staff", "ref": heads[classes[0]["class_id"]]},
            {"kind": "parent_volunteer", "ref": guardians[0]["guardian_ref"]},
        ]
        shifts = []
        for back in range(5, 0, -1):
            body = {"on": str(today - timedelta(days=back)), "period": "morning", "guards": guards}
            shifts.append(
                (await ok("POST", f"/guard-posts/{post['post_id']}/shifts", police, body))[
                    "shift_id"
                ]
            )
        for shift in shifts[:3]:
            body = {"guards_present": ["police", "staff", "parent_volunteer"]}
            await ok("POST", f"/guard-shifts/{shift}/completion", police, body)
        await ok("POST", f"/guard-shifts/{shifts[3]}/miss", police, {"reason": "weather"})
        span = f"from={today - timedelta(days=7)}&to={today - timedelta(days=1)}"

        async def guard_figures() -> dict[str, Any]:
            r = await http.get(f"/districts/{D}/guard-figures?{span}", headers=police)
            return dict(r.json()["totals"]) if r.status_code == 200 else {}

        totals = await eventually(
            guard_figures, lambda t: t.get("completed") == 3, timeout=60, what="guard figures"
        )
        assert (totals["missed"], totals["unrecorded"]) == (1, 1)
        assert totals["rate"] == pytest.approx(3 / 5)

        # --- a fire inspection: one hazard rectified by re-inspection, one overdue ----------
        first = await ok(
            "POST",
            f"/schools/{S}/inspections",
            principal,
            {
                "kind": "fire",
                "inspector": "fire_rescue",
                "inspected_on": str(today - timedelta(days=20)),
                "hazards": [
                    {
                        "severity": "general",
                        "owner": "school",
                        "rectify_by": str(today - timedelta(days=15)),
                        "detail": HAZARD,
                    },
                    {
                        "severity": "major",
                        "owner": "property_owner",
                        "rectify_by": str(today - timedelta(days=10)),
                    },
                ],
            },
        )
        await ok(
            "POST",
            f"/schools/{S}/inspections",
            principal,
            {
                "kind": "fire",
                "inspector": "fire_rescue",
                "inspected_on": str(today - timedelta(days=16)),
                "reinspection_of": first["inspection_id"],
                "rectified": [first["hazard_ids"][0]],
            },
        )

        async def hazard_figures() -> dict[str, Any]:
            r = await http.get(f"/districts/{D}/hazard-figures?as_of={today}", headers=police)
            return dict(r.json()["totals"]) if r.status_code == 200 else {}

        hz = await eventually(
            hazard_figures, lambda t: t.get("rectified") == 1, timeout=60, what="hazard figures"
        )
        assert (hz["reported"], hz["open"], hz["overdue"]) == (2, 1, 1)

        # --- an incident the law says to report at once, left unreported past its limit -----
        kid = refs[1]
        kid_class = next(f["class_id"] for f in files if f["student_ref"] == kid)
        head = bearer("head_teacher", D, S, kid_class, subject=heads[kid_class])
        body = {"category": "physical_abuse", "student_refs": [kid]}
        body |= {"occurred_at": now_utc().isoformat(), "account": ACCOUNT}
        incident = await ok("POST", f"/schools/{S}/incidents", head, body)
        assert incident["mandatory_report_required"] is True
        body = {
            "category": "accident",
            "student_refs": [refs[2]],
            "occurred_at": now_utc().isoformat(),
        }
        assert (await ok("POST", f"/schools/{S}/incidents", principal, body))[
            "mandatory_report_required"
        ] is False

        # The worker dies before the limit and comes back after it.
        await worker.kill()
        await asyncio.sleep(LIMIT + 5)
        assert payloads_of(await read_all(kafka, own), "safety", "MandatoryReportEscalated") == []
        await worker.start()

        async def escalations() -> list[dict[str, Any]]:
            return payloads_of(await read_all(kafka, own), "safety", "MandatoryReportEscalated")

        await eventually(escalations, lambda e: len(e) >= 1, timeout=60, what="the escalation")
        await asyncio.sleep(3)
        await worker.kill()
        await worker.start()

        async def delivered() -> int:
            return receiver.about(incident["incident_id"])

        await eventually(delivered, lambda n: n >= 1, timeout=60, what="the alert")
        await asyncio.sleep(8)  # several deadline polls and delivery rounds
        assert [e["incident_id"] for e in await escalations()] == [incident["incident_id"]]
        assert receiver.about(incident["incident_id"]) == 1
        assert worker.kills == 2

        # The school reports at last: recorded, late, its delay measured.
        body = {"departments": ["police", "civil_affairs", "education"]}
        await ok("POST", f"/incidents/{incident['incident_id']}/mandatory-report", head, body)

        async def report_figures() -> dict[str, Any]:
            r = await http.get(f"/districts/{D}/mandatory-report-figures", headers=officer)
            return dict(r.json()) if r.status_code == 200 else {}

        mr = await eventually(
            report_figures, lambda f: f.get("reports_filed") == 1, timeout=60, what="report figures"
        )
        assert (mr["incidents"], mr["report_required"], mr["late"], mr["escalated"]) == (2, 1, 1, 1)
        assert mr["delay_max_seconds"] >= LIMIT

        # --- what went over the wire and to the robot ---------------------------------------
        raw = b"\n".join(r.value for r in await read_all(kafka, own))
        for text in (ENTRUSTED, NOTE, ACCOUNT, HAZARD, "13800000000"):
            assert text.encode() not in raw, text
        for message in receiver.delivered():
            body_text = json.dumps(message.body, ensure_ascii=False)
            assert not any(ref in body_text for ref in refs), body_text
