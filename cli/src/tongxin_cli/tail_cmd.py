"""``tongxin tail``: print a topic's records with their CloudEvents attributes.

Reads without a consumer group, so it commits nothing and disturbs no consumer.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from typing import Annotated

import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError
from rich.text import Text

from tongxin_cli.console import err, exit_with, fail, out, run
from tongxin_cli.stores import kafka_bootstrap

_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


def compact_body(value: bytes | None) -> str:
    """The record's JSON body on one line; anything else as (lossy) text."""
    if value is None:
        return "(no body)"
    try:
        return json.dumps(json.loads(value), ensure_ascii=False, separators=(",", ":"))
    except (ValueError, UnicodeDecodeError):
        return value.decode("utf-8", "replace")


def format_record(
    partition: int, offset: int, headers: Iterable[tuple[str, bytes]], value: bytes | None
) -> tuple[str, str]:
    """(``p<partition>@<offset> <ce_type> <ce_subject> <ce_time>``, compact body)."""
    h = {k: v.decode("utf-8", "replace") for k, v in headers}
    head = "  ".join(
        [
            f"p{partition}@{offset}",
            h.get("ce_type") or "(no ce_type)",
            h.get("ce_subject") or "-",
            h.get("ce_time") or "-",
        ]
    )
    return head, compact_body(value)


def start_offset(beginning: int, end: int, limit: int, from_beginning: bool) -> int:
    """Where to read a partition from: offset 0 (its beginning), or ``limit`` before its end."""
    if from_beginning:
        return beginning
    return max(beginning, end - limit)


async def topic_partitions(bootstrap: str, topic: str) -> list[int]:
    """The topic's partitions (none: no such topic), from the broker's metadata."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described["error_code"] != 0:
        return []
    return sorted(p["partition"] for p in described["partitions"])


async def _tail(topic: str, from_beginning: bool, limit: int, idle: float) -> tuple[int, str]:
    bootstrap = kafka_bootstrap()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        request_timeout_ms=15000,
    )
    try:
        await consumer.start()
    except KafkaConnectionError:
        await consumer.stop()
        fail(
            f"cannot reach Kafka at {bootstrap}; is it running? (`tongxin up`, or set "
            "KAFKA_BOOTSTRAP_SERVERS)"
        )
    console = out()
    printed = 0
    try:
        partitions = await topic_partitions(bootstrap, topic)
        if not partitions:
            fail(f"topic {topic!r} does not exist on Kafka at {bootstrap}")
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        begins = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, start_offset(begins[tp], ends[tp], limit, from_beginning))
        last_seen = time.monotonic()
        while True:
            batch = await consumer.getmany(timeout_ms=200, max_records=500)
            records = sorted(
                (r for rs in batch.values() for r in rs), key=lambda r: (r.partition, r.offset)
            )
            for r in records:
                head, body = format_record(r.partition, r.offset, r.headers or (), r.value)
                console.print(Text(head, style="bold"))
                console.print(Text(body), soft_wrap=True)
                printed += 1
                if limit and printed >= limit:
                    return printed, f"limit of {limit} reached"
            if records:
                last_seen = time.monotonic()
            elif idle and time.monotonic() - last_seen >= idle:
                return printed, f"no record for {idle:g}s"
    finally:
        await consumer.stop()


def tail(
    topic: Annotated[str, typer.Argument(help="The topic, e.g. registry.events.")],
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Start at offset 0 of every partition.")
    ] = False,
    limit: Annotated[
        int,
        typer.Option("--limit", "-n", min=0, help="Stop after this many records (0: no limit)."),
    ] = 10,
    timeout: Annotated[
        float,
        typer.Option(min=0, help="Stop when no record came for this many seconds (0: never)."),
    ] = 5.0,
) -> None:
    """Print a topic's records: partition@offset, ce_type, ce_subject, ce_time, JSON body.

    Without --from-beginning, each partition is read from N (= --limit) records before its end,
    so the most recent records show first, then new ones as they arrive.
    """
    if not _TOPIC.match(topic):
        exit_with(f"not a valid Kafka topic name: {topic!r}", 2)
    printed, why = run(_tail(topic, from_beginning, limit, timeout))
    err().print(f"{printed} record(s) from {topic} (stopped: {why})")
