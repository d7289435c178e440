"""Improvement actions: the use of a campaign's results (成果利用)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from survey_svc.database import Base


class ImprovementAction(Base):
    """An action on a weak item or dimension, tracked open → in_progress → done."""

    __tablename__ = "improvement_actions"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("survey_campaigns.id")
    )
    item_code: Mapped[str | None] = mapped_column(String(100))
    dimension: Mapped[str | None] = mapped_column(String(30))
    action: Mapped[str] = mapped_column(String(2000))
    owner: Mapped[str] = mapped_column(String(200))
    due: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(2000))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)
