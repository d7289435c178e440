"""Consumed events: the shop read model and callbacks that close or reopen complaints."""

import asyncio
import uuid
from datetime import date, timedelta

from sqlalchemy import text

from complaint_svc.readmodel.handlers import on_customer_snapshot
from retailcare_shared.events import (
    COMPLAINT_EVENTS,
    CustomerRegistered,
    CustomerStatusChanged,
    Envelope,
    SurveyCallbackCompleted,
    ValuationCustomerClassified,
    build_envelope,
)
from retailcare_shared.testing import ServiceUnderTest, TestBus, bearer, eventually

CALL = bearer(["call_center"], sub="agent-li")
ANALYST = bearer(["analyst"], sub="analyst-1")


def complaint(shop: uuid.UUID, category: str) -> dict[str, object]:
    return {
        "customer_id": str(shop),
        "complainant_type": "retailer",
        "received_by": "agent-li",
        "channel": "app",
        "category": category,
        "service_item": "supply_allocation",
        "description": "Not enough of the popular brand again.",
    }


async def resolved_complaint(service: ServiceUnderTest, shop: uuid.UUID, category: str) -> str:
    http = service.http
    created = await http.post("/api/v1/complaints", json=complaint(shop, category), headers=CALL)
    complaint_id: str = created.json()["id"]
    url = f"/api/v1/complaints/{complaint_id}"
    await http.post(f"{url}/assign", json={"assignee": "agent-zhao"}, headers=CALL)
    await http.post(f"{url}/start", headers=CALL)
    resolved = await http.post(
        f"{url}/resolve", json={"resolution": "allocated more", "root_cause": "quota"}, headers=CALL
    )
    assert resolved.json()["status"] == "resolved"
    return complaint_id


def registration(shop: uuid.UUID) -> Envelope:
    """customer.registered of a shop in county `east`, district `d1`."""
    return build_envelope(
        CustomerRegistered(
            customer_id=shop,
            license_no="330100000001",
            name="Shop",
            county="east",
            district="d1",
            market_type="urban",
            business_format="convenience",
            status="active",
            licensed_on=date(2020, 1, 1),
        ),
        source="customer-svc",
        subject=str(shop),
    )


async def test_a_shop_arriving_while_its_complaint_is_filed_still_verifies_the_complaint(
    quiet_service: ServiceUnderTest,
) -> None:
    """The shop's snapshot commits between intake's read of the read model and its insert:
    neither may miss the other (the complaint would stay unverified, without county)."""
    http, database = quiet_service.http, quiet_service.database
    shop = uuid.uuid4()
    envelope = registration(shop)

    async def intake_waits_for_the_snapshot() -> bool:
        async with database.driver_connection() as connection:
            waiting = await connection.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            )
        return bool(waiting)

    async with database.transaction() as session:
        await on_customer_snapshot(session, envelope, envelope.payload())
        # Applied, not committed: the intake reads no shop, then reaches its insert.
        intake = asyncio.create_task(
            http.post("/api/v1/complaints", json=complaint(shop, "brand_shortage"), headers=CALL)
        )
        await eventually(intake_waits_for_the_snapshot, timeout=30)
    filed = await intake

    assert filed.status_code == 201, filed.text
    stored = (await http.get(f"/api/v1/complaints/{filed.json()['id']}", headers=CALL)).json()
    assert stored["customer_verified"] is True
    assert (stored["county"], stored["district"]) == ("east", "d1")


async def test_read_model_and_callbacks(service: ServiceUnderTest, bus: TestBus) -> None:
    http = service.http
    shop = uuid.uuid4()
    unhappy = await resolved_complaint(service, shop, "brand_shortage")
    happy = await resolved_complaint(service, shop, "price_fluctuation")
    before = (await http.get(f"/api/v1/complaints/{unhappy}", headers=CALL)).json()
    assert before["customer_verified"] is False

    registered = registration(shop)
    classified = build_envelope(
        ValuationCustomerClassified(
            customer_id=shop, period="2026-10", run_id=uuid.uuid4(), value_class="A", total_score=90
        ),
        source="valuation-svc",
        subject=str(shop),
    )
    callback = build_envelope(
        SurveyCallbackCompleted(
            complaint_id=uuid.UUID(unhappy),
            customer_id=shop,
            response_id=uuid.uuid4(),
            satisfied=False,
            comment="still short",
        ),
        source="survey-svc",
        subject=str(shop),
    )
    satisfied = build_envelope(
        SurveyCallbackCompleted(
            complaint_id=uuid.UUID(happy),
            customer_id=shop,
            response_id=uuid.uuid4(),
            satisfied=True,
        ),
        source="survey-svc",
        subject=str(shop),
    )
    # The unsatisfied callback is delivered twice: the second must change nothing.
    await bus.publish(registered, classified, callback, callback, satisfied)

    async def settled() -> bool:
        current = (await http.get(f"/api/v1/complaints/{happy}", headers=CALL)).json()
        return bool(current["status"] == "closed")

    await eventually(settled)
    reopened = (await http.get(f"/api/v1/complaints/{unhappy}", headers=CALL)).json()
    assert reopened["status"] == "in_progress"
    assert reopened["reopen_count"] == 1
    assert reopened["callback_satisfied"] is False
    assert reopened["customer_verified"] is True
    assert reopened["county"] == "east"
    closed = (await http.get(f"/api/v1/complaints/{happy}", headers=CALL)).json()
    assert closed["callback_satisfied"] is True

    repeats = (
        await http.get(
            f"/api/v1/complaints?customer_id={shop}&category=brand_shortage", headers=CALL
        )
    ).json()["items"]
    assert len(repeats) == 2
    repeat = next(item for item in repeats if item["is_repeat"])
    assert repeat["repeat_of"] == unhappy
    timeline = (await http.get(f"/api/v1/complaints/{unhappy}/timeline", headers=CALL)).json()[
        "items"
    ]
    reopen_entry = timeline[-1]
    assert reopen_entry["action"] == "reopen" and reopen_entry["actor"] == "survey-svc"
    assert reopen_entry["note"].startswith("callback_dissatisfied")

    # Complaints are dated in the business time zone (UTC+8), which can be tomorrow in UTC.
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    rate = await http.get(
        f"/api/v1/complaint-analytics/repeat-rate?from=2026-01-01&to={tomorrow}", headers=ANALYST
    )
    assert rate.json()["total_complaints"] == 3
    assert rate.json()["repeat_complaints"] == 1

    async with service.database.transaction() as session:
        shop_row = (
            await session.execute(
                text("SELECT value_class, business_format FROM shops WHERE customer_id = :id"),
                {"id": shop},
            )
        ).one()
    assert tuple(shop_row) == ("A", "convenience")

    events = await bus.events(COMPLAINT_EVENTS, expected=1, event_type="complaint.reopened")
    assert events[0].data["reason"].startswith("callback_dissatisfied")
    assert events[0].data["repeat_complaint_id"] == repeat["id"]
    closed_events = await bus.events(COMPLAINT_EVENTS, expected=1, event_type="complaint.closed")
    assert closed_events[0].data == {"complaint_id": happy, "callback_satisfied": True}

    # A shop leaving keeps its activity span for rate denominators.
    await bus.publish(
        build_envelope(
            CustomerStatusChanged(
                customer_id=shop, status="exited", effective_date=date(2026, 11, 1)
            ),
            source="customer-svc",
            subject=str(shop),
        )
    )

    async def exited() -> bool:
        async with service.database.transaction() as session:
            value = await session.scalar(
                text("SELECT inactive_since FROM shops WHERE customer_id = :id"), {"id": shop}
            )
        return bool(value == date(2026, 11, 1))

    await eventually(exited)
