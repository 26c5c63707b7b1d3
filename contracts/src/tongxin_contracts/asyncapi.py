"""An AsyncAPI 3.0 document of every topic and the events it carries (CloudEvents binary mode)."""

from __future__ import annotations

from typing import Any

from tongxin_contracts.registry import EventRegistry
from tongxin_contracts.topics import TOPICS

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
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Tongxin integration events",
            "version": version,
            "description": "Events of Tongxin's services, one topic per producing service.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": {"CloudEventHeaders": _HEADERS}},
    }
