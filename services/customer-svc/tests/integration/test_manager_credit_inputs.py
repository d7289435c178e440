"""Issue 16: a customer manager sets neither the credit inputs nor violations of own shops."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from customer_svc.customers.models import ViolationRecord
from retailcare_shared.testing import ServiceUnderTest


async def test_manager_may_not_set_credit_inputs_or_record_violations(
    service: ServiceUnderTest, api: Any
) -> None:
    client = service.http
    manager = await api.create_manager()
    me = api.manager_token(manager["id"])
    own = await api.register(manager_id=manager["id"])
    url = f"/api/v1/customers/{own['id']}"

    for field, value in (("compliance_grade", "A"), ("price_labeling", "price_tags")):
        refused = await client.patch(url, json={field: value}, headers={**me, "If-Match": '"1"'})
        assert refused.status_code == 422, field
        assert refused.json()["errors"][0] == {
            "field": field,
            "rule": "forbidden_for_role",
            "message": "your role may not set this field",
        }
    # Registering a shop, a manager cannot set them either.
    registering = await client.post(
        "/api/v1/customers",
        json=api.shop_body(price_labeling="price_board"),
        headers=me,
    )
    assert registering.status_code == 422
    assert registering.json()["errors"][0]["field"] == "price_labeling"

    violation = {"kind": "counterfeit", "occurred_on": "2026-11-02", "note": "fake packs"}
    refused_violation = await client.post(f"{url}/violations", json=violation, headers=me)
    assert refused_violation.status_code == 403
    someone_elses = await api.register(manager_id=(await api.create_manager())["id"])
    hidden = await client.post(
        f"/api/v1/customers/{someone_elses['id']}/violations", json=violation, headers=me
    )
    assert hidden.status_code == 404
    async with service.database.transaction() as session:
        count = await session.scalar(select(func.count()).select_from(ViolationRecord))
    assert count == 0
    # The manager still reads the shop's violations; a supervisor records them and sets grades.
    assert (await client.get(f"{url}/violations", headers=me)).status_code == 200
    recorded = await client.post(f"{url}/violations", json=violation, headers=api.SUPERVISOR)
    assert recorded.status_code == 201, recorded.text
    graded = await client.patch(
        url, json={"price_labeling": "price_tags"}, headers={**api.SUPERVISOR, "If-Match": '"1"'}
    )
    assert graded.status_code == 200, graded.text
    assert graded.json()["price_labeling"] == "price_tags"
