"""One trace from the HTTP command through the store, the outbox (the relay's ``publish`` spans),
Kafka and the projection."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.support.servers import serving
from tests.support.waiting import eventually
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_platform.auth import TokenVerifier
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints.api import create_app

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def spans() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter


async def test_the_projection_continues_the_trace_of_the_http_request(
    verifier: TokenVerifier,
    officer: dict[str, str],
    spans: InMemorySpanExporter,
    registry_settings: RegistrySettings,
    registry_worker: None,
    registry_db: asyncpg.Pool,
) -> None:
    students, _ = demo_roster(DemoSpec(schools=1, classes_per_school=1, students_per_class=3))
    incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    async with (
        serving(create_app(registry_settings, verifier)) as url,
        httpx.AsyncClient(base_url=url, headers=officer) as http,
    ):
        r = await http.post(
            "/imports/students", content=students.encode(), headers={"traceparent": incoming}
        )
        assert r.status_code == 200
    await eventually(
        lambda: registry_db.fetchval("SELECT count(*) FROM roster.students"),
        lambda n: n == 3,
        what="students projected",
    )
    trace_id = int("4bf92f3577b34da6a3ce929d0e0e4736", 16)
    finished = [s for s in spans.get_finished_spans() if s.context.trace_id == trace_id]
    assert any(s.kind is trace.SpanKind.SERVER for s in finished), "no server span in the trace"
    stored = {r["traceparent"] for r in await registry_db.fetch("SELECT traceparent FROM events")}
    assert len(stored) == 1
    [traceparent] = stored
    _, stored_trace, stored_span, _ = traceparent.split("-")
    assert int(stored_trace, 16) == trace_id
    processed = [s for s in finished if s.name.startswith("process ")]
    assert len(processed) == 5  # SchoolRegistered, ClassOpened, 3 × StudentEnrolled
    assert all(s.kind is trace.SpanKind.CONSUMER for s in processed)
    assert all(s.parent is not None and s.parent.span_id == int(stored_span, 16) for s in processed)
    assert int(stored_span, 16) in {s.context.span_id for s in finished}
    # The relay's hop from the outbox to Kafka is in the same trace: producer spans, one per
    # batch the relay sent, counting the five records between them.
    published = [s for s in finished if s.name.startswith("publish ")]
    assert sum(s.attributes["messaging.batch.message_count"] for s in published) == 5
    assert all(s.kind is trace.SpanKind.PRODUCER for s in published)
    assert all(s.parent is not None and s.parent.span_id == int(stored_span, 16) for s in published)
