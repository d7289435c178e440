"""Aggregates fed by events: shop snapshots, per-order ledger, per shop-month figures."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    String,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from valuation_svc.database import Base


class Shop(Base):
    """The customer snapshot valuation needs (from customer.* events)."""

    __tablename__ = "shops"

    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    county: Mapped[str] = mapped_column(String(50), index=True)
    district: Mapped[str | None] = mapped_column(String(50))
    market_type: Mapped[str] = mapped_column(String(20))
    manager_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    status: Mapped[str] = mapped_column(String(20))
    licensed_on: Mapped[date | None] = mapped_column(Date)
    self_operated: Mapped[bool] = mapped_column(Boolean, default=False)
    order_method: Mapped[str | None] = mapped_column(String(20))
    trading_area: Mapped[str | None] = mapped_column(String(40))
    business_format: Mapped[str | None] = mapped_column(String(40))
    business_hours: Mapped[float | None] = mapped_column(Float)
    display_form: Mapped[str | None] = mapped_column(String(40))
    renown: Mapped[str | None] = mapped_column(String(20))
    reputation: Mapped[str | None] = mapped_column(String(20))
    compliance_grade: Mapped[str | None] = mapped_column(String(10))
    price_labeling: Mapped[str | None] = mapped_column(String(20))
    display_sku_count: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ShopOrder(Base):
    """One order's contribution (kept so a cancellation subtracts exactly what was added)."""

    __tablename__ = "shop_orders"

    order_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    order_date: Mapped[date | None] = mapped_column(Date)
    month: Mapped[date | None] = mapped_column(Date)
    cartons: Mapped[int] = mapped_column(BigInteger, default=0)
    amount: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=0)
    gross_profit: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=0)
    e_settled: Mapped[bool] = mapped_column(Boolean, default=False)
    promoted_cartons: Mapped[int] = mapped_column(BigInteger, default=0)
    key_skus: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    key_cartons: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), default=list)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)


class ShopMonth(Base):
    """Running figures of one shop in one month."""

    __tablename__ = "shop_months"

    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    cartons: Mapped[int] = mapped_column(BigInteger, default=0)
    amount: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=0)
    gross_profit: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=0)
    orders: Mapped[int] = mapped_column(Integer, default=0)
    e_orders: Mapped[int] = mapped_column(Integer, default=0)
    e_amount: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=0)
    promoted_cartons: Mapped[int] = mapped_column(BigInteger, default=0)
    last_order_date: Mapped[date | None] = mapped_column(Date)


class ShopPeriodSku(Base):
    """Cartons of one key-brand SKU sold to a shop in a half-year (> 0 = the SKU was sold)."""

    __tablename__ = "shop_period_skus"

    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    cartons: Mapped[int] = mapped_column(BigInteger, default=0)


class ShopPeriod(Base):
    """How many key-brand SKUs a shop has bought in a half-year (kept current per order)."""

    __tablename__ = "shop_periods"

    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    key_skus: Mapped[int] = mapped_column(Integer, default=0)


class Complaint(Base):
    """A complaint against a shop (consumer ones lower credit; open ones add issue handling)."""

    __tablename__ = "complaints"

    complaint_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    complainant_type: Mapped[str | None] = mapped_column(String(20))
    filed_on: Mapped[date | None] = mapped_column(Date)
    open: Mapped[bool] = mapped_column(Boolean, default=True)
    # The complaint a reopen re-recorded as this repeat row: the same grievance, counted once.
    reopened_from: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class Violation(Base):
    """A recorded violation with its date."""

    __tablename__ = "violations"

    violation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    occurred_on: Mapped[date] = mapped_column(Date)
