"""Deadlines of a complaint filed just before Spring Festival 2026 (`china` calendar)."""

from datetime import UTC, datetime

import pytest

from complaint_svc.complaints import service as complaint_service
from complaint_svc.context import context_of
from complaint_svc.deadlines.sweeper import sweep
from complaint_svc.main import definition
from retailcare_shared.testing import (
    DatabaseFactory,
    ServiceUnderTest,
    TestBus,
    bearer,
    running_service,
)

CALL = bearer(["call_center"], sub="agent-li")
# Saturday 2026-02-14 10:00 in Shanghai: a make-up working day (调休), the last one before the
# statutory Spring Festival holiday of 02-15 .. 02-23.
FILED = datetime(2026, 2, 14, 2, 0, tzinfo=UTC)
BODY = {
    "complainant_type": "retailer",
    "received_by": "agent-li",
    "channel": "hotline",
    "category": "settlement",
    "service_item": "after_sales_window",
    "description": "The settlement statement is wrong.",
}


@pytest.fixture(autouse=True)
def filed_before_spring_festival(monkeypatch: pytest.MonkeyPatch) -> None:
    # Intake reads the clock through the module's now_utc: pin it to the filing moment.
    monkeypatch.setattr(complaint_service, "now_utc", lambda: FILED)


async def test_deadlines_skip_spring_festival(quiet_service: ServiceUnderTest) -> None:
    created = await quiet_service.http.post("/api/v1/complaints", json=BODY, headers=CALL)
    assert created.status_code == 201
    complaint = created.json()
    # 1 working day → Tuesday 02-24 10:00; 5 → 24..27 and the make-up Saturday 02-28.
    assert complaint["acknowledge_due_at"].startswith("2026-02-24T02:00:00")
    assert complaint["resolve_due_at"].startswith("2026-02-28T02:00:00")
    read = await quiet_service.http.get(f"/api/v1/complaints/{complaint['id']}", headers=CALL)
    assert read.json()["acknowledge_due_at"] == complaint["acknowledge_due_at"]

    # Nothing is overdue during the holiday, even a week on (Mon-Fri would say Monday 02-16).
    context = context_of(quiet_service.app)
    async with quiet_service.database.transaction() as session:
        assert await sweep(session, context, datetime(2026, 2, 23, 15, 0, tzinfo=UTC)) == []
    async with quiet_service.database.transaction() as session:
        breaches = await sweep(session, context, datetime(2026, 2, 24, 2, 1, tzinfo=UTC))
    assert [(str(b.complaint_id), b.reason) for b in breaches] == [
        (complaint["id"], "acknowledge_overdue")
    ]
    overdue = await quiet_service.http.get("/api/v1/complaints?overdue=true", headers=CALL)
    assert [item["id"] for item in overdue.json()["items"]] == [complaint["id"]]


async def test_weekdays_base_and_configured_lists(
    database_factory: DatabaseFactory, bus: TestBus
) -> None:
    async with running_service(
        definition,
        database_factory,
        bus,
        sweeper_enabled=False,
        consumers_enabled=False,
        workday_calendar="weekdays",
        holidays="2026-02-16",
    ) as running:
        created = await running.http.post("/api/v1/complaints", json=BODY, headers=CALL)
    complaint = created.json()
    # Saturday is no working day here: counting starts Monday 02-16, a configured holiday, so
    # Tuesday 00:00; one working day later is Wednesday 02-18 00:00 Shanghai.
    assert complaint["acknowledge_due_at"].startswith("2026-02-17T16:00:00")
