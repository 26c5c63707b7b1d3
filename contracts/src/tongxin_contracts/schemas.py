"""JSON Schema export of every event and the AsyncAPI document (``tongxin schemas`` writes them
to ``contracts/schemas``; ``tongxin schemas --check`` fails when they differ from the code)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tongxin_contracts.asyncapi import build_asyncapi
from tongxin_contracts.city_kpis import CityKpi, city_kpi_schema
from tongxin_contracts.registry import EventRegistry

CONTRACTS_VERSION = "2.0.0"


def event_schemas(registry: EventRegistry) -> dict[str, dict[str, Any]]:
    """Relative file name → JSON Schema, e.g. ``registry/StudentEnrolled.v1.json``; the plain
    records of compacted topics under ``records/`` (``records/CityKpi.v1.json``)."""
    out: dict[str, dict[str, Any]] = {}
    # Released old versions stay published: their payloads are still in stores and on topics.
    for model in [*registry.models(), *registry.released_models()]:
        schema = model.model_json_schema()
        schema["$id"] = f"urn:tongxin:schema:{model.service}:{model.name}:v{model.version}"
        schema["x-ce-type"] = model.ce_type()
        out[f"{model.service}/{model.name}.v{model.version}.json"] = schema
    out[f"records/{CityKpi.name}.v{CityKpi.version}.json"] = city_kpi_schema()
    out["asyncapi.json"] = build_asyncapi(registry, CONTRACTS_VERSION)
    return out


def write_schemas(registry: EventRegistry, directory: Path) -> list[Path]:
    written = []
    for rel, schema in event_schemas(registry).items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
        written.append(path)
    return written
