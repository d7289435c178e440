"""Callback bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from retailcare_shared.http import InputModel
from survey_svc.responses.schemas import AnswerIn
from survey_svc.text import Text

CallbackStatus = Literal["pending", "completed", "unreachable"]


class AttemptIn(InputModel):
    """An unanswered call."""

    note: Text | None = Field(default=None, max_length=1000)


class CallbackResponseIn(InputModel):
    """The shop's answers to the callback questionnaire."""

    answers: list[AnswerIn] = Field(max_length=50)
    collected_by: Text = Field(min_length=1, max_length=200)


class CallbackOut(BaseModel):
    """A callback in the work queue."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    complaint_id: uuid.UUID
    customer_id: uuid.UUID | None
    questionnaire_id: uuid.UUID
    status: CallbackStatus
    due_at: datetime
    attempts: int
    satisfied: bool | None
    response_id: uuid.UUID | None
    created_at: datetime
    completed_at: datetime | None
