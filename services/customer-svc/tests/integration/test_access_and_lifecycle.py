"""Object- and field-level access, status changes, violations, managers and assignment."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import select

from customer_svc.customers.models import Customer
from retailcare_shared.events import CUSTOMER_EVENTS
from retailcare_shared.testing import ServiceUnderTest, TestBus, bearer


async def test_managers_see_and_write_only_their_own_shops(
    service: ServiceUnderTest, api: Any
) -> None:
    client = service.http
    mine, theirs = await api.create_manager(), await api.create_manager()
    me = api.manager_token(mine["id"])
    own = await api.register(manager_id=mine["id"])
    other = await api.register(manager_id=theirs["id"])

    assert (await client.get(f"/api/v1/customers/{own['id']}", headers=me)).status_code == 200
    hidden = await client.get(f"/api/v1/customers/{other['id']}", headers=me)
    assert hidden.status_code == 404
    assert (
        (await client.get(f"/api/v1/customers/{uuid.uuid4()}", headers=me))
        .json()["detail"]
        .endswith("does not exist")
    )
    assert (
        await client.get(f"/api/v1/customers/by-license/{other['license_no']}", headers=me)
    ).status_code == 404
    for path in ("history", "violations", "orders"):
        response = await client.get(f"/api/v1/customers/{other['id']}/{path}", headers=me)
        assert response.status_code == 404, path
    write = await client.patch(
        f"/api/v1/customers/{other['id']}",
        json={"name": "Hijacked"},
        headers={**me, "If-Match": '"1"'},
    )
    assert write.status_code == 404
    listed = (await client.get("/api/v1/customers", headers=me)).json()["items"]
    assert [shop["id"] for shop in listed] == [own["id"]]
    assert listed[0]["owner_name"] == "Zhang San"  # their own shop: personal data shown
    theirs_list = await client.get(f"/api/v1/managers/{theirs['id']}/customers", headers=me)
    assert theirs_list.status_code == 404
    mine_list = (await client.get(f"/api/v1/managers/{mine['id']}/customers", headers=me)).json()
    assert [shop["id"] for shop in mine_list["items"]] == [own["id"]]

    for field, value in (("manager_id", theirs["id"]), ("compliance_grade", "A")):
        refused = await client.patch(
            f"/api/v1/customers/{own['id']}",
            json={field: value},
            headers={**me, "If-Match": '"1"'},
        )
        assert refused.status_code == 422
        assert refused.json()["errors"][0] == {
            "field": field,
            "rule": "forbidden_for_role",
            "message": "your role may not set this field",
        }
    allowed = await client.patch(
        f"/api/v1/customers/{own['id']}",
        json={"display_sku_count": 42},
        headers={**me, "If-Match": '"1"'},
    )
    assert allowed.status_code == 200 and allowed.json()["display_sku_count"] == 42
    async with service.database.transaction() as session:
        stored = await session.get(Customer, uuid.UUID(other["id"]))
        assert stored is not None and stored.name == "Lucky Convenience" and stored.version == 1


async def test_county_scope_and_role_checks(service: ServiceUnderTest, api: Any) -> None:
    client = service.http
    outside = await api.register(county="999999")
    inside = await api.register()
    assert (
        await client.get(f"/api/v1/customers/{outside['id']}", headers=api.SUPERVISOR)
    ).status_code == 404
    assert (
        await client.get(f"/api/v1/customers/{inside['id']}", headers=api.SUPERVISOR)
    ).status_code == 200
    listed = (await client.get("/api/v1/customers", headers=api.SUPERVISOR)).json()["items"]
    assert [shop["id"] for shop in listed] == [inside["id"]]
    other_county = await client.post(
        "/api/v1/customers", json=api.shop_body(county="999999"), headers=api.SUPERVISOR
    )
    assert other_county.status_code == 422 and other_county.json()["errors"][0]["field"] == "county"
    analyst_write = await client.post(
        "/api/v1/customers", json=api.shop_body(), headers=api.ANALYST
    )
    assert analyst_write.status_code == 403
    platform_status = await client.post(
        f"/api/v1/customers/{inside['id']}/status",
        json={"status": "suspended", "reason": "x", "effective_date": "2026-11-01"},
        headers=api.PLATFORM,
    )
    assert platform_status.status_code == 403
    no_token = await client.get(f"/api/v1/customers/{inside['id']}")
    assert no_token.status_code == 401


async def test_status_changes_and_violations_emit_events(
    service: ServiceUnderTest, api: Any, bus: TestBus
) -> None:
    client = service.http
    shop = await api.register()
    url = f"/api/v1/customers/{shop['id']}"

    async def set_status(status: str) -> Any:
        return await client.post(
            f"{url}/status",
            json={"status": status, "reason": "inspection", "effective_date": "2026-11-20"},
            headers=api.SUPERVISOR,
        )

    suspended = await set_status("suspended")
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    assert (await set_status("suspended")).status_code == 422
    assert (await set_status("active")).json()["status"] == "active"
    assert (await set_status("exited")).json()["status"] == "exited"
    final = await set_status("active")
    assert (
        final.status_code == 422 and final.json()["errors"][0]["rule"] == "transition_not_allowed"
    )
    bad = await client.post(
        f"{url}/status",
        json={"status": "closed", "reason": "x", "effective_date": "2026-11-20"},
        headers=api.SUPERVISOR,
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "status"

    recorded = await client.post(
        f"{url}/violations",
        json={"kind": "counterfeit", "occurred_on": "2026-11-02", "note": "fake packs"},
        headers=api.SUPERVISOR,
    )
    assert recorded.status_code == 201, recorded.text
    wrong_kind = await client.post(
        f"{url}/violations",
        json={"kind": "jaywalking", "occurred_on": "2026-11-02"},
        headers=api.SUPERVISOR,
    )
    assert wrong_kind.status_code == 422 and wrong_kind.json()["errors"][0]["field"] == "kind"
    violations = (await client.get(f"{url}/violations", headers=api.CALL_CENTER)).json()["items"]
    assert [(v["kind"], v["note"]) for v in violations] == [("counterfeit", "fake packs")]

    history = (await client.get(f"{url}/history", headers=api.ADMIN)).json()["items"]
    assert [entry["change_kind"] for entry in history] == [
        "status_changed",
        "status_changed",
        "status_changed",
        "registered",
    ]
    assert history[0]["changes"]["status"] == {"old": "active", "new": "exited"}
    assert history[0]["effective_date"] == "2026-11-20"

    events = await bus.events(CUSTOMER_EVENTS, expected=5)
    assert [event.type for event in events] == [
        "customer.registered",
        "customer.status_changed",
        "customer.status_changed",
        "customer.status_changed",
        "customer.violation_recorded",
    ]
    assert events[4].data["violation_id"] == recorded.json()["id"]
    assert events[1].data == {
        "customer_id": shop["id"],
        "status": "suspended",
        "reason": "inspection",
        "effective_date": "2026-11-20",
    }


async def test_manager_assignment_history_and_workload(
    service: ServiceUnderTest, api: Any, bus: TestBus
) -> None:
    client = service.http
    first, second = await api.create_manager("E001"), await api.create_manager("E002")
    duplicate = await client.post(
        "/api/v1/managers",
        json={"employee_no": "E001", "name": "X", "county": "330102"},
        headers=api.ADMIN,
    )
    assert duplicate.status_code == 409
    far = await api.create_manager("E003", county="999999")
    shop = await api.register(manager_id=first["id"], scale="small", market_type="rural")
    await api.register(manager_id=first["id"], scale="large")
    url = f"/api/v1/customers/{shop['id']}"

    stale = await client.put(
        f"{url}/manager",
        json={"manager_id": second["id"], "effective_date": "2026-11-21"},
        headers={**api.SUPERVISOR, "If-Match": '"7"'},
    )
    assert stale.status_code == 412
    wrong_county = await client.put(
        f"{url}/manager",
        json={"manager_id": far["id"], "effective_date": "2026-11-21"},
        headers={**api.ADMIN, "If-Match": '"1"'},
    )
    assert wrong_county.status_code == 422
    moved = await client.put(
        f"{url}/manager",
        json={"manager_id": second["id"], "effective_date": "2026-11-21", "reason": "re-cut"},
        headers={**api.SUPERVISOR, "If-Match": '"1"'},
    )
    assert moved.status_code == 200 and moved.json()["manager_id"] == second["id"]
    assignments = (await client.get(f"{url}/manager-assignments", headers=api.ADMIN)).json()[
        "items"
    ]
    assert [(a["manager_id"], a["previous_manager_id"]) for a in assignments] == [
        (second["id"], first["id"]),
        (first["id"], None),
    ]
    history = (await client.get(f"{url}/history", headers=api.ADMIN)).json()["items"]
    assert history[0]["changes"]["manager_id"] == {"old": first["id"], "new": second["id"]}

    events = await bus.events(CUSTOMER_EVENTS, expected=1, event_type="customer.manager_assigned")
    assert events[0].data == {
        "customer_id": shop["id"],
        "manager_id": second["id"],
        "previous_manager_id": first["id"],
        "effective_date": "2026-11-21",
    }

    listed = (await client.get("/api/v1/managers?county=330102", headers=api.ANALYST)).json()
    assert [m["employee_no"] for m in listed["items"]] == ["E001", "E002"]
    report = (
        await client.get("/api/v1/managers/workload?county=330102", headers=api.SUPERVISOR)
    ).json()
    rows = {row["employee_no"]: row for row in report["items"]}
    assert set(rows) == {"E001", "E002"}
    assert (rows["E001"]["shops"], rows["E001"]["small_shops"]) == (1, 0)
    assert (rows["E002"]["shops"], rows["E002"]["small_shops"], rows["E002"]["small_share"]) == (
        1,
        1,
        1.0,
    )
    assert rows["E002"]["rural_shops"] == 1 and rows["E002"]["visits_30d"] == 0
    manager_report = await client.get(
        "/api/v1/managers/workload", headers=bearer(["customer_manager"], manager_id=first["id"])
    )
    assert manager_report.status_code == 403
    async with service.database.transaction() as session:
        count = len((await session.scalars(select(Customer))).all())
    assert count == 2


async def test_manager_registers_own_shop_and_concurrent_patches(
    service: ServiceUnderTest, api: Any, bus: TestBus
) -> None:
    client = service.http
    mine, other = await api.create_manager(), await api.create_manager()
    me = api.manager_token(mine["id"])
    created = await client.post("/api/v1/customers", json=api.shop_body(), headers=me)
    assert created.status_code == 201 and created.json()["manager_id"] == mine["id"]
    url = f"/api/v1/customers/{created.json()['id']}"

    responses = await asyncio.gather(
        *[
            client.patch(url, json={"name": f"Name {n}"}, headers={**me, "If-Match": '"1"'})
            for n in range(5)
        ]
    )
    assert sorted(response.status_code for response in responses) == [200, 412, 412, 412, 412]

    moved = await client.patch(
        url, json={"manager_id": other["id"]}, headers={**api.SUPERVISOR, "If-Match": '"2"'}
    )
    assert moved.status_code == 200 and moved.json()["manager_id"] == other["id"]
    assert (await client.get(url, headers=me)).status_code == 404  # no longer their shop
    events = await bus.events(CUSTOMER_EVENTS, expected=1, event_type="customer.manager_assigned")
    assert events[0].data["previous_manager_id"] == mine["id"]
