"""Events used only by the platform's tests (service ``proof``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from tongxin_contracts import EventRegistry, IntegrationEvent


class Ticked(IntegrationEvent):
    service: ClassVar[str] = "proof"
    name: ClassVar[str] = "Ticked"
    district: str = Field(description="District.")
    stream: str = Field(description="Stream the tick belongs to.")
    n: int = Field(description="Writer-local sequence number.")

    def aggregate_id(self) -> str:
        return self.stream


def proof_registry() -> EventRegistry:
    return EventRegistry([Ticked])
