"""Improvement action bodies."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from retailcare_shared.http import InputModel
from survey_svc.questionnaires.catalogue import Dimension
from survey_svc.text import Text

ActionStatus = Literal["open", "in_progress", "done"]


class ActionIn(InputModel):
    """An action on one item or one dimension."""

    item_code: Text | None = Field(default=None, min_length=1, max_length=100)
    dimension: Dimension | None = None
    action: Text = Field(min_length=1, max_length=2000)
    owner: Text = Field(min_length=1, max_length=200)
    due: date


class ActionPatch(InputModel):
    """Progress on an action."""

    status: ActionStatus
    note: Text | None = Field(default=None, max_length=2000)


class ActionOut(BaseModel):
    """An improvement action."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    campaign_id: uuid.UUID
    item_code: str | None
    dimension: str | None
    action: str
    owner: str
    due: date
    status: str
    note: str | None
    created_by: str
    created_at: datetime
    done_at: datetime | None
    version: int
