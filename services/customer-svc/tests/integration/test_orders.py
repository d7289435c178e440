"""Orders from the ordering platform: single, batch, duplicates, cancel, reads, events."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from customer_svc.orders.models import Order, OrderLine
from retailcare_shared.events import ORDER_EVENTS
from retailcare_shared.platform_tables import OutboxMessage
from retailcare_shared.testing import ServiceUnderTest, TestBus


def order(customer_id: str, order_no: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A valid order of two lines."""
    body: dict[str, Any] = {
        "order_no": order_no or "PO" + uuid.uuid4().hex[:12],
        "customer_id": customer_id,
        "order_date": date.today().isoformat(),
        "settlement": "e_settlement",
        "lines": [
            {
                "sku": "6901028075862",
                "brand": "Liqun",
                "quantity": 3,
                "unit_price": "230.50",
                "gross_profit": "90.00",
                "key_brand": True,
            },
            {
                "sku": "6901028001557",
                "brand": "Zhonghua",
                "quantity": 2,
                "unit_price": 450.1,
                "gross_profit": 120,
                "promoted": True,
            },
        ],
    }
    body.update(overrides)
    return body


async def counts(service: ServiceUnderTest) -> tuple[int, int, int]:
    async with service.database.transaction() as session:
        orders = await session.scalar(select(func.count()).select_from(Order))
        lines = await session.scalar(select(func.count()).select_from(OrderLine))
        placed = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.event_type == "order.placed")
        )
    return int(orders or 0), int(lines or 0), int(placed or 0)


async def test_single_order_amounts_idempotency_and_duplicates(
    service: ServiceUnderTest, api: Any, bus: TestBus
) -> None:
    client = service.http
    shop = await api.register()
    body = order(shop["id"], "PO-1")
    headers = {**api.PLATFORM, "Idempotency-Key": "k-1"}
    created = await client.post("/api/v1/orders", json=body, headers=headers)
    assert created.status_code == 201, created.text
    placed = created.json()
    assert placed["total_amount"] == "1591.70" and placed["total_quantity"] == 5
    assert [line["amount"] for line in placed["lines"]] == ["691.50", "900.20"]

    replay = await client.post("/api/v1/orders", json=body, headers=headers)
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["id"] == placed["id"]
    resent = await client.post("/api/v1/orders", json=body, headers=api.PLATFORM)
    assert resent.status_code == 409 and resent.json()["order_id"] == placed["id"]
    assert await counts(service) == (1, 2, 1)

    by_license = await client.post(
        "/api/v1/orders",
        json={**order("", "PO-2"), "customer_id": None, "license_no": shop["license_no"]},
        headers=api.PLATFORM,
    )
    assert by_license.status_code == 201 and by_license.json()["customer_id"] == shop["id"]

    events = await bus.events(ORDER_EVENTS, expected=2, event_type="order.placed")
    first = events[0]
    assert first.subject == shop["id"]
    assert first.data["order_no"] == "PO-1" and first.data["total_amount"] == "1591.70"
    assert first.data["lines"][0] == {
        "sku": "6901028075862",
        "brand": "Liqun",
        "quantity": 3,
        "unit_price": "230.50",
        "amount": "691.50",
        "gross_profit": "90.00",
        "key_brand": True,
        "promoted": False,
    }

    fetched = await client.get(f"/api/v1/orders/{placed['id']}", headers=api.CALL_CENTER)
    assert fetched.status_code == 200 and len(fetched.json()["lines"]) == 2
    stranger = api.manager_token(uuid.uuid4())
    hidden = await client.get(f"/api/v1/orders/{placed['id']}", headers=stranger)
    assert hidden.status_code == 404
    listed = await client.get(
        f"/api/v1/customers/{shop['id']}/orders?from=2000-01-01&to=2100-01-01", headers=api.ADMIN
    )
    assert {item["order_no"] for item in listed.json()["items"]} == {"PO-1", "PO-2"}
    none = await client.get(
        f"/api/v1/customers/{shop['id']}/orders?to=2000-01-01", headers=api.ADMIN
    )
    assert none.json()["items"] == []

    cancelled = await client.post(
        f"/api/v1/orders/{placed['id']}/cancel", json={"reason": "shop asked"}, headers=api.PLATFORM
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    twice = await client.post(
        f"/api/v1/orders/{placed['id']}/cancel", json={"reason": "again"}, headers=api.PLATFORM
    )
    assert twice.status_code == 409
    [cancel_event] = await bus.events(ORDER_EVENTS, expected=1, event_type="order.cancelled")
    assert cancel_event.data["order_no"] == "PO-1" and cancel_event.data["reason"] == "shop asked"
    forbidden = await client.post("/api/v1/orders", json=order(shop["id"]), headers=api.CALL_CENTER)
    assert forbidden.status_code == 403


async def test_single_order_rules(service: ServiceUnderTest, api: Any) -> None:
    client = service.http
    shop = await api.register()
    exited = await api.register()
    await client.post(
        f"/api/v1/customers/{exited['id']}/status",
        json={"status": "exited", "reason": "closed", "effective_date": "2026-11-01"},
        headers=api.ADMIN,
    )
    too_late = (date.today() + timedelta(days=3)).isoformat()
    line = order(shop["id"])["lines"][0]
    cases = [
        (order(str(uuid.uuid4())), "customer_id", "not_found"),
        (order(exited["id"]), "customer_id", "customer_exited"),
        (order(shop["id"], order_date=too_late), "order_date", "not_after_tomorrow"),
        (order(shop["id"], lines=[]), "lines", "too_short"),
        (order(shop["id"], lines=[line] * 201), "lines", "too_long"),
        (
            order(shop["id"], lines=[{**line, "quantity": 0}]),
            "lines.0.quantity",
            "greater_than_equal",
        ),
        (
            order(shop["id"], lines=[{**line, "quantity": 1.5}]),
            "lines.0.quantity",
            "int_from_float",
        ),
        (
            order(shop["id"], lines=[{**line, "unit_price": "0"}]),
            "lines.0.unit_price",
            "greater_than",
        ),
        (
            order(shop["id"], lines=[{**line, "gross_profit": "-1"}]),
            "lines.0.gross_profit",
            "greater_than_equal",
        ),
        (order(shop["id"], lines=[{**line, "amount": "1"}]), "lines.0.amount", "extra_forbidden"),
        (order(shop["id"], settlement="barter"), "settlement", "literal_error"),
        (
            order(shop["id"], lines=[{**line, "unit_price": "1.005"}]),
            "lines.0.unit_price",
            "decimal_places",
        ),
        (
            order(shop["id"], lines=[{**line, "unit_price": "NaN"}]),
            "lines.0.unit_price",
            "finite_number",
        ),
        ({**order(shop["id"]), "customer_id": None}, "customer_id", "required"),
    ]
    for body, field, rule in cases:
        response = await client.post("/api/v1/orders", json=body, headers=api.PLATFORM)
        assert response.status_code == 422, (field, response.text)
        assert (field, rule) in {(e["field"], e["rule"]) for e in response.json()["errors"]}, (
            field,
            response.text,
        )
    assert await counts(service) == (0, 0, 0)


async def test_batch_reports_each_order_and_emits_one_event_per_new_order(
    service: ServiceUnderTest, api: Any, bus: TestBus
) -> None:
    client = service.http
    shop = await api.register()
    stored = await client.post(
        "/api/v1/orders", json=order(shop["id"], "OLD-1"), headers=api.PLATFORM
    )
    assert stored.status_code == 201
    batch = [
        order(shop["id"], "NEW-1"),
        order(shop["id"], "OLD-1"),  # stored before: duplicate
        order(shop["id"], "NEW-2", lines=[]),  # invalid
        order(str(uuid.uuid4()), "NEW-3"),  # unknown shop
        order(shop["id"], "NEW-1"),  # repeated inside the batch: duplicate
        {"order_no": 5},  # not even an order
        {**order("", "NEW-4"), "customer_id": None, "license_no": shop["license_no"]},
    ]
    response = await client.post(
        "/api/v1/orders/batch", json={"orders": batch}, headers=api.PLATFORM
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["accepted"], result["duplicates"], result["rejected"]) == (2, 2, 3)
    statuses = [(r["order_no"], r["status"]) for r in result["results"]]
    assert statuses == [
        ("NEW-1", "accepted"),
        ("OLD-1", "duplicate"),
        ("NEW-2", "rejected"),
        ("NEW-3", "rejected"),
        ("NEW-1", "duplicate"),
        (None, "rejected"),
        ("NEW-4", "accepted"),
    ]
    results = result["results"]
    assert results[1]["order_id"] == stored.json()["id"]
    assert results[4]["order_id"] == results[0]["order_id"]
    assert results[2]["errors"][0]["field"] == "lines"
    assert results[3]["errors"] == [
        {"field": "customer_id", "rule": "not_found", "message": "no such customer"}
    ]
    assert {e["field"] for e in results[5]["errors"]} >= {"order_no", "order_date", "lines"}
    assert await counts(service) == (3, 6, 3)

    again = await client.post("/api/v1/orders/batch", json={"orders": batch}, headers=api.PLATFORM)
    assert again.json()["accepted"] == 0 and again.json()["duplicates"] == 4
    assert await counts(service) == (3, 6, 3)

    events = await bus.events(ORDER_EVENTS, expected=3, event_type="order.placed")
    assert sorted(event.data["order_no"] for event in events) == ["NEW-1", "NEW-4", "OLD-1"]
    # Nothing more arrives: exactly one order.placed per stored order.
    late = await bus.events(ORDER_EVENTS, expected=4, event_type="order.placed", timeout=3)
    assert len(late) == 3

    too_many = await client.post(
        "/api/v1/orders/batch", json={"orders": [order(shop["id"])] * 1001}, headers=api.PLATFORM
    )
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "orders"


async def test_full_size_batch_is_accepted(service: ServiceUnderTest, api: Any) -> None:
    shop = await api.register()
    line = order(shop["id"])["lines"][0]
    batch = [
        order(shop["id"], f"BIG-{index}", lines=[{**line, "sku": f"SKU{n}"} for n in range(10)])
        for index in range(1000)
    ]
    response = await service.http.post(
        "/api/v1/orders/batch", json={"orders": batch}, headers=api.PLATFORM
    )
    assert response.status_code == 200, response.text[:500]
    assert response.json()["accepted"] == 1000
    assert await counts(service) == (1000, 10000, 1000)
    oversized = await service.http.post(
        "/api/v1/customers",
        content=b'{"name": "' + b"x" * 1_100_000 + b'"}',
        headers={**api.ADMIN, "content-type": "application/json"},
    )
    assert oversized.status_code == 413
