"""The consumed classification, and visits with the perfunctory flag and coverage analytics."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from retailcare_shared.events import ValuationCustomerClassified, build_envelope
from retailcare_shared.platform_tables import InboxMessage
from retailcare_shared.testing import ServiceUnderTest, TestBus, eventually


def classified(customer_id: str, period: str, value_class: str, quadrant: str) -> Any:
    return build_envelope(
        ValuationCustomerClassified(
            customer_id=uuid.UUID(customer_id),
            period=period,
            run_id=uuid.uuid4(),
            value_class=value_class,  # type: ignore[arg-type]
            quadrant=quadrant,  # type: ignore[arg-type]
            total_score=81.5,
        ),
        source="valuation-svc",
        subject=customer_id,
    )


async def test_a_classified_event_changes_the_class_shown(
    service: ServiceUnderTest, api: Any, bus: TestBus
) -> None:
    client = service.http
    shop = await api.register()
    url = f"/api/v1/customers/{shop['id']}"
    assert (await client.get(url, headers=api.PLATFORM)).json()["value_class"] is None

    first = classified(shop["id"], "2026-10", "B", "potential")
    await bus.publish(first, classified(str(uuid.uuid4()), "2026-10", "C", "low_value"))

    async def shown() -> Any:
        body = (await client.get(url, headers=api.PLATFORM)).json()
        return body if body["value_class"] == "B" else None

    body = await eventually(shown)
    assert (body["value_quadrant"], body["value_period"]) == ("potential", "2026-10")

    # A newer period wins; an older period arriving late does not; a redelivery changes nothing.
    await bus.publish(classified(shop["id"], "2026-11", "A", "value"))
    await bus.publish(classified(shop["id"], "2026-09", "D", "low_value"), first)

    async def newest() -> Any:
        body = (await client.get(url, headers=api.PLATFORM)).json()
        return body if body["value_class"] == "A" else None

    await eventually(newest)
    # Same key, so same partition: once the marker is applied, the late events were processed.
    marker = classified(shop["id"], "2026-11", "A", "value")
    await bus.publish(marker)

    async def marker_applied() -> bool:
        async with service.database.transaction() as session:
            found = await session.scalar(
                select(InboxMessage.event_id).where(InboxMessage.event_id == marker.id)
            )
        return found is not None

    await eventually(marker_applied)
    async with service.database.transaction() as session:
        applied = await session.scalar(select(func.count()).select_from(InboxMessage))
    assert applied == 5  # six deliveries, the redelivered `first` not applied again
    final = (await client.get(url, headers=api.PLATFORM)).json()
    assert (final["value_class"], final["value_quadrant"], final["version"]) == ("A", "value", 1)
    filtered = (await client.get("/api/v1/customers?value_class=A", headers=api.ADMIN)).json()
    assert [item["id"] for item in filtered["items"]] == [shop["id"]]


async def test_visits_perfunctory_flag_and_coverage(service: ServiceUnderTest, api: Any) -> None:
    client = service.http
    manager = await api.create_manager("E100")
    other = await api.create_manager("E200")
    me = api.manager_token(manager["id"])
    small = await api.register(manager_id=manager["id"], scale="small")
    large = await api.register(manager_id=manager["id"], scale="large")
    foreign = await api.register(manager_id=other["id"])
    now = datetime.now(UTC)

    def visit(customer: dict[str, Any], minutes: float, **extra: Any) -> dict[str, Any]:
        started = now - timedelta(hours=2)
        return {
            "customer_id": customer["id"],
            "manager_id": manager["id"],
            "started_at": started.isoformat(),
            "ended_at": (started + timedelta(minutes=minutes)).isoformat(),
            "purpose": "routine",
            "checklist": {
                "license_displayed": True,
                "signage_displayed": True,
                "display_compliant": True,
                "price_tags_ok": False,
                "inventory_checked": True,
            },
            **extra,
        }

    quick = await client.post(
        "/api/v1/visits", json=visit(small, 2), headers={**me, "Idempotency-Key": "v-1"}
    )
    assert quick.status_code == 201, quick.text
    assert quick.json()["perfunctory"] is True and quick.json()["minutes"] == 2.0
    replay = await client.post(
        "/api/v1/visits", json=visit(small, 2), headers={**me, "Idempotency-Key": "v-1"}
    )
    assert replay.json()["id"] == quick.json()["id"]
    short_but_useful = await client.post(
        "/api/v1/visits", json=visit(small, 3, findings="expired stock"), headers=me
    )
    assert short_but_useful.json()["perfunctory"] is False
    proper = await client.post("/api/v1/visits", json=visit(large, 25), headers=me)
    assert proper.json()["perfunctory"] is False

    rules = [
        (visit(small, -5), "ended_at", "after_started_at"),
        (visit(small, 13 * 60), "ended_at", "at_most_12_hours"),
        (
            {**visit(small, 5), "ended_at": (now + timedelta(hours=1)).isoformat()},
            "ended_at",
            "not_in_future",
        ),
        ({**visit(small, 5), "purpose": "gossip"}, "purpose", "literal_error"),
        ({**visit(small, 5), "manager_id": other["id"]}, "manager_id", "forbidden_for_role"),
    ]
    for body, field, rule in rules:
        response = await client.post("/api/v1/visits", json=body, headers=me)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field
        assert response.json()["errors"][0]["rule"] == rule
    not_mine = await client.post("/api/v1/visits", json=visit(foreign, 30), headers=me)
    assert not_mine.status_code == 404

    mine = (await client.get("/api/v1/visits", headers=me)).json()["items"]
    assert len(mine) == 3
    paged = (await client.get("/api/v1/visits?limit=2", headers=api.SUPERVISOR)).json()
    rest = await client.get(
        f"/api/v1/visits?limit=2&cursor={paged['next_cursor']}", headers=api.SUPERVISOR
    )
    assert len(paged["items"]) == 2 and len(rest.json()["items"]) == 1

    report = (
        await client.get("/api/v1/visit-analytics/coverage?county=330102", headers=api.ANALYST)
    ).json()
    rows = {row["employee_no"]: row for row in report["items"]}
    row = rows["E100"]
    assert (row["assigned_shops"], row["shops_visited"], row["coverage"]) == (2, 2, 1.0)
    assert (row["visits"], row["perfunctory_visits"], row["perfunctory_share"]) == (3, 1, 0.3333)
    assert row["average_minutes"] == 10.0
    assert (row["small_shops"], row["small_shops_visited"], row["small_shop_coverage"]) == (
        1,
        1,
        1.0,
    )
    assert rows["E200"]["coverage"] == 0.0 and rows["E200"]["visits"] == 0
    workload = (await client.get("/api/v1/managers/workload", headers=api.ADMIN)).json()
    load = {r["employee_no"]: r for r in workload["items"]}["E100"]
    assert (load["visits_30d"], load["average_visit_minutes"]) == (3, 10.0)
    assert (await client.get("/api/v1/visit-analytics/coverage", headers=me)).status_code == 403
