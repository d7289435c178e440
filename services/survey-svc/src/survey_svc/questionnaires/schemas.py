"""Questionnaire request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from retailcare_shared.http import InputModel
from survey_svc.questionnaires.catalogue import Dimension, ItemFormat
from survey_svc.text import Text


class ItemIn(InputModel):
    """One item of a new questionnaire version."""

    code: Text = Field(pattern=r"^[a-z][a-z0-9_]{0,99}$")
    text: Text = Field(min_length=1, max_length=500)
    dimension: Dimension | None = None
    format: ItemFormat
    required: bool = True


class QuestionnaireIn(InputModel):
    """A new questionnaire, or a new version of an existing code."""

    code: Text = Field(pattern=r"^[a-z][a-z0-9_-]{1,99}$")
    title: Text = Field(min_length=1, max_length=300)
    items: list[ItemIn] = Field(min_length=1, max_length=200)


class ItemOut(BaseModel):
    """An item as rendered."""

    code: str
    text: str
    dimension: Dimension | None
    format: ItemFormat
    required: bool


class QuestionnaireOut(BaseModel):
    """A published questionnaire version."""

    id: uuid.UUID
    code: str
    version: int
    title: str
    created_at: datetime
    items: list[ItemOut]
