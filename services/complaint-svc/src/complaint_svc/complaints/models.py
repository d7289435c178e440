"""Complaint tables: complaints, their timeline and case analyses."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from complaint_svc.database import Base


class Complaint(Base):
    """One complaint (投诉)."""

    __tablename__ = "complaints"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    customer_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    county: Mapped[str | None] = mapped_column(String(100))
    district: Mapped[str | None] = mapped_column(String(100))
    complainant_type: Mapped[str] = mapped_column(String(16))
    complainant_name: Mapped[str | None] = mapped_column(String(100))
    complainant_phone: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(64))
    service_item: Mapped[str] = mapped_column(String(64))
    company_responsible: Mapped[bool] = mapped_column(Boolean)
    description: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(16))
    received_by: Mapped[str] = mapped_column(String(100))
    assignee: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))
    is_repeat: Mapped[bool] = mapped_column(Boolean, default=False)
    repeat_of: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # First day of the company-local month of filing: trend periods group on it without
    # converting every timestamp's time zone.
    filed_month: Mapped[date] = mapped_column(Date)
    acknowledge_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolve_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledge_escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolve_escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    callback_satisfied: Mapped[bool | None] = mapped_column(Boolean)
    resolution: Mapped[str | None] = mapped_column(Text)
    root_cause: Mapped[str | None] = mapped_column(Text)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    reassignment_count: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)


class TimelineEntry(Base):
    """One action on a complaint, with actor and time (the chain of custody)."""

    __tablename__ = "complaint_timeline"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    complaint_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class CaseAnalysis(Base):
    """A case analysis (投诉案例分析) of one complaint."""

    __tablename__ = "complaint_case_analyses"

    complaint_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    reconstruction: Mapped[str] = mapped_column(Text)
    key_points: Mapped[list[Any]] = mapped_column(JSONB)
    root_causes: Mapped[list[Any]] = mapped_column(JSONB)
    countermeasures: Mapped[list[Any]] = mapped_column(JSONB)
    responsible_parties: Mapped[list[Any]] = mapped_column(JSONB)
    report: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)
