"""Finding real Kafka and PostgreSQL for tests, in order: environment variables → testcontainers
when a Docker engine answers → the project's own scripts under ``infra/``.

Used by the test suites, the benchmarks and ``tongxin up``; nothing runs at import time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tongxin_platform.settings import DEFAULT_DATABASE_URL, DEFAULT_KAFKA


@dataclass
class Infra:
    kafka_bootstrap: str
    database_url: str
    source: str  # "environment", "testcontainers" or "scripts"
    _containers: list[Any] = field(default_factory=list, repr=False)

    def close(self) -> None:
        for c in self._containers:
            c.stop()


def repo_root(start: Path | None = None) -> Path:
    here = (start or Path.cwd()).resolve()
    for p in (here, *here.parents):
        if (p / "infra" / "kafka" / "start.sh").exists():
            return p
    raise FileNotFoundError("not inside a Tongxin checkout (no infra/kafka/start.sh above)")


def docker_available() -> bool:
    try:
        import docker  # type: ignore[import-untyped]  # testcontainers brings it

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:  # noqa: BLE001 - no engine, no socket, no package: all mean "no Docker"
        return False


def _from_testcontainers() -> Infra:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    kafka = KafkaContainer("apache/kafka:4.1.1").with_kraft()
    kafka.with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
    kafka.start()
    pg = PostgresContainer("postgres:15", username="postgres", password="postgres")  # noqa: S106 - throwaway test container
    pg.start()
    url = pg.get_connection_url().replace("+psycopg2", "")
    return Infra(kafka.get_bootstrap_server(), url, "testcontainers", [kafka, pg])


def run_script(root: Path, script: str, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(  # noqa: S603 - our own script, fixed path
        [shutil.which("bash") or "/bin/bash", str(root / script)],
        cwd=root,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{script} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )


def provide_infra(root: Path | None = None) -> Infra:
    kafka, db = os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("DATABASE_URL")
    if kafka and db:
        return Infra(kafka, db, "environment")
    if os.environ.get("TONGXIN_NO_DOCKER") != "1" and docker_available():
        return _from_testcontainers()
    base = repo_root(root)
    run_script(base, "infra/postgres/start.sh")
    run_script(base, "infra/kafka/start.sh")
    return Infra(DEFAULT_KAFKA, DEFAULT_DATABASE_URL, "scripts")
