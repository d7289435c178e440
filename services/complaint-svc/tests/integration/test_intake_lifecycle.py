"""Intake, access, lifecycle, timeline and events through HTTP and the real bus."""

import re
import uuid

from sqlalchemy import text

from retailcare_shared.events import COMPLAINT_EVENTS
from retailcare_shared.testing import ServiceUnderTest, TestBus, bearer

CALL = bearer(["call_center"], sub="agent-li")
SUPERVISOR = bearer(["supervisor"], sub="boss-wang")
ANALYST = bearer(["analyst"], sub="analyst-1")


def complaint_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "complainant_type": "retailer",
        "received_by": "agent-li",
        "complainant_name": "张三",
        "complainant_phone": "13812345678",
        "channel": "hotline",
        "category": "delivery_timeliness",
        "service_item": "delivery",
        "description": "Delivery came two days late again.",
    }
    body.update(overrides)
    return body


async def add_shop(
    service: ServiceUnderTest, customer_id: uuid.UUID, manager_id: uuid.UUID, county: str = "east"
) -> None:
    async with service.database.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO shops (customer_id, county, district, status, active_since, "
                "manager_id) VALUES (:id, :county, 'd1', 'active', '2020-01-01', :manager)"
            ),
            {"id": customer_id, "county": county, "manager": manager_id},
        )


async def test_intake_is_idempotent_numbered_and_never_refuses_unknown_shops(
    quiet_service: ServiceUnderTest,
) -> None:
    http = quiet_service.http
    unknown_shop = uuid.uuid4()
    body = complaint_body(customer_id=str(unknown_shop))
    headers = {**CALL, "Idempotency-Key": "call-0001"}
    first = await http.post("/api/v1/complaints", json=body, headers=headers)
    assert first.status_code == 201, first.text
    created = first.json()
    assert re.fullmatch(r"TS-\d{8}-\d{6}", created["ref"])
    assert created["status"] == "received"
    assert created["customer_verified"] is False
    assert created["received_by"] == "agent-li"
    assert created["company_responsible"] is True
    assert created["is_repeat"] is False
    assert created["acknowledge_due_at"] < created["resolve_due_at"]
    assert created["complainant_phone"] == "13812345678"

    again = await http.post("/api/v1/complaints", json=body, headers=headers)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == created["id"]
    # The key with another body: 422 naming the header, and nothing written.
    reused = await http.post(
        "/api/v1/complaints",
        json=complaint_body(description="A different complaint under the same key."),
        headers=headers,
    )
    assert reused.status_code == 422
    assert reused.json()["errors"][0]["field"] == "Idempotency-Key"
    assert reused.json()["errors"][0]["rule"] == "idempotency_key_reused"
    async with quiet_service.database.transaction() as session:
        assert await session.scalar(text("SELECT count(*) FROM complaints")) == 1
        assert await session.scalar(text("SELECT count(*) FROM complaint_timeline")) == 1
        assert await session.scalar(text("SELECT count(*) FROM outbox")) == 1

    by_ref = await http.get(f"/api/v1/complaints/by-ref/{created['ref']}", headers=CALL)
    assert by_ref.json()["id"] == created["id"]
    masked = await http.get(f"/api/v1/complaints/{created['id']}", headers=ANALYST)
    assert masked.json()["complainant_phone"] == "138****5678"
    assert masked.json()["complainant_name"] == "张*"
    categories = await http.get("/api/v1/complaints/categories", headers=CALL)
    catalogue = categories.json()
    assert catalogue["next_cursor"] is None
    assert {"code": "forced_bundling", "group": "product", "label": "搭售"} in catalogue["items"]

    # Bad input names the field; nobody but the call centre takes complaints.
    bad_category = await http.post(
        "/api/v1/complaints", json=complaint_body(category="weather"), headers=CALL
    )
    assert bad_category.status_code == 422
    assert bad_category.json()["errors"][0]["field"] == "category"
    bad_channel = await http.post(
        "/api/v1/complaints", json=complaint_body(channel="pigeon"), headers=CALL
    )
    assert bad_channel.status_code == 422
    assert bad_channel.json()["errors"][0]["field"] == "channel"
    short = await http.post(
        "/api/v1/complaints", json=complaint_body(description="bad"), headers=CALL
    )
    assert short.json()["errors"][0]["field"] == "description"
    missing_repeat = await http.post(
        "/api/v1/complaints", json=complaint_body(repeat_of=str(uuid.uuid4())), headers=CALL
    )
    assert missing_repeat.status_code == 422
    assert missing_repeat.json()["errors"][0]["field"] == "repeat_of"
    forbidden = await http.post("/api/v1/complaints", json=complaint_body(), headers=ANALYST)
    assert forbidden.status_code == 403
    unauthenticated = await http.get(f"/api/v1/complaints/{created['id']}")
    assert unauthenticated.status_code == 401


async def test_managers_and_counties_only_see_their_own(quiet_service: ServiceUnderTest) -> None:
    http = quiet_service.http
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    shop_mine, shop_theirs = uuid.uuid4(), uuid.uuid4()
    await add_shop(quiet_service, shop_mine, mine, county="east")
    await add_shop(quiet_service, shop_theirs, theirs, county="west")
    own = (
        await http.post(
            "/api/v1/complaints", json=complaint_body(customer_id=str(shop_mine)), headers=CALL
        )
    ).json()
    other = (
        await http.post(
            "/api/v1/complaints", json=complaint_body(customer_id=str(shop_theirs)), headers=CALL
        )
    ).json()
    assert own["customer_verified"] is True
    manager = bearer(["customer_manager"], sub="mgr", manager_id=str(mine))
    assert (await http.get(f"/api/v1/complaints/{own['id']}", headers=manager)).status_code == 200
    assert (await http.get(f"/api/v1/complaints/{other['id']}", headers=manager)).status_code == 404
    listed = await http.get("/api/v1/complaints", headers=manager)
    assert [item["id"] for item in listed.json()["items"]] == [own["id"]]
    # Managers read but do not handle complaints.
    assign = await http.post(
        f"/api/v1/complaints/{own['id']}/assign", json={"assignee": "x"}, headers=manager
    )
    assert assign.status_code == 403
    east = bearer(["supervisor"], sub="sup-east", county="east")
    assert (await http.get(f"/api/v1/complaints/{other['id']}", headers=east)).status_code == 404
    east_list = await http.get("/api/v1/complaints", headers=east)
    assert [item["id"] for item in east_list.json()["items"]] == [own["id"]]
    paged = await http.get("/api/v1/complaints?limit=1", headers=CALL)
    assert paged.json()["items"][0]["id"] == other["id"]
    second = await http.get(
        f"/api/v1/complaints?limit=1&cursor={paged.json()['next_cursor']}", headers=CALL
    )
    assert second.json()["items"][0]["id"] == own["id"]
    by_customer = await http.get(f"/api/v1/complaints?customer_id={shop_theirs}", headers=CALL)
    assert [item["id"] for item in by_customer.json()["items"]] == [other["id"]]


async def test_lifecycle_timeline_and_events(quiet_service: ServiceUnderTest, bus: TestBus) -> None:
    http = quiet_service.http
    created = (await http.post("/api/v1/complaints", json=complaint_body(), headers=CALL)).json()
    url = f"/api/v1/complaints/{created['id']}"

    not_yet = await http.post(
        f"{url}/resolve", json={"resolution": "r", "root_cause": "c"}, headers=CALL
    )
    assert not_yet.status_code == 409
    assert not_yet.json()["current_status"] == "received"
    assert "received" in not_yet.json()["detail"]

    assigned = await http.post(f"{url}/assign", json={"assignee": "agent-zhao"}, headers=CALL)
    assert assigned.json()["status"] == "assigned"
    assert assigned.json()["received_by"] == "agent-li"
    no_note = await http.post(f"{url}/assign", json={"assignee": "agent-qian"}, headers=SUPERVISOR)
    assert no_note.status_code == 422
    assert no_note.json()["errors"][0]["field"] == "note"
    handed = await http.post(
        f"{url}/assign",
        json={"assignee": "agent-qian", "note": "delivery team owns the route"},
        headers=SUPERVISOR,
    )
    assert handed.json()["assignee"] == "agent-qian"
    assert handed.json()["received_by"] == "agent-li"
    started = await http.post(f"{url}/start", headers=CALL)
    assert started.json()["status"] == "in_progress"
    stale = await http.post(
        f"{url}/notes", json={"text": "called the driver"}, headers={**CALL, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    noted = await http.post(f"{url}/notes", json={"text": "called the driver"}, headers=CALL)
    assert noted.status_code == 201
    resolved = await http.post(
        f"{url}/resolve",
        json={"resolution": "re-routed the van", "root_cause": "route planning"},
        headers=CALL,
    )
    assert resolved.json()["status"] == "resolved"
    closed = await http.post(f"{url}/close", json={"callback_satisfied": True}, headers=CALL)
    assert closed.json()["status"] == "closed"
    assert closed.json()["callback_satisfied"] is True
    again = await http.post(f"{url}/close", json={"callback_satisfied": True}, headers=CALL)
    assert again.status_code == 409

    page = (await http.get(f"{url}/timeline", headers=CALL)).json()
    assert page["next_cursor"] is None
    timeline = page["items"]
    assert [entry["action"] for entry in timeline] == [
        "filed",
        "assign",
        "reassign",
        "start",
        "note",
        "resolve",
        "close",
    ]
    assert [entry["actor"] for entry in timeline][:3] == ["agent-li", "agent-li", "boss-wang"]
    assert timeline[2]["note"] == "delivery team owns the route"
    assert timeline[2]["details"] == {"from": "agent-zhao", "to": "agent-qian"}
    assert all(entry["at"] for entry in timeline)

    events = await bus.events(COMPLAINT_EVENTS, expected=5)
    types = [event.type for event in events]
    assert types == [
        "complaint.filed",
        "complaint.assigned",
        "complaint.assigned",
        "complaint.resolved",
        "complaint.closed",
    ]
    assert events[0].data["complaint_id"] == created["id"]
    assert "complainant_phone" not in events[0].data
    assert events[2].data["assigned_by"] == "boss-wang"


async def test_repeat_detection_links_to_the_chain_root(quiet_service: ServiceUnderTest) -> None:
    http = quiet_service.http
    shop = str(uuid.uuid4())

    async def file(**overrides: object) -> dict[str, object]:
        response = await http.post(
            "/api/v1/complaints",
            json=complaint_body(
                **{"customer_id": shop, "category": "forced_bundling", **overrides}
            ),
            headers=CALL,
        )
        assert response.status_code == 201, response.text
        body: dict[str, object] = response.json()
        return body

    first = await file()
    second = await file()
    third = await file()
    other_category = await file(category="staff_attitude")
    assert first["is_repeat"] is False
    assert second["repeat_of"] == first["id"] and second["is_repeat"] is True
    assert third["repeat_of"] == first["id"]
    assert other_category["is_repeat"] is False
    explicit = await file(category="settlement", repeat_of=third["id"])
    assert explicit["repeat_of"] == first["id"]

    # A complaint closed satisfied is settled: a new one is an original.
    settled_shop = str(uuid.uuid4())
    done = (
        await http.post(
            "/api/v1/complaints", json=complaint_body(customer_id=settled_shop), headers=CALL
        )
    ).json()
    url = f"/api/v1/complaints/{done['id']}"
    await http.post(f"{url}/assign", json={"assignee": "a"}, headers=CALL)
    await http.post(f"{url}/start", headers=CALL)
    await http.post(f"{url}/resolve", json={"resolution": "r", "root_cause": "c"}, headers=CALL)
    await http.post(f"{url}/close", json={"callback_satisfied": True}, headers=CALL)
    fresh = (
        await http.post(
            "/api/v1/complaints", json=complaint_body(customer_id=settled_shop), headers=CALL
        )
    ).json()
    assert fresh["is_repeat"] is False

    # Reopening by hand records a repeat complaint linked to the root and reopens the original.
    reopened = await http.post(f"{url}/reopen", json={"reason": "still late"}, headers=CALL)
    assert reopened.json()["status"] == "in_progress"
    assert reopened.json()["reopen_count"] == 1
    repeat_id = reopened.headers["Repeat-Complaint-Id"]
    repeat = (await http.get(f"/api/v1/complaints/{repeat_id}", headers=CALL)).json()
    assert repeat["repeat_of"] == done["id"] and repeat["is_repeat"] is True
    assert repeat["assignee"] == "a" and repeat["status"] == "assigned"
