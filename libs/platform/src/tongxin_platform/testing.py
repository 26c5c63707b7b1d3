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
from urllib.parse import quote

from tongxin_platform.settings import DEFAULT_DATABASE_URL, DEFAULT_KAFKA

# Where infra/postgres/start.sh keeps the superuser's password, under the data root.
PASSWORD_FILE = "postgres-password"  # noqa: S105 - a file name, not a password


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


def local_password_file(root: Path | None = None, data_root: Path | None = None) -> Path:
    """Where ``infra/postgres/start.sh`` keeps the superuser's password: ``<data root>/
    postgres-password``; the data root is ``data_root``, else ``TONGXIN_DATA_DIR``, else
    ``<repo>/.data``."""
    given = data_root or os.environ.get("TONGXIN_DATA_DIR")
    base = Path(given).resolve() if given else repo_root(root) / ".data"
    return base / PASSWORD_FILE


def local_database_url(
    root: Path | None = None, *, data_root: Path | None = None, port: int | None = None
) -> str:
    """The URL of a cluster of ``infra/postgres/start.sh`` (the project's own, or a throwaway
    one started with ``TONGXIN_DATA_DIR``/``PG_PORT``): 127.0.0.1, ``port`` else ``PG_PORT``
    else 15432, user postgres, with the password of ``local_password_file``. Outside a
    checkout, or before the first start, the URL has no password."""
    port = port or int(os.environ.get("PG_PORT") or 15432)
    try:
        password_file = local_password_file(root, data_root)
    except FileNotFoundError:
        return DEFAULT_DATABASE_URL
    password = password_file.read_text().strip() if password_file.is_file() else ""
    user = f"postgres:{quote(password, safe='')}" if password else "postgres"
    return f"postgresql://{user}@127.0.0.1:{port}/postgres"


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
    return Infra(DEFAULT_KAFKA, local_database_url(base), "scripts")
