"""Prometheus as `make run` runs it (infra/prometheus/start.sh, Debian's prometheus): pointed at a
service's API and worker run as an operator runs them, every target is up and the services'
own series (the outbox backlog, the consumers' applied events) are in its store, labelled with
the service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.support.ops import import_two_students, prometheus, registry_env, service_processes
from tests.support.waiting import eventually
from tongxin_registry.config import RegistrySettings

pytestmark = pytest.mark.integration


async def test_prometheus_scrapes_the_api_and_the_worker_of_a_service_and_both_are_up(
    registry_settings: RegistrySettings,
    registry_db: asyncpg.Pool,
    jwt_dir: Path,
    officer: dict[str, str],
    tmp_path: Path,
) -> None:
    env = registry_env(registry_settings, jwt_dir, OTEL_EXPORTER_ZIPKIN_ENDPOINT="")
    async with service_processes("registry", env) as running:
        # Given some work done, so that the consumer has figures
        await import_two_students(running.api, officer)
        api = running.api.removeprefix("http://")
        worker = running.worker.removeprefix("http://")
        # When Prometheus is started, by its script, on those two targets
        async with (
            prometheus(tmp_path, "--service", f"registry={api},{worker}") as url,
            httpx.AsyncClient(base_url=url, timeout=10) as prom,
        ):

            async def targets() -> list[dict[str, Any]]:
                body = (await prom.get("/api/v1/targets")).json()
                return list(body["data"]["activeTargets"])

            # Then both targets are up, each labelled with its job and the service
            up = await eventually(
                targets,
                lambda ts: len(ts) == 2 and all(t["health"] == "up" for t in ts),
                timeout=60,
                what="both targets up in Prometheus",
            )
            assert {(t["labels"]["job"], t["labels"]["service"]) for t in up} == {
                ("tongxin-api", "registry"),
                ("tongxin-worker", "registry"),
            }
            assert {t["scrapeUrl"] for t in up} == {
                f"{running.api}/metrics",
                f"{running.worker}/metrics",
            }

            async def query(expr: str) -> list[dict[str, Any]]:
                body = (await prom.get("/api/v1/query", params={"query": expr})).json()
                return list(body["data"]["result"])

            # And the services' own series are there: what the alert rules read
            backlog = await eventually(
                lambda: query('tongxin_outbox_backlog{service="registry"}'),
                bool,
                timeout=30,
                what="the outbox backlog scraped",
            )
            assert backlog[0]["metric"]["job"] == "tongxin-api"
            applied = await eventually(
                lambda: query('sum(tongxin_consumer_applied_total{service="registry"})'),
                lambda rs: bool(rs) and float(rs[0]["value"][1]) >= 4,
                timeout=30,
                what="the roster projection's applied events scraped",
            )
            assert float(applied[0]["value"][1]) >= 4
            rules = (await prom.get("/api/v1/rules")).json()["data"]["groups"]
            loaded = {r["name"] for g in rules for r in g["rules"]}
            assert {"TongxinOutboxBacklog", "TongxinConsumerLag", "TongxinDeadLetters"} <= loaded
            assert "TongxinSlaBreached" in loaded
