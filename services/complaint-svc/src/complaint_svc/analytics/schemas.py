"""Response models of complaint analytics (rates are fractions 0 to 1)."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel


class RateFigures(BaseModel):
    """Complaining shops over active shops."""

    complaining_customers: int
    customers: int
    rate: float


class RateGroup(RateFigures):
    """One group of the complaint rate."""

    key: str


class RateOut(BaseModel):
    """Complaint rate by a dimension (or only the total)."""

    by: str | None
    groups: list[RateGroup]
    total: RateFigures


class RepeatRateOut(BaseModel):
    """Repeat complaints over all complaints filed in the window."""

    total_complaints: int
    repeat_complaints: int
    rate: float
    alert_level: float
    warning: bool


class ConcentrationRow(BaseModel):
    """One row of the Pareto table."""

    key: str
    count: int
    share: float
    cumulative_share: float


class ConcentrationOut(BaseModel):
    """Concentration of complaints by service item or category."""

    by: str
    total: int
    rows: list[ConcentrationRow]


class TrendPeriod(BaseModel):
    """One period of the trend."""

    period: date
    complaining_customers: int
    customers: int
    rate: float
    change: float | None
    relative_change: float | None


class TrendSeries(BaseModel):
    """A series of periods with its classification."""

    periods: list[TrendPeriod]
    classification: str
    advice: str


class TrendGroup(TrendSeries):
    """The trend of one group."""

    key: str


class TrendOut(TrendSeries):
    """The total trend and, with `by`, one per group."""

    granularity: str
    by: str | None
    groups: list[TrendGroup]


class OverviewOut(BaseModel):
    """Headline figures of the window."""

    total_complaints: int
    by_status: dict[str, int]
    overdue: int
    acknowledge_hours_mean: float | None
    acknowledge_hours_p90: float | None
    resolve_hours_mean: float | None
    resolve_hours_p90: float | None
    first_contact_resolution_rate: float
    repeat_rate: float
    top_items: list[ConcentrationRow]


class Candidate(BaseModel):
    """A complaint worth a case analysis, and why."""

    complaint_id: uuid.UUID
    ref: str
    service_item: str
    category: str
    repeats: int
    reason: str


class CandidatesOut(BaseModel):
    """Case-analysis candidates: top concentration items and longest repeat chains."""

    top_items: list[ConcentrationRow]
    candidates: list[Candidate]
