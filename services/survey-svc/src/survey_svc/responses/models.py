"""Responses and their answers."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    func,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from survey_svc.database import Base


class SurveyResponse(Base):
    """One response: to a campaign invitation or to a complaint callback."""

    __tablename__ = "survey_responses"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    invitation_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("survey_invitations.id"), unique=True
    )
    callback_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), unique=True)
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    questionnaire_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    channel: Mapped[str] = mapped_column(String(30))
    collected_by: Mapped[str | None] = mapped_column(String(200))
    recorded_by: Mapped[str | None] = mapped_column(String(200))
    overall_gap: Mapped[float | None] = mapped_column(Float)
    satisfaction_index: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SurveyAnswer(Base):
    """One answer; campaign and cell are copied in so result cells can be rebuilt from answers."""

    __tablename__ = "survey_answers"

    response_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("survey_responses.id"), primary_key=True
    )
    item_code: Mapped[str] = mapped_column(String(100), primary_key=True)
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    cell_no: Mapped[int | None] = mapped_column(Integer)
    expectation: Mapped[int | None] = mapped_column(SmallInteger)
    perception: Mapped[int | None] = mapped_column(SmallInteger)
    score: Mapped[int | None] = mapped_column(SmallInteger)
    flag: Mapped[bool | None] = mapped_column(Boolean)
    text: Mapped[str | None] = mapped_column(String(2000))


class ResultCell(Base):
    """Sufficient statistics of one item in one campaign cell, updated by every response."""

    __tablename__ = "result_cells"

    campaign_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    cell_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_code: Mapped[str] = mapped_column(String(100), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    sum_e: Mapped[int] = mapped_column(BigInteger)
    sum_p: Mapped[int] = mapped_column(BigInteger)
    sum_g: Mapped[int] = mapped_column(BigInteger)
    sum_g2: Mapped[int] = mapped_column(BigInteger)
    score_1: Mapped[int] = mapped_column(Integer)
    score_2: Mapped[int] = mapped_column(Integer)
    score_3: Mapped[int] = mapped_column(Integer)
    score_4: Mapped[int] = mapped_column(Integer)
    score_5: Mapped[int] = mapped_column(Integer)


SUM_COLUMNS = ("n", "sum_e", "sum_p", "sum_g", "sum_g2", *(f"score_{s}" for s in range(1, 6)))
