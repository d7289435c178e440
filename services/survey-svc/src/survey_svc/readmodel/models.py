"""Local read models fed by customer, valuation and complaint events."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Integer, String, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from survey_svc.database import Base


class CustomerView(Base):
    """What survey-svc knows of a shop: scope, strata attributes and status."""

    __tablename__ = "customers_view"

    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    county: Mapped[str | None] = mapped_column(String(50))
    district: Mapped[str | None] = mapped_column(String(50))
    market_type: Mapped[str | None] = mapped_column(String(20))
    manager_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    value_class: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    status_since: Mapped[date | None] = mapped_column(Date)
    licensed_on: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class ComplaintView(Base):
    """A filed complaint, as far as the complaint rate needs it."""

    __tablename__ = "complaints_view"

    complaint_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    complainant_type: Mapped[str] = mapped_column(String(20))
    company_responsible: Mapped[bool] = mapped_column(Boolean)
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
