"""Every event type in events.md round-trips through the envelope; bad messages are refused."""

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from retailcare_shared import events
from retailcare_shared.events import EVENT_TYPES, UnreadableEvent, build_envelope, decode, encode

CUSTOMER = uuid.uuid4()
SNAPSHOT = {
    "customer_id": CUSTOMER,
    "license_no": "330100123456",
    "name": "Lucky Store",
    "county": "330102",
    "district": "D1",
    "market_type": "urban",
    "trading_area": "residential",
    "business_format": "convenience_store",
    "scale": "small",
    "order_method": "online",
    "manager_id": uuid.uuid4(),
    "status": "active",
    "licensed_on": date(2020, 5, 1),
    "self_operated": False,
    "business_hours": 16,
    "display_form": "cabinet",
    "renown": "high",
    "reputation": "good",
    "compliance_grade": "A",
    "price_labeling": "complete",
    "display_sku_count": 12,
}
LINE = {
    "sku": "6901028",
    "brand": "Zhonghua",
    "quantity": 2,
    "unit_price": Decimal("450.00"),
    "amount": Decimal("900.00"),
    "gross_profit": Decimal("90.50"),
    "key_brand": True,
    "promoted": False,
}
NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
SAMPLES = {
    "customer.registered": SNAPSHOT,
    "customer.updated": {**SNAPSHOT, "changed_fields": ["name"], "version": 2},
    "customer.status_changed": {
        "status": "suspended",
        "reason": "licence review",
        "effective_date": date(2026, 11, 1),
    },
    "customer.manager_assigned": {
        "manager_id": uuid.uuid4(),
        "previous_manager_id": None,
        "effective_date": date(2026, 11, 1),
    },
    "customer.violation_recorded": {
        "violation_id": uuid.uuid4(),
        "kind": "smuggled",
        "occurred_on": date(2026, 10, 3),
    },
    "customer.personal_data_erased": {"customer_id": CUSTOMER, "erased_at": NOW},
    "order.placed": {
        "order_id": uuid.uuid4(),
        "order_no": "ORD-1",
        "customer_id": CUSTOMER,
        "order_date": date(2026, 11, 20),
        "settlement": "e_settlement",
        "total_amount": Decimal("900.00"),
        "total_quantity": 2,
        "lines": [LINE],
    },
    "order.cancelled": {"order_id": uuid.uuid4(), "order_no": "ORD-1", "reason": "duplicate"},
    "complaint.filed": {
        "complaint_id": uuid.uuid4(),
        "customer_id": CUSTOMER,
        "complainant_type": "consumer",
        "channel": "hotline",
        "category": "service_attitude",
        "service_item": "delivery",
        "company_responsible": True,
        "is_repeat": False,
        "repeat_of": None,
        "priority": "normal",
        "filed_at": NOW,
        "due_at": NOW,
        "reopened_from": uuid.uuid4(),
    },
    "complaint.customer_attached": {
        "complaint_id": uuid.uuid4(),
        "customer_id": CUSTOMER,
        "attached_by": "agent-3",
    },
    "complaint.assigned": {"complaint_id": uuid.uuid4(), "assignee": "u-7", "assigned_by": "u-1"},
    "complaint.escalated": {
        "complaint_id": uuid.uuid4(),
        "reason": "resolve_overdue",
        "escalated_to": "supervisor",
    },
    "complaint.resolved": {
        "complaint_id": uuid.uuid4(),
        "customer_id": CUSTOMER,
        "resolved_at": NOW,
        "resolution_summary": "redelivered",
    },
    "complaint.closed": {"complaint_id": uuid.uuid4(), "callback_satisfied": True},
    "complaint.reopened": {
        "complaint_id": uuid.uuid4(),
        "reason": "callback unsatisfied",
        "repeat_complaint_id": uuid.uuid4(),
    },
    "survey.response_recorded": {
        "campaign_id": uuid.uuid4(),
        "response_id": uuid.uuid4(),
        "customer_id": CUSTOMER,
        "overall_gap": -0.42,
        "satisfaction_index": 81.5,
    },
    "survey.callback_completed": {
        "complaint_id": uuid.uuid4(),
        "customer_id": CUSTOMER,
        "response_id": uuid.uuid4(),
        "satisfied": False,
        "comment": "still late",
    },
    "valuation.customer_classified": {
        "customer_id": CUSTOMER,
        "period": "2026-10",
        "run_id": uuid.uuid4(),
        "value_class": "A",
        "previous_class": "B",
        "quadrant": "value",
        "total_score": 91.2,
        "credit_score": 18,
    },
}


def test_every_event_type_has_a_sample() -> None:
    assert set(SAMPLES) == set(EVENT_TYPES)


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_event_round_trips(event_type: str) -> None:
    topic, model = EVENT_TYPES[event_type]
    payload = model(**SAMPLES[event_type])
    envelope = build_envelope(payload, source="test", subject=str(CUSTOMER), correlation_id="req-1")

    decoded, decoded_payload = decode(encode(envelope))

    assert decoded == envelope
    assert decoded.type == event_type
    assert decoded.topic == topic
    assert decoded_payload == payload


def test_a_manual_escalation_names_whom_it_went_to() -> None:
    payload = events.ComplaintEscalated(
        complaint_id=uuid.uuid4(), reason="manual", escalated_to="county-head-7"
    )
    _, decoded = decode(encode(build_envelope(payload, source="t", subject="s")))
    assert decoded == payload


def test_money_travels_as_two_decimal_strings() -> None:
    payload = events.OrderPlaced(**SAMPLES["order.placed"])
    data = json.loads(encode(build_envelope(payload, source="t", subject="s")))["data"]
    assert data["total_amount"] == "900.00"
    assert data["lines"][0]["gross_profit"] == "90.50"


def test_unknown_fields_are_ignored() -> None:
    envelope = build_envelope(
        events.ComplaintClosed(complaint_id=uuid.uuid4()), source="t", subject="s"
    )
    raw = json.loads(encode(envelope))
    raw["data"]["added_later"] = 1
    raw["also_new"] = True
    decoded, payload = decode(json.dumps(raw).encode())
    assert decoded.id == envelope.id
    assert isinstance(payload, events.ComplaintClosed)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"not json", "invalid envelope"),
        (None, "empty"),
        (
            json.dumps(
                {
                    "id": str(uuid.uuid4()),
                    "type": "complaint.closed",
                    "source": "t",
                    "subject": "s",
                    "schema_version": 2,
                    "data": {"complaint_id": str(uuid.uuid4())},
                }
            ).encode(),
            "unsupported schema_version 2",
        ),
        (
            json.dumps(
                {
                    "id": str(uuid.uuid4()),
                    "type": "nobody.knows",
                    "source": "t",
                    "subject": "s",
                    "data": {},
                }
            ).encode(),
            "unknown event type",
        ),
        (
            json.dumps(
                {
                    "id": str(uuid.uuid4()),
                    "type": "complaint.closed",
                    "source": "t",
                    "subject": "s",
                    "data": {"complaint_id": "not-a-uuid"},
                }
            ).encode(),
            "invalid complaint.closed payload",
        ),
    ],
)
def test_unreadable_messages_are_refused_with_the_reason(value: bytes | None, reason: str) -> None:
    with pytest.raises(UnreadableEvent, match=reason):
        decode(value)
