"""customer.personal_data_erased over the real broker: the shop's complainant contacts go."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select

from retailcare_shared.events import CustomerPersonalDataErased, build_envelope
from retailcare_shared.platform_tables import InboxMessage
from retailcare_shared.testing import ServiceUnderTest, TestBus, bearer, eventually

CALL = bearer(["call_center"], sub="agent-li")


async def file(service: ServiceUnderTest, shop: uuid.UUID, complainant_type: str) -> str:
    response = await service.http.post(
        "/api/v1/complaints",
        json={
            "customer_id": str(shop),
            "complainant_type": complainant_type,
            "received_by": "agent-li",
            "complainant_name": "张三",
            "complainant_phone": "13812345678",
            "channel": "hotline",
            "category": "delivery_timeliness",
            "service_item": "delivery",
            "description": "The delivery was late again.",
        },
        headers=CALL,
    )
    assert response.status_code == 201, response.text
    complaint_id: str = response.json()["id"]
    return complaint_id


async def contact(service: ServiceUnderTest, complaint_id: str) -> tuple[object, object, object]:
    body = (await service.http.get(f"/api/v1/complaints/{complaint_id}", headers=CALL)).json()
    return body["complainant_name"], body["complainant_phone"], body["version"]


async def test_erasure_blanks_the_shops_retailer_contacts_once(
    service: ServiceUnderTest, bus: TestBus
) -> None:
    shop, neighbour = uuid.uuid4(), uuid.uuid4()
    owners = [await file(service, shop, "retailer") for _ in range(2)]
    consumer = await file(service, shop, "consumer")
    other_shop = await file(service, neighbour, "retailer")
    erased = build_envelope(
        CustomerPersonalDataErased(customer_id=shop, erased_at=datetime.now(UTC)),
        source="customer-svc",
        subject=str(shop),
    )

    # Delivered twice (a redelivery): the inbox applies it once.
    await bus.publish(erased, erased)

    async def blanked() -> bool:
        contacts = [(await contact(service, owner))[:2] for owner in owners]
        return contacts == [(None, None)] * len(owners)

    await eventually(blanked)
    assert [(await contact(service, owner))[2] for owner in owners] == [2, 2]
    # A consumer complaining about the shop is another person: still reachable for the callback.
    assert await contact(service, consumer) == ("张三", "13812345678", 1)
    assert await contact(service, other_shop) == ("张三", "13812345678", 1)

    # A second erasure (a new event) finds nothing left to blank and changes no version.
    again = build_envelope(
        CustomerPersonalDataErased(customer_id=shop, erased_at=datetime.now(UTC)),
        source="customer-svc",
        subject=str(shop),
    )
    await bus.publish(again)

    async def applied() -> bool:
        async with service.database.transaction() as session:
            found = await session.scalar(
                select(func.count())
                .select_from(InboxMessage)
                .where(InboxMessage.event_id.in_([erased.id, again.id]))
            )
        return found == 2

    await eventually(applied)
    assert [(await contact(service, owner))[2] for owner in owners] == [2, 2]
