"""Request bodies of the registry's commands."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from tongxin_contracts.events.registry import ErasureReason, LeaveReason, SpecialGroup


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LeaveBody(_Body):
    reason: LeaveReason = Field(description="Why the student left.")


class CategoriseBody(_Body):
    groups: list[SpecialGroup] = Field(description="The full set of special groups (may be empty).")


class TransferBody(_Body):
    class_id: str = Field(
        min_length=1, max_length=64, description="The class the student moves to."
    )


class EraseBody(_Body):
    reason: ErasureReason = Field(description="Why the personal data is erased (required).")
