"""Issue 16: named first receiver, filer's county for unknown shops, attaching a shop later,
fresh deadlines on reopen, and the supervisor's manual escalation."""

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from complaint_svc.complaints.service import now_utc
from complaint_svc.context import context_of
from complaint_svc.deadlines.sweeper import sweep
from retailcare_shared.testing import ServiceUnderTest, bearer

CALL = bearer(["call_center"], sub="agent-li")
EAST_CALL = bearer(["call_center"], sub="agent-east", county="east")
EAST_SUPERVISOR = bearer(["supervisor"], sub="sup-east", county="east")
WEST_SUPERVISOR = bearer(["supervisor"], sub="sup-west", county="west")
SUPERVISOR = bearer(["supervisor"], sub="boss-wang")


def complaint_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "complainant_type": "consumer",
        "received_by": "agent-li",
        "channel": "hotline",
        "category": "overpricing",
        "service_item": "other",
        "description": "The shop on the corner charges above the label.",
    }
    body.update(overrides)
    return body


async def add_shop(service: ServiceUnderTest, customer_id: uuid.UUID, county: str) -> None:
    async with service.database.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO shops (customer_id, county, district, status, active_since)"
                " VALUES (:id, :county, 'd9', 'active', '2020-01-01')"
            ),
            {"id": customer_id, "county": county},
        )


async def outbox_events(service: ServiceUnderTest, event_type: str) -> list[dict[str, Any]]:
    async with service.database.transaction() as session:
        rows = await session.execute(
            text(
                "SELECT key, convert_from(value, 'UTF8')::json->'data' FROM outbox"
                " WHERE event_type = :type ORDER BY id"
            ),
            {"type": event_type},
        )
        return [{"subject": subject, **data} for subject, data in rows]


async def test_received_by_is_required_on_intake(quiet_service: ServiceUnderTest) -> None:
    body = complaint_body()
    del body["received_by"]
    missing = await quiet_service.http.post("/api/v1/complaints", json=body, headers=CALL)
    assert missing.status_code == 422
    assert [error["field"] for error in missing.json()["errors"]] == ["received_by"]
    blank = await quiet_service.http.post(
        "/api/v1/complaints", json=complaint_body(received_by=""), headers=CALL
    )
    assert blank.status_code == 422
    assert blank.json()["errors"][0]["field"] == "received_by"
    async with quiet_service.database.transaction() as session:
        assert await session.scalar(text("SELECT count(*) FROM complaints")) == 0

    named = await quiet_service.http.post(
        "/api/v1/complaints", json=complaint_body(received_by="agent-zhou"), headers=CALL
    )
    assert named.status_code == 201, named.text
    assert named.json()["received_by"] == "agent-zhou"


async def test_unknown_shop_takes_the_filers_county_and_its_supervisor_sees_it(
    quiet_service: ServiceUnderTest,
) -> None:
    http = quiet_service.http
    shopless = await http.post("/api/v1/complaints", json=complaint_body(), headers=EAST_CALL)
    unknown_id = await http.post(
        "/api/v1/complaints",
        json=complaint_body(customer_id=str(uuid.uuid4())),
        headers=EAST_CALL,
    )
    unscoped = await http.post("/api/v1/complaints", json=complaint_body(), headers=CALL)
    assert shopless.json()["county"] == "east"
    assert unknown_id.json()["county"] == "east"
    assert unscoped.json()["county"] is None

    listed = await http.get("/api/v1/complaints", headers=EAST_SUPERVISOR)
    assert {item["id"] for item in listed.json()["items"]} == {
        shopless.json()["id"],
        unknown_id.json()["id"],
    }
    one = await http.get(f"/api/v1/complaints/{shopless.json()['id']}", headers=EAST_SUPERVISOR)
    assert one.status_code == 200
    other = await http.get(f"/api/v1/complaints/{shopless.json()['id']}", headers=WEST_SUPERVISOR)
    assert other.status_code == 404


async def test_a_shop_attached_later_gets_timeline_entry_and_event(
    quiet_service: ServiceUnderTest,
) -> None:
    http = quiet_service.http
    shop, west_shop = uuid.uuid4(), uuid.uuid4()
    await add_shop(quiet_service, shop, "east")
    await add_shop(quiet_service, west_shop, "west")
    created = (
        await http.post("/api/v1/complaints", json=complaint_body(), headers=EAST_CALL)
    ).json()
    url = f"/api/v1/complaints/{created['id']}"

    # Unknown shop, and a shop of another county for a county-scoped caller: the same 422.
    unknown = await http.post(
        f"{url}/customer", json={"customer_id": str(uuid.uuid4())}, headers=EAST_CALL
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0] == {
        "field": "customer_id",
        "rule": "unknown_shop",
        "message": "no such shop in the caller's scope",
    }
    foreign = await http.post(
        f"{url}/customer", json={"customer_id": str(west_shop)}, headers=EAST_CALL
    )
    assert foreign.status_code == 422
    # Not visible to the caller: 404; no handler role: 403.
    hidden = await http.post(
        f"{url}/customer", json={"customer_id": str(shop)}, headers=WEST_SUPERVISOR
    )
    assert hidden.status_code == 404
    manager = bearer(["customer_manager"], sub="mgr", manager_id=str(uuid.uuid4()))
    refused = await http.post(f"{url}/customer", json={"customer_id": str(shop)}, headers=manager)
    assert refused.status_code == 403

    attached = await http.post(
        f"{url}/customer",
        json={"customer_id": str(shop), "note": "caller named the shop on the second call"},
        headers=EAST_CALL,
    )
    assert attached.status_code == 200, attached.text
    body = attached.json()
    assert body["customer_id"] == str(shop)
    assert body["customer_verified"] is True
    assert (body["county"], body["district"]) == ("east", "d9")
    assert body["version"] == created["version"] + 1
    listed = await http.get(f"/api/v1/complaints?customer_id={shop}", headers=CALL)
    assert [item["id"] for item in listed.json()["items"]] == [created["id"]]

    timeline = (await http.get(f"{url}/timeline", headers=CALL)).json()["items"]
    assert timeline[-1]["action"] == "attach_customer"
    assert timeline[-1]["actor"] == "agent-east"
    assert timeline[-1]["details"] == {"customer_id": str(shop)}
    assert timeline[-1]["note"] == "caller named the shop on the second call"
    events = await outbox_events(quiet_service, "complaint.customer_attached")
    assert events == [
        {
            "subject": created["id"],
            "complaint_id": created["id"],
            "customer_id": str(shop),
            "attached_by": "agent-east",
        }
    ]

    again = await http.post(f"{url}/customer", json={"customer_id": str(shop)}, headers=CALL)
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "customer_id"
    named = (
        await http.post(
            "/api/v1/complaints", json=complaint_body(customer_id=str(uuid.uuid4())), headers=CALL
        )
    ).json()
    taken = await http.post(
        f"/api/v1/complaints/{named['id']}/customer", json={"customer_id": str(shop)}, headers=CALL
    )
    assert taken.status_code == 409
    assert len(await outbox_events(quiet_service, "complaint.customer_attached")) == 1


async def test_reopen_gives_the_original_fresh_deadlines_and_no_instant_escalation(
    quiet_service: ServiceUnderTest,
) -> None:
    http = quiet_service.http
    created = (await http.post("/api/v1/complaints", json=complaint_body(), headers=CALL)).json()
    url = f"/api/v1/complaints/{created['id']}"
    await http.post(f"{url}/assign", json={"assignee": "agent-qian"}, headers=CALL)
    await http.post(f"{url}/start", headers=CALL)
    # The complaint was filed long ago: its deadlines are far in the past and were breached.
    async with quiet_service.database.transaction() as session:
        await session.execute(
            text(
                "UPDATE complaints SET acknowledge_due_at = now() - interval '20 days',"
                " resolve_due_at = now() - interval '10 days' WHERE id = :id"
            ),
            {"id": created["id"]},
        )
    context = context_of(quiet_service.app)
    async with quiet_service.database.transaction() as session:
        first_breach = await sweep(session, context, now_utc())
    assert [(str(e.complaint_id), e.reason) for e in first_breach] == [
        (created["id"], "resolve_overdue")
    ]
    await http.post(f"{url}/resolve", json={"resolution": "r", "root_cause": "c"}, headers=CALL)

    before = now_utc()
    reopened = await http.post(f"{url}/reopen", json={"reason": "still overpriced"}, headers=CALL)
    assert reopened.status_code == 200, reopened.text
    body = reopened.json()
    assert body["status"] == "in_progress"
    assert body["overdue"] is False
    assert body["resolve_due_at"] > before.isoformat()
    assert body["acknowledge_due_at"] > before.isoformat()

    async with quiet_service.database.transaction() as session:
        assert await sweep(session, context, now_utc()) == []
    # A breach of the fresh deadline escalates again (once).
    later = now_utc() + timedelta(days=30)
    async with quiet_service.database.transaction() as session:
        second_breach = await sweep(session, context, later)
    assert (created["id"], "resolve_overdue") in [
        (str(e.complaint_id), e.reason) for e in second_breach
    ]
    async with quiet_service.database.transaction() as session:
        assert await sweep(session, context, later) == []

    # Resolved again: a second complaint.resolved with its own time (survey-svc's second
    # callback is keyed on it); the repeat row's complaint.filed names the reopened complaint.
    again = await http.post(
        f"{url}/resolve", json={"resolution": "refund", "root_cause": "c"}, headers=CALL
    )
    assert again.status_code == 200, again.text
    resolved = [
        e
        for e in await outbox_events(quiet_service, "complaint.resolved")
        if e["complaint_id"] == created["id"]
    ]
    assert len(resolved) == 2
    assert resolved[0]["resolved_at"] < resolved[1]["resolved_at"]
    filed = await outbox_events(quiet_service, "complaint.filed")
    assert [e["reopened_from"] for e in filed] == [None, created["id"]]


async def test_supervisor_escalates_by_hand_to_a_named_person(
    quiet_service: ServiceUnderTest,
) -> None:
    http = quiet_service.http
    created = (await http.post("/api/v1/complaints", json=complaint_body(), headers=CALL)).json()
    url = f"/api/v1/complaints/{created['id']}"
    refused = await http.post(f"{url}/escalate", json={"escalated_to": "head-zhang"}, headers=CALL)
    assert refused.status_code == 403
    nameless = await http.post(f"{url}/escalate", json={}, headers=SUPERVISOR)
    assert nameless.status_code == 422
    assert nameless.json()["errors"][0]["field"] == "escalated_to"

    escalated = await http.post(
        f"{url}/escalate",
        json={"escalated_to": "head-zhang", "note": "third call this week"},
        headers=SUPERVISOR,
    )
    assert escalated.status_code == 200, escalated.text
    assert escalated.json()["status"] == "received"
    assert escalated.json()["version"] == created["version"] + 1
    timeline = (await http.get(f"{url}/timeline", headers=CALL)).json()["items"]
    assert timeline[-1]["action"] == "escalate"
    assert timeline[-1]["actor"] == "boss-wang"
    assert timeline[-1]["details"] == {"escalated_to": "head-zhang", "reason": "manual"}
    events = await outbox_events(quiet_service, "complaint.escalated")
    assert [(e["complaint_id"], e["reason"], e["escalated_to"]) for e in events] == [
        (created["id"], "manual", "head-zhang")
    ]

    await http.post(f"{url}/assign", json={"assignee": "a"}, headers=CALL)
    await http.post(f"{url}/start", headers=CALL)
    await http.post(f"{url}/resolve", json={"resolution": "r", "root_cause": "c"}, headers=CALL)
    finished = await http.post(f"{url}/escalate", json={"escalated_to": "x"}, headers=SUPERVISOR)
    assert finished.status_code == 409
    assert finished.json()["current_status"] == "resolved"
