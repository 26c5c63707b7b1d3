"""How the pages are written: one Jinja2 environment over ``web/templates`` (autoescaped,
compiled once per process), the formatting of a value by its unit — the page's script
(``web/static/app.js``) formats the refreshed JSON the very same way — and the HTML answers
(a page, a refusal as a page with the problem's title, detail and status).

Pages load scripts and styles from the service only: the Content-Security-Policy allows no
inline script and nothing from elsewhere (ECharts styles its tooltips inline: styles are
allowed inline, scripts never).
"""

from __future__ import annotations

import html
import json
import math
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape

import tongxin_web
from tongxin_platform.http import ProblemError

WEB = Path(tongxin_web.__file__).parent / "web"
CHINA = ZoneInfo("Asia/Shanghai")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'; object-src 'none'"
)
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def both(zh: str, en: str) -> Markup:
    """A text in both languages; the page shows one (``html[data-lang]``)."""
    return Markup(
        '<span class="zh" lang="zh-CN">{}</span><span class="en" lang="en">{}</span>'
    ).format(zh, en)


ROLES = {
    "principal": ("校长", "Principal"),
    "middle_leader": ("中层干部", "Middle leader"),
    "head_teacher": ("班主任", "Head teacher"),
    "psych_teacher": ("心理教师", "Psychology teacher"),
    "health_vp": ("健康副校长", "Health vice-principal"),
    "school_doctor": ("校医", "School doctor"),
    "family_education_coordinator": ("家庭教育指导员", "Family-education coordinator"),
    "bureau_officer": ("区教育局", "District bureau"),
    "hospital": ("医院", "Hospital"),
    "police": ("公安", "Police"),
    "civil_affairs": ("民政", "Civil affairs"),
    "womens_federation": ("妇联", "Women's federation"),
    "community_worker": ("社区", "Community worker"),
    "market_regulation": ("市场监管", "Market regulation"),
    "committee_member": ("家委会委员", "Committee member"),
    "auditor": ("审计", "Auditor"),
    "city_analyst": ("市教育局", "City bureau"),
}


def role_label(role: str) -> Markup:
    zh, en = ROLES.get(role, (role, role))
    return both(zh, en)


def label(value: Any) -> Markup:
    """A ``Label`` (as JSON: ``{"zh": …, "en": …}``) in both languages."""
    if isinstance(value, dict):
        return both(str(value.get("zh", "")), str(value.get("en", "")))
    return escape(str(value))


def number(v: float) -> str:
    """As JavaScript's ``String(n)`` writes it: integers without a point, else the shortest
    text that reads back the same number (Python's ``repr`` does the same)."""
    f = float(v)
    if f.is_integer() and abs(f) < 1e16:
        return str(int(f))
    return repr(f)


def share(v: float) -> str:
    """A share as a percentage with one decimal, rounded half up (``Math.round``)."""
    return number(math.floor(float(v) * 1000 + 0.5) / 10) + "%"


def instant(text: str) -> str:
    """An ISO instant as China's wall clock: ``2026-11-28 14:05``."""
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def clock(seconds: float) -> str:
    s = int(abs(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def countdown(value: str, now: datetime) -> Markup:
    """A deadline: the time left (``HH:MM:SS``), red and "overdue" once passed; the page's
    script counts it down every second."""
    due = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    left = (due - now).total_seconds()
    passed = left <= 0
    text = Markup("{}{}").format(both("已超时 ", "overdue ") if passed else "", clock(left))
    return Markup('<time class="deadline{}" datetime="{}">{}</time>').format(
        " passed" if passed else "", due.astimezone(UTC).isoformat(), text
    )


def fmt(value: Any, unit: str, now: datetime | None = None) -> Markup:
    """A figure's or a cell's value as the page shows it (``app.js``'s ``format`` likewise)."""
    if value is None:
        return Markup("—")
    if isinstance(value, bool) or unit == "flag":
        return both("是", "yes") if value else both("否", "no")
    if unit == "deadline" and isinstance(value, str) and INSTANT.match(value):
        return countdown(value, now or datetime.now(UTC))
    if isinstance(value, int | float):
        return escape(share(value) if unit == "share" else number(value))
    text = str(value)
    if unit == "date":
        return escape(text[:10])
    if INSTANT.match(text):
        return escape(instant(text))
    return escape(text)


def meets_class(meets: bool | None) -> str:
    return "" if meets is None else ("meets" if meets else "misses")


def page_link(link: str | None) -> str | None:
    """A figure's JSON list (``/lists/<key>?…``) as its page (``/pages/lists/<key>?…``); any
    other local path as it is; anything else (another site, a script) is no link."""
    if not link or not link.startswith("/") or link.startswith("//"):
        return None
    return "/pages" + link if link.startswith("/lists/") else link


def _json(value: Any) -> str:
    if value is None or isinstance(value, bool | int):
        return json.dumps(value)
    return repr(value) if isinstance(value, float) and math.isfinite(value) else json.dumps(value)


def table_body(
    columns: list[dict[str, Any]], rows: list[list[dict[str, Any]]], now: datetime
) -> Markup:
    """A table's rows (``<tr>``s) written directly: the district page has a cell per school and
    KPI, and a template macro per cell would cost the page tens of milliseconds."""
    if not rows:
        return Markup('<tr class="empty"><td colspan="{}">{}</td></tr>').format(
            len(columns) or 1, both("暂无记录", "Nothing here")
        )
    units = [str(c.get("unit", "text")) for c in columns]
    out: list[str] = []
    for row in rows:
        out.append("<tr>")
        for i, c in enumerate(row):
            value = c.get("value")
            unit = c.get("unit") or (units[i] if i < len(units) else "text")
            shown = str(fmt(value, unit, now))
            href = page_link(c.get("link"))
            if href:
                shown = f'<a href="{html.escape(href)}">{shown}</a>'
            data = html.escape(_json(value), quote=True)
            out.append(
                f'<td class="{meets_class(c.get("meets"))}" data-value="{data}">{shown}</td>'
            )
        out.append("</tr>")
    return Markup("".join(out))  # noqa: S704 - every part above is escaped


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(WEB / "templates"),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.globals.update(
        both=both,
        label=label,
        role_label=role_label,
        fmt=fmt,
        meets_class=meets_class,
        page_link=page_link,
        table_body=table_body,
    )
    return env


def render(template: str, code: int = 200, **context: Any) -> HTMLResponse:
    """``template`` rendered with ``context``, answered with status ``code``."""
    context.setdefault("who", None)
    context.setdefault("brand", None)  # the service's name in the header (a ``Label``)
    html = environment().get_template(template).render(**context)
    return HTMLResponse(html, status_code=code, headers={"Content-Security-Policy": CSP})


def problem_page(request: Request, exc: ProblemError, **context: Any) -> HTMLResponse:
    """A refusal as a page: the problem's title and detail, its status kept."""
    response = render(
        "problem.html",
        exc.status,
        status=exc.status,
        title=exc.title,
        detail=exc.detail,
        extra={k: v for k, v in exc.extra.items() if isinstance(v, str)},
        path=request.url.path,
        **context,
    )
    response.headers.update(exc.headers)
    return response
