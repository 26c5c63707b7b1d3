"""The project's PostgreSQL trusts nobody (issue 9, finding 4): ``infra/postgres/start.sh``
creates clusters that want a password over TCP (scram-sha-256), generated on first start and
kept under the data root, mode 600, outside the cluster; a cluster made with trust auth is
converted on its next start, running or stopped. Each test runs its own throwaway cluster."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from tongxin_platform.testing import local_database_url

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TRUST_HBA = "local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    def __init__(self, data_root: Path, port: int) -> None:
        self.data_root, self.port = data_root, port
        self.env = {**os.environ, "TONGXIN_DATA_DIR": str(data_root), "PG_PORT": str(port)}
        self.password_file = data_root / "postgres-password"

    def script(self, name: str, *args: str) -> str:
        result = subprocess.run(
            [shutil.which("bash") or "/bin/bash", str(ROOT / "infra/postgres" / name), *args],
            env={**self.env, "PG_FAST": "1"},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def as_owner(self, command: str) -> None:
        """``command`` in bash with common.sh's helpers ($PG_BIN, $PGDATA_DIR, as_pg)."""
        subprocess.run(
            [
                shutil.which("bash") or "/bin/bash",
                "-c",
                f"source {ROOT}/infra/postgres/common.sh; find_pg_bin; resolve_pgdata; {command}",
            ],
            env=self.env,
            check=True,
            timeout=60,
        )

    def make_trusting(self) -> None:
        """What a cluster of the scripts before this fix looked like: trust everywhere."""
        self.as_owner(f"printf '{TRUST_HBA}' | as_pg tee \"$PGDATA_DIR/pg_hba.conf\" >/dev/null")
        self.as_owner('as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" reload >/dev/null')
        self.password_file.unlink()

    def url(self, password: str | None) -> str:
        auth = f"postgres:{password}" if password else "postgres"
        return f"postgresql://{auth}@127.0.0.1:{self.port}/postgres"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path / "data", _free_port())
    try:
        yield c
    finally:
        c.script("stop.sh", "--wipe")


async def _login(url: str) -> bool:
    """Whether a TCP login as postgres with ``url`` is accepted (refused: password errors)."""
    for _ in range(50):
        try:
            conn = await asyncpg.connect(url, timeout=10)
        except asyncpg.InvalidAuthorizationSpecificationError:
            return False
        except (OSError, asyncpg.CannotConnectNowError):
            await asyncio.sleep(0.2)  # still starting
            continue
        await conn.close()
        return True
    raise AssertionError(f"no answer at {url}")


async def test_a_new_cluster_wants_the_generated_password_over_tcp(cluster: Cluster) -> None:
    out = cluster.script("start.sh")
    assert "generated the superuser's password" in out
    password = cluster.password_file.read_text().strip()
    assert len(password) >= 32
    assert cluster.password_file.stat().st_mode & 0o777 == 0o600
    cluster_dir = (cluster.data_root / "postgres").resolve()
    assert cluster_dir not in cluster.password_file.resolve().parents

    assert not await _login(cluster.url(None)), "TCP without a password is refused"
    assert not await _login(cluster.url("wrong-password")), "a wrong password is refused"
    assert await _login(cluster.url(password))

    # What the tests, `tongxin up`, the CLI and the benches connect with.
    assert local_database_url(data_root=cluster.data_root, port=cluster.port) == cluster.url(
        password
    )

    # A second start changes nothing: same password, still refused without it.
    assert "generated" not in cluster.script("start.sh")
    assert cluster.password_file.read_text().strip() == password
    assert not await _login(cluster.url(None))


async def test_a_running_trust_cluster_is_converted_on_its_next_start(cluster: Cluster) -> None:
    cluster.script("start.sh")
    cluster.make_trusting()
    assert await _login(cluster.url(None)), "the old trust cluster lets anyone in"

    out = cluster.script("start.sh")
    assert "authentication is now scram-sha-256" in out
    assert not await _login(cluster.url(None))
    assert await _login(cluster.url(cluster.password_file.read_text().strip()))


async def test_a_stopped_trust_cluster_is_converted_when_started(cluster: Cluster) -> None:
    cluster.script("start.sh")
    cluster.make_trusting()
    cluster.script("stop.sh")

    out = cluster.script("start.sh")
    assert "authentication is now scram-sha-256" in out
    assert not await _login(cluster.url(None))
    assert await _login(cluster.url(cluster.password_file.read_text().strip()))
