"""S7: personal data never reaches the bus or the logs, and is masked for roles without need.

Personal fields (customers.md, complaints.md, gateway.md): owner name, phones, birthday, hobbies,
complainant name and phone.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from sqlalchemy import text

from retailcare_shared.events import COMPLAINT_EVENTS, CUSTOMER_EVENTS
from retailcare_shared.testing import bearer, eventually, running, serve_http

ADMIN = bearer(["admin"], sub="sec-admin")
CALL_CENTER = bearer(["call_center"], sub="sec-cc")
ANALYST = bearer(["analyst"], sub="sec-analyst")
PLATFORM = bearer(["order_platform"], sub="sec-platform")
SUPERVISOR = bearer(["supervisor"], sub="sec-sup")

OWNER, NEW_OWNER = "Zhao Liuliu", "赵七七"
PHONE, NEW_PHONE = "13955556666", "13977778888"
HOBBIES, BIRTHDAY = "Calligraphy and Go", "1971-04-05"
COMPLAINANT, COMPLAINANT_PHONE = "Sun Badao", "13811112222"
PERSONAL = [OWNER, NEW_OWNER, PHONE, NEW_PHONE, HOBBIES, BIRTHDAY, COMPLAINANT, COMPLAINANT_PHONE]


def leaked(haystack: str) -> list[str]:
    """The personal values found in a text, verbatim or JSON-escaped."""
    forms = {value: {value, json.dumps(value)[1:-1]} for value in PERSONAL}
    return [value for value, variants in forms.items() if any(v in haystack for v in variants)]


async def register_and_update_a_shop(cluster: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A manager and a shop with personal details, then an update of those details."""
    customers = cluster.http("customer-svc")
    manager = (
        await customers.post(
            "/api/v1/managers",
            json={"employee_no": "E" + uuid.uuid4().hex[:8], "name": "Li", "county": "330102"},
            headers=ADMIN,
        )
    ).json()
    created = await customers.post(
        "/api/v1/customers",
        json={
            "license_no": "330102" + uuid.uuid4().hex[:8].upper(),
            "name": "Happy Shop",
            "owner_name": OWNER,
            "phones": [PHONE],
            "county": "330102",
            "district": "D01",
            "market_type": "urban",
            "manager_id": manager["id"],
            "personal_data_consent": True,
            "birthday": BIRTHDAY,
            "hobbies": HOBBIES,
        },
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    shop: dict[str, Any] = created.json()
    updated = await customers.patch(
        f"/api/v1/customers/{shop['id']}",
        json={"owner_name": NEW_OWNER, "phones": [NEW_PHONE, PHONE]},
        headers={**ADMIN, "If-Match": '"1"'},
    )
    assert updated.status_code == 200, updated.text
    found = await customers.get(
        "/api/v1/customers", params={"phone": NEW_PHONE}, headers=CALL_CENTER
    )
    assert [item["id"] for item in found.json()["items"]] == [shop["id"]]
    return manager, shop


async def test_personal_data_is_absent_from_events_and_logs(
    cluster: Any, captured_logs: Any, gateway_app: Any
) -> None:
    """Register, update, look up by phone, file a complaint: no personal value on bus or log."""
    async with (
        serve_http(cluster.services["customer-svc"].app) as customer_url,
        running(gateway_app({"customer-svc": customer_url})) as gateway,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway), base_url="http://gw") as gw,
    ):
        # Started before the capture: starting an app configures logging afresh.
        with captured_logs() as logs:
            await file_and_check(cluster, gw, logs)


async def file_and_check(cluster: Any, gw: httpx.AsyncClient, logs: Any) -> None:
    """The flows of the test above, inside the log capture."""
    _, shop = await register_and_update_a_shop(cluster)
    # The call centre's caller lookup through the gateway (the phone is in the query).
    via_gateway = await gw.get("/api/v1/customers", params={"phone": PHONE}, headers=CALL_CENTER)
    assert [item["id"] for item in via_gateway.json()["items"]] == [shop["id"]]
    complaints = cluster.http("complaint-svc")

    async def complaint_svc_knows_the_shop() -> bool:
        async with cluster.services["complaint-svc"].database.transaction() as session:
            found = await session.scalar(
                text("SELECT count(*) FROM shops WHERE customer_id = :id"),
                {"id": uuid.UUID(shop["id"])},
            )
        return bool(found == 1)

    await eventually(complaint_svc_knows_the_shop, timeout=90)
    filed = await complaints.post(
        "/api/v1/complaints",
        json={
            "customer_id": shop["id"],
            "complainant_type": "retailer",
            "received_by": "agent-li",
            "complainant_name": COMPLAINANT,
            "complainant_phone": COMPLAINANT_PHONE,
            "channel": "hotline",
            "category": "staff_attitude",
            "service_item": "customer_manager_visit",
            "description": "The manager was rude on the phone.",
        },
        headers=CALL_CENTER,
    )
    assert filed.status_code == 201, filed.text
    refused = await complaints.post(
        "/api/v1/complaints",
        json={"complainant_name": COMPLAINANT, "complainant_phone": "not a phone"},
        headers=CALL_CENTER,
    )
    assert refused.status_code == 422
    assert leaked(refused.text) == []  # problems name fields, they do not echo values
    customer_events = await cluster.bus.events(
        CUSTOMER_EVENTS, expected=1, event_type="customer.updated"
    )
    complaint_events = await cluster.bus.events(COMPLAINT_EVENTS, expected=1)

    assert [event.type for event in customer_events + complaint_events] == [
        "customer.updated",
        "complaint.filed",
    ]
    records_on_bus = await cluster.bus.read(CUSTOMER_EVENTS)
    records_on_bus += await cluster.bus.read(COMPLAINT_EVENTS)
    raw_events = [record.value.decode() for record in records_on_bus]
    assert any('"customer.registered"' in raw for raw in raw_events)
    assert raw_events and leaked("\n".join(raw_events)) == []
    records = logs.records()
    assert any(record.get("event") == "request" for record in records)  # logs were captured
    assert leaked(logs.text) == [], [line for line in logs.text.splitlines() if leaked(line)]


async def test_personal_data_is_masked_for_roles_without_need(cluster: Any) -> None:
    """Analysts and the order platform see masked values; call centre and own manager do not."""
    manager, shop = await register_and_update_a_shop(cluster)
    customers = cluster.http("customer-svc")
    path = f"/api/v1/customers/{shop['id']}"
    own_manager = bearer(["customer_manager"], sub="mgr", manager_id=manager["id"])
    for token in (CALL_CENTER, SUPERVISOR, own_manager):
        shown = (await customers.get(path, headers=token)).json()
        assert shown["owner_name"] == NEW_OWNER and shown["phones"] == [NEW_PHONE, PHONE]
    for token in (ANALYST, PLATFORM):
        response = await customers.get(path, headers=token)
        assert response.status_code == 200, response.text
        masked = response.json()
        assert masked["owner_name"] == "赵**"
        assert masked["phones"] == ["139****8888", "139****6666"]
        assert masked["birthday"] is None and masked["hobbies"] in (None, "***")
        history = await customers.get(f"{path}/history", headers=token)
        assert history.status_code == 200 and len(history.json()["items"]) == 2
        assert leaked(history.text) == [], history.text
        listed = await customers.get("/api/v1/customers", headers=token)
        assert listed.status_code == 200 and len(listed.json()["items"]) == 1
        assert leaked(listed.text) == []
        # Probing by phone would confirm a number: refused for roles that see masked data.
        by_phone = await customers.get("/api/v1/customers", params={"phone": PHONE}, headers=token)
        assert by_phone.status_code == 422
        assert by_phone.json()["errors"][0]["rule"] == "forbidden_for_role"

    complaints = cluster.http("complaint-svc")
    complaint = (
        await complaints.post(
            "/api/v1/complaints",
            json={
                "customer_id": shop["id"],
                "complainant_type": "retailer",
                "received_by": "agent-li",
                "complainant_name": COMPLAINANT,
                "complainant_phone": COMPLAINANT_PHONE,
                "channel": "hotline",
                "category": "staff_attitude",
                "description": "The manager was rude on the phone.",
            },
            headers=CALL_CENTER,
        )
    ).json()
    for token in (CALL_CENTER, SUPERVISOR):
        shown = (
            await complaints.get(f"/api/v1/complaints/{complaint['id']}", headers=token)
        ).json()
        assert (shown["complainant_name"], shown["complainant_phone"]) == (
            COMPLAINANT,
            COMPLAINANT_PHONE,
        )
    masked = (await complaints.get(f"/api/v1/complaints/{complaint['id']}", headers=ANALYST)).json()
    assert (masked["complainant_name"], masked["complainant_phone"]) == ("S********", "138****2222")
    listed = await complaints.get("/api/v1/complaints", headers=ANALYST)
    assert listed.status_code == 200 and leaked(listed.text) == []
