"""Complaint analytics endpoints (read-only; analysts and supervisors)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from complaint_svc.analytics import service, tables
from complaint_svc.analytics.repository import Window
from complaint_svc.analytics.schemas import (
    CandidatesOut,
    ConcentrationOut,
    OverviewOut,
    RateOut,
    RepeatRateOut,
    TrendOut,
)
from complaint_svc.complaints.access import ANALYSTS
from complaint_svc.context import ComplaintContext, request_context
from retailcare_shared.auth import Principal, require_roles
from retailcare_shared.db import DbSession
from retailcare_shared.exports import EXPORT_RESPONSES, ExportFormat, Table, batched, download
from retailcare_shared.problems import InvalidInput
from retailcare_shared.workdays import COMPANY_TIME_ZONE

router = APIRouter(prefix="/api/v1/complaint-analytics", tags=["complaint analytics"])

Analyst = Annotated[Principal, Depends(require_roles(*ANALYSTS))]
Context = Annotated[ComplaintContext, Depends(request_context)]
Dimension = Literal[
    "district",
    "business_format",
    "trading_area",
    "scale",
    "order_method",
    "value_class",
    "market_type",
]
MAX_WINDOW_DAYS = 3 * 366


def analytics_window(
    principal: Analyst,
    from_date: Annotated[date | None, Query(alias="from")] = None,
    to_date: Annotated[date | None, Query(alias="to")] = None,
    county: Annotated[str | None, Query(max_length=100)] = None,
    district: Annotated[str | None, Query(max_length=100)] = None,
) -> Window:
    """`from`/`to` (company-local dates, default the last 30 days) and the county scope."""
    last = to_date or datetime.now(COMPANY_TIME_ZONE).date()
    first = from_date or last - timedelta(days=29)
    if first > last:
        raise InvalidInput("from", "before_to", "must not be after `to`")
    if (last - first).days > MAX_WINDOW_DAYS:
        raise InvalidInput("from", "window_too_long", f"at most {MAX_WINDOW_DAYS} days")
    if principal.county is not None and not principal.is_admin:
        if county not in (None, principal.county):
            raise InvalidInput("county", "out_of_scope", "your token is limited to one county")
        county = principal.county
    return Window(first, last, county, district)


AnalyticsWindow = Annotated[Window, Depends(analytics_window)]


@router.get("/rate", response_model=RateOut)
async def complaint_rate(
    session: DbSession, window: AnalyticsWindow, by: Dimension | None = None
) -> RateOut:
    """Complaining shops / active shops, per group of `by` and in total."""
    return await service.complaint_rate(session, window, by)


@router.get("/repeat-rate", response_model=RepeatRateOut)
async def repeat_rate(
    session: DbSession, window: AnalyticsWindow, context: Context
) -> RepeatRateOut:
    """Repeat complaints / all complaints, with the alert-level warning."""
    return await service.repeat_rate(session, window, context.repeat_alert_level)


@router.get("/concentration", response_model=ConcentrationOut)
async def concentration(
    session: DbSession,
    window: AnalyticsWindow,
    by: Literal["service_item", "category"] = "service_item",
) -> ConcentrationOut:
    """Pareto table of complaints by service item or category."""
    return await service.concentration(session, window, by)


@router.get("/trend", response_model=TrendOut)
async def trend(
    session: DbSession,
    window: AnalyticsWindow,
    granularity: Literal["month", "quarter"] = "month",
    by: Dimension | None = None,
) -> TrendOut:
    """Complaint rate per month or quarter with change and classification."""
    return await service.trend(session, window, by, granularity)


ExportFormatQuery = Annotated[ExportFormat, Query(alias="format")]


def _download(name: str, table: tables.Flat, export_format: ExportFormat) -> StreamingResponse:
    headers, rows = table
    return download(Table(name, headers, batched(rows)), export_format)


@router.get("/rate/export", response_class=StreamingResponse, responses=EXPORT_RESPONSES)
async def export_rate(
    session: DbSession,
    window: AnalyticsWindow,
    by: Dimension | None = None,
    export_format: ExportFormatQuery = ExportFormat.csv,
) -> StreamingResponse:
    """The complaint-rate table (per group, then the total) as a CSV or XLSX download."""
    answer = await service.complaint_rate(session, window, by)
    return _download("complaint-rate", tables.rate_table(answer), export_format)


@router.get("/concentration/export", response_class=StreamingResponse, responses=EXPORT_RESPONSES)
async def export_concentration(
    session: DbSession,
    window: AnalyticsWindow,
    by: Literal["service_item", "category"] = "service_item",
    export_format: ExportFormatQuery = ExportFormat.csv,
) -> StreamingResponse:
    """The Pareto table as a CSV or XLSX download."""
    answer = await service.concentration(session, window, by)
    return _download("complaint-concentration", tables.concentration_table(answer), export_format)


@router.get("/trend/export", response_class=StreamingResponse, responses=EXPORT_RESPONSES)
async def export_trend(
    session: DbSession,
    window: AnalyticsWindow,
    granularity: Literal["month", "quarter"] = "month",
    by: Dimension | None = None,
    export_format: ExportFormatQuery = ExportFormat.csv,
) -> StreamingResponse:
    """The trend (a row per group and period) as a CSV or XLSX download."""
    answer = await service.trend(session, window, by, granularity)
    return _download("complaint-trend", tables.trend_table(answer), export_format)


@router.get("/overview", response_model=OverviewOut)
async def overview(session: DbSession, window: AnalyticsWindow) -> OverviewOut:
    """Headline figures of the window."""
    return await service.overview(session, window)


@router.get("/case-candidates", response_model=CandidatesOut)
async def case_candidates(session: DbSession, window: AnalyticsWindow) -> CandidatesOut:
    """Complaints worth a case analysis."""
    return await service.case_candidates(session, window)
