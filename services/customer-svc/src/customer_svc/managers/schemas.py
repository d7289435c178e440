"""Request and response models of managers, territories and the workload report."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from customer_svc.customers.schemas import Code, DistrictCode, LicenseNo, PersonName, Reason
from retailcare_shared.http import InputModel

EmployeeNo = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_\-]{1,30}$")]


class ManagerIn(InputModel):
    """POST /managers."""

    employee_no: EmployeeNo
    name: PersonName
    county: Code
    districts: Annotated[list[DistrictCode], Field(max_length=200)] = []


class ManagerOut(BaseModel):
    """A customer manager."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    employee_no: str
    name: str
    county: str
    districts: list[str]
    created_at: datetime
    version: int = 1
    updated_at: datetime | None = None
    retired_at: datetime | None = None


class ManagerPatch(InputModel):
    """PATCH /managers/{id}: name and territories (employee number and county are fixed)."""

    name: PersonName | None = None
    districts: Annotated[list[DistrictCode], Field(max_length=200)] | None = None


class RetireIn(InputModel):
    """POST /managers/{id}/retire: `reassign_to` takes over the manager's shops."""

    effective_date: date
    reason: Reason | None = None
    reassign_to: uuid.UUID | None = None


class RetireOut(BaseModel):
    """A retired manager and how many shops moved to their successor."""

    manager: ManagerOut
    reassigned_shops: int


MAX_ASSIGNMENTS = 1000


class AssignmentItem(InputModel):
    """One shop (by id or licence) and the manager it moves to (null: nobody)."""

    customer_id: uuid.UUID | None = None
    license_no: LicenseNo | None = None
    manager_id: uuid.UUID | None


class AssignmentBatchIn(InputModel):
    """POST /manager-assignments/batch."""

    effective_date: date
    reason: Reason | None = None
    assignments: Annotated[list[AssignmentItem], Field(min_length=1, max_length=MAX_ASSIGNMENTS)]


class AssignmentResult(BaseModel):
    """What happened to one item of a batch, in request order."""

    index: int
    customer_id: uuid.UUID | None
    status: Literal["assigned", "unchanged", "rejected"]
    errors: list[dict[str, str]] = []


class AssignmentBatchOut(BaseModel):
    """Counts and per-item results of a batch."""

    assigned: int
    unchanged: int
    rejected: int
    results: list[AssignmentResult]


class WorkloadRow(BaseModel):
    """One manager's load: shops, small and rural shops, visits and minutes over 30 days."""

    manager_id: uuid.UUID
    employee_no: str
    name: str
    county: str
    districts: int
    shops: int
    small_shops: int
    small_share: float | None
    rural_shops: int
    rural_share: float | None
    shops_per_district: float | None
    visits_30d: int
    average_visit_minutes: float | None


class WorkloadReport(BaseModel):
    """GET /managers/workload."""

    county: str | None
    items: list[WorkloadRow]
