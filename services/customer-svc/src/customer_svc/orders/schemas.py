"""Request and response models of orders."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from customer_svc.customers.schemas import PRINTABLE, LicenseNo, Reason
from customer_svc.orders.pricing import MAX_LINES
from retailcare_shared.events import Money, Settlement
from retailcare_shared.http import InputModel

OrderNo = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_\-]{1,64}$")]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=PRINTABLE)]
Brand = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=PRINTABLE)]
MAX_BATCH = 1000


class OrderLineIn(InputModel):
    """One line: quantity in cartons, unit price in yuan per carton, gross profit of the line."""

    sku: Sku
    brand: Brand
    quantity: Annotated[int, Field(ge=1, le=100_000)]
    # At most two decimals is checked by pricing.cents_problem (far cheaper than decimal_places
    # on 10,000 lines per batch); the bounds keep values inside the NUMERIC columns.
    unit_price: Annotated[Decimal, Field(gt=0, lt=1_000_000)]
    gross_profit: Annotated[Decimal, Field(ge=0, lt=1_000_000_000_000)]
    key_brand: bool = False
    promoted: bool = False


class OrderIn(InputModel):
    """An order from the ordering platform (`customer_id` or `license_no` names the shop)."""

    order_no: OrderNo
    customer_id: uuid.UUID | None = None
    license_no: LicenseNo | None = None
    order_date: date
    settlement: Settlement
    lines: Annotated[list[OrderLineIn], Field(min_length=1, max_length=MAX_LINES)]


class OrdersBatchIn(InputModel):
    """POST /orders/batch: each order is accepted or rejected on its own."""

    orders: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=MAX_BATCH)]


class CancelIn(InputModel):
    """POST /orders/{id}/cancel."""

    reason: Reason


class OrderLineOut(BaseModel):
    """A stored line with its computed amount."""

    model_config = ConfigDict(from_attributes=True)

    line_no: int
    sku: str
    brand: str
    quantity: int
    unit_price: Money
    amount: Money
    gross_profit: Money
    key_brand: bool
    promoted: bool


class OrderOut(BaseModel):
    """A stored order."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    order_no: str
    customer_id: uuid.UUID
    order_date: date
    settlement: str
    total_amount: Money
    total_quantity: int
    line_count: int
    status: str
    cancel_reason: str | None = None
    cancelled_at: datetime | None = None
    created_at: datetime
    lines: list[OrderLineOut] | None = None


class BatchResult(BaseModel):
    """The outcome of one order of a batch, in request order."""

    order_no: str | None
    status: str
    order_id: uuid.UUID | None = None
    errors: list[dict[str, str]] = []


class BatchOut(BaseModel):
    """POST /orders/batch response."""

    accepted: int
    duplicates: int
    rejected: int
    results: list[BatchResult]
