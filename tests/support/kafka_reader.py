"""An independent reader of a whole topic, outside any consumer group: the tests' witness."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition


def payloads_of(records: list[ConsumerRecord], service: str, name: str) -> list[dict[str, Any]]:
    """The payloads of the records whose ``ce_type`` is ``cn.tongxin.<service>.<name>.v*``."""
    prefix = f"cn.tongxin.{service}.{name}.v"
    return [
        json.loads(r.value or b"{}")
        for r in records
        if dict(r.headers or ()).get("ce_type", b"").decode().startswith(prefix)
    ]


async def read_all(
    bootstrap: str, topic: str, *, expect: int | None = None, timeout: float = 60.0
) -> list[ConsumerRecord]:
    """Every record of ``topic`` from offset 0: until ``expect`` records arrived, or, without
    ``expect``, until the end offsets seen at the start."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    try:
        metadata = await consumer._client.fetch_all_metadata()
        parts = metadata.partitions_for_topic(topic) or set()
        assert parts, f"topic {topic} has no partitions (does it exist?)"
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        out: list[ConsumerRecord] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200, max_records=5000)
            for records in batch.values():
                out.extend(records)
            if expect is not None:
                if len(out) >= expect:
                    # read a little longer, so that duplicates would show
                    more = await consumer.getmany(timeout_ms=500)
                    for records in more.values():
                        out.extend(records)
                    return out
            else:
                positions = [await consumer.position(tp) for tp in tps]
                if all(pos >= end[tp] for pos, tp in zip(positions, tps, strict=True)):
                    return out
            await asyncio.sleep(0)
        return out
    finally:
        await consumer.stop()
