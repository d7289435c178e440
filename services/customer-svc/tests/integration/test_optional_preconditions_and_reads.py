"""Issue 16: optional If-Match on reassignment, optional erasure reason and its event, one visit
by id, and the assignment history as a page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from retailcare_shared.events import CUSTOMER_EVENTS
from retailcare_shared.testing import ServiceUnderTest, TestBus


async def test_reassignment_without_if_match_is_applied_and_a_stale_one_refused(
    service: ServiceUnderTest, api: Any
) -> None:
    client = service.http
    first, second = await api.create_manager("E601"), await api.create_manager("E602")
    shop = await api.register(manager_id=first["id"])
    url = f"/api/v1/customers/{shop['id']}/manager"

    moved = await client.put(
        url,
        json={"manager_id": second["id"], "effective_date": "2026-11-21"},
        headers=api.SUPERVISOR,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["manager_id"] == second["id"]
    assert moved.headers["etag"] == '"2"'

    stale = await client.put(
        url,
        json={"manager_id": first["id"], "effective_date": "2026-11-22"},
        headers={**api.SUPERVISOR, "If-Match": '"1"'},
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    current = (await client.get(f"/api/v1/customers/{shop['id']}", headers=api.ADMIN)).json()
    assert (current["manager_id"], current["version"]) == (second["id"], 2)

    fresh = await client.put(
        url,
        json={"manager_id": first["id"], "effective_date": "2026-11-22"},
        headers={**api.SUPERVISOR, "If-Match": '"2"'},
    )
    assert fresh.status_code == 200 and fresh.json()["version"] == 3


async def test_assignment_history_is_a_keyset_page(service: ServiceUnderTest, api: Any) -> None:
    client = service.http
    first, second = await api.create_manager("E611"), await api.create_manager("E612")
    shop = await api.register(manager_id=first["id"])
    url = f"/api/v1/customers/{shop['id']}"
    for manager, day in ((second, "2026-11-21"), (first, "2026-11-22")):
        moved = await client.put(
            f"{url}/manager",
            json={"manager_id": manager["id"], "effective_date": day},
            headers=api.SUPERVISOR,
        )
        assert moved.status_code == 200, moved.text

    whole = (await client.get(f"{url}/manager-assignments", headers=api.ADMIN)).json()
    assert set(whole) == {"items", "next_cursor"} and whole["next_cursor"] is None
    assert [item["effective_date"] for item in whole["items"]][:2] == ["2026-11-22", "2026-11-21"]

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = (
            await client.get(f"{url}/manager-assignments", params=params, headers=api.ADMIN)
        ).json()
        seen += [item["effective_date"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [item["effective_date"] for item in whole["items"]]
    bad = await client.get(f"{url}/manager-assignments?cursor=nonsense", headers=api.ADMIN)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"


async def test_erasure_needs_no_reason_and_announces_itself_without_personal_data(
    service: ServiceUnderTest, api: Any, bus: TestBus
) -> None:
    client = service.http
    shop = await api.register(owner_name="Zhang San", phones=["13812345678"])
    url = f"/api/v1/customers/{shop['id']}/erase-personal-data"

    without_body = await client.post(url, headers=api.ADMIN)
    assert without_body.status_code == 200, without_body.text
    assert without_body.json()["owner_name"] is None
    empty_body = await client.post(url, json={}, headers=api.ADMIN)
    assert empty_body.status_code == 200, empty_body.text
    typo = await client.post(url, json={"reasn": "x"}, headers=api.ADMIN)
    assert typo.status_code == 422

    history = (
        await client.get(f"/api/v1/customers/{shop['id']}/history", headers=api.ADMIN)
    ).json()["items"]
    assert history[0]["change_kind"] == "personal_data_erased"
    assert history[0]["reason"] is None

    events = await bus.events(
        CUSTOMER_EVENTS, expected=2, event_type="customer.personal_data_erased"
    )
    assert {event.subject for event in events} == {shop["id"]}
    assert set(events[0].data) == {"customer_id", "erased_at"}
    assert events[0].data["customer_id"] == shop["id"]
    assert "Zhang San" not in events[0].model_dump_json()
    assert "13812345678" not in events[0].model_dump_json()


async def test_one_visit_by_id_for_its_manager_only(service: ServiceUnderTest, api: Any) -> None:
    client = service.http
    manager, other = await api.create_manager("E621"), await api.create_manager("E622")
    shop = await api.register(manager_id=manager["id"])
    started = datetime.now(UTC) - timedelta(hours=2)
    recorded = await client.post(
        "/api/v1/visits",
        json={
            "customer_id": shop["id"],
            "manager_id": manager["id"],
            "started_at": started.isoformat(),
            "ended_at": (started + timedelta(minutes=30)).isoformat(),
            "purpose": "routine",
            "checklist": {
                "license_displayed": True,
                "signage_displayed": True,
                "display_compliant": True,
                "price_tags_ok": True,
                "inventory_checked": True,
            },
            "findings": "all in order",
        },
        headers=api.manager_token(manager["id"]),
    )
    assert recorded.status_code == 201, recorded.text
    location = recorded.headers["location"]
    assert location == f"/api/v1/visits/{recorded.json()['id']}"

    own = await client.get(location, headers=api.manager_token(manager["id"]))
    assert own.status_code == 200, own.text
    assert own.json() == recorded.json()
    for reader in (api.SUPERVISOR, api.ANALYST, api.ADMIN):
        assert (await client.get(location, headers=reader)).status_code == 200

    foreign = await client.get(location, headers=api.manager_token(other["id"]))
    assert foreign.status_code == 404
    assert foreign.headers["content-type"] == "application/problem+json"
    elsewhere = await client.get(location, headers=api.OTHER_SUPERVISOR)
    assert elsewhere.status_code == 404
    missing = await client.get(
        "/api/v1/visits/00000000-0000-0000-0000-000000000000", headers=api.ADMIN
    )
    assert missing.status_code == 404
    assert (await client.get(location, headers=api.CALL_CENTER)).status_code == 403
    assert (await client.get("/api/v1/visits/not-a-uuid", headers=api.ADMIN)).status_code == 422
