"""The contract of the compacted topic city.kpis: a documented, committed schema, keys of the
form district|kpi|period, and released example records that still decode."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema  # type: ignore[import-untyped, unused-ignore]
import pytest
from pydantic import ValidationError

from tongxin_contracts import default_registry
from tongxin_contracts.city_kpis import CityKpi, city_kpi_schema, kpi_key, parse_kpi_key
from tongxin_contracts.schemas import event_schemas
from tongxin_contracts.topics import CITY_KPIS_TOPIC

ROOT = Path(__file__).resolve().parents[2]
RECORDS = Path(__file__).parent / "records"
COMMITTED = ROOT / "contracts" / "schemas" / "records" / "CityKpi.v1.json"


def _examples() -> list[dict[str, object]]:
    data: list[dict[str, object]] = json.loads((RECORDS / "city.kpis.v1.json").read_text())
    return data


def test_the_city_kpi_schema_is_a_valid_json_schema_with_every_field_described() -> None:
    schema = city_kpi_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    properties = schema["properties"]
    assert isinstance(properties, dict)
    assert {n for n, p in properties.items() if "description" not in p} == set()
    assert set(properties) == {
        "district",
        "kpi",
        "period",
        "unit",
        "value",
        "numerator",
        "denominator",
        "target",
        "meets",
        "as_of",
        "computed_at",
        "label_zh",
        "label_en",
    }


def test_the_committed_schema_is_the_one_the_code_generates() -> None:
    generated = event_schemas(default_registry())["records/CityKpi.v1.json"]
    assert COMMITTED.exists(), "records/CityKpi.v1.json is not committed: run `tongxin schemas`"
    assert json.loads(COMMITTED.read_text()) == generated, "CityKpi changed: release a v2"


def test_a_key_is_district_kpi_and_period_joined_by_bars() -> None:
    assert kpi_key("330106", "visit_coverage", "2026-2027") == "330106|visit_coverage|2026-2027"
    assert parse_kpi_key("city|reports_on_time|2026-2027") == (
        "city",
        "reports_on_time",
        "2026-2027",
    )


@pytest.mark.parametrize("parts", [("", "k", "p"), ("33|0106", "k", "p"), ("d", "k", "")])
def test_a_key_part_that_is_empty_or_holds_a_bar_is_refused(parts: tuple[str, str, str]) -> None:
    with pytest.raises(ValueError, match="key part"):
        kpi_key(*parts)


@pytest.mark.parametrize("key", ["a|b", "a|b|c|d", "a||c"])
def test_a_malformed_key_does_not_parse(key: str) -> None:
    with pytest.raises(ValueError, match=r"expected district\|kpi\|period"):
        parse_kpi_key(key)


def test_released_example_records_still_decode_validate_and_match_their_key() -> None:
    committed = json.loads(COMMITTED.read_text())
    for example in _examples():
        raw = json.dumps(example["value"]).encode()
        record = CityKpi.decode(raw)
        jsonschema.validate(example["value"], committed)
        assert record.key() == example["key"]
        assert CityKpi.decode(record.encode()) == record


def test_a_record_with_a_field_the_contract_does_not_know_is_refused() -> None:
    value = dict(_examples()[0]["value"])  # type: ignore[call-overload]
    value["student_ref"] = "stu_1"
    with pytest.raises(ValidationError, match="student_ref"):
        CityKpi.model_validate(value)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(value, city_kpi_schema())


def test_the_asyncapi_document_shows_the_compacted_city_kpis_channel_with_its_record() -> None:
    doc = event_schemas(default_registry())["asyncapi.json"]
    channel = doc["channels"][CITY_KPIS_TOPIC]
    assert channel["bindings"]["kafka"]["topicConfiguration"]["cleanup.policy"] == ["compact"]
    (ref,) = [m["$ref"] for m in channel["messages"].values()]
    message = doc["components"]["messages"][ref.rsplit("/", 1)[1]]
    assert message["payload"] == {"$ref": "./records/CityKpi.v1.json"}
    assert f"receive.{CITY_KPIS_TOPIC}" in doc["operations"]


def test_the_kafka_topic_list_declares_city_kpis_compacted() -> None:
    lines = (ROOT / "infra" / "kafka" / "topics.txt").read_text().splitlines()
    (line,) = [ln for ln in lines if ln.split() and ln.split()[0] == CITY_KPIS_TOPIC]
    assert "cleanup.policy=compact" in line.split()
