"""Request and response models of the complaint endpoints."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from complaint_svc.complaints.catalogue import Channel, ComplainantType, Priority, ServiceItem
from retailcare_shared.http import InputModel


class ComplaintIn(InputModel):
    """A complaint as the call centre takes it."""

    customer_id: uuid.UUID | None = None
    complainant_type: ComplainantType
    complainant_name: str | None = Field(default=None, max_length=100)
    complainant_phone: str | None = Field(default=None, pattern=r"^\+?[0-9\- ]{5,20}$")
    channel: Channel
    category: str = Field(min_length=1, max_length=64)
    service_item: ServiceItem = "other"
    company_responsible: bool | None = None
    description: str = Field(min_length=5, max_length=4000)
    priority: Priority = "normal"
    # 首问负责制 needs a named person: the staff id of whoever took it, never a service token.
    received_by: str = Field(min_length=1, max_length=100)
    repeat_of: uuid.UUID | None = None


class AssignIn(InputModel):
    """Assign or hand over a complaint."""

    assignee: str = Field(min_length=1, max_length=100)
    note: str | None = Field(default=None, max_length=2000)


class ResolveIn(InputModel):
    """Resolve a complaint."""

    resolution: str = Field(min_length=1, max_length=4000)
    root_cause: str = Field(min_length=1, max_length=2000)


class CloseIn(InputModel):
    """Close a resolved complaint after the callback."""

    callback_satisfied: bool


class ReopenIn(InputModel):
    """Reopen a resolved or closed complaint."""

    reason: str = Field(min_length=1, max_length=2000)


class NoteIn(InputModel):
    """A note on the timeline."""

    text: str = Field(min_length=1, max_length=4000)


class AttachCustomerIn(InputModel):
    """Name the shop of a complaint filed without one."""

    customer_id: uuid.UUID
    note: str | None = Field(default=None, max_length=2000)


class EscalateIn(InputModel):
    """A supervisor's manual escalation to a named person."""

    escalated_to: str = Field(min_length=1, max_length=100)
    note: str | None = Field(default=None, max_length=2000)


class StartIn(InputModel):
    """Start working on an assigned complaint (optional note)."""

    note: str | None = Field(default=None, max_length=2000)


class ComplaintOut(BaseModel):
    """A complaint as returned by the API (contact masked for roles without need)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    ref: str
    status: str
    customer_id: uuid.UUID | None
    customer_verified: bool
    complainant_type: str
    complainant_name: str | None
    complainant_phone: str | None
    channel: str
    category: str
    service_item: str
    company_responsible: bool
    description: str
    priority: str
    is_repeat: bool
    repeat_of: uuid.UUID | None
    filed_at: datetime
    acknowledge_due_at: datetime
    resolve_due_at: datetime
    overdue: bool
    received_by: str
    assignee: str | None
    resolution: str | None
    root_cause: str | None
    callback_satisfied: bool | None
    reopen_count: int
    county: str | None
    district: str | None
    version: int


class TimelineOut(BaseModel):
    """One timeline entry."""

    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    note: str | None
    details: dict[str, Any] | None


class CategoryOut(BaseModel):
    """One catalogue entry."""

    code: str
    group: str
    label: str


class RootCause(InputModel):
    """One root cause of a case."""

    cause: str = Field(min_length=1, max_length=1000)
    primary: bool = False


class Countermeasure(InputModel):
    """One countermeasure with its owner and due date."""

    action: str = Field(min_length=1, max_length=1000)
    owner: str = Field(min_length=1, max_length=100)
    due: date


class CaseAnalysisIn(InputModel):
    """The seeds' steps: reconstruct, key points, root causes, countermeasures, report."""

    reconstruction: str = Field(min_length=1, max_length=10000)
    key_points: list[str] = Field(default_factory=list, max_length=50)
    root_causes: list[RootCause] = Field(min_length=1, max_length=20)
    countermeasures: list[Countermeasure] = Field(default_factory=list, max_length=50)
    responsible_parties: list[str] = Field(default_factory=list, max_length=50)
    report: str = Field(min_length=1, max_length=20000)


class CaseAnalysisOut(BaseModel):
    """A stored case analysis."""

    model_config = ConfigDict(from_attributes=True)

    complaint_id: uuid.UUID
    reconstruction: str
    key_points: list[str]
    root_causes: list[dict[str, Any]]
    countermeasures: list[dict[str, Any]]
    responsible_parties: list[str]
    report: str
    author: str
    updated_at: datetime
    version: int
