"""Every event these contracts know, assembled from the per-service modules of
``tongxin_contracts.events``, and the upcasters of their old versions.

A service's contracts module declares ``SERVICE`` (its name) and ``EVENTS`` (its event classes);
adding one is the whole registration: the catalog finds it.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from types import ModuleType

from tongxin_contracts import events
from tongxin_contracts.base import IntegrationEvent
from tongxin_contracts.registry import EventRegistry
from tongxin_contracts.released import register_released


def service_modules() -> list[ModuleType]:
    """The contracts module of every service, in name order."""
    found = []
    for info in sorted(pkgutil.iter_modules(events.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{events.__name__}.{info.name}")
        if hasattr(module, "SERVICE") and hasattr(module, "EVENTS"):
            found.append(module)
    return found


def events_of(service: str) -> tuple[type[IntegrationEvent], ...]:
    for module in service_modules():
        if service == module.SERVICE:
            return tuple(module.EVENTS)
    raise LookupError(f"no contracts module declares SERVICE = {service!r}")


@cache
def default_registry() -> EventRegistry:
    """The registry of all Tongxin events (built on first use, not at import)."""
    registry = EventRegistry(e for module in service_modules() for e in module.EVENTS)
    # Old versions' models and their upcasters live in ``released``.
    register_released(registry)
    return registry
