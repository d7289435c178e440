"""Complaint callbacks (回访) and their call attempts."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from survey_svc.database import Base


class Callback(Base):
    """The callback owed to a shop after its complaint was resolved (one per resolution)."""

    __tablename__ = "callbacks"
    # A reopened complaint resolved again owes a new callback; the same resolution never two.
    __table_args__ = (UniqueConstraint("complaint_id", "resolved_at"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    complaint_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    questionnaire_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("questionnaires.id")
    )
    status: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    resolved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    response_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    satisfied: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CallbackAttempt(Base):
    """One unanswered call (who called, when, a note)."""

    __tablename__ = "callback_attempts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    callback_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("callbacks.id"))
    attempted_by: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(String(1000))
    attempted_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
