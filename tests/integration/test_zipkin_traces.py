"""Traces in Zipkin, as `make run` shows them: Zipkin started by infra/zipkin/start.sh (its
server jar from Maven Central), the registry's API and worker run as an operator runs them with
``OTEL_EXPORTER_ZIPKIN_ENDPOINT``; a command's one trace holds the HTTP request's span, the
store's append, the relay's publish spans (outbox → Kafka) and the projection's spans, joined
through the Kafka records' ``traceparent``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.support.ops import import_two_students, registry_env, service_processes, zipkin
from tests.support.waiting import eventually
from tongxin_registry.config import RegistrySettings

pytestmark = pytest.mark.integration


async def test_a_command_is_one_trace_in_zipkin_from_http_through_kafka_to_the_projection(
    registry_settings: RegistrySettings,
    registry_db: asyncpg.Pool,
    jwt_dir: Path,
    officer: dict[str, str],
    tmp_path: Path,
) -> None:
    async with zipkin(tmp_path) as zipkin_url:
        env = registry_env(
            registry_settings,
            jwt_dir,
            OTEL_EXPORTER_ZIPKIN_ENDPOINT=f"{zipkin_url}/api/v2/spans",
            OTEL_EXPORTER_OTLP_ENDPOINT="",
            OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="",
            OTEL_BSP_SCHEDULE_DELAY="200",
        )
        async with service_processes("registry", env) as running:
            # Given the registry's API and worker, each exporting to Zipkin
            # When a district officer imports two students over HTTP
            await import_two_students(running.api, officer)
            await eventually(
                lambda: registry_db.fetchval("SELECT count(*) FROM roster.students"),
                lambda n: n == 2,
                what="the students projected by the worker",
            )
            [traceparent] = {
                row["traceparent"]
                for row in await registry_db.fetch("SELECT traceparent FROM events")
            }
            _, trace_id, stored_span, _ = traceparent.split("-")

            # Then Zipkin holds one trace with the request, the relay's sends and the projection
            async with httpx.AsyncClient(base_url=zipkin_url, timeout=10) as z:

                async def spans() -> list[dict[str, Any]]:
                    got = await z.get(f"/api/v2/trace/{trace_id}")
                    return list(got.json()) if got.status_code == 200 else []

                def complete(found: list[dict[str, Any]]) -> bool:
                    names = [s.get("name", "") for s in found]
                    return (
                        any(s.get("kind") == "SERVER" for s in found)
                        and sum(
                            int(s["tags"]["messaging.batch.message_count"])
                            for s in found
                            if s.get("name", "").startswith("publish ")
                        )
                        == 4
                        and sum(n.startswith("process ") for n in names) == 4
                    )

                found = await eventually(
                    spans, complete, timeout=60, what=f"trace {trace_id} complete in Zipkin"
                )
                services = (await z.get("/api/v2/services")).json()
            assert "tongxin-registry" in services
            assert {s["traceId"] for s in found} == {trace_id}
            assert {s["localEndpoint"]["serviceName"] for s in found} == {"tongxin-registry"}
            by_id = {s["id"]: s for s in found}
            assert stored_span in by_id, "the span that stored the events is not in Zipkin"
            # The server span of the request is an ancestor of the span that stored the events.
            node: dict[str, Any] | None = by_id[stored_span]
            kinds = []
            while node is not None:
                kinds.append(node.get("kind"))
                node = by_id.get(node.get("parentId", ""))
            assert "SERVER" in kinds, kinds
            # The store's write is in the trace: an append of the four events, with their types.
            [append] = [s for s in found if s["name"] == "append events"]
            assert append["tags"]["tongxin.events"] == "4"
            assert "StudentEnrolled" in append["tags"]["tongxin.event_types"]
            # The relay's sends and the worker's projection continue it through Kafka's headers.
            for prefix, kind in (("publish ", "PRODUCER"), ("process ", "CONSUMER")):
                hops = [s for s in found if s["name"].startswith(prefix)]
                assert all(s.get("kind") == kind for s in hops), hops
                assert all(s.get("parentId") == stored_span for s in hops), hops
            publish = [s for s in found if s["name"].startswith("publish ")]
            assert any("StudentEnrolled" in s["tags"]["tongxin.event_types"] for s in publish)
            processed = [s["name"].lower() for s in found if s["name"].startswith("process ")]
            assert any("studentenrolled" in name for name in processed), processed
