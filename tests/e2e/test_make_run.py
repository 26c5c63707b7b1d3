"""What a newcomer does first: `make run`, then look at the registry and the visits it played.
Real processes, real HTTP, the real Kafka of `make run`."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.kafka_reader import read_all
from tests.support.waiting import eventually
from tongxin_platform.auth import Principal, Role, dev_keypair, mint

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
URL = "http://127.0.0.1:8001"
VISITS_URL = "http://127.0.0.1:8003"


def make(target: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.fixture
def system() -> Iterator[subprocess.CompletedProcess[str]]:
    result = make("run")
    try:
        yield result
    finally:
        make("stop")


async def test_make_run_brings_up_the_registry_with_the_demo_roster(
    system: subprocess.CompletedProcess[str],
) -> None:
    assert system.returncode == 0, system.stdout[-3000:] + system.stderr[-3000:]
    assert f"{URL}/docs" in system.stdout
    assert f"{VISITS_URL}/docs" in system.stdout
    # `make run` made the development signing key; a district officer looks at the roster.
    private, _ = dev_keypair(ROOT / ".data" / "dev-jwt")
    token = mint(private, Principal("e2e", Role.bureau_officer, "330106"))
    async with httpx.AsyncClient(
        base_url=URL, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        assert (await http.get("/health")).json() == {"status": "ok"}
        anonymous = await http.get("/schools", headers={"Authorization": ""})
        assert anonymous.status_code == 401

        async def enrolled() -> int:
            schools = (await http.get("/schools")).json()
            total = 0
            for school in schools:
                classes = (await http.get(f"/schools/{school['school_id']}/classes")).json()
                total += sum(c["enrolled"] for c in classes)
            return total

        # The demo district: 2 schools × 6 classes × 40 students.
        assert (
            await eventually(
                enrolled, lambda n: n == 480, timeout=120, what="the demo roster in the read model"
            )
            == 480
        )
        docs = await http.get("/openapi.json")
        assert "/imports/students" in docs.json()["paths"]
    await the_demo_semester_of_visits(token)
    again = make("run")
    assert again.returncode == 0, again.stderr[-3000:]


async def the_demo_semester_of_visits(token: str) -> None:
    """`make run` played a semester of home visits: coverage, reports, events on visits.events."""
    china_today = datetime.now(timezone(timedelta(hours=8))).date()
    last_month = f"{china_today.replace(day=1) - timedelta(days=1):%Y-%m}"
    async with httpx.AsyncClient(
        base_url=VISITS_URL, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        assert (await http.get("/health")).json() == {"status": "ok"}
        assert "/visits" in (await http.get("/openapi.json")).json()["paths"]

        async def coverage() -> list[dict[str, Any]]:
            r = await http.get("/districts/330106/coverage")
            assert r.status_code == 200, r.text
            return list(r.json())

        schools = await eventually(
            coverage,
            lambda c: len(c) == 2 and all(s["head_teacher_semester"]["done"] > 0 for s in c),
            timeout=60,
            what="head teachers' confirmed visits in both demo schools",
        )
        assert all(s["students"] == 240 for s in schools)

        async def reports() -> list[dict[str, Any]]:
            r = await http.get(f"/districts/330106/reports/{last_month}")
            assert r.status_code == 200, r.text
            return list(r.json())

        await eventually(
            reports,
            lambda rs: len(rs) == 2 and all(r["state"] in ("on_time", "late") for r in rs),
            timeout=60,
            what=f"both demo schools' reports of {last_month} submitted",
        )
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    records = await read_all(bootstrap, "visits.events", timeout=60)
    types = [dict(r.headers).get("ce_type", b"").decode() for r in records]
    assert any(t.endswith(".VisitCompleted.v1") for t in types), set(types)
