"""Response request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt

from retailcare_shared.http import InputModel
from survey_svc.questionnaires.schemas import ItemOut
from survey_svc.text import StrictText, Text

# Numbers are accepted as numbers of any kind so that a 3.5 is reported by the answer rules
# under the item's name (not as a bare type error).
Number = StrictInt | StrictFloat


class AnswerIn(InputModel):
    """One answer: expectation+perception, score, or value, depending on the item's format."""

    item_code: Text = Field(min_length=1, max_length=100)
    expectation: Number | None = None
    perception: Number | None = None
    score: Number | None = None
    value: StrictBool | StrictText | None = None


class PublicResponseIn(InputModel):
    """Answers sent through the web link."""

    answers: list[AnswerIn] = Field(max_length=200)


class StaffResponseIn(InputModel):
    """Answers collected by staff (phone, face to face, drop-off, mail)."""

    invitation_id: uuid.UUID
    answers: list[AnswerIn] = Field(max_length=200)
    collected_by: Text = Field(min_length=1, max_length=200)


class ResponseOut(BaseModel):
    """A recorded response."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    invitation_id: uuid.UUID | None
    campaign_id: uuid.UUID | None
    customer_id: uuid.UUID | None
    channel: str
    collected_by: str | None
    overall_gap: float | None
    satisfaction_index: float | None
    created_at: datetime


class InvitationView(BaseModel):
    """What the web link renders: the invitation state and the questionnaire."""

    status: str
    channel: str
    campaign_name: str
    closes_at: datetime
    questionnaire_id: uuid.UUID
    title: str
    items: list[ItemOut]
