"""Visits (拜访) of customer managers at shops."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Index, String, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from customer_svc.common.db import Base


class Visit(Base):
    """One visit with its checklist, findings and the perfunctory flag."""

    __tablename__ = "visits"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("customers.id"))
    manager_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("managers.id"))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    minutes: Mapped[float] = mapped_column(Float)
    purpose: Mapped[str] = mapped_column(String(30))
    checklist: Mapped[dict[str, Any]] = mapped_column(JSONB)
    findings: Mapped[str | None] = mapped_column(Text)
    customer_requests: Mapped[str | None] = mapped_column(Text)
    follow_ups: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    perfunctory: Mapped[bool] = mapped_column(Boolean)
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_visits_manager_started", "manager_id", "started_at"),
        Index("ix_visits_customer_started", "customer_id", "started_at"),
    )
