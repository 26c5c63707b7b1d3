"""What the read-side benches share (the agencies' and the city's): every read model of a
service rebuilt from offset 0 against a bare consumer, the service's API served as its own
process (as ``make run`` starts it) and the time of GETs against it, their rows, and running one
such bench alone."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.common import Names, Row, clock
from bench.replay import bare_consume, replay, topics_size
from tongxin_platform.projection import Projection
from tongxin_platform.settings import DEFAULT_KAFKA, ServiceSettings
from tongxin_platform.testing import local_database_url

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]
BATCH = 1000  # records per batch of a rebuild, as ``tongxin-<service> replay``


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def api_process(
    service: str,
    server_url: str,
    kafka: str,
    database: str,
    topics: Mapping[str, str],
    extra_env: Mapping[str, str] | None = None,
) -> AsyncIterator[str]:
    """``tongxin-<service> serve`` on the bench's database and topics; yields its base URL."""
    prefix = service.upper()
    port = free_port()
    env = {
        **os.environ,
        "TONGXIN_ENV": "development",
        "DATABASE_URL": server_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        f"{prefix}_DATABASE_NAME": database,
        f"{prefix}_HTTP_PORT": str(port),
        **{f"{prefix}_{s.upper()}_TOPIC": t for s, t in topics.items()},
        **(extra_env or {}),
    }
    exe = Path(sys.executable).with_name(f"tongxin-{service}")
    proc = subprocess.Popen(  # noqa: ASYNC220 - started once, waited on by polling below
        [str(exe), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            for _ in range(300):
                try:
                    if (await http.get("/health")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None:
                    err = proc.stderr.read() if proc.stderr else b""
                    raise RuntimeError(f"the {service} API exited: {err!r}"[:500])
                await asyncio.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def time_get(
    base: str, path: str, headers: dict[str, str], warm: int, n: int
) -> dict[str, Any]:
    """``warm`` untimed GETs of ``path``, then ``n`` timed ones one after the other."""
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:
        for _ in range(warm):
            r = await http.get(path)
            r.raise_for_status()
        times: list[float] = []
        size = 0
        for _ in range(n):
            start = clock()
            r = await http.get(path)
            times.append(clock() - start)
            r.raise_for_status()
            size = len(r.content)
    times.sort()
    return {
        "path": path,
        "calls": n,
        "median_ms": statistics.median(times) * 1000,
        "p95_ms": times[min(len(times) - 1, int(0.95 * len(times)))] * 1000,
        "max_ms": times[-1] * 1000,
        "bytes": size,
    }


async def rebuild_models(
    models: Sequence[Projection],
    settings: ServiceSettings,
    url: str,
    topics: Mapping[str, str],
    group_prefix: str,
) -> dict[str, Any]:
    """Each model rebuilt from offset 0 on the kit's FastStream runtime (fresh schema, fresh
    group), each just after the peer — a bare aiokafka consumer decoding the same topics."""
    kafka, database = settings.kafka_bootstrap_servers, settings.database_name
    out: dict[str, Any] = {}
    for model in models:
        model.configure(settings)  # what the worker and `replay` give a model (a key)
        model_topics = [topics[s] for s in model.sources]
        total = await topics_size(kafka, model_topics)
        bare = await bare_consume(kafka, model_topics, total, time_limit=120, decode=True)
        ours = await replay(
            "faststream",
            model,
            url=url,
            database=database,
            kafka=kafka,
            topics=model_topics,
            group=f"{group_prefix}.{model.name}",
            schema=model.schema,
            total=total,
            time_limit=300,
            max_batch=BATCH,
            stream_ids=settings.ledger_stream_ids(),
        )
        ours.pop("rss_by_events_seen", None)
        out[model.name] = {"events": total, "ours": ours, "bare": bare}
        log.warning(
            "%s: %d events, %.0f/s vs bare %.0f/s", model.name, total, ours["rate"], bare["rate"]
        )
    return out


def replay_rows(prefix: str, what: str, models: Mapping[str, Any], size: str) -> list[Row]:
    """A row per rebuilt model: events/s against the bare consumer, target ≥ 50 %."""
    out: list[Row] = []
    for name, m in models.items():
        ours, bare = m["ours"]["rate"], m["bare"]["rate"]
        out.append(
            Row(
                f"{prefix}_{name}_replay",
                f"{what} {name} model rebuilt from offset 0 ({m['events']:,} events of {size})",
                ours,
                "events/s",
                peer=bare,
                peer_label="bare aiokafka consumer + decode, same topics",
                ratio=ours / bare if bare else None,
                ratio_kind="%",
                target="≥ 50 % of bare",
                met=(ours / bare >= 0.5) if bare else None,
            )
        )
    return out


def page_row(key: str, what: str, t: Mapping[str, Any]) -> Row:
    """A page's median time of ``time_get``, target < 1 s (its p95)."""
    return Row(
        key,
        f"{what} ({t['bytes']:,} bytes), median of {t['calls']}",
        t["median_ms"],
        "ms",
        target="< 1 s",
        met=t["p95_ms"] < 1000,
        note=f"p95 {t['p95_ms']:.0f} ms, max {t['max_ms']:.0f} ms",
    )


def run_alone(
    name: str,
    doc: str | None,
    measure: Callable[[str, str, Names, bool], Awaitable[dict[str, Any]]],
    rows: Callable[[dict[str, Any]], list[Row]],
    argv: list[str] | None,
) -> int:
    """``python -m bench.<name> [--quick] [--json …]``: one read-side bench on its own, its
    databases and topics dropped at the end, its table printed and its figures written."""
    parser = argparse.ArgumentParser(prog=f"python -m bench.{name}", description=doc)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path, default=ROOT / f"bench/results/{name}.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("TONGXIN_ENV", "development")
    server_url = os.environ.get("DATABASE_URL") or local_database_url()
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_KAFKA)
    names = Names.fresh()

    async def go() -> dict[str, Any]:
        from bench.run import cleanup

        try:
            return await measure(server_url, kafka, names, args.quick)
        finally:
            for p in await cleanup(server_url, kafka, names):
                log.warning("cleanup: %s", p)

    started = time.time()
    res = asyncio.run(go())
    from bench.run import print_table

    title = f"{name.capitalize()} — {names.stamp} ({time.time() - started:.0f} s)"
    print_table(rows(res), title)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(res, indent=2, default=str))
    return 0
