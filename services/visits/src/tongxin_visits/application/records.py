"""Opening a visit's record (家访手记: notes and parent suggestions) and a case's actions, for
the staff entitled to read them. The text is read from the event store and opened with this
service's key for the student; once the student is erased it stays shut (``None``)."""

from __future__ import annotations

import contextlib
from typing import Any

import asyncpg

from tongxin_contracts import Sealed
from tongxin_contracts.events.visits import FollowUpActionRecorded, VisitCompleted
from tongxin_platform.commands import Writer
from tongxin_platform.crypto import KeyStore, SubjectErasedError
from tongxin_visits.application.streams import case_stream, visit_stream

_keys = KeyStore()


async def _open(conn: asyncpg.Connection, sealed: Sealed | None) -> str | None:
    if sealed is None:
        return None
    with contextlib.suppress(SubjectErasedError):
        return str((await _keys.open(conn, sealed))["text"])
    return None


async def visit_record(
    conn: asyncpg.Connection, writer: Writer, visit_id: str
) -> dict[str, Any] | None:
    """The completed visit's notes and suggestions in clear; ``None`` if not completed."""
    history = await writer.history(visit_stream(visit_id))
    done = next((e for e in history if isinstance(e, VisitCompleted)), None)
    if done is None:
        return None
    suggestions = [
        {
            "suggestion_id": s.suggestion_id,
            "topic": s.topic.value,
            "answer_due": s.answer_due,
            "text": await _open(conn, s.text),
        }
        for s in done.parent_suggestions
    ]
    erased = not await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM subject_keys WHERE subject = $1)", done.student_ref
    )
    return {
        "visit_id": visit_id,
        "student_ref": done.student_ref,
        # No key: the student was erased (or nothing was ever sealed for them).
        "erased": erased and (done.notes is not None or bool(suggestions)),
        "notes": await _open(conn, done.notes),
        "parent_suggestions": suggestions,
    }


async def case_actions(
    conn: asyncpg.Connection, writer: Writer, case_id: str
) -> list[dict[str, Any]]:
    history = await writer.history(case_stream(case_id))
    return [
        {
            "action_id": e.action_id,
            "recorded_by": e.recorded_by,
            "taken_on": e.taken_on,
            "description": await _open(conn, e.description),
        }
        for e in history
        if isinstance(e, FollowUpActionRecorded)
    ]


async def suggestion(
    conn: asyncpg.Connection, writer: Writer, visit_id: str, suggestion_id: str
) -> dict[str, Any] | None:
    """One parent suggestion in clear, for the feedback channel: no student, no notes."""
    history = await writer.history(visit_stream(visit_id))
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
        "text": await _open(conn, found.text),
    }
