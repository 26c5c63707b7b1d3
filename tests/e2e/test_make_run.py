"""What a newcomer does first: `make run`, then look at the registry. Real processes, real HTTP."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.waiting import eventually
from tongxin_platform.auth import Principal, Role, dev_keypair, mint

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
URL = "http://127.0.0.1:8001"


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
    again = make("run")
    assert again.returncode == 0, again.stderr[-3000:]
