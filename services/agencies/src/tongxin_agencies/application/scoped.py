"""Where a list or page of a model is asked for: the schools it covers, checked against the
caller (a role that may never: 403 naming the rule; a school or district outside the caller's
scope: 404, the same answer as a missing one)."""

from __future__ import annotations

from dataclasses import dataclass

from tongxin_agencies.application.policy import POLICY
from tongxin_agencies.application.views import ViewContext
from tongxin_platform.http import not_found
from tongxin_platform.policy import Scope


@dataclass(frozen=True)
class Where:
    district: str
    school_ids: list[str]
    names: dict[str, str]  # school_id → name
    label: str  # what the answer's ``scope`` says


async def schools_in(ctx: ViewContext, action: str, schema: str) -> Where:
    """``school_id`` (one school) or else ``district`` (every school of it), from the model's
    ``schools`` table in ``schema``; the caller must be allowed ``action`` there."""
    who = ctx.who
    ctx.require(action, Scope(who.district, who.school, who.class_id))  # the role, before lookups
    school_id = ctx.params.get("school_id")
    if school_id:
        row = await ctx.pool.fetchrow(
            f"SELECT district, school_name FROM {schema}.schools WHERE school_id = $1", school_id
        )
        if row is None or not _allowed(
            ctx, action, Scope(row["district"], school_id, who.class_id)
        ):
            raise not_found("school_id", "school")
        return Where(row["district"], [school_id], {school_id: row["school_name"]}, school_id)
    district = ctx.param("district", who.district)
    if not _allowed(ctx, action, Scope(district, who.school, who.class_id)) or who.school:
        raise not_found("district", "district")
    rows = await ctx.pool.fetch(
        f"SELECT school_id, school_name FROM {schema}.schools WHERE district = $1"
        " ORDER BY school_id",
        district,
    )
    names = {r["school_id"]: r["school_name"] for r in rows}
    return Where(district, list(names), names, district)


def _allowed(ctx: ViewContext, action: str, where: Scope) -> bool:
    return POLICY.authorize(ctx.who, action, where).allowed
