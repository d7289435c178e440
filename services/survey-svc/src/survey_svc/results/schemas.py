"""Campaign results."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel

GroupBy = Literal["district", "value_class", "manager_id", "market_type"]


class ItemResult(BaseModel):
    """Paired-gap figures of one SERVQUAL item."""

    item_code: str
    dimension: str | None
    n: int
    mean_expectation: float | None
    mean_perception: float | None
    mean_gap: float | None
    sd_gap: float | None
    ci_low: float | None
    ci_high: float | None


class RatingResult(BaseModel):
    """Figures of one rating item."""

    item_code: str
    n: int
    mean: float | None
    distribution: dict[str, int]
    top_two_box: float | None


class WeakItem(BaseModel):
    """An item with a negative-most gap: input for improvement actions."""

    item_code: str
    dimension: str | None
    text: str
    mean_gap: float


class Figures(BaseModel):
    """The figures of a campaign or of one group of it."""

    invited: int
    responded: int
    response_rate: float | None
    servqual_score: float | None
    satisfaction_index: float | None
    dimensions: dict[str, float]
    items: list[ItemResult]
    ratings: list[RatingResult]


class GroupResult(Figures):
    """Unweighted figures of one group."""

    key: str | None


class CampaignResults(Figures):
    """Design-weighted totals, weakest items and per-group figures."""

    campaign_id: uuid.UUID
    weighting: Literal["design"] = "design"
    weakest_items: list[WeakItem]
    by: GroupBy | None
    groups: list[GroupResult]
