"""Questionnaires: immutable versions and their items."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from survey_svc.database import Base


class Questionnaire(Base):
    """One published version of a questionnaire (never changed after creation)."""

    __tablename__ = "questionnaires"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    code: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class QuestionnaireItem(Base):
    """One item of a questionnaire version."""

    __tablename__ = "questionnaire_items"

    questionnaire_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("questionnaires.id"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(500))
    dimension: Mapped[str | None] = mapped_column(String(30))
    format: Mapped[str] = mapped_column(String(20))
    required: Mapped[bool] = mapped_column(Boolean)
