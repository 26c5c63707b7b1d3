"""Reading the agencies' page models (``/dashboards/...`` as JSON) in the integration tests:
the figures of a page by key and the links behind its figures and table cells."""

from __future__ import annotations

from typing import Any

# The lists behind the safety and committee KPIs, each both a school's and a district's
# (``/lists/school.<key>``, ``/lists/district.<key>``).
SAFETY_AND_COMMITTEE_LISTS = (
    "care_files",
    "care_contacts_overdue",
    "guard_shifts",
    "hazards_overdue",
    "mandatory_reports",
    "representation",
    "parent_school_sessions",
    "open_days",
    "coordinators",
)


def figures_by_key(page: dict[str, Any]) -> dict[str, Any]:
    """Every figure of the page by its key (a later panel's figure wins a repeated key)."""
    return {f["key"]: f for p in page["panels"] for f in p["figures"]}


def page_links(page: dict[str, Any]) -> list[str]:
    """The links of the page's figures, then those of its tables' cells, in page order."""
    out = [f["link"] for p in page["panels"] for f in p["figures"] if f.get("link")]
    out += [
        c["link"]
        for p in page["panels"]
        for t in p["tables"]
        for row in t["rows"]
        for c in row
        if c.get("link")
    ]
    return out
