"""Request and response models of managers, territories and the workload report."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from customer_svc.customers.schemas import Code, DistrictCode, PersonName
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
