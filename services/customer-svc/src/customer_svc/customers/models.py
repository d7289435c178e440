"""Shops, their versions (full history), violations and the latest classification."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from customer_svc.common.db import Base


class Customer(Base):
    """The current state of a shop (its past lives in CustomerVersion)."""

    __tablename__ = "customers"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    license_no: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    owner_name: Mapped[str | None] = mapped_column(String(100))
    phones: Mapped[list[str]] = mapped_column(ARRAY(String(30)), server_default="{}")
    address: Mapped[str | None] = mapped_column(String(500))
    county: Mapped[str] = mapped_column(String(20))
    district: Mapped[str | None] = mapped_column(String(50))
    market_type: Mapped[str] = mapped_column(String(10))
    trading_area: Mapped[str | None] = mapped_column(String(30))
    business_format: Mapped[str | None] = mapped_column(String(30))
    scale: Mapped[str | None] = mapped_column(String(10))
    order_method: Mapped[str | None] = mapped_column(String(10))
    business_hours: Mapped[float | None] = mapped_column(Float)
    display_form: Mapped[str | None] = mapped_column(String(30))
    display_sku_count: Mapped[int | None] = mapped_column(Integer)
    renown: Mapped[str | None] = mapped_column(String(20))
    reputation: Mapped[str | None] = mapped_column(String(20))
    compliance_grade: Mapped[str | None] = mapped_column(String(10))
    price_labeling: Mapped[str | None] = mapped_column(String(20))
    store_area_m2: Mapped[float | None] = mapped_column(Float)
    tobacco_area_m2: Mapped[float | None] = mapped_column(Float)
    self_operated: Mapped[bool] = mapped_column(Boolean, server_default="false")
    licensed_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), server_default="active")
    manager_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("managers.id")
    )
    birthday: Mapped[date | None] = mapped_column(Date)
    hobbies: Mapped[str | None] = mapped_column(String(500))
    personal_data_consent: Mapped[bool] = mapped_column(Boolean, server_default="false")
    personal_data_erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    value_class: Mapped[str | None] = mapped_column(String(10))
    value_quadrant: Mapped[str | None] = mapped_column(String(20))
    value_period: Mapped[str | None] = mapped_column(String(20))
    classified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Character pairs, pinyin and initials of name, address and owner (customers/search_terms.py);
    # rewritten by the service on every write of those fields.
    # Never loaded with the shop (only the index reads them).
    search_terms: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default="{}", deferred=True, deferred_raiseload=True
    )

    __table_args__ = (
        Index("ix_customers_manager", "manager_id"),
        Index("ix_customers_county_district", "county", "district"),
        Index("ix_customers_phones", "phones", postgresql_using="gin"),
        Index("ix_customers_value_class", "value_class"),
        Index(
            "ix_customers_search_terms",
            "search_terms",
            postgresql_using="gin",
            postgresql_with={"fastupdate": "off"},
        ),
        # The order of a text search within a relevance tier (repository.text_search).
        Index("ix_customers_name_length", func.char_length(name), license_no),
    )


class CustomerSearchKey(Base):
    """One character pair of a shop's name, address or owner name, with the best relevance tier
    it has there: a 2-character search reads a page of these in order from the primary key.

    Written only by the `customer_search_keys_insert` and `_update` triggers (migration 0003) from
    `customers.search_terms`, so every writer of shops (service, bulk import) keeps it current.
    """

    __tablename__ = "customer_search_keys"

    term: Mapped[str] = mapped_column(Text, primary_key=True)
    tier: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    name_length: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    license_no: Mapped[str] = mapped_column(String(20), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)

    __table_args__ = (Index("ix_customer_search_keys_customer", "customer_id"),)


class CustomerVersion(Base):
    """One version of a shop: the full state, when it held, who changed what and why."""

    __tablename__ = "customer_versions"

    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    change_kind: Mapped[str] = mapped_column(String(20))
    changed_by: Mapped[str] = mapped_column(String(200))
    changed_fields: Mapped[list[str]] = mapped_column(ARRAY(String(50)))
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB)
    reason: Mapped[str | None] = mapped_column(String(1000))
    effective_date: Mapped[date | None] = mapped_column(Date)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB)

    __table_args__ = (Index("ix_customer_versions_valid_from", "customer_id", "valid_from"),)


class ViolationRecord(Base):
    """A recorded violation of the monopoly rules (counterfeit, smuggled, …)."""

    __tablename__ = "violations"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(30))
    occurred_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (Index("ix_violations_customer", "customer_id", "occurred_on"),)


class Classification(Base):
    """Every `valuation.customer_classified` received, per shop and period (read model)."""

    __tablename__ = "classifications"

    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    period: Mapped[str] = mapped_column(String(20), primary_key=True)
    run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    value_class: Mapped[str] = mapped_column(String(10))
    quadrant: Mapped[str | None] = mapped_column(String(20))
    total_score: Mapped[float] = mapped_column(Float)
    credit_score: Mapped[float | None] = mapped_column(Float)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
