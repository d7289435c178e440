"""Shops through HTTP on the real database and broker: register, read, search, update, history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from customer_svc.customers.models import Customer, CustomerVersion
from retailcare_shared.events import CUSTOMER_EVENTS
from retailcare_shared.platform_tables import OutboxMessage
from retailcare_shared.testing import ServiceUnderTest, TestBus

PERSONAL_VALUES = ("Zhang San", "13812345678", "1980-05-04", "fishing")


async def test_register_read_search_and_conflict(service: ServiceUnderTest, api: Any) -> None:
    client = service.http
    body = api.shop_body(
        phones=["138-1234-5678"], personal_data_consent=True, birthday="1980-05-04"
    )
    created = await client.post("/api/v1/customers", json=body, headers=api.ADMIN)
    assert created.status_code == 201, created.text
    shop = created.json()
    assert shop["version"] == 1 and shop["status"] == "active"
    assert shop["phones"] == ["13812345678"]  # stored normalised for the caller lookup
    assert created.headers["etag"] == '"1"'

    again = await client.post("/api/v1/customers", json=body, headers=api.ADMIN)
    assert again.status_code == 409

    by_id = await client.get(f"/api/v1/customers/{shop['id']}", headers=api.CALL_CENTER)
    assert by_id.status_code == 200 and by_id.json()["owner_name"] == "Zhang San"
    by_license = await client.get(
        f"/api/v1/customers/by-license/{body['license_no']}", headers=api.CALL_CENTER
    )
    assert by_license.json()["id"] == shop["id"]

    await api.register(name="Other Shop", phones=["13900000000"], address="9 Lake St")
    by_phone = await client.get("/api/v1/customers?phone=138 1234 5678", headers=api.CALL_CENTER)
    assert [item["id"] for item in by_phone.json()["items"]] == [shop["id"]]
    by_fragment = await client.get("/api/v1/customers?q=lake", headers=api.CALL_CENTER)
    assert [item["name"] for item in by_fragment.json()["items"]] == ["Other Shop"]
    like_chars = await client.get("/api/v1/customers?q=%25_", headers=api.CALL_CENTER)
    assert like_chars.status_code == 200 and like_chars.json()["items"] == []
    control = await client.get("/api/v1/customers?q=a%00b", headers=api.CALL_CENTER)
    assert control.status_code == 422 and control.json()["errors"][0]["field"] == "q"
    odd_license = await client.get("/api/v1/customers/by-license/%00x", headers=api.CALL_CENTER)
    assert odd_license.status_code == 422
    filtered = await client.get(
        "/api/v1/customers?county=330102&market_type=urban&status=active&business_format=convenience&limit=1",
        headers=api.ADMIN,
    )
    page = filtered.json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = await client.get(
        f"/api/v1/customers?county=330102&limit=1&cursor={page['next_cursor']}", headers=api.ADMIN
    )
    assert (
        len(rest.json()["items"]) == 1 and rest.json()["items"][0]["id"] != page["items"][0]["id"]
    )

    masked = await client.get(f"/api/v1/customers/{shop['id']}", headers=api.ANALYST)
    assert masked.json()["owner_name"] == "Z********"
    assert masked.json()["phones"] == ["138****5678"]
    assert masked.json()["birthday"] is None
    phone_search = await client.get("/api/v1/customers?phone=13812345678", headers=api.ANALYST)
    assert phone_search.status_code == 422
    assert phone_search.json()["errors"][0]["field"] == "phone"


async def test_validation_names_the_field(service: ServiceUnderTest, api: Any) -> None:
    client = service.http
    cases = [
        ({"business_format": "casino"}, "business_format"),
        ({"license_no": "12"}, "license_no"),
        ({"business_hours": 25}, "business_hours"),
        ({"colour": "red"}, "colour"),
        ({"value_class": "A"}, "value_class"),
        ({"birthday": "1980-01-01"}, "birthday"),  # no consent
        ({"hobbies": "cards", "personal_data_consent": False}, "hobbies"),
        ({"name": "bad\u0000name"}, "name"),
    ]
    for overrides, field in cases:
        response = await client.post(
            "/api/v1/customers", json=api.shop_body(**overrides), headers=api.ADMIN
        )
        assert response.status_code == 422, (overrides, response.text)
        assert field in {error["field"] for error in response.json()["errors"]}, response.text
    async with service.database.transaction() as session:
        assert (await session.scalars(select(Customer))).all() == []


async def test_update_history_and_as_of(service: ServiceUnderTest, api: Any, bus: TestBus) -> None:
    client = service.http
    shop = await api.register(name="Old Name", scale="small")
    url = f"/api/v1/customers/{shop['id']}"
    # Version 1 held since the start of the year: as_of an earlier date must return it.
    async with service.database.transaction() as session:
        await session.execute(
            update(CustomerVersion)
            .where(CustomerVersion.customer_id == shop["id"])
            .values(valid_from=datetime(2026, 1, 1, tzinfo=UTC))
        )

    no_etag = await client.patch(url, json={"name": "New Name"}, headers=api.ADMIN)
    assert no_etag.status_code == 428
    stale = await client.patch(url, json={"name": "X"}, headers={**api.ADMIN, "If-Match": '"7"'})
    assert stale.status_code == 412
    patched = await client.patch(
        url,
        json={"name": "New Name", "scale": "medium", "reason": "renovated"},
        headers={**api.ADMIN, "If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["version"] == 2 and patched.headers["etag"] == '"2"'

    now = (await client.get(url, headers=api.ADMIN)).json()
    assert (now["name"], now["scale"]) == ("New Name", "medium")
    earlier = (await client.get(f"{url}?as_of=2026-02-01", headers=api.ADMIN)).json()
    assert (earlier["name"], earlier["scale"], earlier["version"]) == ("Old Name", "small", 1)
    before_registration = await client.get(f"{url}?as_of=2025-12-01", headers=api.ADMIN)
    assert before_registration.status_code == 404
    bad = await client.get(f"{url}?as_of=yesterday", headers=api.ADMIN)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "as_of"

    history = (await client.get(f"{url}/history", headers=api.ADMIN)).json()["items"]
    assert [entry["version"] for entry in history] == [2, 1]
    latest = history[0]
    assert latest["changed_fields"] == ["name", "scale"]
    assert latest["changes"]["name"] == {"old": "Old Name", "new": "New Name"}
    assert latest["changed_by"] == "admin-1" and latest["reason"] == "renovated"
    assert history[1]["valid_to"] == latest["valid_from"]

    events = await bus.events(CUSTOMER_EVENTS, expected=2)
    assert [event.type for event in events] == ["customer.registered", "customer.updated"]
    assert events[1].data["changed_fields"] == ["name", "scale"]
    for event in events:
        assert event.subject == shop["id"]
        assert not any(value in event.model_dump_json() for value in PERSONAL_VALUES)


async def test_erasure_blanks_personal_data_in_every_version(
    service: ServiceUnderTest, api: Any
) -> None:
    client = service.http
    shop = await api.register(
        personal_data_consent=True, birthday="1980-05-04", hobbies="fishing", owner_name="Zhang San"
    )
    url = f"/api/v1/customers/{shop['id']}"
    await client.patch(
        url,
        json={"owner_name": "Zhang San Jr", "phones": ["13812345678", "13700000001"]},
        headers={**api.ADMIN, "If-Match": '"1"'},
    )
    masked = (await client.get(f"{url}/history", headers=api.ANALYST)).json()["items"][0]
    assert masked["changes"]["owner_name"] == {"old": "Z********", "new": "Z***********"}
    assert masked["changes"]["phones"]["new"] == ["138****5678", "137****0001"]
    forbidden = await client.post(
        f"{url}/erase-personal-data", json={"reason": "owner request"}, headers=api.SUPERVISOR
    )
    assert forbidden.status_code == 403
    erased = await client.post(
        f"{url}/erase-personal-data", json={"reason": "owner request"}, headers=api.ADMIN
    )
    assert erased.status_code == 200, erased.text
    body = erased.json()
    assert (body["owner_name"], body["phones"], body["birthday"], body["hobbies"]) == (
        None,
        [],
        None,
        None,
    )
    assert body["personal_data_erased_at"] is not None and body["version"] == 3

    async with service.database.transaction() as session:
        versions = (await session.scalars(select(CustomerVersion))).all()
        stored = [str(v.snapshot) + str(v.changes) for v in versions]
        outbox = (await session.scalars(select(OutboxMessage.value))).all()
    assert len(versions) == 3
    for text in stored + [value.decode() for value in outbox]:
        for personal in (*PERSONAL_VALUES, "Zhang San Jr", "13700000001"):
            assert personal not in text
    history = (await client.get(f"{url}/history", headers=api.ADMIN)).json()["items"]
    assert history[0]["change_kind"] == "personal_data_erased"
    assert history[0]["reason"] == "owner request"
    assert "owner_name" in history[0]["changed_fields"]
    past = (await client.get(f"{url}?as_of=2099-01-01", headers=api.ADMIN)).json()
    assert past["owner_name"] is None
