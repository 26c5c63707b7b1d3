"""The kit's routes on every service's API for its messages to people: what was queued,
delivered or failed (``GET /notifications``, operators and auditors), sending a failed one again
(``POST /notifications/{id}/retry``, operators) and the development inbox
(``GET /message-inbox``, operators). A caller sees its own district's (a city-level one: all).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Path, Query, Request

from tongxin_platform.edge import guard
from tongxin_platform.http import Caller, ProblemError, not_found, require
from tongxin_platform.policy import (
    MESSAGE_INBOX_READ,
    NOTIFICATIONS_READ,
    NOTIFICATIONS_RETRY,
    PLATFORM_POLICY,
    Scope,
)

Status = Literal["pending", "delivered", "failed"]
_WHERE = {
    "pending": "delivered_at IS NULL AND failed_at IS NULL",
    "delivered": "delivered_at IS NOT NULL",
    "failed": "failed_at IS NOT NULL",
}
_COLUMNS = """id, key, target, target_kind, channel, district, school, kind, title, text, link,
    recipient, created_at, attempts, next_attempt_at, delivered_at, failed_at, last_error"""
_TIMES = ("created_at", "next_attempt_at", "delivered_at", "failed_at", "at")
_REF = r"^[A-Za-z0-9._:/-]+$"
NotificationId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _json(r: asyncpg.Record) -> dict[str, Any]:
    row = dict(r)
    for col in _TIMES:
        if row.get(col) is not None:
            row[col] = row[col].isoformat()
    if "failed_at" in row:
        row["status"] = (
            "delivered" if row["delivered_at"] else "failed" if row["failed_at"] else "pending"
        )
    return row


def _own(who: Any, action: str) -> None:
    require(PLATFORM_POLICY, who, action, Scope(who.district, who.school, who.class_id))


def add_notification_routes(router: APIRouter) -> None:
    """Add the routes to ``router`` (the API base's own, ``tongxin_platform.api``)."""

    @router.get(
        "/notifications",
        summary="Messages to people queued by this service: pending, delivered or failed",
    )
    @guard(PLATFORM_POLICY, NOTIFICATIONS_READ)
    async def notifications(
        request: Request,
        who: Caller,
        status: Status | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[dict[str, Any]]:
        _own(who, NOTIFICATIONS_READ)
        where = _WHERE[status] if status else "true"
        rows = await request.app.state.runtime.pool.fetch(
            f"""SELECT {_COLUMNS} FROM notifications
                WHERE {where} AND ($1::text IS NULL OR district = $1)
                ORDER BY id DESC LIMIT $2""",
            who.district,
            limit,
        )
        return [_json(r) for r in rows]

    @router.post(
        "/notifications/{notification_id}/retry",
        summary="Send a failed message again (its attempts start over); a pending one is left",
        responses={
            404: {"description": "No such notification (or not in the caller's district)"},
            409: {"description": "Delivered already, or nowhere to send it (problem+json)"},
        },
    )
    @guard(PLATFORM_POLICY, NOTIFICATIONS_RETRY)
    async def retry(
        request: Request, who: Caller, notification_id: NotificationId
    ) -> dict[str, Any]:
        _own(who, NOTIFICATIONS_RETRY)
        pool: asyncpg.Pool = request.app.state.runtime.pool
        async with pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                f"""SELECT {_COLUMNS} FROM notifications
                    WHERE id = $1 AND ($2::text IS NULL OR district = $2) FOR UPDATE""",
                notification_id,
                who.district,
            )
            if row is None:
                raise not_found("notification_id", "notification")
            if row["delivered_at"] is not None:
                raise ProblemError(
                    409,
                    "Conflict",
                    "notification_id: delivered already",
                    field="notification_id",
                    rule="notifications.retry.only_undelivered",
                )
            if row["target_kind"] == "none":
                raise ProblemError(
                    409,
                    "Conflict",
                    f"notification_id: {row['last_error']}; configure TONGXIN_ALERT_WEBHOOKS",
                    field="notification_id",
                    rule="notifications.retry.needs_target",
                )
            if row["failed_at"] is not None:
                row = await conn.fetchrow(
                    f"""UPDATE notifications SET failed_at = NULL, attempts = 0,
                            next_attempt_at = now()
                        WHERE id = $1 RETURNING {_COLUMNS}""",
                    notification_id,
                )
        assert row is not None
        return _json(row)

    @router.get(
        "/message-inbox",
        summary="The development inbox: messages to guardians (the SMS gateway's stand-in) and "
        "alerts of districts without a group robot",
    )
    @guard(PLATFORM_POLICY, MESSAGE_INBOX_READ)
    async def message_inbox(
        request: Request,
        who: Caller,
        recipient: Annotated[str | None, Query(max_length=80, pattern=_REF)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[dict[str, Any]]:
        _own(who, MESSAGE_INBOX_READ)
        rows = await request.app.state.runtime.pool.fetch(
            """SELECT id, key, at, channel, district, school, recipient, kind, title, text, link
               FROM message_inbox
               WHERE ($1::text IS NULL OR district = $1) AND ($2::text IS NULL OR recipient = $2)
               ORDER BY id DESC LIMIT $3""",
            who.district,
            recipient,
            limit,
        )
        return [_json(r) for r in rows]
