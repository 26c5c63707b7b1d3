"""Erasure by crypto-shredding, and the access log of restricted reads, over real HTTP."""

from __future__ import annotations

import csv
import io

import asyncpg
import httpx
import pytest

from tests.conftest import Bearer
from tests.support.rebuild import rebuild_roster
from tests.support.servers import serving
from tests.support.waiting import caught_up, eventually
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_contracts import Sealed
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.crypto import KeyStore
from tongxin_platform.eventstore import EventStore, verify_chain
from tongxin_registry.application.pseudonyms import Pseudonymizer
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints.api import create_app
from tongxin_registry.projections import roster

pytestmark = pytest.mark.integration

SPEC = DemoSpec(schools=1, classes_per_school=2, students_per_class=6)
SCHOOL, CLASS = "330106001", "330106001-01"


async def test_an_erased_student_stays_erased_in_the_read_model_a_rebuild_and_the_api(
    verifier: TokenVerifier,
    bearer: Bearer,
    officer: dict[str, str],
    registry_settings: RegistrySettings,
    registry_worker: None,
    registry_db: asyncpg.Pool,
    kafka: str,
) -> None:
    students, _ = demo_roster(SPEC)
    rows = list(csv.DictReader(io.StringIO(students)))
    pseudonyms = Pseudonymizer(registry_settings.pseudonym_secret.get_secret_value().encode())
    victim_row = next(r for r in rows if r["class_id"] == CLASS)
    victim = pseudonyms.student(victim_row["district"], victim_row["student_id"])
    secrets = {
        victim_row["student_name"],
        victim_row["guardian1_phone"],
        victim_row["address"],
        victim_row["guardian1_name"],
    }
    principal = bearer("principal", district="330106", school=SCHOOL)
    operator = bearer("operator", district="330106")

    async with (
        serving(create_app(registry_settings, verifier)) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        assert (
            await http.post("/imports/students", content=students.encode(), headers=officer)
        ).status_code == 200
        await eventually(
            lambda: registry_db.fetchval("SELECT count(*) FROM roster.students"),
            lambda n: n == 12,
            what="roster",
        )
        before = (
            await http.get(
                f"/students/{victim}", params={"include_personal": "true"}, headers=principal
            )
        ).json()
        assert before["personal"]["name"] == victim_row["student_name"]

        refused = await http.post(
            f"/subjects/{victim}/erase", json={"reason": "legal_order"}, headers=principal
        )
        assert refused.status_code == 403
        no_reason = await http.post(f"/subjects/{victim}/erase", json={}, headers=operator)
        assert no_reason.status_code == 422
        assert "reason" in no_reason.json()["detail"]
        erased = await http.post(
            f"/subjects/{victim}/erase", json={"reason": "data_subject_request"}, headers=operator
        )
        assert erased.json() == {"events": ["SubjectErased"]}
        again = await http.post(
            f"/subjects/{victim}/erase", json={"reason": "data_subject_request"}, headers=operator
        )
        assert again.json() == {"events": []}

        async def victim_record() -> dict[str, object]:
            r = await http.get(
                f"/students/{victim}", params={"include_personal": "true"}, headers=principal
            )
            return r.json()  # type: ignore[no-any-return]

        after = await eventually(
            victim_record, lambda d: d.get("erased") is True, what="the erasure projected"
        )
        assert after["personal"] is None
        assert after["guardians"] == []
        history = (await http.get(f"/students/{victim}/history", headers=operator)).json()
        assert [h["type"] for h in history][-1] == "cn.tongxin.registry.SubjectErased.v1"
        assert not any(s in str(history) for s in secrets)

    assert (
        await registry_db.fetchval("SELECT count(*) FROM subject_keys WHERE subject = $1", victim)
        == 0
    )
    store = EventStore(registry_settings.topic)
    async with registry_db.acquire() as conn:
        stream = await store.load(conn, f"student-{victim}")
        verify_chain(stream)  # the ciphertext is still there; its hash chain still holds
        for sid in [
            r["stream_id"] for r in await conn.fetch("SELECT DISTINCT stream_id FROM events")
        ]:
            verify_chain(await store.load(conn, sid))

    # Rebuild from offset 0 into a fresh schema: the victim's personal data cannot come back.
    await eventually(
        lambda: caught_up(registry_db, roster.GROUP, registry_settings.topic, kafka),
        bool,
        what="live projection caught up",
    )
    await rebuild_roster(
        registry_db,
        kafka,
        registry_settings.topic,
        group="erasure.rebuild",
        schema="roster_erasure_rebuild",
    )
    async with registry_db.acquire() as conn:
        assert await roster.digest(conn) == await roster.digest(conn, "roster_erasure_rebuild")
        row = await conn.fetchrow(
            "SELECT personal, erased FROM roster_erasure_rebuild.students WHERE student_ref = $1",
            victim,
        )
        assert row["personal"] is None
        assert row["erased"] is True
        # Everyone else still opens; nobody's opened data holds the victim's.
        opened = []
        for r in await conn.fetch(
            "SELECT personal FROM roster_erasure_rebuild.students WHERE personal IS NOT NULL"
        ):
            opened.append(str(await KeyStore().open(conn, Sealed.model_validate(r["personal"]))))
        assert len(opened) == 11
        assert not any(s in text for s in secrets for text in opened)


async def test_restricted_reads_are_logged_and_only_auditors_query_the_log(
    verifier: TokenVerifier,
    bearer: Bearer,
    officer: dict[str, str],
    registry_settings: RegistrySettings,
    registry_worker: None,
    registry_db: asyncpg.Pool,
) -> None:
    students, _ = demo_roster(SPEC)
    teacher = bearer("head_teacher", district="330106", school=SCHOOL, class_id=CLASS)
    auditor = bearer("auditor", district="330106")
    async with (
        serving(create_app(registry_settings, verifier)) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        assert (
            await http.post("/imports/students", content=students.encode(), headers=officer)
        ).status_code == 200
        await eventually(
            lambda: registry_db.fetchval("SELECT count(*) FROM roster.students"),
            lambda n: n == 12,
            what="roster",
        )
        plain = await http.get(f"/classes/{CLASS}/students", headers=teacher)
        assert plain.status_code == 200
        assert (await http.get("/access-log", headers=auditor)).json() == []
        opened = await http.get(
            f"/classes/{CLASS}/students", params={"include_personal": "true"}, headers=teacher
        )
        assert opened.status_code == 200
        refs = {s["student_ref"] for s in opened.json()}
        assert len(refs) == 6
        log = (await http.get("/access-log", headers=auditor)).json()
        assert {e["record"] for e in log} == refs
        assert {(e["actor"], e["role"], e["action"], e["scope"]) for e in log} == {
            (
                "test-head_teacher",
                "head_teacher",
                "roster.read_personal",
                f"city/330106/{SCHOOL}/{CLASS}",
            )
        }
        one = (
            await http.get("/access-log", params={"record": sorted(refs)[0]}, headers=auditor)
        ).json()
        assert len(one) == 1
        assert (await http.get("/access-log", headers=teacher)).status_code == 403
        other_district = bearer("auditor", district="110101")
        assert (await http.get("/access-log", headers=other_district)).json() == []


async def test_a_student_who_left_comes_back_by_re_import_unless_their_data_was_erased(
    registry_settings: RegistrySettings,
    registry_db: asyncpg.Pool,
) -> None:
    from tongxin_contracts.events.registry import ErasureReason, LeaveReason
    from tongxin_registry.application.rows import ImportRejectedError
    from tongxin_registry.bootstrap import bootstrap

    students, _ = demo_roster(SPEC)
    reg = await bootstrap(registry_settings)
    try:
        await reg.service.import_students(students)
        refs = [
            r["stream_id"].removeprefix("student-")
            for r in await registry_db.fetch(
                "SELECT stream_id FROM events WHERE stream_id LIKE 'student-%' AND version = 1"
                " ORDER BY position LIMIT 2"
            )
        ]
        back, gone = refs
        await reg.service.record_left(back, LeaveReason.moved_away)
        await reg.service.record_left(gone, LeaveReason.moved_away)
        await reg.service.erase(gone, ErasureReason.data_subject_request, "operator")
        with pytest.raises(ImportRejectedError) as info:
            await reg.service.import_students(students)
        assert [(e.field, "erased" in e.message) for e in info.value.errors] == [
            ("student_id", True)
        ]
        lines = students.splitlines()
        gone_line = info.value.errors[0].row - 1
        result = await reg.service.import_students(
            "\n".join(line for i, line in enumerate(lines) if i != gone_line)
        )
        assert result.by_type == {"StudentEnrolled": 1}
        assert (
            await registry_db.fetchval("SELECT count(*) FROM subject_keys WHERE subject = $1", gone)
            == 0
        )
    finally:
        await reg.close()
