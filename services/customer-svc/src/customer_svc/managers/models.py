"""Customer managers and the history of shop assignments."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Index, Integer, String, func
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from customer_svc.common.db import Base


class Manager(Base):
    """A customer manager (客户经理) and the territories (片区) they work."""

    __tablename__ = "managers"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    employee_no: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    county: Mapped[str] = mapped_column(String(20), index=True)
    districts: Mapped[list[str]] = mapped_column(ARRAY(String(50)), server_default="{}")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A retired manager keeps their history but can no longer be assigned shops.
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retired_by: Mapped[str | None] = mapped_column(String(200))


class ManagerAssignment(Base):
    """One assignment of a shop to a manager (or to nobody), never overwritten."""

    __tablename__ = "manager_assignments"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("customers.id"))
    manager_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    previous_manager_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    effective_date: Mapped[date] = mapped_column(Date)
    assigned_by: Mapped[str] = mapped_column(String(200))
    assigned_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (Index("ix_manager_assignments_customer", "customer_id", "id"),)
