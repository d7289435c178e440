"""complaint.resolved just before Spring Festival 2026 → the callback is due after the holiday."""

import uuid
from datetime import UTC, datetime

from retailcare_shared.events import ComplaintResolved, build_envelope
from retailcare_shared.testing import ServiceUnderTest, TestBus, bearer, eventually

CALL = bearer(["call_center"], sub="agent-1")


async def test_callback_due_date_skips_spring_festival(
    service: ServiceUnderTest, bus: TestBus
) -> None:
    complaint, shop = uuid.uuid4(), uuid.uuid4()
    # Friday 2026-02-13 16:00 Shanghai. Three working days on the default `china` calendar:
    # the make-up Saturday 02-14, then (02-15 .. 02-23 off) Tuesday 24th and Wednesday 25th.
    resolved_at = datetime(2026, 2, 13, 8, 0, tzinfo=UTC)
    await bus.publish(
        build_envelope(
            ComplaintResolved(
                complaint_id=complaint,
                customer_id=shop,
                resolved_at=resolved_at,
                resolution_summary="re-issued the statement",
            ),
            source="complaint-svc",
            subject=str(shop),
        )
    )

    async def queued() -> list[dict[str, object]] | None:
        reply = await service.http.get(f"/api/v1/callbacks?customer_id={shop}", headers=CALL)
        items: list[dict[str, object]] = reply.json()["items"]
        return items or None

    items = await eventually(queued)
    assert [item["complaint_id"] for item in items] == [str(complaint)]
    assert str(items[0]["due_at"]).startswith("2026-02-25T08:00:00")
