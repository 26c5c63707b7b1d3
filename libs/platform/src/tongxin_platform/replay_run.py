"""Running a replay for the operator (``tongxin-<service> replay``): the rebuild with a progress
bar, the digest table, the swap, and exit codes instead of tracebacks. The mechanics are in
``tongxin_platform.replay``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import asyncpg
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from tongxin_platform.db import create_pool
from tongxin_platform.replay import (
    DIFFERENT,
    EQUAL,
    FAILED,
    Rebuild,
    Rebuilder,
    ReplayError,
    Target,
    TopicEnds,
    behind,
    fresh_rebuild,
    schema_exists,
    stored_offsets,
    swap,
)


def run(
    url: str, service: str, replay: Callable[[asyncpg.Pool], Awaitable[int]], console: Console
) -> int:
    """``replay`` on a pool of the service's database at ``url``, to its exit code: whatever
    stops it is one line for the operator, not a traceback."""

    async def on_pool() -> int:
        try:
            pool = await create_pool(url, min_size=1, max_size=4)
        except asyncpg.InvalidCatalogNameError:
            name = urlsplit(url).path.lstrip("/")
            raise ReplayError(f"no database {name!r}: has the {service} run?") from None
        try:
            if await pool.fetchval("SELECT to_regclass('consumer_offsets')") is None:
                raise ReplayError(f"the {service} database is not migrated: start it once")
            return await replay(pool)
        finally:
            await pool.close()

    try:
        return asyncio.run(on_pool())
    except ReplayError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, KafkaError) as exc:
        console.print(f"[red]error:[/red] {type(exc).__name__}: {escape(str(exc))}")
    return FAILED


async def replay_projection(
    pool: asyncpg.Pool,
    bootstrap: str,
    it: Target,
    *,
    swap_in: bool,
    deadline: float,
    console: Console,
    out: Console | None = None,
) -> int:
    """Rebuild ``it`` from offset 0 into a fresh schema, print both digests and swap the rebuild
    in if asked; the exit code. Progress and errors go to ``console``, results to ``out``:
    stdout, with wide lines on a pipe since digests are longer than 80 columns allow."""
    out = out or (Console() if sys.stdout.isatty() else Console(width=160))
    async with TopicEnds(bootstrap, it.topics) as kafka:
        async with pool.acquire() as conn:
            job = await fresh_rebuild(conn, it.topics, it.live_schema, it.live_group)
            await it.create_tables(conn, job.schema)
        out.print(
            f"rebuilding {', '.join(it.topics)} into {job.schema} (consumer group {job.group})"
        )
        if not await _rebuild(
            pool, kafka, it.consumer(job.group, job.schema), job, deadline, console
        ):
            return FAILED
    equal = await _compare(pool, it, job, min(deadline, time.monotonic() + 30), out)
    if swap_in:
        async with pool.acquire() as conn:
            await swap(conn, job)
        out.print(
            f"swapped: {it.live_schema} is now the rebuilt model; the previous one "
            f"is {job.retired_schema} (drop it once you are satisfied)"
        )
        return EQUAL
    out.print(
        f"nothing dropped: the rebuilt model is schema {job.schema} (inspect it, then "
        f"DROP SCHEMA {job.schema} CASCADE, or replay with --swap)",
        soft_wrap=True,
    )
    return EQUAL if equal else DIFFERENT


async def _rebuild(
    pool: asyncpg.Pool,
    kafka: TopicEnds,
    runtime: Rebuilder,
    job: Rebuild,
    deadline: float,
    console: Console,
) -> bool:
    """Run the job's fresh consumer group into its schema until the end of every topic."""
    columns = (TextColumn("replaying"), BarColumn(), MofNCompleteColumn())
    progress = Progress(*columns, console=console, transient=True, disable=not console.is_terminal)
    ends = await kafka.ends()
    task = asyncio.create_task(runtime.run(), name="rebuild")
    left = sum(ends.values())
    try:
        with progress:
            bar = progress.add_task("records", total=left)
            while time.monotonic() < deadline and not task.done():
                ends = await kafka.ends()
                left = behind(await stored_offsets(pool, job.group, job.topics), ends)
                progress.update(bar, total=sum(ends.values()), completed=sum(ends.values()) - left)
                if left == 0:
                    break
                await asyncio.sleep(0.2)
    finally:
        runtime.stop()
        await asyncio.gather(task, return_exceptions=True)
    if not task.cancelled() and task.exception() is not None:
        raise ReplayError(f"the rebuild's consumer failed: {task.exception()}")
    stats = runtime.stats
    console.print(
        f"replayed: {stats.applied} applied, {stats.duplicates} duplicate(s) dropped, "
        f"{stats.dead_lettered} dead-lettered"
    )
    if left:
        console.print(
            f"[red]error:[/red] rebuild incomplete: {left} record(s) behind when time "
            f"ran out; schema {job.schema} kept, nothing swapped (try --timeout)"
        )
    return not left


async def _compare(
    pool: asyncpg.Pool, it: Target, job: Rebuild, grace: float, out: Console
) -> bool:
    """Print the digests of live and rebuilt, taken in one snapshot; whether they are equal."""
    rebuilt_at = await stored_offsets(pool, job.group, job.topics)
    # Compare at the same offsets: give the live projection a moment to get there.
    live_at = await stored_offsets(pool, job.live_group, job.topics)
    while live_at != rebuilt_at and time.monotonic() < grace:
        await asyncio.sleep(0.2)
        live_at = await stored_offsets(pool, job.live_group, job.topics)
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        live_at = await stored_offsets(conn, job.live_group, job.topics)
        if await schema_exists(conn, job.live_schema):
            live = await it.digest(conn, job.live_schema)
        else:
            live = dict.fromkeys(it.tables, "(no live schema)")
        rebuilt = await it.digest(conn, job.schema)
    title = f"{job.live_schema} vs {job.schema}"
    table = Table("table", "live digest", "rebuilt digest", "", title_justify="left", title=title)
    for name in it.tables:
        same = live[name] == rebuilt[name]
        verdict = "[green]equal[/green]" if same else "[red]DIFFERENT[/red]"
        table.add_row(name, live[name], rebuilt[name], verdict)
    out.print(table)
    if live_at != rebuilt_at:
        out.print(
            f"[yellow]note:[/yellow] the live projection has applied up to "
            f"{sum(live_at.values())} record(s), the rebuild {sum(rebuilt_at.values())}: "
            "a difference may be only that (is the worker running?)"
        )
    equal = live == rebuilt
    out.print("[green]digests are equal[/green]" if equal else "[red]digests differ[/red]")
    return equal
