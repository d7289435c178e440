"""S2: a manager reading or writing another manager's objects gets 404 and changes nothing.

The four services run together: shops registered in customer-svc reach the others through the
real broker, so every service judges ownership from its own copy of the shop's manager.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from retailcare_shared.testing import bearer, eventually
from survey_svc.questionnaires.catalogue import SERVQUAL_RETAIL

ADMIN = bearer(["admin"], sub="sec-admin")
CALL_CENTER = bearer(["call_center"], sub="sec-cc")
SUPERVISOR = bearer(["supervisor"], sub="sec-sup", county="330102")
SERVQUAL = str(SERVQUAL_RETAIL.id)


def manager_token(manager_id: str) -> dict[str, str]:
    """A customer manager's token."""
    token: dict[str, str] = bearer(
        ["customer_manager"], sub=f"mgr-{manager_id}", manager_id=manager_id
    )
    return token


async def created(response: httpx.Response) -> dict[str, Any]:
    """The JSON body of a successful create."""
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def shop_body(manager_id: str, district: str) -> dict[str, Any]:
    """A valid shop registration."""
    return {
        "license_no": "330102" + uuid.uuid4().hex[:8].upper(),
        "name": "Corner Shop",
        "owner_name": "Wang Wu",
        "phones": ["13900001111"],
        "address": "9 Hefang Street",
        "county": "330102",
        "district": district,
        "market_type": "urban",
        "business_format": "convenience",
        "scale": "small",
        "trading_area": "residential",
        "manager_id": manager_id,
    }


async def two_managers_with_a_shop_each(cluster: Any) -> tuple[dict[str, Any], ...]:
    """Managers A and B, one shop each, known to every service."""
    customers = cluster.http("customer-svc")
    managers = []
    for _ in range(2):
        body = {
            "employee_no": "E" + uuid.uuid4().hex[:8],
            "name": "Manager",
            "county": "330102",
            "districts": ["D01"],
        }
        managers.append(
            await created(await customers.post("/api/v1/managers", json=body, headers=ADMIN))
        )
    shops = [
        await created(
            await customers.post(
                "/api/v1/customers", json=shop_body(manager["id"], "D01"), headers=ADMIN
            )
        )
        for manager in managers
    ]

    async def everyone_knows_both() -> bool:
        for name, table, column in (
            ("complaint-svc", "shops", "customer_id"),
            ("valuation-svc", "shops", "customer_id"),
            ("survey-svc", "customers_view", "customer_id"),
        ):
            service = cluster.services[name]
            async with service.database.transaction() as session:
                known = await session.scalar(
                    text(f"SELECT count(*) FROM {table} WHERE {column} = ANY(:ids)"),
                    {"ids": [uuid.UUID(shop["id"]) for shop in shops]},
                )
            if known != 2:
                return False
        return True

    await eventually(everyone_knows_both, timeout=90)
    return managers[0], managers[1], shops[0], shops[1]


async def test_manager_a_gets_404_for_everything_of_manager_b_in_every_service(
    cluster: Any, rows: Any
) -> None:
    """Shops, visits, complaints, valuations and invitations of B: 404 for A, nothing changed."""
    manager_a, _, shop_a, shop_b = await two_managers_with_a_shop_each(cluster)
    as_a = manager_token(manager_a["id"])

    # customer-svc: B's shop is invisible and cannot be written, visited or re-assigned.
    customers = cluster.http("customer-svc")
    assert (await customers.get(f"/api/v1/customers/{shop_a['id']}", headers=as_a)).is_success
    now = datetime.now(UTC)
    visit = {
        "customer_id": shop_b["id"],
        "manager_id": manager_a["id"],
        "started_at": (now - timedelta(hours=1)).isoformat(),
        "ended_at": now.isoformat(),
        "purpose": "routine",
        "checklist": {
            "license_displayed": True,
            "signage_displayed": True,
            "display_compliant": True,
            "price_tags_ok": True,
            "inventory_checked": True,
        },
    }
    customer_attempts = [
        customers.get(f"/api/v1/customers/{shop_b['id']}", headers=as_a),
        customers.get(f"/api/v1/customers/{shop_b['id']}/history", headers=as_a),
        customers.get(f"/api/v1/customers/{shop_b['id']}/manager-assignments", headers=as_a),
        customers.patch(
            f"/api/v1/customers/{shop_b['id']}",
            json={"display_sku_count": 1},
            headers={**as_a, "If-Match": '"1"'},
        ),
        customers.post("/api/v1/visits", json=visit, headers=as_a),
    ]
    for attempt in customer_attempts:
        response = await attempt
        assert response.status_code == 404, (response.request.url, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    unchanged = (await customers.get(f"/api/v1/customers/{shop_b['id']}", headers=ADMIN)).json()
    assert (
        unchanged["version"] == 1 and unchanged["display_sku_count"] == shop_b["display_sku_count"]
    )
    assert await rows(cluster.services["customer-svc"], "visits") == 0

    # complaint-svc: a complaint about B's shop is a 404 under every path that names it.
    complaints = cluster.http("complaint-svc")
    complaint = await created(
        await complaints.post(
            "/api/v1/complaints",
            json={
                "customer_id": shop_b["id"],
                "complainant_type": "retailer",
                "received_by": "agent-li",
                "complainant_name": "Wang Wu",
                "complainant_phone": "13900001111",
                "channel": "hotline",
                "category": "delivery_timeliness",
                "service_item": "delivery",
                "description": "The delivery was late twice this month.",
            },
            headers=CALL_CENTER,
        )
    )
    for path in (
        f"/api/v1/complaints/{complaint['id']}",
        f"/api/v1/complaints/{complaint['id']}/timeline",
        f"/api/v1/complaints/{complaint['id']}/case-analysis",
        f"/api/v1/complaints/by-ref/{complaint['ref']}",
    ):
        response = await complaints.get(path, headers=as_a)
        assert response.status_code == 404, (path, response.text)
    listed = await complaints.get(f"/api/v1/complaints?customer_id={shop_b['id']}", headers=as_a)
    assert listed.status_code == 200 and listed.json()["items"] == []
    timeline = await complaints.get(
        f"/api/v1/complaints/{complaint['id']}/timeline", headers=SUPERVISOR
    )
    assert len(timeline.json()["items"]) == 1  # only the filing: nothing was written by A

    # valuation-svc: B's valuation, history and service plan are 404; A's own history is not.
    valuations = cluster.http("valuation-svc")
    own = await valuations.get(f"/api/v1/customers/{shop_a['id']}/valuation-history", headers=as_a)
    assert own.status_code == 200, own.text
    for suffix in ("valuation", "valuation-history", "service-plan"):
        response = await valuations.get(f"/api/v1/customers/{shop_b['id']}/{suffix}", headers=as_a)
        assert response.status_code == 404, (suffix, response.text)

    # survey-svc: B's invitation is neither listed for A nor answerable by A.
    surveys = cluster.http("survey-svc")
    campaign = await created(
        await surveys.post(
            "/api/v1/survey-campaigns",
            json={
                "name": "Security check",
                "questionnaire_id": SERVQUAL,
                "kind": "monthly_inquiry",
                "method": "phone",
                "opens_at": (now - timedelta(days=1)).isoformat(),
                "closes_at": (now + timedelta(days=10)).isoformat(),
                "sampling": {"rate": 1, "exclude_surveyed_within_days": 0, "seed": 7},
            },
            headers=SUPERVISOR,
        )
    )
    await created(
        await surveys.post(f"/api/v1/survey-campaigns/{campaign['id']}/sample", headers=SUPERVISOR)
    )
    everyone = (
        await surveys.get(
            f"/api/v1/survey-campaigns/{campaign['id']}/invitations", headers=SUPERVISOR
        )
    ).json()["items"]
    by_shop = {item["customer_id"]: item for item in everyone}
    assert set(by_shop) == {shop_a["id"], shop_b["id"]}
    seen_by_a = (
        await surveys.get(f"/api/v1/survey-campaigns/{campaign['id']}/invitations", headers=as_a)
    ).json()["items"]
    assert [item["customer_id"] for item in seen_by_a] == [shop_a["id"]]
    answer = await surveys.post(
        "/api/v1/survey-responses",
        json={
            "invitation_id": by_shop[shop_b["id"]]["id"],
            "answers": [],
            "collected_by": "mgr-a",
        },
        headers=as_a,
    )
    assert answer.status_code == 404, answer.text
    assert await rows(cluster.services["survey-svc"], "survey_responses") == 0
    after = (
        await surveys.get(
            f"/api/v1/survey-campaigns/{campaign['id']}/invitations", headers=SUPERVISOR
        )
    ).json()["items"]
    assert {item["customer_id"]: item["status"] for item in after}[shop_b["id"]] == by_shop[
        shop_b["id"]
    ]["status"]
