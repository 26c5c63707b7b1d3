"""The city's pages as data (``tongxin_web``): the city dashboard — every district × the 12
KPIs, red or green against the city's targets, the pooled city row, the filings each district
owes — and one district's dashboard: its KPIs, their month trends with the target dashed, its
filings. Both read only the city's figures (``figures``, ``filing_status``): a district, a KPI,
counts and shares — never a person.

``GET /dashboards/city`` (city.read: city_analyst, auditor) and
``GET /dashboards/district?district=`` (city.district: also that district's bureau_officer; a
district outside the caller's scope is a 404, like one the city has not heard of).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from tongxin_city.application import figures, filing_status
from tongxin_city.application.kpi_values import CITY, FilingRow, KpiValue
from tongxin_city.application.policy import POLICY, Action
from tongxin_city.config import CitySettings
from tongxin_platform.http import ProblemError, not_found
from tongxin_platform.policy import Policy, Scope, in_scope
from tongxin_web import views as web
from tongxin_web.views import Cell, Column, Dashboard, Figure, L, Label, Panel, Series, Table


@dataclass(frozen=True)
class ViewContext(web.ViewContext[CitySettings]):
    """A provider's context; the city's policy decides."""

    policy: Policy = POLICY


VIEWS: web.Views[ViewContext] = web.Views()

# Names of the districts of Hangzhou (the seeds' city) by code; any other code is shown as is.
DISTRICT_NAMES: dict[str, tuple[str, str]] = {
    "330102": ("上城区", "Shangcheng"),
    "330105": ("拱墅区", "Gongshu"),
    "330106": ("西湖区", "Xihu"),
    "330108": ("滨江区", "Binjiang"),
    "330109": ("萧山区", "Xiaoshan"),
    "330110": ("余杭区", "Yuhang"),
    "330111": ("富阳区", "Fuyang"),
    "330112": ("临安区", "Lin'an"),
    "330113": ("临平区", "Linping"),
    "330114": ("钱塘区", "Qiantang"),
}
KINDS: dict[str, Label] = {
    "district_plan": L("区级家校共育工作计划", "District plan"),
    "school_visit_plan": L("学校家访工作计划", "Schools' visit plans"),
    "monthly_stats": L("月度家访统计", "Monthly visit statistics"),
    "december_summary": L("年度工作总结", "December summary"),
}
FILING_COUNTS: tuple[tuple[str, Label], ...] = (
    ("expected", L("应报", "Expected")),
    ("on_time", L("按时", "On time")),
    ("late", L("逾期报送", "Late")),
    ("missing", L("缺报", "Missing")),
    ("pending", L("未到期", "Pending")),
)


def district_name(code: str) -> str:
    """``西湖区 330106``, or the code when the city's names do not have it."""
    name = DISTRICT_NAMES.get(code)
    return f"{name[0]} {code}" if name else code


def district_link(code: str) -> str:
    """The district's page."""
    return "/pages/district?" + urlencode({"district": code})


def filing_meets(row: FilingRow) -> bool | None:
    """Red when a filing is late or missing, green when every one came on time, else none."""
    if row.late or row.missing:
        return False
    if row.expected and row.on_time == row.expected:
        return True
    return None


def figure(v: KpiValue) -> Figure:
    return Figure(
        key=v.kpi,
        label=L(v.label_zh, v.label_en),
        value=v.value,
        unit=v.unit,
        target=v.target,
        meets=v.meets,
    )


def kpi_columns(values: Iterable[KpiValue]) -> list[Column]:
    """The KPIs in the figures' order (first seen), each a column."""
    seen: dict[str, Column] = {}
    for v in values:
        if v.kpi not in seen:
            seen[v.kpi] = Column(key=v.kpi, label=L(v.label_zh, v.label_en), unit=v.unit)
    return list(seen.values())


def kpi_table(districts: Sequence[str], values: Sequence[KpiValue]) -> Table:
    columns = kpi_columns(values)
    by = {(v.district, v.kpi): v for v in values}
    rows: list[list[Cell]] = []
    for d in [*districts, CITY]:
        name = Cell(value=district_name(d), link=district_link(d)) if d != CITY else None
        first = name or Cell(value="全市 City")
        row = [first]
        for c in columns:
            v = by.get((d, c.key))
            row.append(Cell(value=None) if v is None else Cell(value=v.value, meets=v.meets))
        rows.append(row)
    return Table(
        key="districts",
        label=L("各区指标", "Every district's KPIs"),
        columns=[Column(key="district", label=L("区", "District")), *columns],
        rows=rows,
    )


def filings_summary(rows: Iterable[FilingRow]) -> list[FilingRow]:
    """Per district and kind, the counts over every period (the monthly statistics' months)."""
    grouped: dict[tuple[str, str], list[FilingRow]] = defaultdict(list)
    for r in rows:
        grouped[(r.district, r.kind)].append(r)
    out = []
    for (district, _), group in sorted(grouped.items(), key=lambda kv: (kv[0][0], order(kv[0][1]))):
        last = max(group, key=lambda r: r.due)
        out.append(
            FilingRow(
                district=district,
                kind=last.kind,
                period=group[0].period
                if len(group) == 1
                else f"{min(r.period for r in group)}…{last.period}",
                due=last.due,
                expected=sum(r.expected for r in group),
                on_time=sum(r.on_time for r in group),
                late=sum(r.late for r in group),
                missing=sum(r.missing for r in group),
                pending=sum(r.pending for r in group),
            )
        )
    return out


def order(kind: str) -> int:
    return list(KINDS).index(kind) if kind in KINDS else len(KINDS)


def filings_table(rows: Sequence[FilingRow], with_district: bool) -> Table:
    columns = [
        *([Column(key="district", label=L("区", "District"))] if with_district else []),
        Column(key="kind", label=L("报送事项", "Filing")),
        Column(key="period", label=L("期间", "Period")),
        Column(key="due", label=L("截止日期", "Due"), unit="date"),
        *(Column(key=k, label=label, unit="count") for k, label in FILING_COUNTS),
    ]
    body: list[list[Cell]] = []
    for r in rows:
        meets = filing_meets(r)
        kind = KINDS.get(r.kind)
        first = [Cell(value=district_name(r.district), link=district_link(r.district))]
        body.append(
            [
                *(first if with_district else []),
                Cell(value=f"{kind.zh} {kind.en}" if kind else r.kind, meets=meets),
                Cell(value=r.period),
                Cell(value=r.due),
                *(
                    Cell(
                        value=getattr(r, k),
                        meets=(False if getattr(r, k) else None)
                        if k in ("late", "missing")
                        else None,
                    )
                    for k, _ in FILING_COUNTS
                ),
            ]
        )
    return Table(key="filings", label=L("报送情况", "Filings"), columns=columns, rows=body)


def trend_charts(values: Sequence[KpiValue], district: str) -> list[Series]:
    """One month chart per trend KPI (the target dashed)."""
    by_kpi: dict[str, list[KpiValue]] = defaultdict(list)
    for v in values:
        by_kpi[v.kpi].append(v)
    charts = []
    for kpi, vs in by_kpi.items():
        vs.sort(key=lambda v: v.period)
        first = vs[0]
        charts.append(
            Series(
                key=kpi,
                label=L(first.label_zh, first.label_en),
                unit=first.unit,
                months=[v.period for v in vs],
                lines={
                    district_name(district): [
                        None if v.value is None else float(v.value) for v in vs
                    ]
                },
                target=first.target,
            )
        )
    return charts


def admit(ctx: ViewContext, action: Action) -> None:
    """403 naming the rule for a role that may never see ``action``."""
    decision = POLICY.admits(ctx.who, action)
    if not decision.allowed:
        raise ProblemError(403, "Forbidden", decision.reason, rule=str(action))


def filings_panel(rows: Sequence[FilingRow], *, with_district: bool) -> Panel:
    """The panel of filings and deadlines (``filings_table`` of ``rows``)."""
    return Panel(
        key="filings",
        label=L("报送与截止日期", "Filings and deadlines"),
        tables=[filings_table(rows, with_district=with_district)],
    )


@VIEWS.dashboard("city")
async def city_page(ctx: ViewContext) -> Dashboard:
    admit(ctx, Action.city_read)
    ctx.require(Action.city_read, Scope())  # a district's token is too narrow for the city
    districts = await figures.districts(ctx.pool)
    values = await figures.city_kpis(ctx.pool, ctx.settings, ctx.today, now=ctx.now)
    rows = await filing_status.filings(ctx.pool, ctx.settings, ctx.today)
    city = [v for v in values if v.district == CITY]
    return Dashboard(
        page="city",
        title=L("全市家校共育指标", "City figures"),
        scope="city",
        as_of=ctx.today,
        panels=[
            Panel(
                key="city",
                label=L("全市", "The city"),
                figures=[figure(v) for v in city],
            ),
            Panel(
                key="kpis",
                label=L("各区对比", "Districts compared"),
                tables=[kpi_table(districts, values)],
            ),
            filings_panel(filings_summary(rows), with_district=True),
        ],
    )


@VIEWS.dashboard("district")
async def district_page(ctx: ViewContext) -> Dashboard:
    district = ctx.param("district")
    admit(ctx, Action.district_read)
    if not in_scope(ctx.who, Scope(district=district)):
        raise not_found("district", "district")
    if district not in await figures.districts(ctx.pool):
        raise not_found("district", "district")
    values = await figures.district_kpis(ctx.pool, ctx.settings, district, ctx.today, now=ctx.now)
    trend = await figures.district_trend(ctx.pool, ctx.settings, district, ctx.today, now=ctx.now)
    rows = await filing_status.filings(ctx.pool, ctx.settings, ctx.today)
    mine = sorted(
        (r for r in rows if r.district == district), key=lambda r: (order(r.kind), r.period)
    )
    return Dashboard(
        page="district",
        title=L(f"{district_name(district)} 家校共育指标", f"District {district_name(district)}"),
        scope=district,
        as_of=ctx.today,
        panels=[
            Panel(
                key="kpis",
                label=L("本区指标", "The district's KPIs"),
                figures=[figure(v) for v in values],
            ),
            Panel(
                key="trend",
                label=L("月度趋势", "Month by month"),
                charts=trend_charts(trend, district),
            ),
            filings_panel(mine, with_district=False),
        ],
    )
