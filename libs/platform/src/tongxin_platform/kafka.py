"""Kafka plumbing: producers with delivery guarantees, and topics created explicitly."""

from __future__ import annotations

import contextlib
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
