"""The contracts subscribers rely on: documented fields, committed schemas, old payloads decode."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped, unused-ignore]
import pytest

from tongxin_contracts import TOPICS, IntegrationEvent, default_registry
from tongxin_contracts.events.registry import (
    CareGroup,
    SpecialGroup,
    StudentCategorised,
    StudentEnrolled,
)
from tongxin_contracts.events.visits import (
    FollowUpOpened,
    Referral,
    VisitCompleted,
)
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


def test_every_event_type_and_released_version_has_a_committed_example_payload() -> None:
    files = sorted(PAYLOADS.glob("*.json"))
    assert {f.name for f in files} >= {"registry.v1.json", "visits.v1.json"}
    examples = {e["ce_type"] for f in files for e in json.loads(f.read_text())}
    registry = default_registry()
    assert examples == {m.ce_type() for m in [*registry.models(), *registry.released_models()]}


@pytest.mark.parametrize("path", sorted(PAYLOADS.glob("*.json")), ids=lambda p: p.name)
def test_released_payloads_still_decode_and_validate_against_their_schema(path: Path) -> None:
    schemas = event_schemas(default_registry())
    for example in json.loads(path.read_text()):
        event = default_registry().decode(example["ce_type"], example["data"])
        _, _, service, name, version = example["ce_type"].split(".")
        # An old version decodes into the current model (upcast).
        assert (event.service, event.name) == (service, name)
        assert event.version >= int(version[1:])
        jsonschema.validate(example["data"], schemas[f"{service}/{name}.{version}.json"])


def test_the_asyncapi_document_names_every_event_on_its_topic() -> None:
    doc = event_schemas(default_registry())["asyncapi.json"]
    assert doc["asyncapi"] == "3.0.0"
    messages = doc["components"]["messages"].values()
    # Events (CloudEvents); the plain records of compacted topics (records/) are not events.
    names = {m["name"] for m in messages if not m["payload"]["$ref"].startswith("./records/")}
    assert names == {m.ce_type() for m in default_registry().models()}
    services = {m.service for m in default_registry().models()}
    assert services >= {"registry", "visits"}
    for service in services:
        assert set(doc["channels"][TOPICS[service]]["messages"]) == {
            f"{service}.{m.name}.v{m.version}"
            for m in default_registry().models()
            if m.service == service
        }


# --- what travels in clear (docs/privacy-on-the-wire.md) ------------------------------------


@pytest.mark.parametrize("model", default_registry().models(), ids=lambda m: m.ce_type())
def test_no_current_event_carries_a_birth_date_a_special_group_or_a_finding_category_in_clear(
    model: type[IntegrationEvent],
) -> None:
    schema = model.model_json_schema()
    parts = [schema, *schema.get("$defs", {}).values()]
    assert "birth_date" not in {name for sub in parts for name in sub.get("properties", {})}
    # Sealed fields are opaque strings: only these enums would put a group or category in clear.
    assert "SpecialGroup" not in schema.get("$defs", {})
    assert "FindingCategory" not in schema.get("$defs", {})
    clear = {v for sub in parts for v in sub.get("enum", [])}
    # The care groups (left-behind, unsupported) travel in clear for safety: the only ones.
    assert clear & {g.value for g in SpecialGroup} <= {g.value for g in CareGroup}


def test_a_v1_enrolment_upcasts_without_its_birth_date_and_with_an_unknown_age_band() -> None:
    [example] = _examples("cn.tongxin.registry.StudentEnrolled.v1")
    event = default_registry().decode(example["ce_type"], example["data"])
    assert isinstance(event, StudentEnrolled)
    assert (event.age_band, event.age_band_on) == (None, None)
    assert example["data"]["birth_date"] not in event.model_dump_json()


def test_a_v1_categorisation_upcasts_to_its_clear_facts_only() -> None:
    [example] = _examples("cn.tongxin.registry.StudentCategorised.v1")
    event = default_registry().decode(example["ce_type"], example["data"])
    assert isinstance(event, StudentCategorised)
    assert event.groups is None
    assert (event.in_special_group, event.care_groups) == (True, [CareGroup.left_behind])


def test_a_v1_visit_and_case_upcast_to_their_referrals_and_cases_without_categories() -> None:
    [visit] = _examples("cn.tongxin.visits.VisitCompleted.v1")
    [case] = _examples("cn.tongxin.visits.FollowUpOpened.v1")
    completed = default_registry().decode(visit["ce_type"], visit["data"])
    opened = default_registry().decode(case["ce_type"], case["data"])
    assert isinstance(completed, VisitCompleted)
    assert isinstance(opened, FollowUpOpened)
    assert completed.findings is None
    assert completed.referrals == []  # learning difficulty, family education: no one outside
    assert completed.followup_case_ids == [visit["data"]["findings"][0]["case_id"]]
    assert (opened.detail, opened.measure.value) == (None, case["data"]["measure"])
    for event in (completed, opened):
        assert "learning_difficulty" not in event.model_dump_json()


def test_a_v1_mental_health_finding_upcasts_to_a_wellbeing_referral() -> None:
    [visit] = _examples("cn.tongxin.visits.VisitCompleted.v1")
    data = {**visit["data"], "findings": [{"category": "mental_health"}, {"category": "safety"}]}
    event = default_registry().decode(visit["ce_type"], data)
    assert isinstance(event, VisitCompleted)
    assert event.referrals == [Referral.safety, Referral.wellbeing]


def _examples(ce_type: str) -> list[dict[str, Any]]:
    return [
        e
        for f in sorted(PAYLOADS.glob("*.json"))
        for e in json.loads(f.read_text())
        if e["ce_type"] == ce_type
    ]
