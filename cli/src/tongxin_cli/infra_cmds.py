"""``tongxin up`` / ``down`` (Kafka and PostgreSQL) and ``tongxin replay`` (a service's own
rebuild command, run as a subprocess)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Annotated, TextIO

import asyncpg
import typer
from aiokafka.errors import KafkaConnectionError, KafkaError

from tongxin_cli.console import err, exit_with, fail, one_line, out, run, without_password
from tongxin_cli.stores import check_service, kafka_bootstrap, server_url, where
from tongxin_contracts import TOPICS
from tongxin_platform.auth import dev_key_dir, dev_keypair
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config, read_topics_file
from tongxin_platform.settings import PlatformSettings
from tongxin_platform.testing import local_password_file, repo_root, run_script

# (name, environment variable that points elsewhere, script directory under infra/)
PARTS = (("PostgreSQL", "DATABASE_URL", "postgres"), ("Kafka", "KAFKA_BOOTSTRAP_SERVERS", "kafka"))


def external(env_var: str, environ: dict[str, str] | None = None) -> bool:
    """Whether the operator points at a server of their own (then we neither start nor stop it)."""
    return bool((os.environ if environ is None else environ).get(env_var))


def _root() -> Path:
    try:
        return repo_root()
    except FileNotFoundError:
        exit_with(
            "not inside a Tongxin checkout (no infra/kafka/start.sh above the current "
            "directory): run from the repository, or set KAFKA_BOOTSTRAP_SERVERS and "
            "DATABASE_URL",
            2,
        )


def topic_specs(root: Path | None) -> list[TopicSpec]:
    """The topics file of the checkout; outside one, every contract topic with 6 partitions."""
    if root is not None and (root / "infra/kafka/topics.txt").exists():
        return read_topics_file(root / "infra/kafka/topics.txt")
    return [TopicSpec(t, 6, event_topic_config()) for t in TOPICS.values()]


async def _ready(
    database_url: str, bootstrap: str, specs: list[TopicSpec]
) -> tuple[str, list[str]]:
    try:
        conn = await asyncpg.connect(database_url, timeout=10)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        fail(f"PostgreSQL at {where(database_url)} does not answer: {one_line(str(exc))}")
    try:
        version = str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()
    try:
        created = await ensure_topics(
            bootstrap, specs, replication_factor=PlatformSettings().topic_replication_factor
        )
    except KafkaConnectionError:
        fail(
            f"cannot reach Kafka at {bootstrap}; is it running? (unset KAFKA_BOOTSTRAP_SERVERS "
            "to let `tongxin up` start the project's own)"
        )
    except KafkaError as exc:
        fail(f"cannot create topics on Kafka at {bootstrap}: {one_line(str(exc)) or exc!r}")
    return version, created


def up() -> None:
    """Start Kafka and PostgreSQL, then create the event topics.

    A server that KAFKA_BOOTSTRAP_SERVERS or DATABASE_URL points at is used as it is.
    """
    console, status = out(), err()
    to_start = [p for p in PARTS if not external(p[1])]
    root = _root() if to_start else _maybe_root()
    for name, env_var, script in PARTS:
        if external(env_var):
            console.print(f"{name}: using {env_var} (nothing started)")
            continue
        assert root is not None
        with status.status(f"starting {name} (infra/{script}/start.sh)…"):
            try:
                run_script(root, f"infra/{script}/start.sh")
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
                last = [ln for ln in str(exc).splitlines() if ln.strip()][-3:]
                for line in last[1:]:
                    status.print(f"  {line}", markup=False)
                exit_with(f"infra/{script}/start.sh failed: {one_line(last[-1] if last else '')}")
        console.print(f"{name}: running (infra/{script}/start.sh)")
    database_url, bootstrap = server_url(), kafka_bootstrap()
    version, created = run(_ready(database_url, bootstrap, topic_specs(root)))
    console.print(f"topics: {', '.join(created) + ' created' if created else 'all present'}")
    console.print(f"Kafka       {bootstrap}")
    console.print(f"PostgreSQL  {without_password(database_url)}  (server {version})")
    if not external("DATABASE_URL") and root is not None:
        console.print(f"            password in {local_password_file(root)} (mode 600)")
    if not os.environ.get("TONGXIN_JWT_PUBLIC_KEY") and not os.environ.get(
        "TONGXIN_JWT_PUBLIC_KEY_FILE"
    ):
        dev_keypair()  # services started next verify tokens with it; `tongxin token` signs
        console.print(f"dev tokens  signed by {dev_key_dir() / 'private.pem'} (development only)")


def _maybe_root() -> Path | None:
    try:
        return repo_root()
    except FileNotFoundError:
        return None


def down(
    wipe: Annotated[
        bool, typer.Option("--wipe", help="Also delete their data directories.")
    ] = False,
) -> None:
    """Stop the Kafka and PostgreSQL that `tongxin up` started.

    A server that KAFKA_BOOTSTRAP_SERVERS or DATABASE_URL points at is left alone.
    """
    console = out()
    root: Path | None = None
    for name, env_var, script in reversed(PARTS):
        if external(env_var):
            console.print(f"{name}: {env_var} is set; not ours to stop")
            continue
        root = root or _root()
        args = ["bash", str(root / f"infra/{script}/stop.sh"), *(["--wipe"] if wipe else [])]
        result = subprocess.run(  # noqa: S603 - our own script, fixed path
            args,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        for line in result.stdout.splitlines():
            console.print(line, markup=False)
        if result.returncode != 0:
            exit_with(
                f"infra/{script}/stop.sh failed ({result.returncode}): "
                f"{one_line(result.stderr) or one_line(result.stdout)}"
            )


def service_command(service: str) -> str | None:
    """``tongxin-<service>``: on PATH, else next to this interpreter (a venv not activated)."""
    name = f"tongxin-{service}"
    found = shutil.which(name)
    if found:
        return found
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else None


def replay(
    service: Annotated[str, typer.Argument(help="The service whose read model to rebuild.")],
    swap: Annotated[
        bool, typer.Option("--swap", help="Swap the rebuilt model in when the rebuild is complete.")
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option(
            min=1, help="Give up after this many seconds (the service's default otherwise)."
        ),
    ] = None,
) -> None:
    """Rebuild a service's read model from offset 0 and compare it with the live one.

    Runs `tongxin-<service> replay` and passes its exit code through: 0 equal, 3 different.
    """
    check_service(service)
    command = service_command(service)
    if command is None:
        exit_with(f"no command tongxin-{service}: is the {service} service installed here?")
    args = [
        command,
        "replay",
        *(["--swap"] if swap else []),
        *(["--timeout", f"{timeout:g}"] if timeout is not None else []),
    ]
    try:
        code = passthrough(args)
    except OSError as exc:
        exit_with(f"cannot run {command}: {exc.strerror or exc}")
    raise typer.Exit(code)


def passthrough(args: list[str]) -> int:
    """Run ``args``; on a terminal it owns the terminal, otherwise its lines are copied to our
    own stdout/stderr as they come (so pipes, logs and test runners see them)."""
    if sys.stdout.isatty():
        return subprocess.run(args, check=False).returncode  # noqa: S603 - our entry point
    proc = subprocess.Popen(  # noqa: S603 - our entry point
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )

    def copy(src: IO[str] | None, dst: TextIO) -> None:
        for line in src or ():
            dst.write(line)
            dst.flush()

    threads = [
        threading.Thread(target=copy, args=(proc.stdout, sys.stdout)),
        threading.Thread(target=copy, args=(proc.stderr, sys.stderr)),
    ]
    for t in threads:
        t.start()
    code = proc.wait()
    for t in threads:
        t.join()
    return code
