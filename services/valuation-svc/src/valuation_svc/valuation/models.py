"""Value models, runs, results and each shop's latest classification."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Float, Integer, LargeBinary, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from valuation_svc.database import Base


class ValueModel(Base):
    """One version of the value model (weights, thresholds); exactly one is active."""

    __tablename__ = "value_models"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ValuationRun(Base):
    """One asynchronous valuation of a period (optionally one county)."""

    __tablename__ = "valuation_runs"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    period: Mapped[str] = mapped_column(String(7))
    county: Mapped[str | None] = mapped_column(String(50))
    as_of: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    stage: Mapped[str | None] = mapped_column(String(40))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    model_version: Mapped[int | None] = mapped_column(Integer)
    requested_by: Mapped[str] = mapped_column(String(200))
    evaluated: Mapped[int | None] = mapped_column(Integer)
    changed: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ValuationResult(Base):
    """One shop's result in one run (indicator scores/inputs as arrays in INDICATORS order)."""

    __tablename__ = "valuation_results"

    run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    period: Mapped[str] = mapped_column(String(7))
    county: Mapped[str] = mapped_column(String(50))
    market_type: Mapped[str] = mapped_column(String(20))
    model_version: Mapped[int] = mapped_column(Integer)
    value_class: Mapped[str] = mapped_column(String(8))
    quadrant: Mapped[str] = mapped_column(String(12))
    total_score: Mapped[float] = mapped_column(Float)
    current_value: Mapped[float] = mapped_column(Float)
    potential_value: Mapped[float] = mapped_column(Float)
    credit_score: Mapped[float] = mapped_column(Float)
    rank: Mapped[int] = mapped_column(Integer)
    group_size: Mapped[int] = mapped_column(Integer)
    position: Mapped[float] = mapped_column(Float)
    rank_class: Mapped[str] = mapped_column(String(8))
    flags: Mapped[int] = mapped_column(Integer)
    # float64 little-endian vectors packed by numpy (see valuation.engine.pack)
    dimensions: Mapped[bytes] = mapped_column(LargeBinary)
    scores: Mapped[bytes] = mapped_column(LargeBinary)
    inputs: Mapped[bytes] = mapped_column(LargeBinary)


class RunGroup(Base):
    """Per ranking group of a run: the group figures indicators and previews need."""

    __tablename__ = "run_groups"

    run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    county: Mapped[str] = mapped_column(String(50), primary_key=True)
    market_type: Mapped[str] = mapped_column(String(20), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    log2max_volume: Mapped[float] = mapped_column(Float)
    log2max_amount: Mapped[float] = mapped_column(Float)
    log2max_profit: Mapped[float] = mapped_column(Float)
    total_volume: Mapped[float] = mapped_column(Float)
    total_amount: Mapped[float] = mapped_column(Float)
    cutoff_current: Mapped[float] = mapped_column(Float)
    cutoff_potential: Mapped[float] = mapped_column(Float)
    promoted_20th: Mapped[float] = mapped_column(Float)
    promoted_100th: Mapped[float] = mapped_column(Float)


class ShopLatest(Base):
    """Each shop's latest classification (to emit events only for changes)."""

    __tablename__ = "shop_latest"

    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    value_class: Mapped[str] = mapped_column(String(8))
    quadrant: Mapped[str] = mapped_column(String(12))
    run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    period: Mapped[str] = mapped_column(String(7))
