"""Which streams belong to which school: the monthly figures read a school's streams straight
from the event store (not from a projection that may lag), through the store's tags."""

from __future__ import annotations

from tongxin_platform.commands import After
from tongxin_platform.uow import UnitOfWork


def school_tag(school_id: str) -> str:
    return f"school:{school_id}"


def tag_school(school_id: str) -> After:
    """A ``Writer`` hook tagging the written streams with the school, in the same unit of work
    as the append."""

    async def tag(uow: UnitOfWork, stream_ids: list[str]) -> None:
        await uow.events.tag(school_tag(school_id), stream_ids)

    return tag
