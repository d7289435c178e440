"""Hidden-dissatisfaction alerts."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from retailcare_shared.db import DbSession
from retailcare_shared.problems import InvalidInput
from retailcare_shared.workdays import COMPANY_TIME_ZONE
from survey_svc.access import ResultsReader
from survey_svc.alerts import repository
from survey_svc.alerts.rules import GroupFigures, hidden_dissatisfaction
from survey_svc.readmodel.models import CustomerView
from survey_svc.results.schemas import GroupBy

router = APIRouter(prefix="/api/v1/survey-analytics", tags=["alerts"])
# Dates outside this range cannot be turned into timestamps of the window's end.
MIN_YEAR, MAX_YEAR = 1900, 9998


class Alert(BaseModel):
    """A group with a low complaint rate and a low satisfaction index."""

    key: str | None
    customers: int
    complaining_customers: int
    complaint_rate: float
    responses: int
    satisfaction_index: float


class Alerts(BaseModel):
    """The alerts of a window."""

    from_: date
    to: date
    by: GroupBy
    complaint_rate_max: float
    satisfaction_index_below: float
    alerts: list[Alert]


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), COMPANY_TIME_ZONE)


@router.get("/alerts", response_model=Alerts)
async def alerts(
    request: Request,
    session: DbSession,
    user: ResultsReader,
    from_: Annotated[date, Query(alias="from")],
    to: Annotated[date, Query()],
    by: Annotated[GroupBy, Query()] = "district",
    complaint_rate_max: Annotated[float | None, Query(ge=0, le=1)] = None,
    satisfaction_index_below: Annotated[float | None, Query(ge=0, le=100)] = None,
) -> Alerts:
    """Groups whose complaint rate is low while their satisfaction is low (低投诉率但低满意度)."""
    if to < from_:
        raise InvalidInput("to", "after_from", "must not be before from")
    for name, day in (("from", from_), ("to", to)):
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            raise InvalidInput(name, "range", f"must be a date in {MIN_YEAR}-{MAX_YEAR}")
    settings = request.app.state.settings
    rate_max = (
        settings.alert_complaint_rate_max if complaint_rate_max is None else complaint_rate_max
    )
    below = (
        settings.alert_satisfaction_index_below
        if satisfaction_index_below is None
        else satisfaction_index_below
    )
    county = None if user.is_admin else user.county
    group = getattr(CustomerView, by)
    start, end = _start_of(from_), _start_of(to + timedelta(days=1))
    customers = await repository.customers_by_group(session, group, from_, to, county)
    complaining = await repository.complaining_by_group(session, group, start, end, county)
    satisfaction = await repository.satisfaction_by_group(session, group, start, end, county)
    figures = [
        GroupFigures(
            key=None if key is None else str(key),
            customers=count,
            complaining_customers=complaining.get(key, 0),
            responses=satisfaction.get(key, (0, None))[0],
            satisfaction_index=satisfaction.get(key, (0, None))[1],
        )
        for key, count in customers.items()
    ]
    flagged = hidden_dissatisfaction(
        figures, complaint_rate_max=rate_max, satisfaction_index_below=below
    )
    return Alerts(
        from_=from_,
        to=to,
        by=by,
        complaint_rate_max=rate_max,
        satisfaction_index_below=below,
        alerts=[
            Alert(
                key=group_figures.key,
                customers=group_figures.customers,
                complaining_customers=group_figures.complaining_customers,
                complaint_rate=group_figures.complaint_rate or 0.0,
                responses=group_figures.responses,
                satisfaction_index=group_figures.satisfaction_index or 0.0,
            )
            for group_figures in flagged
        ],
    )
