"""The registry over real HTTP, Kafka and PostgreSQL: import → events → relay → projection."""

from __future__ import annotations

import csv
import io

import asyncpg
import httpx
import pytest

from tests.conftest import Bearer
from tests.support.kafka_reader import read_all
from tests.support.servers import serving
from tests.support.waiting import eventually
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_platform.auth import TokenVerifier
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints.api import create_app

pytestmark = pytest.mark.integration

SPEC = DemoSpec(schools=1, classes_per_school=3, students_per_class=10)


async def count(pool: asyncpg.Pool, sql: str) -> int:
    value = await pool.fetchval(sql)
    return int(value)


async def test_a_roster_imported_over_http_appears_in_the_roster_read_model(
    verifier: TokenVerifier,
    bearer: Bearer,
    registry_settings: RegistrySettings,
    registry_worker: None,
    registry_db: asyncpg.Pool,
) -> None:
    students, staff = demo_roster(SPEC)
    async with (
        serving(create_app(registry_settings, verifier)) as url,
        httpx.AsyncClient(
            base_url=url, headers=bearer("principal", district="330106", school="330106001")
        ) as http,
    ):
        r = await http.post(
            "/imports/students", content=students.encode(), headers={"content-type": "text/csv"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["by_type"]["StudentEnrolled"] == 30
        r = await http.post("/imports/staff", files={"file": ("staff.csv", staff.encode())})
        assert r.status_code == 200, r.text

        await eventually(
            lambda: count(registry_db, "SELECT count(*) FROM roster.students"),
            lambda n: n == 30,
            what="30 students in the roster",
        )
        await eventually(
            lambda: count(registry_db, "SELECT count(*) FROM roster.staff"),
            lambda n: n == 7,
            what="7 staff in the roster",
        )

        classes = (await http.get("/schools/330106001/classes")).json()
        assert [c["enrolled"] for c in classes] == [10, 10, 10]
        pupils = (
            await http.get(
                f"/classes/{classes[0]['class_id']}/students", params={"include_personal": "true"}
            )
        ).json()
        names = {row["student_name"] for row in csv.DictReader(io.StringIO(students))}
        assert {p["personal"]["name"] for p in pupils} <= names
        assert all(p["student_ref"].startswith("stu_") for p in pupils)

        again = await http.post("/imports/students", content=students.encode())
        assert again.status_code == 200
        assert again.json()["events"] == 0, "re-importing the same roster must change nothing"


async def test_transfer_leave_and_categorise_over_http_reach_the_read_model(
    verifier: TokenVerifier,
    bearer: Bearer,
    registry_settings: RegistrySettings,
    registry_worker: None,
    registry_db: asyncpg.Pool,
) -> None:
    students, _ = demo_roster(SPEC)
    async with (
        serving(create_app(registry_settings, verifier)) as url,
        httpx.AsyncClient(
            base_url=url, headers=bearer("principal", district="330106", school="330106001")
        ) as http,
    ):
        assert (await http.post("/imports/students", content=students.encode())).status_code == 200
        await eventually(
            lambda: count(registry_db, "SELECT count(*) FROM roster.students"),
            lambda n: n == 30,
            what="roster",
        )
        one, two = await registry_db.fetch(
            "SELECT student_ref, class_id FROM roster.students ORDER BY student_ref LIMIT 2"
        )
        target = "330106001-03" if one["class_id"] != "330106001-03" else "330106001-02"
        r = await http.post(
            f"/students/{one['student_ref']}/transfer",
            json={"class_id": target},
            headers={"Idempotency-Key": "t-1"},
        )
        assert r.status_code == 200, r.text
        assert r.json() == {"events": ["StudentTransferred"]}
        replay = await http.post(
            f"/students/{one['student_ref']}/transfer",
            json={"class_id": target},
            headers={"Idempotency-Key": "t-1"},
        )
        assert replay.json() == r.json()
        r = await http.post(f"/students/{two['student_ref']}/leave", json={"reason": "moved_away"})
        assert r.json() == {"events": ["StudentLeft"]}
        r = await http.post(f"/students/{two['student_ref']}/leave", json={"reason": "moved_away"})
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
        r = await http.post(
            f"/students/{one['student_ref']}/categories",
            json={"groups": ["left_behind", "migrant"]},
        )
        assert r.status_code == 200
        r = await http.post(f"/students/{one['student_ref']}/categories", json={"groups": ["rich"]})
        assert r.status_code == 422
        assert "groups" in r.json()["detail"]
        r = await http.post(
            f"/students/{one['student_ref']}/transfer", json={"class_id": "no-such-class"}
        )
        assert r.status_code == 404

        async def record() -> dict[str, object]:
            return (await http.get(f"/students/{one['student_ref']}")).json()  # type: ignore[no-any-return]

        final = await eventually(
            record,
            lambda d: d.get("groups") == ["left_behind", "migrant"],
            what="categorised student",
        )
        assert final["class_id"] == target
        left = (await http.get(f"/students/{two['student_ref']}")).json()
        assert left["status"] == "left:moved_away"
        history = (await http.get(f"/students/{one['student_ref']}/history")).json()
        assert [h["version"] for h in history] == list(range(1, len(history) + 1))


async def test_a_csv_with_a_bad_row_is_a_422_naming_row_and_field_and_writes_nothing(
    verifier: TokenVerifier,
    officer: dict[str, str],
    registry_settings: RegistrySettings,
    registry_db: asyncpg.Pool,
) -> None:
    students, _ = demo_roster(SPEC)
    lines = students.splitlines()
    cols = next(csv.reader([lines[7]]))
    cols[13] = "not-a-date"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(cols)
    lines[7] = buf.getvalue()
    async with (
        serving(create_app(registry_settings, verifier)) as url,
        httpx.AsyncClient(base_url=url, headers=officer) as http,
    ):
        r = await http.post("/imports/students", content="\n".join(lines).encode())
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["errors"] == [
        {"row": 8, "field": "birth_date", "message": problem["errors"][0]["message"]}
    ]
    assert "row 8" in problem["detail"]
    assert "birth_date" in problem["detail"]
    assert await registry_db.fetchval("SELECT count(*) FROM events") == 0
    assert await registry_db.fetchval("SELECT count(*) FROM outbox") == 0


async def test_the_raw_bytes_on_kafka_hold_no_name_or_phone_in_clear(
    verifier: TokenVerifier,
    officer: dict[str, str],
    registry_settings: RegistrySettings,
    registry_worker: None,
    registry_db: asyncpg.Pool,
    kafka: str,
    topic: str,
) -> None:
    students, staff = demo_roster(SPEC)
    async with (
        serving(create_app(registry_settings, verifier)) as url,
        httpx.AsyncClient(base_url=url, headers=officer) as http,
    ):
        r1 = await http.post("/imports/students", content=students.encode())
        r2 = await http.post("/imports/staff", content=staff.encode())
    expected = r1.json()["events"] + r2.json()["events"]
    records = await read_all(kafka, topic, expect=expected, timeout=60)
    assert len(records) == expected
    raw = b"".join((r.value or b"") + b"".join(v for _, v in r.headers) for r in records)
    secrets: set[str] = set()
    for row in csv.DictReader(io.StringIO(students)):
        secrets |= {
            row["student_name"],
            row["guardian1_name"],
            row["guardian1_phone"],
            row["student_id"],
            row["address"],
        }
        if row["guardian2_phone"]:
            secrets |= {row["guardian2_phone"], row["guardian2_name"]}
    for row in csv.DictReader(io.StringIO(staff)):
        secrets |= {row["name"], row["phone"]}
    leaked = sorted(s for s in secrets if s.encode() in raw)
    assert leaked == []
