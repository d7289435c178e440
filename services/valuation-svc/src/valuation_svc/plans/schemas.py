"""Service-plan responses."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel


class ServiceItemOut(BaseModel):
    """A service item and why it applies."""

    name: str
    reason: str


class AnomalyOut(BaseModel):
    """A shop's sales anomaly check for one month."""

    customer_id: uuid.UUID
    month: date
    cartons: float
    three_month_average: float | None
    change: float | None
    anomaly: bool


class ServicePlanOut(BaseModel):
    """A shop's service plan derived from its latest result."""

    customer_id: uuid.UUID
    period: str
    run_id: uuid.UUID
    value_class: str
    quadrant: str | None
    strategy: str | None
    delivery_promise_hours: int
    visits_per_month: int
    visit_purpose: str
    service_items: list[ServiceItemOut]
    sales_anomaly: AnomalyOut


class AnomalyPage(BaseModel):
    """A page of sales anomalies."""

    month: date
    items: list[AnomalyOut]
    next_cursor: str | None


class WorkloadItemOut(BaseModel):
    """A manager's monthly figures of one service item against the seeds' minimum."""

    item: str
    visits: int
    hours: float
    minimum_visits: int | None = None
    minimum_hours: float | None = None
    meets_minimum: bool | None


class WorkloadOut(BaseModel):
    """A manager's monthly workload from the plans of their shops."""

    manager_id: uuid.UUID
    shops: int
    unclassified_shops: int
    visits_per_month: int
    items: list[WorkloadItemOut]
