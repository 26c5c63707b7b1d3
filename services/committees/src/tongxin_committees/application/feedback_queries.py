"""Reads of parents' voice: one item in full (from the event store, its text and answer opened
with the school's key or the district's: restricted, the route logs it), the channels' handlers,
a school's and a committee's items (read model, no text), and the district's figures."""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from tongxin_committees.application.queries import S
from tongxin_committees.domain import feedback as fb
from tongxin_contracts.events.committees import Channel, district_desk, feedback_stream
from tongxin_platform.uow import UnitOfWork, open_text

ITEM_COLUMNS = (
    "item_id, school_id, channel, topic, received_on, due_on, handler_ref, received_by,"
    " committee_id, visit_id, suggestion_id, assignee_ref, decision, answered_on, answered_by,"
    " on_time"
)


async def state(uow: UnitOfWork, item_id: str) -> fb.ItemState:
    stream = feedback_stream(item_id)
    return fb.fold((await uow.events.load([stream])).of(stream))


def suggestion_link(visit_id: str, suggestion_id: str) -> str:
    """Where a home visit's suggestion is read (visits' API; its text stays there)."""
    return f"/visits/{visit_id}/suggestions/{suggestion_id}"


async def record(uow: UnitOfWork, s: fb.ItemState, as_of: date) -> dict[str, Any]:
    """The item in full: text and answer in clear (a home visit's: a link to visits)."""
    r = s.received
    assert r is not None
    a = s.answered
    link = (
        {"service": "visits", "path": suggestion_link(r.visit_id, r.suggestion_id)}
        if r.visit_id and r.suggestion_id
        else None
    )
    return {
        "item_id": r.item_id,
        "district": r.district,
        "school_id": r.school_id,
        "channel": r.channel.value,
        "topic": r.topic.value,
        "received_on": r.received_on,
        "due_on": r.due_on,
        "received_by": r.received_by,
        "handler_ref": r.handler_ref,
        "committee_id": r.committee_id,
        "visit_id": r.visit_id,
        "suggestion_id": r.suggestion_id,
        "assignee_ref": s.assignee_ref,
        "status": fb.status_of(r.due_on, a.answered_on if a else None, as_of),
        "text": await open_text(uow.keys, r.text),
        "suggestion": link,
        "answer": (
            {
                "decision": a.decision.value,
                "answered_on": a.answered_on,
                "answered_by": a.answered_by,
                "on_time": a.on_time,
                "text": await open_text(uow.keys, a.answer),
            }
            if a
            else None
        ),
    }


async def handlers(pool: asyncpg.Pool, district: str, school_id: str) -> list[dict[str, Any]]:
    """Every channel of the school (and the district's mailbox) with its handler or null."""
    rows = await pool.fetch(
        f"SELECT desk_id, channel, handler_ref, named_on FROM {S}.feedback_handlers"
        f" WHERE desk_id = $1 OR desk_id = $2",
        school_id,
        district_desk(district),
    )
    named = {r["channel"]: dict(r) for r in rows}
    return [
        {
            "channel": c.value,
            "desk_id": district_desk(district) if c is Channel.bureau_mailbox else school_id,
            "handler_ref": named[c.value]["handler_ref"] if c.value in named else None,
            "named_on": named[c.value]["named_on"] if c.value in named else None,
        }
        for c in Channel
    ]


def _listed(rows: list[asyncpg.Record], as_of: date, status: str | None) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        item = dict(r)
        answered_on = (
            item["answered_on"] if item["answered_on"] and item["answered_on"] <= as_of else None
        )
        item["status"] = fb.status_of(item["due_on"], answered_on, as_of)
        if status is None or item["status"] == status:
            out.append(item)
    return out


async def school_items(
    pool: asyncpg.Pool, school_id: str, as_of: date, status: str | None, channel: str | None
) -> list[dict[str, Any]]:
    """The school's items received by ``as_of``, oldest due first, with their status then."""
    rows = await pool.fetch(
        f"SELECT {ITEM_COLUMNS} FROM {S}.feedback_items"
        f" WHERE school_id = $1 AND received_on <= $2 AND ($3::text IS NULL OR channel = $3)"
        f" ORDER BY due_on, item_id",
        school_id,
        as_of,
        channel,
    )
    return _listed(rows, as_of, status)


async def committee_items(
    pool: asyncpg.Pool, committee_id: str, as_of: date
) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        f"SELECT {ITEM_COLUMNS} FROM {S}.feedback_items"
        f" WHERE committee_id = $1 AND received_on <= $2 ORDER BY due_on, item_id",
        committee_id,
        as_of,
    )
    return _listed(rows, as_of, None)


async def figures(
    pool: asyncpg.Pool, district: str, school_id: str | None, as_of: date
) -> dict[str, Any]:
    """Per school of the district (or the one school): received, answered, on time, late, open,
    overdue, per channel and in all; the channels without a named handler; the district's
    mailbox's handler."""
    schools = [
        r["school_id"]
        for r in await pool.fetch(
            f"SELECT school_id FROM {S}.schools WHERE district = $1"
            f" AND ($2::text IS NULL OR school_id = $2) ORDER BY school_id",
            district,
            school_id,
        )
    ]
    rows = await pool.fetch(
        f"SELECT school_id, channel, received_on, due_on, answered_on, on_time"
        f" FROM {S}.feedback_items WHERE district = $1 AND school_id = ANY($2::text[])",
        district,
        schools,
    )
    named = await pool.fetch(
        f"SELECT desk_id, channel FROM {S}.feedback_handlers"
        f" WHERE district = $1 AND named_on <= $2",
        district,
        as_of,
    )
    by_desk: dict[str, set[str]] = {}
    for n in named:
        by_desk.setdefault(n["desk_id"], set()).add(n["channel"])
    per_school = fb.figures_by_school(
        schools, [fb.ItemRow(**dict(r)) for r in rows], by_desk, as_of
    )
    totals = fb.counts([fb.ItemRow(**dict(r)) for r in rows], as_of)
    return {
        "district": district,
        "as_of": as_of,
        "schools": per_school,
        "totals": totals,
        "bureau_mailbox_handler_named": Channel.bureau_mailbox.value
        in by_desk.get(district_desk(district), set()),
    }
