"""Request and response models of valuation runs, results, previews and value models."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from retailcare_shared.events import Quadrant, ValueClass
from retailcare_shared.http import InputModel

# Years 1900-2099: a period far outside the calendar range would fail date arithmetic.
PERIOD_PATTERN = r"^(19|20)\d{2}H[12]$"


class RunIn(InputModel):
    """Start a valuation run."""

    period: str = Field(pattern=PERIOD_PATTERN, description="half-year, e.g. 2026H1")
    as_of: date | None = None
    county: str | None = Field(default=None, min_length=1, max_length=50)


class RunAccepted(BaseModel):
    """A run was queued."""

    run_id: uuid.UUID
    status: str


class RunOut(BaseModel):
    """A run's status and progress."""

    id: uuid.UUID
    period: str
    county: str | None
    as_of: date
    status: str
    stage: str | None
    progress: float
    model_version: int | None
    evaluated: int | None
    changed: int | None
    error: str | None
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


class RunSummaryOut(BaseModel):
    """A completed run's summary."""

    run_id: uuid.UUID
    status: str
    summary: dict[str, Any] | None


class IndicatorOut(BaseModel):
    """One indicator of a result."""

    name: str
    dimension: str
    input: float | str | None
    score: float | None
    weight: float
    model_weight: float
    excluded: bool


class ResultOut(BaseModel):
    """A shop's valuation result."""

    customer_id: uuid.UUID
    period: str
    run_id: uuid.UUID
    model_version: int
    value_class: ValueClass
    quadrant: Quadrant
    total_score: float
    current_value: float
    potential_value: float
    credit_score: float
    rank: int
    group_size: int
    position: float
    dimensions: dict[str, float]
    indicators: list[IndicatorOut]
    reasons: list[str]
    stored: bool = True


class PreviewInputs(InputModel):
    """Indicator inputs to change for a what-if; omitted ones keep the shop's own figures."""

    volume: float | None = Field(default=None, ge=0)
    amount: float | None = Field(default=None, ge=0)
    gross_profit: float | None = None
    orders: int | None = Field(default=None, ge=0)
    e_orders: int | None = Field(default=None, ge=0)
    e_amount: float | None = Field(default=None, ge=0)
    promoted_cartons: float | None = Field(default=None, ge=0)
    key_brand_skus: int | None = Field(default=None, ge=0)
    display_sku_count: int | None = Field(default=None, ge=0)
    consumer_complaints: int | None = Field(default=None, ge=0)
    business_hours: float | None = Field(default=None, ge=0, le=24)
    last_year_volume: float | None = Field(default=None, ge=0)
    compliance_grade: Literal["A", "B", "C", "none"] | None = None
    price_labeling: Literal["price_board", "price_tags", "none"] | None = None
    renown: Literal["national", "city", "district", "street", "none"] | None = None
    reputation: Literal["good", "average"] | None = None
    display_form: (
        Literal[
            "dedicated_cabinet", "counter_prominent", "counter_other", "shelf", "window", "other"
        ]
        | None
    ) = None
    trading_area: (
        Literal[
            "commercial",
            "transit_hub",
            "residential",
            "industrial",
            "campus",
            "government_business",
            "other",
        ]
        | None
    ) = None
    business_format: (
        Literal[
            "grocery",
            "convenience",
            "supermarket",
            "mall",
            "tobacco_liquor",
            "entertainment",
            "other",
        ]
        | None
    ) = None


class PreviewIn(InputModel):
    """Score a shop against its ranking group's last run without storing anything."""

    customer_id: uuid.UUID
    period: str = Field(pattern=PERIOD_PATTERN)
    inputs: PreviewInputs = Field(default_factory=PreviewInputs)


class DimensionIn(InputModel):
    """A dimension's weight (points out of 100) and its indicator weights (sum 1)."""

    weight: float = Field(ge=0, le=100)
    indicators: dict[str, float]


class MarketWeightsIn(InputModel):
    """The five dimensions of one market type."""

    contribution: DimensionIn
    support: DimensionIn
    credit: DimensionIn
    influence: DimensionIn
    growth: DimensionIn


class WeightsIn(InputModel):
    """Weights per market type."""

    urban: MarketWeightsIn
    rural: MarketWeightsIn


class PositionIn(InputModel):
    """Class boundaries as shares of the ranking group."""

    A: float
    B: float
    C: float


class CreditIn(InputModel):
    """Credit rules in credit points: A ≥, B ≥, D > (and problem ≤ D)."""

    A: float
    B: float
    D: float


class ThresholdsIn(InputModel):
    """Class thresholds."""

    position: PositionIn
    credit: CreditIn
    no_order_days: int = 30


class QuadrantIn(InputModel):
    """Quadrant cut-offs: the group's medians or fixed values."""

    mode: Literal["median", "fixed"] = "median"
    current: float | None = None
    potential: float | None = None


class ValueModelIn(InputModel):
    """A new value model version."""

    weights: WeightsIn
    thresholds: ThresholdsIn
    quadrant: QuadrantIn = Field(default_factory=QuadrantIn)
    ranking_group: Literal["county_market_type", "county"] = "county_market_type"
    note: str | None = Field(default=None, max_length=500)


class ValueModelOut(BaseModel):
    """A value model version."""

    version: int
    active: bool
    definition: dict[str, Any]
    note: str | None
    created_by: str
    created_at: datetime
