"""A district on its own Kafka cluster, mirrored into the city's by Kafka's MirrorMaker 2.

``district_cluster`` (session scope) starts a second local Kafka with ``infra/kafka/start.sh`` on
free ports and its own data directory (so its own KRaft cluster id), and stops and wipes it when
the session ends, whatever happened. ``Mirror`` runs ``infra/mirror/start.sh`` / ``stop.sh`` for
one source alias: a test makes one with ``mirror_of`` (always stopped at the end, also on
failure) and may SIGKILL it (``kill``) and start it again.

The city cluster is the tests' shared Kafka. Each mirror gets an alias of its own
(``b-<unique>``): MirrorMaker 2 keeps a flow's Connect group and internal topics on the target
under the source alias, so two test sessions sharing the city cluster would otherwise join each
other's mirror. The copies are named ``<alias>.<topic>`` (the default replication policy), as
``ServiceSettings.topics_of`` reads them for ``mirrors=[alias]``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.cleanup import fresh_unique
from tests.support.servers import free_port
from tests.support.waiting import eventually
from tongxin_platform.testing import Infra, run_script

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Cluster:
    """A local single-node Kafka of its own (a district's)."""

    bootstrap: str
    env: Mapping[str, str]  # what infra/kafka/{start,stop}.sh need to find it

    def stop(self) -> None:
        run_script(ROOT, "infra/kafka/stop.sh", dict(self.env))


def start_cluster(data_dir: Path) -> Cluster:
    """A second Kafka on free ports (never the shared 19092/19093), data under ``data_dir``."""
    port, controller = free_port(), free_port()
    while controller == port:
        controller = free_port()
    env = {
        "KAFKA_PORT": str(port),
        "KAFKA_CONTROLLER_PORT": str(controller),
        "TONGXIN_DATA_DIR": str(data_dir),
        "KAFKA_HEAP_MAX": "384m",
    }
    run_script(ROOT, "infra/kafka/start.sh", env)
    return Cluster(f"127.0.0.1:{port}", env)


@pytest.fixture(name="district_cluster", scope="session")
def district_cluster_fixture(
    tmp_path_factory: pytest.TempPathFactory, infra: Infra
) -> Iterator[Cluster]:
    """District B's own cluster for the session; stopped and wiped at its end."""
    data = tmp_path_factory.mktemp("district-b")
    cluster = start_cluster(data)
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(data / "kafka", ignore_errors=True)


@dataclass
class Mirror:
    """MirrorMaker 2 copying ``source`` into ``target`` under ``alias`` (``<alias>.<topic>``)."""

    alias: str
    source: str
    target: str
    topics: str  # regex (full match) of the source topics to copy
    data_dir: Path
    flush_ms: int = 5000
    starts: int = 0
    kills: int = 0
    start_seconds: list[float] = field(default_factory=list)  # how long each start took
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {
            "MIRROR_SOURCE_ALIAS": self.alias,
            "MIRROR_SOURCE_BOOTSTRAP": self.source,
            "MIRROR_TARGET_BOOTSTRAP": self.target,
            "MIRROR_TOPICS": self.topics,
            "MIRROR_REFRESH_SECONDS": "2",
            "MIRROR_FLUSH_MS": str(self.flush_ms),
            "TONGXIN_DATA_DIR": str(self.data_dir),
            **self.extra,
        }

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "mirror" / self.alias / "mirror.pid"

    @property
    def log(self) -> Path:
        return self.data_dir / "mirror" / self.alias / "logs" / "mirror.log"

    def copy_of(self, topic: str) -> str:
        """The name of ``topic``'s copy on the target."""
        return f"{self.alias}.{topic}"

    async def start(self) -> None:
        """``infra/mirror/start.sh``: returns once a copying task runs."""
        began = time.monotonic()
        await asyncio.to_thread(run_script, ROOT, "infra/mirror/start.sh", self.env)
        self.start_seconds.append(time.monotonic() - began)
        self.starts += 1

    async def stop(self) -> None:
        await asyncio.to_thread(run_script, ROOT, "infra/mirror/stop.sh", self.env)

    def pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    async def kill(self) -> None:
        """SIGKILL: no offset commit, no goodbye to its group (a crash)."""
        pid = self.pid()
        assert pid is not None, "the mirror is not running"
        os.kill(pid, signal.SIGKILL)

        async def gone() -> bool:
            return not _alive(pid)

        await eventually(gone, bool, timeout=30, what=f"mirror pid {pid} gone")
        self.kills += 1


def _alive(pid: int) -> bool:
    """``pid`` runs (a zombie, killed but not yet reaped by its parent, does not)."""
    try:
        os.kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (ProcessLookupError, FileNotFoundError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@asynccontextmanager
async def mirror_of(
    source: Cluster, target: str, data_dir: Path, *, topics: str, flush_ms: int = 5000
) -> AsyncIterator[Mirror]:
    """A started mirror of a fresh alias ``b-<unique>``; stopped at the end (also on failure)."""
    mirror = Mirror(
        alias=f"b-{fresh_unique()}",
        source=source.bootstrap,
        target=target,
        topics=topics,
        data_dir=data_dir,
        flush_ms=flush_ms,
    )
    try:
        await mirror.start()
        yield mirror
    finally:
        await mirror.stop()
