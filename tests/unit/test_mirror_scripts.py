"""infra/mirror's scripts refuse what cannot work before they fetch or start anything: a bad
alias (it becomes a topic prefix and a directory), the same alias on both sides, a source
cluster that does not answer; stop.sh with nothing running is a no-op. (Mirroring itself is
proven in tests/integration/test_city_mirror.py.)"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(script: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [shutil.which("bash") or "/bin/bash", str(ROOT / "infra/mirror" / script)],
        env={**os.environ, "TONGXIN_DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # nothing listens on it once the socket is closed


@pytest.mark.parametrize("alias", ["b.x", "-b", "b/../c", ""])
def test_an_alias_that_is_not_a_plain_name_is_refused(tmp_path: Path, alias: str) -> None:
    # given an alias that would not make a plain topic prefix or directory name
    # when the mirror is started with it
    result = run("start.sh", tmp_path, MIRROR_SOURCE_ALIAS=alias or " ")
    # then it is refused, naming the variable, and nothing was made
    assert result.returncode == 2, result.stdout + result.stderr
    assert "MIRROR_SOURCE_ALIAS" in result.stderr
    assert not (tmp_path / "mirror").exists()


def test_the_same_alias_for_source_and_target_is_refused(tmp_path: Path) -> None:
    result = run("start.sh", tmp_path, MIRROR_SOURCE_ALIAS="city", MIRROR_TARGET_ALIAS="city")
    assert result.returncode == 2
    assert "both 'city'" in result.stderr


@pytest.mark.parametrize("value", ["0", "ten", "-5"])
def test_a_refresh_interval_that_is_not_a_positive_number_is_refused(
    tmp_path: Path, value: str
) -> None:
    result = run("start.sh", tmp_path, MIRROR_REFRESH_SECONDS=value)
    assert result.returncode == 2
    assert "MIRROR_REFRESH_SECONDS" in result.stderr


def test_a_source_cluster_that_does_not_answer_is_named_and_nothing_starts(
    tmp_path: Path,
) -> None:
    # given a district cluster address where nothing listens
    source = f"127.0.0.1:{closed_port()}"
    # when the mirror is started towards it
    result = run("start.sh", tmp_path, MIRROR_SOURCE_BOOTSTRAP=source)
    # then it says which cluster does not answer, and no mirror process was left behind
    assert result.returncode == 1
    assert f"source cluster {source} does not answer" in result.stderr
    assert not (tmp_path / "mirror" / "b" / "mirror.pid").exists()


def test_stopping_a_mirror_that_is_not_running_is_a_no_op(tmp_path: Path) -> None:
    result = run("stop.sh", tmp_path, MIRROR_SOURCE_ALIAS="b")
    assert result.returncode == 0
    assert "not running" in result.stdout
