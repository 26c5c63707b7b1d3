"""Request bodies of the registry's commands."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tongxin_contracts.events.registry import ErasureReason, LeaveReason, SpecialGroup

IDENT = r"^[A-Za-z0-9_\-]{1,64}$"
# Path parameters: ids are plain ASCII (what the roster import accepts), so a NUL byte or a lone
# surrogate is a clear 422 and never reaches the database.
StudentRef = Annotated[str, Path(pattern=IDENT, description="The student's pseudonym (stu_…).")]
ClassId = Annotated[str, Path(pattern=IDENT, description="Class id.")]
SchoolId = Annotated[str, Path(pattern=IDENT, description="School id.")]
Text = Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00]*$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LeaveBody(_Body):
    reason: LeaveReason = Field(description="Why the student left.")


class CategoriseBody(_Body):
    groups: list[SpecialGroup] = Field(description="The full set of special groups (may be empty).")


class TransferBody(_Body):
    class_id: str = Field(pattern=IDENT, description="The class the student moves to.")


class EraseBody(_Body):
    reason: ErasureReason = Field(description="Why the personal data is erased (required).")
