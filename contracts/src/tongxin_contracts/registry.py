"""The registry of event types and versions, with upcasters for old payloads."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError

from tongxin_contracts.base import IntegrationEvent

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventTypeError(LookupError):
    """A ``ce_type`` this version of the contracts does not know."""


class EventDecodeError(ValueError):
    """A payload that is not valid JSON or does not match its event's schema."""


def parse_ce_type(ce_type: str) -> tuple[str, str, int]:
    """``cn.tongxin.registry.StudentEnrolled.v1`` → ``("registry", "StudentEnrolled", 1)``."""
    parts = ce_type.split(".")
    if len(parts) != 5 or parts[:2] != ["cn", "tongxin"] or not parts[4].startswith("v"):
        raise UnknownEventTypeError(f"not a Tongxin event type: {ce_type!r}")
    try:
        version = int(parts[4][1:])
    except ValueError as exc:
        raise UnknownEventTypeError(f"bad version in event type {ce_type!r}") from exc
    return parts[2], parts[3], version


class EventRegistry:
    """Maps event types to their current model; upcasts payloads of older versions."""

    def __init__(self, models: Iterable[type[IntegrationEvent]] = ()) -> None:
        self._models: dict[tuple[str, str], type[IntegrationEvent]] = {}
        self._upcasters: dict[tuple[str, str, int], Upcaster] = {}
        self._released: dict[tuple[str, str, int], type[IntegrationEvent]] = {}
        # ce_type → (service, name, version, model): consumers resolve the same few types
        # millions of times.
        self._resolved: dict[str, tuple[str, str, int, type[IntegrationEvent]]] = {}
        for model in models:
            self.register(model)

    def register(self, model: type[IntegrationEvent]) -> None:
        key = (model.service, model.name)
        if key in self._models:
            raise ValueError(f"event {model.service}.{model.name} registered twice")
        self._models[key] = model

    def register_released(self, model: type[IntegrationEvent]) -> None:
        """Keep the model of a released old version (its schema stays published); payloads of
        that version decode through upcasters into the current model."""
        current = self._models.get((model.service, model.name))
        if current is None or model.version >= current.version:
            raise ValueError(f"{model.ce_type()} is not older than a registered current model")
        self._released[(model.service, model.name, model.version)] = model

    def released_models(self) -> list[type[IntegrationEvent]]:
        """Released old versions, by service, name and version."""
        return [self._released[k] for k in sorted(self._released)]

    def upcaster(
        self, service: str, name: str, from_version: int
    ) -> Callable[[Upcaster], Upcaster]:
        """Register a function turning a ``from_version`` payload into the next version's."""

        def deco(fn: Upcaster) -> Upcaster:
            self._upcasters[(service, name, from_version)] = fn
            return fn

        return deco

    def models(self) -> list[type[IntegrationEvent]]:
        return sorted(self._models.values(), key=lambda m: (m.service, m.name))

    def _resolve(self, ce_type: str) -> tuple[str, str, int, type[IntegrationEvent]]:
        found = self._resolved.get(ce_type)
        if found is None:
            service, name, version = parse_ce_type(ce_type)
            try:
                model = self._models[(service, name)]
            except KeyError:
                raise UnknownEventTypeError(f"unknown event type {ce_type!r}") from None
            found = self._resolved[ce_type] = (service, name, version, model)
        return found

    def model_for(self, ce_type: str) -> type[IntegrationEvent]:
        return self._resolve(ce_type)[3]

    def decode(self, ce_type: str, body: bytes | str | dict[str, Any]) -> IntegrationEvent:
        """Decode a payload of any known version into the current model."""
        service, name, version, model = self._resolve(ce_type)
        if version > model.version:
            raise UnknownEventTypeError(
                f"{ce_type!r} is newer than these contracts (v{model.version}); upgrade them"
            )
        if version == model.version and not isinstance(body, dict):
            return _validate_json(model, ce_type, body)
        try:
            data: Any = body if isinstance(body, dict) else json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise EventDecodeError(f"{ce_type}: body is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise EventDecodeError(f"{ce_type}: body must be a JSON object")
        while version < model.version:
            step = self._upcasters.get((service, name, version))
            if step is None:
                raise UnknownEventTypeError(f"no upcaster from {service}.{name} v{version}")
            data = step(data)
            version += 1
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise EventDecodeError(f"{ce_type}: {exc}") from exc


def _validate_json(
    model: type[IntegrationEvent], ce_type: str, body: bytes | str
) -> IntegrationEvent:
    """The current version straight from JSON (pydantic parses and validates in one pass)."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        kinds = {e["type"] for e in exc.errors()}
        if "json_invalid" in kinds:
            raise EventDecodeError(f"{ce_type}: body is not JSON: {exc}") from exc
        if "model_type" in kinds and len(exc.errors()) == 1:
            raise EventDecodeError(f"{ce_type}: body must be a JSON object") from exc
        raise EventDecodeError(f"{ce_type}: {exc}") from exc
