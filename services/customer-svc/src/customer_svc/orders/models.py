"""Orders received from the online ordering platform, and their lines."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    func,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from customer_svc.common.db import Base


class Order(Base):
    """An order; `order_no` is the platform's natural key (unique)."""

    __tablename__ = "orders"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    order_no: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("customers.id"))
    order_date: Mapped[date] = mapped_column(Date)
    settlement: Mapped[str] = mapped_column(String(15))
    total_amount: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    total_quantity: Mapped[int] = mapped_column(Integer)
    line_count: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(10), server_default="placed")
    cancel_reason: Mapped[str | None] = mapped_column(String(1000))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_by: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (Index("ix_orders_customer_date", "customer_id", "order_date"),)


class OrderLine(Base):
    """One line of an order; `amount` is computed by the service (quantity x unit price)."""

    __tablename__ = "order_lines"

    order_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("orders.id"), primary_key=True
    )
    line_no: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    brand: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    amount: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    gross_profit: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    key_brand: Mapped[bool] = mapped_column(Boolean)
    promoted: Mapped[bool] = mapped_column(Boolean)
