"""An AsyncAPI 3.0 document of every topic and the events it carries (CloudEvents binary mode)."""

from __future__ import annotations

from typing import Any

from tongxin_contracts.city_kpis import CityKpi
from tongxin_contracts.registry import EventRegistry
from tongxin_contracts.topics import CITY_KPIS_TOPIC, TOPICS

_HEADERS = {
    "type": "object",
    "description": "CloudEvents 1.0 attributes in Kafka binary mode, plus Tongxin extensions.",
    "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_streamid"],
    "properties": {
        "ce_specversion": {"type": "string", "const": "1.0", "description": "CloudEvents version."},
        "ce_id": {"type": "string", "description": "Event id (UUID), unique per event."},
        "ce_source": {"type": "string", "description": "Producing service, '/tongxin/<service>'."},
        "ce_type": {"type": "string", "description": "cn.tongxin.<service>.<Event>.v<version>."},
        "ce_time": {
            "type": "string",
            "format": "date-time",
            "description": "When it was recorded.",
        },
        "ce_subject": {
            "type": "string",
            "description": "The aggregate (stream) the event is about.",
        },
        "ce_dataschema": {"type": "string", "description": "URN of the body's JSON Schema."},
        "content-type": {
            "type": "string",
            "const": "application/json",
            "description": "Body type.",
        },
        "ce_district": {"type": "string", "description": "District code the fact belongs to."},
        "ce_streamid": {"type": "string", "description": "Stream id in the producer's store."},
        "ce_streamversion": {"type": "string", "description": "Version within the stream (1, 2…)."},
        "ce_position": {
            "type": "string",
            "description": "Global position in the producer's store.",
        },
        "ce_correlationid": {"type": "string", "description": "Request or import it came from."},
        "ce_causationid": {"type": "string", "description": "Event that caused it, if any."},
        "traceparent": {"type": "string", "description": "W3C trace context of the command."},
    },
}


def build_asyncapi(registry: EventRegistry, version: str) -> dict[str, Any]:
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for service, topic in TOPICS.items():
        models = [m for m in registry.models() if m.service == service]
        if not models:
            continue
        channel_messages = {}
        for m in models:
            key = f"{m.service}.{m.name}.v{m.version}"
            messages[key] = {
                "name": m.ce_type(),
                "title": m.name,
                "summary": (m.__doc__ or "").strip().splitlines()[0] if m.__doc__ else m.name,
                "contentType": "application/json",
                "headers": {"$ref": "#/components/schemas/CloudEventHeaders"},
                "payload": {"$ref": f"./{m.service}/{m.name}.v{m.version}.json"},
                "bindings": {
                    "kafka": {
                        "key": {"type": "string", "description": "Aggregate id (per-key order)."}
                    }
                },
            }
            channel_messages[key] = {"$ref": f"#/components/messages/{key}"}
        channels[topic] = {
            "address": topic,
            "messages": channel_messages,
            "description": f"Events of the {service} service; infinite retention.",
        }
        operations[f"receive.{topic}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{topic}"},
        }
    _add_city_kpis(channels, messages, operations)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Tongxin integration events",
            "version": version,
            "description": "Events of Tongxin's services, one topic per producing service, "
            "and the city's compacted figures (city.kpis).",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": {"CloudEventHeaders": _HEADERS}},
    }


def _add_city_kpis(
    channels: dict[str, Any], messages: dict[str, Any], operations: dict[str, Any]
) -> None:
    """``city.kpis``: plain JSON records (no CloudEvents), compacted, one per key."""
    key = f"records.{CityKpi.name}.v{CityKpi.version}"
    messages[key] = {
        "name": CityKpi.name,
        "title": CityKpi.name,
        "summary": (CityKpi.__doc__ or CityKpi.name).strip().splitlines()[0],
        "contentType": "application/json",
        "headers": {
            "type": "object",
            "properties": {
                "content-type": {
                    "type": "string",
                    "const": "application/json",
                    "description": "Body type.",
                }
            },
        },
        "payload": {"$ref": f"./records/{CityKpi.name}.v{CityKpi.version}.json"},
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "pattern": "^[^|]+\\|[^|]+\\|[^|]+$",
                    "description": "district|kpi|period (UTF-8): the latest record per key is "
                    "the current figure.",
                }
            }
        },
    }
    channels[CITY_KPIS_TOPIC] = {
        "address": CITY_KPIS_TOPIC,
        "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        "description": "The city's figures per district (and the city), KPI and period; "
        "compacted (cleanup.policy=compact): read from offset 0 and keep the last record of "
        "each key. Published by the city worker when a figure changed.",
        "bindings": {"kafka": {"topicConfiguration": {"cleanup.policy": ["compact"]}}},
    }
    operations[f"receive.{CITY_KPIS_TOPIC}"] = {
        "action": "receive",
        "channel": {"$ref": f"#/channels/{CITY_KPIS_TOPIC}"},
    }
