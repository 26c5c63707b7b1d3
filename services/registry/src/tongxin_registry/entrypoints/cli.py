"""``tongxin-registry``: serve the API, run the worker, import a roster, rebuild the roster."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
import uvicorn
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from tongxin_contracts import default_registry
from tongxin_platform.consumer import ConsumerRuntime
from tongxin_platform.db import create_pool
from tongxin_platform.settings import service_database_url
from tongxin_registry.application import replay as rb
from tongxin_registry.application.rows import ImportRejectedError
from tongxin_registry.bootstrap import bootstrap
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints import worker
from tongxin_registry.projections import roster

# Exit codes of ``replay``: equal, failed (rebuild incomplete, swap refused), different.
EQUAL, FAILED, DIFFERENT = 0, 1, 3

app = typer.Typer(help="Tongxin registry service", no_args_is_help=True)
console = Console(stderr=True)


@app.command()
def serve(host: str | None = None, port: int | None = None) -> None:
    """Serve the HTTP API (default 127.0.0.1:8001)."""
    settings = RegistrySettings()
    from tongxin_registry.entrypoints.api import create_app

    uvicorn.run(create_app(settings), host=host or settings.http_host,
                port=port or settings.http_port, log_level="warning")


@app.command("worker")
def run_worker(
    relay: Annotated[bool, typer.Option(help="Run the outbox relay")] = True,
    projection: Annotated[bool, typer.Option(help="Run the roster projection")] = True,
) -> None:
    """Run the outbox relay and the roster projection until SIGTERM."""
    worker.main(worker.WorkerOptions(relay=relay, projection=projection))


@app.command("import")
def import_csv(
    path: Path,
    kind: Annotated[str, typer.Option(help="students or staff")] = "students",
) -> None:
    """Import a roster CSV directly into the registry's store (same rules as the HTTP import)."""
    if kind not in ("students", "staff"):
        raise typer.BadParameter("kind must be 'students' or 'staff'")
    text = path.read_text(encoding="utf-8-sig")

    async def go() -> None:
        reg = await bootstrap(RegistrySettings())
        try:
            svc = reg.service
            do = svc.import_students if kind == "students" else svc.import_staff
            with console.status(f"importing {path.name}…"):
                result = await do(text)
            print(json.dumps({"rows": result.rows, "events": result.events,
                              "by_type": result.by_type}))
        finally:
            await reg.close()

    try:
        asyncio.run(go())
    except ImportRejectedError as exc:
        for e in exc.errors[:50]:
            console.print(f"[red]row {e.row}[/red], field [bold]{e.field}[/bold]: {e.message}")
        console.print(f"{len(exc.errors)} error(s); nothing was imported.")
        raise typer.Exit(2) from exc


@app.command("replay")
def replay_roster(
    swap: Annotated[bool, typer.Option(
        "--swap", help="Swap the rebuilt model in for the live one when the rebuild is complete.")
    ] = False,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for the rebuild.")] = 600,
) -> None:
    """Rebuild the roster from offset 0 into a fresh schema and compare it with the live one.

    Never writes to the live schema. Exits 0 when equal, 3 when different (unless swapped),
    1 when the rebuild could not complete or the swap was refused.
    """
    try:
        code = asyncio.run(_replay(RegistrySettings(), swap=swap, timeout=timeout))
    except rb.ReplayError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(FAILED) from None
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, KafkaError) as exc:
        console.print(f"[red]error:[/red] {type(exc).__name__}: {exc}")
        raise typer.Exit(FAILED) from None
    raise typer.Exit(code)


async def _replay(settings: RegistrySettings, *, swap: bool, timeout: float) -> int:
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    schema = roster.check_schema(f"roster_rebuild_{stamp}")
    group = f"{roster.GROUP}.rebuild.{stamp}"
    topic, bootstrap_servers = settings.topic, settings.kafka_bootstrap_servers
    url = service_database_url(settings.database_url, settings.database_name)
    try:
        pool = await create_pool(url, min_size=1, max_size=4)
    except asyncpg.InvalidCatalogNameError:
        raise rb.ReplayError(f"no database {settings.database_name!r}: has the registry run?")
    try:
        async with pool.acquire() as conn:
            if await conn.fetchval("SELECT to_regclass('consumer_offsets')") is None:
                raise rb.ReplayError("the registry database is not migrated: start it once")
            if await rb.schema_exists(conn, schema):
                raise rb.ReplayError(f"schema {schema} already exists: try again in a second")
            await roster.create_tables(conn, schema)
        out = Console()
        out.print(f"rebuilding {topic} into schema {schema} (consumer group {group})")
        deadline = time.monotonic() + timeout
        async with rb.kafka_offsets(bootstrap_servers) as kafka:
            if not await _rebuild(pool, kafka, settings, schema, group, deadline):
                return FAILED
            # Compare at the same offsets: give the live projection a moment to get there.
            grace = min(deadline, time.monotonic() + 30)
            while time.monotonic() < grace and await rb.stored_offsets(
                    pool, roster.GROUP, topic) != await rb.stored_offsets(pool, group, topic):
                await asyncio.sleep(0.2)
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read",
                                                            readonly=True):
            live_at = await rb.stored_offsets(conn, roster.GROUP, topic)
            rebuilt_at = await rb.stored_offsets(conn, group, topic)
            live_exists = await rb.schema_exists(conn, roster.LIVE_SCHEMA)
            live = await roster.digest(conn) if live_exists else dict.fromkeys(roster.TABLES,
                                                                                 "(no schema)")
            rebuilt = await roster.digest(conn, schema)
        equal = live == rebuilt
        out.print(_digest_table(live, rebuilt))
        if live_at != rebuilt_at:
            out.print(f"[yellow]note:[/yellow] the live projection has applied "
                      f"{sum(live_at.values())} record(s), the rebuild {sum(rebuilt_at.values())}:"
                      " a difference may be only that (is the worker running?)")
        out.print("[green]digests are equal[/green]" if equal else "[red]digests differ[/red]")
        if swap:
            retired = roster.check_schema(f"roster_old_{stamp}")
            async with pool.acquire() as conn:
                await rb.swap(conn, topic=topic, live=roster.LIVE_SCHEMA, rebuilt=schema,
                              retired=retired, live_group=roster.GROUP, rebuilt_group=group,
                              retired_group=f"{roster.GROUP}.old.{stamp}")
            out.print(f"swapped: {roster.LIVE_SCHEMA} is now the rebuilt model; the previous one "
                      f"is {retired} (drop it once you are satisfied)")
            return EQUAL
        out.print(f"nothing dropped: the rebuilt model is schema {schema} (compare, then "
                  f"DROP SCHEMA {schema} CASCADE, or replay with --swap)")
        return EQUAL if equal else DIFFERENT
    finally:
        await pool.close()


async def _rebuild(pool: asyncpg.Pool, kafka: object, settings: RegistrySettings, schema: str,
                   group: str, deadline: float) -> bool:
    """Run a fresh consumer group into ``schema`` until it reaches the end of the topic."""
    topic = settings.topic
    ends = await rb.end_offsets(kafka, topic)  # type: ignore[arg-type]
    runtime = ConsumerRuntime(
        group=group, topics=[topic], handler=roster.apply, registry=default_registry(),
        pool=pool, bootstrap=settings.kafka_bootstrap_servers, search_path=schema,
        replication_factor=settings.topic_replication_factor)
    task = asyncio.create_task(runtime.run(), name="rebuild")
    left = sum(ends.values())
    progress = Progress(TextColumn("replaying"), BarColumn(), MofNCompleteColumn(),
                        console=console, transient=True, disable=not console.is_terminal)
    try:
        with progress:
            bar = progress.add_task("records", total=left)
            while time.monotonic() < deadline and not task.done():
                ends = await rb.end_offsets(kafka, topic)  # type: ignore[arg-type]
                stored = await rb.stored_offsets(pool, group, topic)
                left = rb.behind(stored, ends)
                progress.update(bar, total=sum(ends.values()),
                                completed=sum(ends.values()) - left)
                if left == 0:
                    break
                await asyncio.sleep(0.2)
    finally:
        runtime.stop()
        await asyncio.gather(task, return_exceptions=True)
    if task.done() and not task.cancelled() and task.exception() is not None:
        raise rb.ReplayError(f"the rebuild's consumer failed: {task.exception()}")
    stats = runtime.stats
    console.print(f"replayed: {stats.applied} applied, {stats.duplicates} duplicate(s) dropped, "
                  f"{stats.dead_lettered} dead-lettered")
    if left:
        console.print(f"[red]error:[/red] rebuild incomplete: {left} record(s) behind when time "
                      f"ran out; schema {schema} kept, nothing swapped (try --timeout)")
        return False
    return True


def main() -> None:
    app()


if __name__ == "__main__":
    main()
