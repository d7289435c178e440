"""Local read model of shops (from customer and valuation events)."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Date, Integer, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from complaint_svc.database import Base

# The group-by dimensions of complaint analytics, all columns of this table.
DIMENSIONS = (
    "district",
    "business_format",
    "trading_area",
    "scale",
    "order_method",
    "value_class",
    "market_type",
)

# A shop known only from a valuation event so far (no snapshot yet): never active, unverified.
PLACEHOLDER_STATUS = "unknown"
PLACEHOLDER_VERSION = -1


class Shop(Base):
    """A shop as complaint-svc knows it: dimensions, manager and activity span."""

    __tablename__ = "shops"

    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    county: Mapped[str | None] = mapped_column(String(100))
    district: Mapped[str | None] = mapped_column(String(100))
    market_type: Mapped[str | None] = mapped_column(String(50))
    trading_area: Mapped[str | None] = mapped_column(String(50))
    business_format: Mapped[str | None] = mapped_column(String(50))
    scale: Mapped[str | None] = mapped_column(String(50))
    order_method: Mapped[str | None] = mapped_column(String(50))
    value_class: Mapped[str | None] = mapped_column(String(16))
    manager_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(16))
    # Active from `active_since`; not active from `inactive_since` (null while active).
    active_since: Mapped[date] = mapped_column(Date)
    inactive_since: Mapped[date | None] = mapped_column(Date)
    snapshot_version: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def known(self) -> bool:
        """True once the customer snapshot has arrived (not only a placeholder)."""
        return self.snapshot_version >= 0
