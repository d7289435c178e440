"""Request and response models of visits and the coverage report."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from customer_svc.customers.schemas import Text500, Text2000
from retailcare_shared.http import InputModel

Purpose = Literal[
    "routine",
    "ordering_assist",
    "business_guidance",
    "issue_handling",
    "relationship",
    "inspection",
]


class Checklist(InputModel):
    """What the manager checked at the shop."""

    license_displayed: bool
    signage_displayed: bool
    display_compliant: bool
    price_tags_ok: bool
    inventory_checked: bool


class VisitIn(InputModel):
    """POST /visits."""

    customer_id: uuid.UUID
    manager_id: uuid.UUID
    started_at: AwareDatetime
    ended_at: AwareDatetime
    purpose: Purpose
    checklist: Checklist
    findings: Text2000 | None = None
    customer_requests: Text2000 | None = None
    follow_ups: Annotated[list[Text500], Field(max_length=50)] = []


class VisitOut(BaseModel):
    """A recorded visit."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    customer_id: uuid.UUID
    manager_id: uuid.UUID
    started_at: datetime
    ended_at: datetime
    minutes: float
    purpose: str
    checklist: dict[str, bool]
    findings: str | None
    customer_requests: str | None
    follow_ups: list[str]
    perfunctory: bool
    recorded_by: str
    created_at: datetime


class CoverageRow(BaseModel):
    """One manager's coverage over the period."""

    manager_id: uuid.UUID
    employee_no: str
    name: str
    assigned_shops: int
    shops_visited: int
    coverage: float | None
    visits: int
    average_minutes: float | None
    perfunctory_visits: int
    perfunctory_share: float | None
    small_shops: int
    small_shops_visited: int
    small_shop_coverage: float | None


class CoverageReport(BaseModel):
    """GET /visit-analytics/coverage."""

    county: str | None
    start: str
    end: str
    items: list[CoverageRow]
