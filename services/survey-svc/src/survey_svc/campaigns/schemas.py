"""Campaign request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from retailcare_shared.http import InputModel
from survey_svc.campaigns.sampling import MINIMUM_RATE
from survey_svc.text import Text

StrataAttribute = Literal["district", "value_class", "manager_id", "market_type"]
CampaignKind = Literal["monthly_inquiry", "quarterly", "forum", "census", "callback"]
Method = Literal["face_to_face", "drop_off", "phone", "web", "mail"]
InvitationStatus = Literal["pending", "completed", "expired", "declined"]


class SamplingIn(InputModel):
    """How a campaign draws its shops."""

    rate: float = Field(ge=MINIMUM_RATE, le=1, description="share of each stratum; at least 5%")
    strata: list[StrataAttribute] = Field(default_factory=list, max_length=4)
    min_per_stratum: int = Field(default=1, ge=0, le=100_000)
    exclude_surveyed_within_days: int = Field(default=90, ge=0, le=3650)
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1)


class CampaignIn(InputModel):
    """A new campaign (draft until it is drawn)."""

    name: Text = Field(min_length=1, max_length=200)
    questionnaire_id: uuid.UUID
    kind: CampaignKind
    method: Method
    county: Text | None = Field(default=None, min_length=1, max_length=50)
    opens_at: AwareDatetime
    closes_at: AwareDatetime
    sampling: SamplingIn


class StratumOut(BaseModel):
    """One drawn stratum."""

    model_config = ConfigDict(from_attributes=True)

    stratum_no: int
    key: dict[str, Any]
    population: int
    sample_size: int
    fresh_available: int
    drawn_from_recent: int


class CampaignOut(BaseModel):
    """A campaign."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    questionnaire_id: uuid.UUID
    kind: str
    method: str
    county: str | None
    opens_at: datetime
    closes_at: datetime
    sampling: dict[str, Any]
    status: str
    frame_size: int | None
    sample_size: int | None
    created_at: datetime
    sampled_at: datetime | None
    version: int
    strata: list[StratumOut] = Field(default_factory=list)


class InvitationOut(BaseModel):
    """An invitation of a sampled shop."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    campaign_id: uuid.UUID
    token: str
    customer_id: uuid.UUID
    status: str
    channel: str
    created_at: datetime
    completed_at: datetime | None
