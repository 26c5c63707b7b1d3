"""Kafka plumbing: producers with delivery guarantees, and topics created explicitly."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


def read_topics_file(path: Path) -> list[TopicSpec]:
    """Parse ``name partitions key=value…`` lines; ``#`` starts a comment."""
    specs = []
    for n, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.split("#", 1)[0].split()
        if not line:
            continue
        try:
            name, partitions, *configs = line
            config = dict(c.split("=", 1) for c in configs)
            specs.append(TopicSpec(name, int(partitions), config))
        except ValueError as exc:
            raise ValueError(f"{path}:{n}: expected 'name partitions key=value…': {raw!r}") from exc
    return specs


def event_topic_config() -> dict[str, str]:
    return {"retention.ms": "-1", "retention.bytes": "-1"}


async def ensure_topics(
    bootstrap: str, specs: list[TopicSpec], *, replication_factor: int = 1
) -> list[str]:
    """Create the topics that do not exist yet; return the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if not missing:
            return []
        # A concurrent creator may win the race; the topic is there, which is all we need.
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(
                [
                    NewTopic(s.name, s.partitions, replication_factor, topic_configs=s.config)
                    for s in missing
                ]
            )
        return [s.name for s in missing]
    finally:
        await admin.close()


async def ensure_mirror_copies(
    bootstrap: str,
    topics: Sequence[str],
    aliases: Sequence[str],
    *,
    replication_factor: int = 1,
) -> list[str]:
    """Create the MirrorMaker 2 copies among ``topics`` (``<alias>.<topic>`` for an alias of
    ``aliases``) that do not exist yet; return the names created.

    A consumer does not start while a topic it subscribes to is missing, and the mirror creates
    a copy only once it runs and the district's cluster has the topic: without this, a city
    worker started before the mirror (or reading a district that has no such topic yet) would
    not start at all, not even for its own cluster's topics. The copy gets the partitions of the
    local topic it stands beside (a district's cluster is laid out from the same topics.txt; the
    mirror adds partitions if the district has more) and the event topics' retention. The
    mirror then copies into it as into one it made.
    """
    copies = {t: t.split(".", 1)[1] for t in topics if any(t.startswith(f"{a}.") for a in aliases)}
    if not copies:
        return []
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = {copy: local for copy, local in copies.items() if copy not in existing}
        if not missing:
            return []
        described = await admin.describe_topics(sorted(set(missing.values()) & existing))
        partitions = {d["topic"]: len(d["partitions"]) for d in described if d["partitions"]}
    finally:
        await admin.close()
    specs = [
        TopicSpec(copy, partitions.get(local, 1), event_topic_config())
        for copy, local in sorted(missing.items())
    ]
    return await ensure_topics(bootstrap, specs, replication_factor=replication_factor)


def reliable_producer(bootstrap: str, **overrides: object) -> AIOKafkaProducer:
    """An idempotent producer that waits for all in-sync replicas (``acks=all``)."""
    options: dict[str, object] = {
        "bootstrap_servers": bootstrap,
        "enable_idempotence": True,
        "acks": "all",
        "linger_ms": 5,
        "max_batch_size": 512 * 1024,
        "request_timeout_ms": 15000,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)
