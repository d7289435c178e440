"""Request and response models of the shop endpoints."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from retailcare_shared.events import CustomerStatus, ViolationKind
from retailcare_shared.http import InputModel

LicenseNo = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{6,20}$")]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 \-]{4,28}[0-9]$")]
Code = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_\-]{1,20}$")]
DistrictCode = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_\-]{1,50}$")]
# Printable text: control characters (other than tab and newlines) are refused, never stored.
PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=PRINTABLE)]
PersonName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=PRINTABLE)]
Text500 = Annotated[str, StringConstraints(max_length=500, pattern=PRINTABLE)]
Text2000 = Annotated[str, StringConstraints(max_length=2000, pattern=PRINTABLE)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=PRINTABLE)]


MarketType = Literal["urban", "rural"]
TradingArea = Literal[
    "commercial",
    "transit_hub",
    "residential",
    "industrial",
    "campus",
    "government_business",
    "other",
]
BusinessFormat = Literal[
    "grocery", "convenience", "supermarket", "mall", "tobacco_liquor", "entertainment", "other"
]
Scale = Literal["large", "medium", "small"]
OrderMethod = Literal["phone", "web", "app"]
DisplayForm = Literal[
    "dedicated_cabinet", "counter_prominent", "counter_other", "shelf", "window", "other"
]
Renown = Literal["national", "city", "district", "street", "none"]
Reputation = Literal["good", "average"]
ComplianceGrade = Literal["A", "B", "C", "none"]
PriceLabeling = Literal["price_board", "price_tags", "none"]
ValueClassFilter = Literal["A", "B", "C", "D", "problem"]


class ShopFields(InputModel):
    """The settable attributes of a shop (all optional: PATCH sends only what changes)."""

    name: Name | None = None
    owner_name: PersonName | None = None
    phones: Annotated[list[Phone], Field(max_length=10)] | None = None
    address: Text500 | None = None
    district: DistrictCode | None = None
    trading_area: TradingArea | None = None
    business_format: BusinessFormat | None = None
    scale: Scale | None = None
    order_method: OrderMethod | None = None
    business_hours: Annotated[float, Field(ge=0, le=24)] | None = None
    display_form: DisplayForm | None = None
    display_sku_count: Annotated[int, Field(ge=0, le=100_000)] | None = None
    renown: Renown | None = None
    reputation: Reputation | None = None
    compliance_grade: ComplianceGrade | None = None
    price_labeling: PriceLabeling | None = None
    store_area_m2: Annotated[float, Field(ge=0, le=1_000_000)] | None = None
    tobacco_area_m2: Annotated[float, Field(ge=0, le=1_000_000)] | None = None
    self_operated: bool | None = None
    licensed_on: date | None = None
    manager_id: uuid.UUID | None = None
    birthday: date | None = None
    hobbies: Text500 | None = None
    personal_data_consent: bool | None = None


class CustomerCreate(ShopFields):
    """POST /customers: licence number, name, county and market type are required."""

    license_no: LicenseNo
    name: Name
    county: Code
    market_type: MarketType


class CustomerPatch(ShopFields):
    """PATCH /customers/{id}: only the fields sent change (null clears a field)."""

    license_no: LicenseNo | None = None
    county: Code | None = None
    market_type: MarketType | None = None
    reason: Reason | None = None


class StatusChange(InputModel):
    """POST /customers/{id}/status."""

    status: CustomerStatus
    reason: Reason
    effective_date: date


class ManagerAssignmentIn(InputModel):
    """PUT /customers/{id}/manager (null unassigns)."""

    manager_id: uuid.UUID | None
    effective_date: date
    reason: Reason | None = None


class ErasureIn(InputModel):
    """POST /customers/{id}/erase-personal-data (the body itself may be left out)."""

    reason: Reason | None = None


class ViolationIn(InputModel):
    """POST /customers/{id}/violations."""

    kind: ViolationKind
    occurred_on: date
    note: Text2000 | None = None


class CustomerOut(BaseModel):
    """A shop as returned by the API (personal fields masked for roles without need)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    license_no: str
    name: str
    owner_name: str | None = None
    phones: list[str] = []
    address: str | None = None
    county: str
    district: str | None = None
    market_type: str
    trading_area: str | None = None
    business_format: str | None = None
    scale: str | None = None
    order_method: str | None = None
    business_hours: float | None = None
    display_form: str | None = None
    display_sku_count: int | None = None
    renown: str | None = None
    reputation: str | None = None
    compliance_grade: str | None = None
    price_labeling: str | None = None
    store_area_m2: float | None = None
    tobacco_area_m2: float | None = None
    self_operated: bool = False
    licensed_on: date | None = None
    status: str
    manager_id: uuid.UUID | None = None
    birthday: date | None = None
    hobbies: str | None = None
    personal_data_consent: bool = False
    personal_data_erased_at: datetime | None = None
    value_class: str | None = None
    value_quadrant: str | None = None
    value_period: str | None = None
    version: int
    as_of: datetime | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None


class HistoryEntry(BaseModel):
    """One version in a shop's history: what changed (old → new), who, when, why."""

    model_config = ConfigDict(from_attributes=True)

    version: int
    valid_from: datetime
    valid_to: datetime | None
    change_kind: str
    changed_by: str
    changed_fields: list[str]
    changes: dict[str, Any]
    reason: str | None
    effective_date: date | None


class ViolationOut(BaseModel):
    """A recorded violation."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    customer_id: uuid.UUID
    kind: str
    occurred_on: date
    note: str | None
    recorded_by: str
    recorded_at: datetime


class AssignmentOut(BaseModel):
    """One manager assignment of a shop."""

    model_config = ConfigDict(from_attributes=True)

    manager_id: uuid.UUID | None
    previous_manager_id: uuid.UUID | None
    effective_date: date
    assigned_by: str
    assigned_at: datetime
