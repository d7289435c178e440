"""Event contracts: the envelope and a typed payload model for every event in spec/events.md.

Producers and consumers both use these models. Payloads ignore unknown fields (forward
compatibility); an envelope whose `schema_version` this code cannot read is rejected.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

SCHEMA_VERSION = 1

CUSTOMER_EVENTS = "customer-events"
ORDER_EVENTS = "order-events"
COMPLAINT_EVENTS = "complaint-events"
SURVEY_EVENTS = "survey-events"
VALUATION_EVENTS = "valuation-events"
TOPICS = (CUSTOMER_EVENTS, ORDER_EVENTS, COMPLAINT_EVENTS, SURVEY_EVENTS, VALUATION_EVENTS)


def dlq_topic(topic: str) -> str:
    """The dead-letter twin of a topic."""
    return f"{topic}.dlq"


# Money travels as a decimal string with two decimals ("1234.50"), never as a float.
Money = Annotated[
    Decimal,
    PlainSerializer(lambda value: f"{value.quantize(Decimal('0.01'))}", return_type=str),
]

CustomerStatus = Literal["active", "suspended", "exited"]
ViolationKind = Literal["counterfeit", "smuggled", "non_channel", "violent_resistance", "other"]
Settlement = Literal["e_settlement", "cash"]
ComplainantType = Literal["retailer", "consumer"]
ValueClass = Literal["A", "B", "C", "D", "problem"]
Quadrant = Literal["value", "sub_value", "potential", "low_value"]
EscalationReason = Literal["acknowledge_overdue", "resolve_overdue", "manual"]


class Payload(BaseModel):
    """Base of every event payload: unknown fields are ignored, values are immutable."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class CustomerSnapshot(Payload):
    """The customer as published on the bus: never personal data."""

    customer_id: uuid.UUID
    license_no: str
    name: str
    county: str
    district: str | None = None
    market_type: str
    trading_area: str | None = None
    business_format: str | None = None
    scale: str | None = None
    order_method: str | None = None
    manager_id: uuid.UUID | None = None
    status: CustomerStatus
    licensed_on: date | None = None
    self_operated: bool = False
    business_hours: float | None = None
    display_form: str | None = None
    renown: str | None = None
    reputation: str | None = None
    compliance_grade: str | None = None
    price_labeling: str | None = None
    display_sku_count: int | None = None


class CustomerRegistered(CustomerSnapshot):
    """customer.registered"""


class CustomerUpdated(CustomerSnapshot):
    """customer.updated"""

    changed_fields: list[str]
    version: int


class CustomerStatusChanged(Payload):
    """customer.status_changed"""

    customer_id: uuid.UUID | None = None
    status: CustomerStatus
    reason: str | None = None
    effective_date: date


class CustomerManagerAssigned(Payload):
    """customer.manager_assigned"""

    customer_id: uuid.UUID | None = None
    manager_id: uuid.UUID | None
    previous_manager_id: uuid.UUID | None = None
    effective_date: date


class CustomerViolationRecorded(Payload):
    """customer.violation_recorded"""

    customer_id: uuid.UUID | None = None
    violation_id: uuid.UUID
    kind: ViolationKind
    occurred_on: date


class CustomerPersonalDataErased(Payload):
    """customer.personal_data_erased: the shop's personal data was erased (PIPL); no personal
    data travels, only which shop and when, so holders of its contacts blank theirs."""

    customer_id: uuid.UUID
    erased_at: datetime


class OrderLine(Payload):
    """One line of an order."""

    sku: str
    brand: str
    quantity: int
    unit_price: Money
    amount: Money
    gross_profit: Money
    key_brand: bool = False
    promoted: bool = False


class OrderPlaced(Payload):
    """order.placed"""

    order_id: uuid.UUID
    order_no: str
    customer_id: uuid.UUID
    order_date: date
    settlement: Settlement
    total_amount: Money
    total_quantity: int
    lines: list[OrderLine]


class OrderCancelled(Payload):
    """order.cancelled"""

    order_id: uuid.UUID
    order_no: str
    customer_id: uuid.UUID | None = None
    reason: str | None = None


class ComplaintFiled(Payload):
    """complaint.filed"""

    complaint_id: uuid.UUID
    customer_id: uuid.UUID | None
    complainant_type: ComplainantType
    channel: str
    category: str
    service_item: str | None = None
    company_responsible: bool | None = None
    is_repeat: bool = False
    repeat_of: uuid.UUID | None = None
    priority: str
    filed_at: datetime
    due_at: datetime | None = None
    # Set on the repeat row a reopen records: the same grievance again, not a new complaint
    # (consumers counting complaints per shop count it once). Absent for every intake.
    reopened_from: uuid.UUID | None = None


class ComplaintCustomerAttached(Payload):
    """complaint.customer_attached: the shop of a complaint filed without one became known."""

    complaint_id: uuid.UUID
    customer_id: uuid.UUID
    attached_by: str


class ComplaintAssigned(Payload):
    """complaint.assigned"""

    complaint_id: uuid.UUID
    assignee: str
    assigned_by: str


class ComplaintEscalated(Payload):
    """complaint.escalated"""

    complaint_id: uuid.UUID
    reason: EscalationReason
    escalated_to: str


class ComplaintResolved(Payload):
    """complaint.resolved"""

    complaint_id: uuid.UUID
    customer_id: uuid.UUID | None
    resolved_at: datetime
    resolution_summary: str


class ComplaintClosed(Payload):
    """complaint.closed"""

    complaint_id: uuid.UUID
    callback_satisfied: bool | None = None


class ComplaintReopened(Payload):
    """complaint.reopened"""

    complaint_id: uuid.UUID
    reason: str
    repeat_complaint_id: uuid.UUID | None = None


class SurveyResponseRecorded(Payload):
    """survey.response_recorded"""

    campaign_id: uuid.UUID
    response_id: uuid.UUID
    customer_id: uuid.UUID
    overall_gap: float | None = None
    satisfaction_index: float | None = None


class SurveyCallbackCompleted(Payload):
    """survey.callback_completed"""

    complaint_id: uuid.UUID
    customer_id: uuid.UUID | None
    response_id: uuid.UUID
    satisfied: bool
    comment: str | None = None


class ValuationCustomerClassified(Payload):
    """valuation.customer_classified"""

    customer_id: uuid.UUID
    period: str
    run_id: uuid.UUID
    value_class: ValueClass
    previous_class: ValueClass | None = None
    quadrant: Quadrant | None = None
    total_score: float
    credit_score: float | None = None


EVENT_TYPES: dict[str, tuple[str, type[Payload]]] = {
    "customer.registered": (CUSTOMER_EVENTS, CustomerRegistered),
    "customer.updated": (CUSTOMER_EVENTS, CustomerUpdated),
    "customer.status_changed": (CUSTOMER_EVENTS, CustomerStatusChanged),
    "customer.manager_assigned": (CUSTOMER_EVENTS, CustomerManagerAssigned),
    "customer.violation_recorded": (CUSTOMER_EVENTS, CustomerViolationRecorded),
    "customer.personal_data_erased": (CUSTOMER_EVENTS, CustomerPersonalDataErased),
    "order.placed": (ORDER_EVENTS, OrderPlaced),
    "order.cancelled": (ORDER_EVENTS, OrderCancelled),
    "complaint.filed": (COMPLAINT_EVENTS, ComplaintFiled),
    "complaint.customer_attached": (COMPLAINT_EVENTS, ComplaintCustomerAttached),
    "complaint.assigned": (COMPLAINT_EVENTS, ComplaintAssigned),
    "complaint.escalated": (COMPLAINT_EVENTS, ComplaintEscalated),
    "complaint.resolved": (COMPLAINT_EVENTS, ComplaintResolved),
    "complaint.closed": (COMPLAINT_EVENTS, ComplaintClosed),
    "complaint.reopened": (COMPLAINT_EVENTS, ComplaintReopened),
    "survey.response_recorded": (SURVEY_EVENTS, SurveyResponseRecorded),
    "survey.callback_completed": (SURVEY_EVENTS, SurveyCallbackCompleted),
    "valuation.customer_classified": (VALUATION_EVENTS, ValuationCustomerClassified),
}
PAYLOAD_TYPES: dict[type[Payload], str] = {model: name for name, (_, model) in EVENT_TYPES.items()}


class Envelope(BaseModel):
    """The message value every event travels in (spec/events.md)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    source: str
    subject: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    schema_version: int = SCHEMA_VERSION
    correlation_id: str | None = None
    data: dict[str, Any]

    @property
    def topic(self) -> str:
        """The topic this event type is published on."""
        return EVENT_TYPES[self.type][0]

    def payload(self) -> Payload:
        """The typed payload of this envelope."""
        return EVENT_TYPES[self.type][1].model_validate(self.data)


class UnreadableEvent(ValueError):
    """A message that cannot be decoded into a known envelope and payload."""


def build_envelope(
    payload: Payload, *, source: str, subject: str, correlation_id: str | None = None
) -> Envelope:
    """Wrap a typed payload in a new envelope (new id, current time)."""
    return Envelope(
        type=PAYLOAD_TYPES[type(payload)],
        source=source,
        subject=subject,
        correlation_id=correlation_id,
        data=payload.model_dump(mode="json"),
    )


def encode(envelope: Envelope) -> bytes:
    """Serialise an envelope to the UTF-8 JSON message value."""
    return envelope.model_dump_json().encode()


def decode(value: bytes | None) -> tuple[Envelope, Payload]:
    """Parse a message value; raise UnreadableEvent with the reason if it cannot be read."""
    if value is None:
        raise UnreadableEvent("empty message value")
    try:
        envelope = Envelope.model_validate_json(value)
    except ValueError as error:
        raise UnreadableEvent(f"invalid envelope: {error}") from None
    if envelope.schema_version != SCHEMA_VERSION:
        raise UnreadableEvent(
            f"unsupported schema_version {envelope.schema_version} for {envelope.type}"
        )
    if envelope.type not in EVENT_TYPES:
        raise UnreadableEvent(f"unknown event type {envelope.type!r}")
    try:
        return envelope, envelope.payload()
    except ValueError as error:
        raise UnreadableEvent(f"invalid {envelope.type} payload: {error}") from None
