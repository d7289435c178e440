"""Managers: update, retire (with their shops handed over), batch reassignment, manager and
assignment imports — through HTTP on the real PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from retailcare_shared.events import CustomerManagerAssigned, decode
from retailcare_shared.platform_tables import OutboxMessage
from retailcare_shared.testing import ServiceUnderTest

from ..conftest import Api
from .test_imports import finished, upload


async def assigned_events(service: ServiceUnderTest) -> list[CustomerManagerAssigned]:
    async with service.database.transaction() as session:
        values = (
            await session.scalars(
                select(OutboxMessage.value)
                .where(OutboxMessage.event_type == "customer.manager_assigned")
                .order_by(OutboxMessage.id)
            )
        ).all()
    payloads = [decode(value)[1] for value in values]
    return [p for p in payloads if isinstance(p, CustomerManagerAssigned)]


async def test_update_needs_if_match_and_bumps_the_etag(
    client: httpx.AsyncClient, api: Api
) -> None:
    manager = await api.create_manager()
    url = f"/api/v1/managers/{manager['id']}"
    read = await client.get(url, headers=Api.ADMIN)
    assert read.status_code == 200 and read.headers["ETag"] == '"1"'
    body = {"name": "Wang Wu", "districts": ["D09", "D03", "D03"]}
    assert (await client.patch(url, json=body, headers=Api.ADMIN)).status_code == 428
    stale = await client.patch(url, json=body, headers={**Api.ADMIN, "If-Match": '"7"'})
    assert stale.status_code == 412
    done = await client.patch(url, json=body, headers={**Api.ADMIN, "If-Match": '"1"'})
    assert done.status_code == 200, done.text
    assert done.headers["ETag"] == '"2"'
    assert done.json()["name"] == "Wang Wu" and done.json()["districts"] == ["D03", "D09"]
    bad = await client.patch(
        url, json={"employee_no": "X1"}, headers={**Api.ADMIN, "If-Match": '"2"'}
    )
    assert bad.status_code == 422
    foreign = await client.patch(
        url, json=body, headers={**Api.OTHER_SUPERVISOR, "If-Match": '"2"'}
    )
    assert foreign.status_code == 404


async def test_retire_hands_the_shops_over_and_the_retired_cannot_be_assigned(
    client: httpx.AsyncClient, api: Api, service: ServiceUnderTest
) -> None:
    leaving, successor = await api.create_manager(), await api.create_manager()
    shops = [await api.register(manager_id=leaving["id"]) for _ in range(3)]
    url = f"/api/v1/managers/{leaving['id']}/retire"
    refused = await client.post(url, json={"effective_date": "2026-12-01"}, headers=Api.ADMIN)
    assert refused.status_code == 409 and refused.json()["shops"] == 3
    self_takeover = await client.post(
        url,
        json={"effective_date": "2026-12-01", "reassign_to": leaving["id"]},
        headers=Api.ADMIN,
    )
    assert self_takeover.status_code == 422
    assert self_takeover.json()["errors"][0]["rule"] == "same_manager"

    done = await client.post(
        url,
        json={"effective_date": "2026-12-01", "reason": "left", "reassign_to": successor["id"]},
        headers=Api.SUPERVISOR,
    )
    assert done.status_code == 200, done.text
    assert done.json()["reassigned_shops"] == 3
    assert done.json()["manager"]["retired_at"] is not None
    for shop in shops:
        now = (await client.get(f"/api/v1/customers/{shop['id']}", headers=Api.ADMIN)).json()
        assert now["manager_id"] == successor["id"] and now["version"] == 2
        history = (
            await client.get(f"/api/v1/customers/{shop['id']}/history", headers=Api.ADMIN)
        ).json()["items"]
        assert history[0]["change_kind"] == "manager_assigned"
        assert history[0]["changes"] == {
            "manager_id": {"old": leaving["id"], "new": successor["id"]}
        }
        assert history[0]["effective_date"] == "2026-12-01" and history[0]["reason"] == "left"
    events = [e for e in await assigned_events(service) if str(e.manager_id) == successor["id"]]
    assert sorted(str(e.customer_id) for e in events) == sorted(s["id"] for s in shops)
    assert {str(e.previous_manager_id) for e in events} == {leaving["id"]}

    again = await client.post(url, json={"effective_date": "2026-12-01"}, headers=Api.ADMIN)
    assert again.status_code == 409
    shop = shops[0]
    etag = (await client.get(f"/api/v1/customers/{shop['id']}", headers=Api.ADMIN)).headers["ETag"]
    put = await client.put(
        f"/api/v1/customers/{shop['id']}/manager",
        json={"manager_id": leaving["id"], "effective_date": "2026-12-02"},
        headers={**Api.ADMIN, "If-Match": etag},
    )
    assert put.status_code == 422 and put.json()["errors"][0]["rule"] == "retired"


async def test_batch_reassignment_reports_each_item(
    client: httpx.AsyncClient, api: Api, service: ServiceUnderTest
) -> None:
    first, second = await api.create_manager(), await api.create_manager()
    foreign = await api.create_manager(county="999999")
    a = await api.register(manager_id=first["id"])
    b = await api.register()
    c = await api.register(manager_id=second["id"])
    body: dict[str, Any] = {
        "effective_date": "2026-11-30",
        "assignments": [
            {"customer_id": a["id"], "manager_id": second["id"]},
            {"license_no": b["license_no"], "manager_id": second["id"]},
            {"customer_id": c["id"], "manager_id": second["id"]},
            {"customer_id": a["id"], "manager_id": first["id"]},
            {"customer_id": str(uuid.uuid4()), "manager_id": second["id"]},
            {"license_no": b["license_no"], "manager_id": foreign["id"]},
        ],
    }
    response = await client.post(
        "/api/v1/manager-assignments/batch", json=body, headers=Api.SUPERVISOR
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["assigned"], result["unchanged"], result["rejected"]) == (2, 1, 3)
    statuses = [(r["status"], [e["rule"] for e in r["errors"]]) for r in result["results"]]
    assert statuses == [
        ("assigned", []),
        ("assigned", []),
        ("unchanged", []),
        ("rejected", ["duplicate_in_batch"]),
        ("rejected", ["not_found"]),
        ("rejected", ["duplicate_in_batch"]),
    ]
    moved = (await client.get(f"/api/v1/customers/{b['id']}", headers=Api.ADMIN)).json()
    assert moved["manager_id"] == second["id"] and moved["version"] == 2
    assignments = (
        await client.get(f"/api/v1/customers/{b['id']}/manager-assignments", headers=Api.ADMIN)
    ).json()["items"]
    assert assignments[0]["manager_id"] == second["id"]
    assert assignments[0]["effective_date"] == "2026-11-30"
    events = await assigned_events(service)
    assert {str(e.customer_id) for e in events if str(e.manager_id) == second["id"]} >= {
        a["id"],
        b["id"],
    }
    assert str(c["id"]) not in {
        str(e.customer_id) for e in events if e.previous_manager_id is not None
    }

    county = await client.post(
        "/api/v1/manager-assignments/batch",
        json={
            "effective_date": "2026-11-30",
            "assignments": [{"customer_id": a["id"], "manager_id": foreign["id"]}],
        },
        headers=Api.ADMIN,
    )
    assert county.json()["results"][0]["errors"][0]["rule"] == "county_mismatch"
    hidden = await client.post(
        "/api/v1/manager-assignments/batch",
        json={
            "effective_date": "2026-11-30",
            "assignments": [{"customer_id": a["id"], "manager_id": None}],
        },
        headers=Api.OTHER_SUPERVISOR,
    )
    assert hidden.json()["results"][0]["errors"][0]["rule"] == "not_found"
    too_many = await client.post(
        "/api/v1/manager-assignments/batch",
        json={
            "effective_date": "2026-11-30",
            "assignments": [{"customer_id": a["id"], "manager_id": None}] * 1001,
        },
        headers=Api.ADMIN,
    )
    assert too_many.status_code == 422


async def test_manager_and_assignment_files(
    client: httpx.AsyncClient, api: Api, service: ServiceUnderTest
) -> None:
    tag = uuid.uuid4().hex[:6]
    managers = (
        f"工号,姓名,区县,片区\nM{tag}1,Zhao Liu,330102,D01;D02\nM{tag}2,Qian Qi,330102,D03\n"
    ).encode()
    job = await finished(client, (await upload(client, managers, kind="managers")).json()["id"])
    assert job["status"] == "completed" and job["progress"]["rows_imported"] == 2
    again = await finished(client, (await upload(client, managers, kind="managers")).json()["id"])
    assert again["progress"]["rows_imported"] == 0 and again["progress"]["rows_unchanged"] == 2
    listed = (
        await client.get("/api/v1/managers", params={"county": "330102"}, headers=Api.ADMIN)
    ).json()["items"]
    by_no = {m["employee_no"]: m for m in listed}
    assert by_no[f"M{tag}1"]["districts"] == ["D01", "D02"]

    shop, other = await api.register(), await api.register(county="999999")
    assignments = (
        "license_no,manager_employee_no\n"
        f"{shop['license_no']},M{tag}1\n"
        f"{other['license_no']},M{tag}2\n"
        f"NOSUCH000001,M{tag}2\n"
    ).encode()
    response = await upload(
        client, assignments, kind="assignments", mode="skip_invalid", effective_date="2026-10-01"
    )
    job = await finished(client, response.json()["id"])
    assert job["status"] == "completed", job
    assert job["progress"]["rows_imported"] == 1 and job["progress"]["rows_rejected"] == 2
    report = (await client.get(job["error_report_url"], headers=Api.ADMIN)).text
    assert "county_mismatch" in report and "not_found" in report
    moved = (await client.get(f"/api/v1/customers/{shop['id']}", headers=Api.ADMIN)).json()
    assert moved["manager_id"] == by_no[f"M{tag}1"]["id"]
    history = (
        await client.get(f"/api/v1/customers/{shop['id']}/history", headers=Api.ADMIN)
    ).json()["items"]
    assert history[0]["change_kind"] == "manager_assigned"
    assert history[0]["effective_date"] == "2026-10-01"
    events = await assigned_events(service)
    assert any(str(e.customer_id) == shop["id"] for e in events)
