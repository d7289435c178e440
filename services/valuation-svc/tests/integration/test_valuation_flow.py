"""Orders, complaints and violations in as events → a valuation run → classes, events."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from retailcare_shared.events import (
    VALUATION_EVENTS,
    ComplaintFiled,
    CustomerManagerAssigned,
    CustomerRegistered,
    CustomerStatusChanged,
    CustomerViolationRecorded,
    Envelope,
    OrderCancelled,
    OrderLine,
    OrderPlaced,
    build_envelope,
)
from retailcare_shared.testing import ServiceUnderTest, TestBus, bearer, eventually


def registered(customer_id: uuid.UUID, **changes: Any) -> Envelope:
    """customer.registered with a complete, good snapshot."""
    values: dict[str, Any] = {
        "customer_id": customer_id,
        "license_no": f"L{customer_id.hex[:10]}",
        "name": "shop",
        "county": "C1",
        "district": "D1",
        "market_type": "urban",
        "trading_area": "commercial",
        "business_format": "convenience",
        "scale": "medium",
        "order_method": "phone",
        "manager_id": None,
        "status": "active",
        "licensed_on": date(2020, 1, 1),
        "self_operated": False,
        "business_hours": 16.0,
        "display_form": "shelf",
        "renown": "street",
        "reputation": "good",
        "compliance_grade": "A",
        "price_labeling": "price_board",
        "display_sku_count": 15,
    }
    values.update(changes)
    return build_envelope(
        CustomerRegistered(**values), source="customer-svc", subject=str(customer_id)
    )


def order(
    customer_id: uuid.UUID,
    day: date,
    cartons: int,
    *,
    price: str = "250.00",
    settlement: str = "e_settlement",
    skus: int = 12,
    order_id: uuid.UUID | None = None,
) -> Envelope:
    """order.placed with `skus` key-brand lines sharing the cartons."""
    per_line = max(1, cartons // skus)
    lines = [
        OrderLine(
            sku=f"SKU{i:03d}",
            brand="B",
            quantity=per_line + (cartons - per_line * skus if i == 0 else 0),
            unit_price=Decimal(price),
            amount=Decimal(price) * (per_line + (cartons - per_line * skus if i == 0 else 0)),
            gross_profit=Decimal("20.00") * per_line,
            key_brand=True,
            promoted=i == 0,
        )
        for i in range(skus)
    ]
    total = sum((line.amount for line in lines), Decimal(0))
    return build_envelope(
        OrderPlaced(
            order_id=order_id or uuid.uuid4(),
            order_no="N1",
            customer_id=customer_id,
            order_date=day,
            settlement=settlement,  # type: ignore[arg-type]
            total_amount=total,
            total_quantity=sum(line.quantity for line in lines),
            lines=lines,
        ),
        source="customer-svc",
        subject=str(customer_id),
    )


def cancelled(customer_id: uuid.UUID, order_id: uuid.UUID) -> Envelope:
    """order.cancelled."""
    return build_envelope(
        OrderCancelled(order_id=order_id, order_no="N1", customer_id=customer_id, reason="x"),
        source="customer-svc",
        subject=str(customer_id),
    )


def complaint(customer_id: uuid.UUID, day: date, complainant: str = "consumer") -> Envelope:
    """complaint.filed against a shop."""
    return build_envelope(
        ComplaintFiled(
            complaint_id=uuid.uuid4(),
            customer_id=customer_id,
            complainant_type=complainant,  # type: ignore[arg-type]
            channel="phone",
            category="service",
            priority="normal",
            filed_at=datetime(day.year, day.month, day.day, 10, tzinfo=UTC),
        ),
        source="complaint-svc",
        subject=str(customer_id),
    )


def violation(customer_id: uuid.UUID, day: date, kind: str = "counterfeit") -> Envelope:
    """customer.violation_recorded."""
    return build_envelope(
        CustomerViolationRecorded(
            customer_id=customer_id,
            violation_id=uuid.uuid4(),
            kind=kind,  # type: ignore[arg-type]
            occurred_on=day,
        ),
        source="customer-svc",
        subject=str(customer_id),
    )


ADMIN = bearer(["admin"], sub="admin-1")
ANALYST = bearer(["analyst"], sub="analyst-1")
SUPERVISOR = bearer(["supervisor"], sub="sup-1", county="C1")
PERIOD = "2026H1"
AS_OF = date(2026, 6, 30)


async def wait_for_run(service: ServiceUnderTest, run_id: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        response = await service.http.get(f"/api/v1/valuation-runs/{run_id}", headers=ANALYST)
        body: dict[str, Any] = response.json()
        return body if body["status"] in ("completed", "failed") else None

    run: dict[str, Any] = await eventually(done)
    assert run["status"] == "completed", run
    return run


async def test_orders_complaints_violations_to_classes_quadrants_reasons_and_events(
    service: ServiceUnderTest, bus: TestBus
) -> None:
    manager = uuid.uuid4()
    other_manager = uuid.uuid4()
    shops = [uuid.uuid4() for _ in range(20)]
    top, complained, violator, stale, cancelled_shop = (
        shops[0],
        shops[1],
        shops[2],
        shops[3],
        shops[4],
    )
    self_operated, newcomer, exited, suspended = (uuid.uuid4() for _ in range(4))
    await bus.publish(
        *[
            registered(shop, manager_id=manager if i < 10 else other_manager)
            for i, shop in enumerate(shops)
        ],
        registered(self_operated, self_operated=True),
        registered(newcomer, licensed_on=date(2026, 6, 10)),
        registered(exited, status="exited"),
        registered(suspended),
        build_envelope(
            CustomerStatusChanged(
                customer_id=suspended, status="suspended", effective_date=date(2026, 6, 1)
            ),
            source="customer-svc",
            subject=str(suspended),
        ),
        # shops[10] moves from the other manager to ours
        build_envelope(
            CustomerManagerAssigned(
                customer_id=shops[10],
                manager_id=manager,
                previous_manager_id=other_manager,
                effective_date=date(2026, 6, 1),
            ),
            source="customer-svc",
            subject=str(shops[10]),
        ),
        # the complained-about shop is also poorly graded: credit 20 x (.5x60 + .3x0 + .2x0) = 6
        registered(complained, compliance_grade="C", price_labeling="none", manager_id=manager),
    )
    # Shop i sells 1200 - 40 i cartons in June; the top shop sells far more.
    orders = []
    for i, shop in enumerate(shops):
        if shop == stale:
            continue
        cartons = 24_000 if shop == top else 1200 - 40 * i
        orders.append(order(shop, date(2026, 6, 20), cartons))
    # The stale shop ordered only in March (no order in the 30 days up to as_of).
    for month in (3, 4, 5):
        orders.append(order(stale, date(2026, month, 10), 600))
    repeated = order(shops[5], date(2026, 6, 21), 120, settlement="cash")
    cancelled_id = uuid.uuid4()
    early_cancel = uuid.uuid4()
    await bus.publish(
        # a cancellation that overtakes its order leaves a tombstone: the order never counts
        cancelled(shops[8], early_cancel),
        order(shops[8], date(2026, 6, 23), 7000, order_id=early_cancel),
        *orders,
        repeated,
        repeated,  # a re-delivered order changes nothing
        order(cancelled_shop, date(2026, 6, 22), 5000, order_id=cancelled_id),
        cancelled(cancelled_shop, cancelled_id),
    )
    await bus.publish(
        *[complaint(complained, date(2026, 5, 1)) for _ in range(4)],
        complaint(complained, date(2026, 5, 2), complainant="retailer"),
        violation(violator, date(2026, 4, 1)),
        violation(shops[6], date(2026, 4, 1), kind="other"),  # not a problem-customer violation
    )

    async def aggregated() -> bool:
        async with service.database.transaction() as session:
            orders_seen = await session.scalar(text("SELECT count(*) FROM shop_orders"))
            complaints_seen = await session.scalar(text("SELECT count(*) FROM complaints"))
            violations_seen = await session.scalar(text("SELECT count(*) FROM violations"))
            shops_seen = await session.scalar(text("SELECT count(*) FROM shops"))
        return (orders_seen, complaints_seen, violations_seen, shops_seen) == (25, 5, 2, 24)

    await eventually(aggregated)
    async with service.database.transaction() as session:
        row = (
            await session.execute(
                text(
                    "SELECT sum(cartons), sum(orders), sum(e_orders) FROM shop_months"
                    " WHERE customer_id = :c"
                ),
                {"c": shops[5]},
            )
        ).one()
        assert row == (1000 + 120, 2, 1)  # 1200 - 200 and the repeated order once
        cancelled_row = (
            await session.execute(
                text("SELECT cartons, orders FROM shop_months WHERE customer_id = :c"),
                {"c": cancelled_shop},
            )
        ).one()
        assert cancelled_row == (1200 - 160, 1)
        overtaken = (
            await session.execute(
                text("SELECT cartons, orders FROM shop_months WHERE customer_id = :c"),
                {"c": shops[8]},
            )
        ).one()
        assert overtaken == (1200 - 320, 1)

    # Only supervisors and admins start runs; a run needs a valid period.
    assert (
        await service.http.post("/api/v1/valuation-runs", json={"period": PERIOD}, headers=ANALYST)
    ).status_code == 403
    bad = await service.http.post(
        "/api/v1/valuation-runs", json={"period": "2026H3"}, headers=ADMIN
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "period"
    outside = await service.http.post(
        "/api/v1/valuation-runs", json={"period": PERIOD, "as_of": "2026-07-01"}, headers=ADMIN
    )
    assert outside.status_code == 422
    assert outside.json()["errors"][0] == {
        "field": "as_of",
        "rule": "within_period",
        "message": "as_of must lie within 2026H1",
    }

    started = await service.http.post(
        "/api/v1/valuation-runs",
        json={"period": PERIOD, "as_of": AS_OF.isoformat()},
        headers=SUPERVISOR,
    )
    assert started.status_code == 202
    run_id = started.json()["run_id"]
    run = await wait_for_run(service, run_id)
    assert run["county"] == "C1"  # a county-scoped supervisor runs their county
    assert run["evaluated"] == 20
    assert run["changed"] == 20
    assert run["model_version"] == 1

    summary = (
        await service.http.get(f"/api/v1/valuation-runs/{run_id}/summary", headers=ANALYST)
    ).json()["summary"]
    assert summary["not_evaluated"]["by_reason"] == {
        "self_operated": 1,
        "new_licence": 1,
        "inactive": 2,
    }
    assert sum(sum(row.values()) for row in summary["classes"].values()) == 20
    assert summary["counties"]["C1"]["total"] == 20
    assert len(summary["score_deciles"]) == 9

    page = await service.http.get(
        "/api/v1/valuations", params={"period": PERIOD, "limit": 500}, headers=ANALYST
    )
    assert page.status_code == 200
    results = {item["customer_id"]: item for item in page.json()["items"]}
    assert len(results) == 20

    best = results[str(top)]
    assert best["rank"] == 1 and best["group_size"] == 20 and best["position"] == 0.05
    assert best["value_class"] == "A"
    assert best["reasons"][0] == "rank 1 of 20 (5.0%) qualifies for A"
    assert best["credit_score"] == 20.0
    indicators = {item["name"]: item for item in best["indicators"]}
    assert len(indicators) == 21
    assert indicators["display_capability"]["score"] == 100 * 0 + 20 + (15 - 10) * 8
    assert indicators["convenience"]["score"] == 68.0
    assert indicators["renown"]["input"] == "street"
    # no sales last year: growth is excluded and said so, never scored 0
    assert indicators["sales_growth"]["excluded"] is True
    assert indicators["sales_growth"]["weight"] == 0.0
    assert indicators["trading_area"]["weight"] == round(0.30 / 0.80, 6)
    assert any(reason.startswith("sales_growth excluded") for reason in best["reasons"])

    low_credit = results[str(complained)]
    complaints_indicator = next(
        item for item in low_credit["indicators"] if item["name"] == "consumer_complaints"
    )
    assert complaints_indicator["input"] == 4 and complaints_indicator["score"] == 0.0
    assert low_credit["credit_score"] == 6.0
    assert low_credit["value_class"] == "problem"
    assert "problem customer: credit 6.0 ≤ 10" in low_credit["reasons"]

    assert results[str(violator)]["value_class"] == "problem"
    assert any("violation" in reason for reason in results[str(violator)]["reasons"])
    assert results[str(shops[6])]["value_class"] != "problem"
    assert results[str(stale)]["value_class"] == "problem"
    assert any("no order in the 30 days" in r for r in results[str(stale)]["reasons"])

    # Quadrants follow the group's medians of current and potential value.
    currents = sorted(item["current_value"] for item in results.values())
    potentials = sorted(item["potential_value"] for item in results.values())
    median_current = (currents[9] + currents[10]) / 2
    median_potential = (potentials[9] + potentials[10]) / 2
    for item in results.values():
        high_current = item["current_value"] >= median_current - 1e-6
        high_potential = item["potential_value"] >= median_potential - 1e-6
        expected = {
            (True, True): "value",
            (True, False): "sub_value",
            (False, True): "potential",
            (False, False): "low_value",
        }[(high_current, high_potential)]
        assert item["quadrant"] == expected

    # One valuation.customer_classified per shop (first classification counts as a change).
    events = await bus.events(
        VALUATION_EVENTS, expected=20, event_type="valuation.customer_classified"
    )
    assert len(events) == 20
    by_shop = {event.subject: event.data for event in events}
    assert by_shop[str(top)]["value_class"] == "A"
    assert by_shop[str(top)]["previous_class"] is None
    assert by_shop[str(complained)]["credit_score"] == 6.0
    assert by_shop[str(top)]["run_id"] == run_id

    # Re-running the period changes nothing → no new events; the latest run is current.
    again = await service.http.post(
        "/api/v1/valuation-runs", json={"period": PERIOD, "as_of": AS_OF.isoformat()}, headers=ADMIN
    )
    rerun = await wait_for_run(service, again.json()["run_id"])
    assert rerun["changed"] == 0
    latest = await service.http.get(
        f"/api/v1/customers/{top}/valuation", params={"period": PERIOD}, headers=ANALYST
    )
    assert latest.json()["run_id"] == rerun["id"]
    history = await service.http.get(f"/api/v1/customers/{top}/valuation-history", headers=ANALYST)
    assert [item["run_id"] for item in history.json()["items"]] == [rerun["id"], run_id]
    assert history.json()["next_cursor"] is None
    first_page = (
        await service.http.get(
            f"/api/v1/customers/{top}/valuation-history?limit=1", headers=ANALYST
        )
    ).json()
    second_page = (
        await service.http.get(
            f"/api/v1/customers/{top}/valuation-history",
            params={"limit": 1, "cursor": first_page["next_cursor"]},
            headers=ANALYST,
        )
    ).json()
    assert [item["run_id"] for item in first_page["items"]] == [rerun["id"]]
    assert [item["run_id"] for item in second_page["items"]] == [run_id]
    assert second_page["next_cursor"] is None

    # A concurrent run of the same period and county is refused.
    async with service.database.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO valuation_runs (id, period, county, as_of, status, requested_by)"
                " VALUES (:id, :period, NULL, :as_of, 'running', 'someone')"
            ),
            {"id": uuid.uuid4(), "period": "2026H2", "as_of": date(2026, 11, 1)},
        )
    busy = await service.http.post(
        "/api/v1/valuation-runs", json={"period": "2026H2"}, headers=ADMIN
    )
    assert busy.status_code == 409

    # Managers see only their own shops (another manager's shop is 404).
    own = bearer(["customer_manager"], sub="m1", manager_id=str(manager))
    other = bearer(["customer_manager"], sub="m2", manager_id=str(other_manager))
    assert (
        await service.http.get(f"/api/v1/customers/{top}/valuation", headers=own)
    ).status_code == 200
    assert (
        await service.http.get(f"/api/v1/customers/{top}/valuation", headers=other)
    ).status_code == 404
    assert (
        await service.http.get(f"/api/v1/customers/{top}/service-plan", headers=other)
    ).status_code == 404
    # County-scoped tokens see only their county.
    elsewhere = bearer(["supervisor"], sub="sup-2", county="C2")
    assert (
        await service.http.get(f"/api/v1/customers/{top}/valuation", headers=elsewhere)
    ).status_code == 404
    assert (
        await service.http.get(f"/api/v1/valuation-runs/{run_id}", headers=elsewhere)
    ).status_code == 404
    assert (
        await service.http.get("/api/v1/valuations", params={"run_id": run_id}, headers=elsewhere)
    ).status_code == 404
    mine = await service.http.get(
        "/api/v1/valuations", params={"period": PERIOD, "limit": 500}, headers=own
    )
    assert {item["customer_id"] for item in mine.json()["items"]} == {str(s) for s in shops[:11]}
    filtered = await service.http.get(
        "/api/v1/valuations",
        params={"period": PERIOD, "value_class": "problem"},
        headers=ANALYST,
    )
    assert {item["customer_id"] for item in filtered.json()["items"]} == {
        str(complained),
        str(violator),
        str(stale),
    }

    # Preview: what if the top shop displayed 12 SKUs? Nothing is stored.
    preview = await service.http.post(
        "/api/v1/valuations/preview",
        json={"customer_id": str(top), "period": PERIOD, "inputs": {"display_sku_count": 12}},
        headers=ANALYST,
    )
    assert preview.status_code == 200, preview.text
    previewed = {item["name"]: item for item in preview.json()["indicators"]}
    assert previewed["display_capability"]["score"] == 36.0
    assert preview.json()["stored"] is False
    assert preview.json()["total_score"] < best["total_score"]
    assert preview.json()["rank"] == 1
    assert preview.json()["value_class"] != "problem"
    # The preview keeps the shop's violation and recent-order flags from the period's data.
    for flagged, reason in ((violator, "violation"), (stale, "no order")):
        flagged_preview = await service.http.post(
            "/api/v1/valuations/preview",
            json={"customer_id": str(flagged), "period": PERIOD, "inputs": {}},
            headers=ANALYST,
        )
        assert flagged_preview.status_code == 200, flagged_preview.text
        assert flagged_preview.json()["value_class"] == "problem"
        assert any(reason in text for text in flagged_preview.json()["reasons"]), reason
    bad_preview = await service.http.post(
        "/api/v1/valuations/preview",
        json={"customer_id": str(top), "period": PERIOD, "inputs": {"renown": "galactic"}},
        headers=ANALYST,
    )
    assert bad_preview.status_code == 422
    assert bad_preview.json()["errors"][0]["field"] == "inputs.renown"

    # Service plan and manager workload.
    plan = (await service.http.get(f"/api/v1/customers/{top}/service-plan", headers=own)).json()
    assert plan["value_class"] == "A"
    assert plan["delivery_promise_hours"] == 12 and plan["visits_per_month"] == 4
    assert {"name": "relationship_care", "reason": "class A customer"} in plan["service_items"]
    stale_plan = (
        await service.http.get(f"/api/v1/customers/{stale}/service-plan", headers=own)
    ).json()
    assert stale_plan["visit_purpose"] == "inspection"
    anomalies = await service.http.get(
        "/api/v1/sales-anomalies", params={"month": "2026-06"}, headers=ANALYST
    )
    flagged = {item["customer_id"]: item for item in anomalies.json()["items"]}
    assert str(stale) in flagged and flagged[str(stale)]["change"] == -1.0
    workload = await service.http.get("/api/v1/service-plans/workload", headers=own)
    assert workload.status_code == 200
    body = workload.json()
    assert body["shops"] == 11
    relationship = next(item for item in body["items"] if item["item"] == "relationship_care")
    assert relationship["visits"] == 1 and relationship["meets_minimum"] is False
    assert (
        await service.http.get(
            "/api/v1/service-plans/workload",
            params={"manager_id": str(other_manager)},
            headers=own,
        )
    ).status_code == 404


async def test_value_models_are_versioned_validated_and_one_is_active(
    service: ServiceUnderTest,
) -> None:
    active = await service.http.get("/api/v1/value-models/active", headers=ANALYST)
    assert active.status_code == 200
    definition = active.json()["definition"]
    assert active.json()["version"] == 1
    assert definition["weights"]["rural"]["contribution"]["weight"] == 35

    assert (
        await service.http.post("/api/v1/value-models", json=definition, headers=ANALYST)
    ).status_code == 403
    broken = {**definition}
    broken["weights"] = {**definition["weights"]}
    broken["weights"]["urban"] = {**definition["weights"]["urban"]}
    broken["weights"]["urban"]["credit"] = {
        "weight": 20,
        "indicators": {"lawful_operation": 0.6, "consumer_complaints": 0.3, "price_labeling": 0.2},
    }
    rejected = await service.http.post("/api/v1/value-models", json=broken, headers=ADMIN)
    assert rejected.status_code == 422
    assert rejected.json()["errors"][0]["field"] == "weights.urban.credit.indicators"
    assert rejected.json()["errors"][0]["rule"] == "indicator_weights_sum"
    wrong_mode = await service.http.post(
        "/api/v1/value-models", json={**definition, "quadrant": {"mode": "mean"}}, headers=ADMIN
    )
    assert wrong_mode.status_code == 422
    assert wrong_mode.json()["errors"][0]["field"] == "quadrant.mode"

    fixed = {**definition, "quadrant": {"mode": "fixed", "current": 60, "potential": 50}}
    created = await service.http.post(
        "/api/v1/value-models", json={**fixed, "note": "fixed cut-offs"}, headers=ADMIN
    )
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 2 and created.json()["active"] is False
    activated = await service.http.post("/api/v1/value-models/2/activate", headers=ADMIN)
    assert activated.json()["active"] is True
    versions = (await service.http.get("/api/v1/value-models", headers=ANALYST)).json()
    assert [(m["version"], m["active"]) for m in versions["items"]] == [(2, True), (1, False)]
    assert versions["next_cursor"] is None
    newest = (await service.http.get("/api/v1/value-models?limit=1", headers=ANALYST)).json()
    older = (
        await service.http.get(
            "/api/v1/value-models",
            params={"limit": 1, "cursor": newest["next_cursor"]},
            headers=ANALYST,
        )
    ).json()
    assert [m["version"] for m in newest["items"] + older["items"]] == [2, 1]
    assert (
        await service.http.post("/api/v1/value-models/9/activate", headers=ADMIN)
    ).status_code == 404
