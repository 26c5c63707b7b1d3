"""Every event these contracts know, and the upcasters of their old versions."""

from __future__ import annotations

from functools import cache

from tongxin_contracts.events.registry import REGISTRY_EVENTS
from tongxin_contracts.events.visits import VISITS_EVENTS
from tongxin_contracts.registry import EventRegistry


@cache
def default_registry() -> EventRegistry:
    """The registry of all Tongxin events (built on first use, not at import)."""
    registry = EventRegistry(REGISTRY_EVENTS + VISITS_EVENTS)
    # Upcasters go here as versions are released, e.g.
    # @registry.upcaster("registry", "StudentLeft", 1)
    return registry
