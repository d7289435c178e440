"""Issue 16: a reopened complaint resolved again gets a new callback; a complaint whose shop is
attached later counts for that shop."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from retailcare_shared.events import (
    ComplaintCustomerAttached,
    ComplaintFiled,
    ComplaintResolved,
    build_envelope,
)
from retailcare_shared.testing import ServiceUnderTest, TestBus, bearer, eventually
from survey_svc.callbacks.models import Callback
from survey_svc.readmodel.models import ComplaintView

CALL = bearer(["call_center"], sub="agent-1")


def resolved(complaint_id: uuid.UUID, shop: uuid.UUID, when: datetime) -> object:
    return build_envelope(
        ComplaintResolved(
            complaint_id=complaint_id,
            customer_id=shop,
            resolved_at=when,
            resolution_summary="allocated more",
        ),
        source="complaint-svc",
        subject=str(shop),
    )


async def test_each_resolution_gets_its_own_callback(
    service: ServiceUnderTest, bus: TestBus
) -> None:
    complaint, shop = uuid.uuid4(), uuid.uuid4()
    first_time = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    first = resolved(complaint, shop, first_time)
    # Resolved, reopened (complaint-svc), resolved again four days later; the first redelivered.
    await bus.publish(first, first, resolved(complaint, shop, first_time + timedelta(days=4)))

    async def callbacks() -> list[Callback]:
        async with service.database.transaction() as session:
            rows = await session.scalars(
                select(Callback).where(Callback.complaint_id == complaint).order_by(Callback.due_at)
            )
            return list(rows.all())

    async def two() -> bool:
        return len(await callbacks()) == 2

    await eventually(two)
    found = await callbacks()
    assert [row.resolved_at for row in found] == [first_time, first_time + timedelta(days=4)]
    assert {row.status for row in found} == {"pending"}
    listed = await service.http.get(f"/api/v1/callbacks?customer_id={shop}", headers=CALL)
    assert [item["complaint_id"] for item in listed.json()["items"]] == [str(complaint)] * 2


async def test_an_attached_shop_reaches_the_complaint_read_model(
    service: ServiceUnderTest, bus: TestBus
) -> None:
    complaint, shop = uuid.uuid4(), uuid.uuid4()
    filed = build_envelope(
        ComplaintFiled(
            complaint_id=complaint,
            customer_id=None,
            complainant_type="retailer",
            channel="hotline",
            category="staff_attitude",
            company_responsible=True,
            priority="normal",
            filed_at=datetime(2026, 11, 20, 2, 0, tzinfo=UTC),
        ),
        source="complaint-svc",
        subject=str(complaint),
    )
    attached = build_envelope(
        ComplaintCustomerAttached(complaint_id=complaint, customer_id=shop, attached_by="agent-1"),
        source="complaint-svc",
        subject=str(complaint),
    )
    await bus.publish(filed, attached, attached)

    async def attached_to_shop() -> bool:
        async with service.database.transaction() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(ComplaintView)
                .where(ComplaintView.complaint_id == complaint, ComplaintView.customer_id == shop)
            )
            return count == 1

    await eventually(attached_to_shop)
