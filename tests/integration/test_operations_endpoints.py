"""The API base every service shares, on both services: ``/health`` and ``/ready`` without a
token (a 503 problem with ``Retry-After`` while the broker is away), ``/metrics`` in Prometheus
text (commands by outcome, outbox backlog, consumer lag, dead letters) and ``/asyncapi`` (the
worker's FastStream document, each receiving operation bound to its consumer group)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Bearer
from tests.integration.test_dead_letters import headers as poison_headers
from tests.integration.test_visits_http import completion
from tests.support.servers import free_port, serving
from tests.support.services import settings_for
from tests.support.waiting import eventually
from tests.support.world import world
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.eventstore import now_utc
from tongxin_platform.settings import DEFAULT_KAFKA
from tongxin_platform.testing import Infra
from tongxin_registry.bootstrap import SERVICE as REGISTRY
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints.api import create_app as registry_app
from tongxin_visits.bootstrap import SERVICE as VISITS
from tongxin_visits.config import VisitsSettings
from tongxin_visits.entrypoints.api import create_app as visits_app

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def both_apis(
    registry_settings: RegistrySettings, visits_settings: VisitsSettings, verifier: TokenVerifier
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    async with (
        serving(registry_app(registry_settings, verifier)) as registry_url,
        serving(visits_app(visits_settings, verifier)) as visits_url,
        httpx.AsyncClient(base_url=registry_url, timeout=30) as registry,
        httpx.AsyncClient(base_url=visits_url, timeout=30) as visits,
    ):
        yield registry, visits


def samples(text: str, name: str, **labels: str) -> list[float]:
    """The values of the samples called ``name`` whose labels include ``labels``."""
    return [
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    ]


async def metrics(http: httpx.AsyncClient) -> str:
    r = await http.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return r.text


def receiving_groups(doc: dict[str, Any]) -> set[tuple[str, str]]:
    """(consumer group its Kafka binding names, topic its channel reads) of every receiving
    operation."""
    found = set()
    for op in doc["operations"].values():
        if op["action"] != "receive":
            continue
        [group] = op["bindings"]["kafka"]["groupId"]["enum"]
        channel = doc["channels"][op["channel"]["$ref"].rsplit("/", 1)[1]]
        found.add((group, channel["address"]))
    return found


async def test_both_services_are_alive_ready_and_describe_their_messaging_without_a_token(
    registry_settings: RegistrySettings, visits_settings: VisitsSettings, verifier: TokenVerifier
) -> None:
    registry_topic, visits_topic = registry_settings.topic, visits_settings.topic
    assert visits_settings.registry_topic == registry_topic
    async with both_apis(registry_settings, visits_settings, verifier) as (registry, visits):
        for http in (registry, visits):
            health = await http.get("/health")
            assert (health.status_code, health.json()) == (200, {"status": "ok"})
            ready = await http.get("/ready")
            assert ready.status_code == 200, ready.text
            body = ready.json()
            assert {k: body[k] for k in ("status", "database", "kafka")} == {
                "status": "ready",
                "database": "ok",
                "kafka": "ok",
            }
            # No worker runs here: its liveness is reported, the API stays ready.
            assert body["workers"]["alive"] is False
            assert body["workers"]["relay"]["last_beat"] is None

        registry_doc = (await registry.get("/asyncapi")).json()
        assert f"{registry_topic}:Publisher" in registry_doc["operations"]
        assert registry_doc["operations"][f"{registry_topic}:Publisher"]["action"] == "send"
        assert receiving_groups(registry_doc) == {("registry.roster", registry_topic)}

        visits_doc = (await visits.get("/asyncapi")).json()
        assert visits_doc["operations"][f"{visits_topic}:Publisher"]["action"] == "send"
        assert receiving_groups(visits_doc) == {
            ("visits.board", registry_topic),
            ("visits.shredding", registry_topic),
            ("visits.board", visits_topic),
            ("visits.board", visits_settings.wellbeing_topic),  # targeted-visit requests
            ("visits.board", visits_settings.committees_topic),  # suggestions answered
        }


async def test_with_the_default_settings_each_asyncapi_is_the_committed_document(
    infra: Infra, kafka: str, database_name: str, verifier: TokenVerifier
) -> None:
    # The defaults but the database (the test's own): the service's topics, the default broker.
    registry_settings = settings_for(
        REGISTRY, infra, database_name=database_name, topics={}
    ).model_copy(update={"kafka_bootstrap_servers": DEFAULT_KAFKA})
    visits_settings = settings_for(
        VISITS, infra, database_name=f"{database_name}_visits", topics={}
    ).model_copy(update={"kafka_bootstrap_servers": DEFAULT_KAFKA})
    assert isinstance(registry_settings, RegistrySettings)
    assert isinstance(visits_settings, VisitsSettings)
    async with both_apis(registry_settings, visits_settings, verifier) as (registry, visits):
        for name, http in (("registry", registry), ("visits", visits)):
            r = await http.get("/asyncapi")
            assert r.status_code == 200, r.text
            committed = json.loads((ROOT / "contracts" / "asyncapi" / f"{name}.json").read_text())
            assert r.json() == committed, f"{name}: /asyncapi differs from the committed document"
            assert receiving_groups(committed), f"{name}: the committed document has no groups"


async def test_while_the_broker_is_away_readiness_is_a_503_problem_and_the_backlog_shows(
    registry_settings: RegistrySettings,
    visits_settings: VisitsSettings,
    verifier: TokenVerifier,
    bearer: Bearer,
) -> None:
    nowhere = f"127.0.0.1:{free_port()}"  # a closed port: no broker answers there
    away = {"kafka_bootstrap_servers": nowhere}
    async with both_apis(
        registry_settings.model_copy(update=away),
        visits_settings.model_copy(update=away),
        verifier,
    ) as (registry, visits):
        for http in (registry, visits):
            assert (await http.get("/health")).status_code == 200
            ready = await http.get("/ready")
            assert ready.status_code == 503, ready.text
            assert ready.headers["content-type"] == "application/problem+json"
            assert ready.headers["Retry-After"]
            assert ready.json()["checks"] == {"database": "ok", "kafka": "unreachable"}

        # Commands need only the database: their events wait in the outbox for the relay.
        assert samples(await metrics(registry), "tongxin_outbox_backlog", service="registry") == [0]
        students, _ = demo_roster(DemoSpec(schools=1, classes_per_school=1, students_per_class=3))
        r = await registry.post(
            "/imports/students",
            content=students.encode(),
            headers=bearer("principal", "330106", "330106001"),
        )
        assert r.status_code == 200, r.text
        events = r.json()["events"]
        assert events > 0
        assert samples(await metrics(registry), "tongxin_outbox_backlog", service="registry") == [
            events
        ]


async def poison_the_topic(kafka: str, topic: str) -> None:
    """A record of a type no one knows: every group reading the topic dead-letters it."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka)
    await producer.start()
    try:
        await producer.send_and_wait(
            topic,
            json.dumps({"a": 1}).encode(),
            key=b"poison",
            headers=poison_headers("cn.tongxin.registry.StudentFlew.v1", "student-poison"),
        )
    finally:
        await producer.stop()


async def test_metrics_count_commands_by_outcome_and_show_lag_backlog_and_dead_letters(
    registry_settings: RegistrySettings,
    visits_settings: VisitsSettings,
    verifier: TokenVerifier,
    bearer: Bearer,
    registry_worker: None,
    visits_worker: None,
    kafka: str,
) -> None:
    topic, visits_topic = registry_settings.topic, visits_settings.topic
    async with world(registry_settings, visits_settings, verifier, bearer) as w:
        # The registry: the school's two imports were commands that went through.
        text = await metrics(w.registry)
        imports = {"service": "registry", "command": "/imports/students"}
        assert samples(text, "tongxin_commands_total", **imports, outcome="ok") == [1]
        assert samples(text, "tongxin_commands_total", **imports, outcome="refused") == []
        bad = await w.registry.post(
            "/imports/students",
            content=b"student_id\nnot-a-roster\n",
            headers=w.school.bearer("principal", w.school.district, w.school.school_id),
        )
        assert bad.status_code == 422, bad.text
        text = await metrics(w.registry)
        assert samples(text, "tongxin_commands_total", **imports, outcome="ok") == [1]
        assert samples(text, "tongxin_commands_total", **imports, outcome="refused") == [1]

        # The visits service: one visit planned, one completion refused by the domain.
        pupil = w.school.pupils[0]
        teacher = w.school.head_teachers[pupil.class_id]
        me = w.school.as_staff(teacher)
        plan = await w.visits.post(
            "/visits",
            json={"student_ref": pupil.ref, "planned_for": str(now_utc().date())},
            headers=me,
        )
        assert plan.status_code == 200, plan.text
        refused = await w.visits.post(
            f"/visits/{plan.json()['visit_id']}/complete",
            json=completion(w.school, teacher, integrity_attested=False),
            headers=me,
        )
        assert refused.status_code == 422, refused.text
        text = await metrics(w.visits)
        assert samples(
            text, "tongxin_commands_total", service="visits", command="/visits", outcome="ok"
        ) == [1]
        assert samples(
            text,
            "tongxin_commands_total",
            service="visits",
            command="/visits/{visit_id}/complete",
            outcome="refused",
        ) == [1]

        # Lag per group, topic and partition: every group caught up.
        async def lags() -> list[list[float]]:
            r, v = await metrics(w.registry), await metrics(w.visits)
            return [
                samples(r, "tongxin_consumer_lag", group="registry.roster", topic=topic),
                samples(v, "tongxin_consumer_lag", group="visits.board", topic=topic),
                samples(v, "tongxin_consumer_lag", group="visits.shredding", topic=topic),
                samples(v, "tongxin_consumer_lag", group="visits.board", topic=visits_topic),
            ]

        await eventually(
            lags,
            lambda per_group: all(per_group) and not any(any(lag) for lag in per_group),
            timeout=60,
            what="registry.roster, visits.board and visits.shredding with no lag",
        )

        async def backlogs() -> list[list[float]]:
            return [
                samples(await metrics(w.registry), "tongxin_outbox_backlog", service="registry"),
                samples(await metrics(w.visits), "tongxin_outbox_backlog", service="visits"),
            ]

        await eventually(backlogs, lambda b: b == [[0], [0]], what="both outboxes relayed")

        # A poison record on the registry's topic: each group reading it dead-letters it.
        def dead(text: str, group: str) -> float:
            return sum(samples(text, "tongxin_dead_letters_total", group=group, topic=topic))

        before = await metrics(w.registry), await metrics(w.visits)
        assert dead(before[0], "registry.roster") == 0
        assert dead(before[1], "visits.board") == 0
        assert dead(before[1], "visits.shredding") == 0
        await poison_the_topic(kafka, topic)

        async def dead_letters() -> tuple[float, float, float]:
            r, v = await metrics(w.registry), await metrics(w.visits)
            return (
                dead(r, "registry.roster"),
                dead(v, "visits.board"),
                dead(v, "visits.shredding"),
            )

        await eventually(
            dead_letters,
            lambda counts: counts == (1, 1, 1),
            timeout=60,
            what="the poison record counted as a dead letter by each group",
        )
