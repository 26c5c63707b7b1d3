"""Opening a visit's record (家访手记: notes, findings and parent suggestions) and a case's
actions, for the staff entitled to read them. The text is read from the event store and opened
with this service's key for the student; once the student is erased it stays shut (``None``)."""

from __future__ import annotations

import contextlib
from typing import Any

from tongxin_contracts import Sealed
from tongxin_contracts.events.visits import (
    FollowUpActionRecorded,
    VisitCompleted,
    case_stream,
    visit_stream,
)
from tongxin_platform.crypto import SubjectErasedError
from tongxin_platform.uow import UnitOfWork


async def _open(uow: UnitOfWork, sealed: Sealed | None) -> str | None:
    if sealed is None:
        return None
    with contextlib.suppress(SubjectErasedError):
        return str((await uow.keys.open(sealed))["text"])
    return None


async def _open_findings(uow: UnitOfWork, sealed: Sealed | None) -> list[Any] | None:
    if sealed is None:
        return []
    with contextlib.suppress(SubjectErasedError):
        return list((await uow.keys.open(sealed))["findings"])
    return None


async def _history(uow: UnitOfWork, stream_id: str) -> list[Any]:
    return (await uow.events.load([stream_id])).of(stream_id)


async def visit_record(uow: UnitOfWork, visit_id: str) -> dict[str, Any] | None:
    """The completed visit's notes and suggestions in clear; ``None`` if not completed."""
    history = await _history(uow, visit_stream(visit_id))
    done = next((e for e in history if isinstance(e, VisitCompleted)), None)
    if done is None:
        return None
    suggestions = [
        {
            "suggestion_id": s.suggestion_id,
            "topic": s.topic.value,
            "answer_due": s.answer_due,
            "text": await _open(uow, s.text),
        }
        for s in done.parent_suggestions
    ]
    erased = not await uow.keys.has(done.student_ref)
    return {
        "visit_id": visit_id,
        "student_ref": done.student_ref,
        # No key: the student was erased (or nothing was ever sealed for them).
        "erased": erased
        and (done.notes is not None or done.findings is not None or bool(suggestions)),
        "notes": await _open(uow, done.notes),
        # The categories travel sealed (docs/privacy-on-the-wire.md); null once erased.
        "findings": await _open_findings(uow, done.findings),
        "parent_suggestions": suggestions,
    }


async def case_actions(uow: UnitOfWork, case_id: str) -> list[dict[str, Any]]:
    history = await _history(uow, case_stream(case_id))
    return [
        {
            "action_id": e.action_id,
            "recorded_by": e.recorded_by,
            "taken_on": e.taken_on,
            "description": await _open(uow, e.description),
        }
        for e in history
        if isinstance(e, FollowUpActionRecorded)
    ]


async def suggestion(uow: UnitOfWork, visit_id: str, suggestion_id: str) -> dict[str, Any] | None:
    """One parent suggestion in clear, for the feedback channel: no student, no notes."""
    history = await _history(uow, visit_stream(visit_id))
    done = next((e for e in history if isinstance(e, VisitCompleted)), None)
    found = next(
        (s for s in (done.parent_suggestions if done else []) if s.suggestion_id == suggestion_id),
        None,
    )
    if done is None or found is None:
        return None
    return {
        "suggestion_id": found.suggestion_id,
        "visit_id": visit_id,
        "school_id": done.school_id,
        "topic": found.topic.value,
        "answer_due": found.answer_due,
        "text": await _open(uow, found.text),
    }
