"""The contracts subscribers rely on: documented fields, committed schemas, old payloads decode."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped, unused-ignore]
import pytest

from tongxin_contracts import TOPICS, default_registry
from tongxin_contracts.schemas import event_schemas

ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = Path(__file__).parent / "payloads"


def _undocumented(schema: dict[str, Any], where: str) -> list[str]:
    missing = []
    for name, prop in schema.get("properties", {}).items():
        if "description" not in prop:
            missing.append(f"{where}.{name}")
    for name, sub in schema.get("$defs", {}).items():
        missing += _undocumented(sub, f"{where}/{name}")
    return missing


def test_every_field_of_every_event_has_a_description() -> None:
    missing = []
    for model in default_registry().models():
        missing += _undocumented(model.model_json_schema(), model.name)
    assert missing == []


def test_the_committed_schemas_are_the_ones_the_code_generates() -> None:
    for rel, schema in event_schemas(default_registry()).items():
        path = ROOT / "contracts" / "schemas" / rel
        assert path.exists(), f"{rel} is not committed: run `tongxin schemas`"
        assert json.loads(path.read_text()) == schema, f"{rel} changed: release a new version"


def test_every_event_type_has_a_committed_example_payload() -> None:
    files = sorted(PAYLOADS.glob("*.v1.json"))
    assert {f.name for f in files} >= {"registry.v1.json", "visits.v1.json"}
    examples = {e["ce_type"] for f in files for e in json.loads(f.read_text())}
    assert examples == {m.ce_type() for m in default_registry().models()}


@pytest.mark.parametrize("path", sorted(PAYLOADS.glob("*.json")), ids=lambda p: p.name)
def test_released_payloads_still_decode_and_validate_against_their_schema(path: Path) -> None:
    schemas = event_schemas(default_registry())
    for example in json.loads(path.read_text()):
        event = default_registry().decode(example["ce_type"], example["data"])
        assert event.ce_type() == example["ce_type"]
        _, _, service, name, version = example["ce_type"].split(".")
        jsonschema.validate(example["data"], schemas[f"{service}/{name}.{version}.json"])


def test_the_asyncapi_document_names_every_event_on_its_topic() -> None:
    doc = event_schemas(default_registry())["asyncapi.json"]
    assert doc["asyncapi"] == "3.0.0"
    names = {m["name"] for m in doc["components"]["messages"].values()}
    assert names == {m.ce_type() for m in default_registry().models()}
    services = {m.service for m in default_registry().models()}
    assert services >= {"registry", "visits"}
    for service in services:
        assert set(doc["channels"][TOPICS[service]]["messages"]) == {
            f"{service}.{m.name}.v{m.version}"
            for m in default_registry().models()
            if m.service == service
        }
