"""The deadline sweeper escalates each breach exactly once, even with two sweepers at once."""

import asyncio
from datetime import timedelta

from sqlalchemy import text

from complaint_svc.complaints.service import now_utc
from complaint_svc.context import context_of
from complaint_svc.deadlines.sweeper import sweep
from retailcare_shared.testing import ServiceUnderTest, bearer

CALL = bearer(["call_center"], sub="agent-li")


def body(priority: str = "normal") -> dict[str, object]:
    return {
        "complainant_type": "retailer",
        "received_by": "agent-li",
        "channel": "hotline",
        "category": "settlement",
        "service_item": "after_sales_window",
        "description": "The settlement statement is wrong.",
        "priority": priority,
    }


async def escalated_events(service: ServiceUnderTest) -> list[tuple[str, str]]:
    async with service.database.transaction() as session:
        rows = await session.execute(
            text(
                "SELECT data->>'complaint_id', data->>'reason' FROM ("
                " SELECT convert_from(value, 'UTF8')::json->'data' AS data FROM outbox"
                " WHERE event_type = 'complaint.escalated') AS escalated"
            )
        )
        return sorted((str(a), str(b)) for a, b in rows)


async def test_two_concurrent_sweepers_escalate_each_breach_once(
    quiet_service: ServiceUnderTest,
) -> None:
    http = quiet_service.http
    ids = []
    for priority in ("normal", "urgent", "normal"):
        created = await http.post("/api/v1/complaints", json=body(priority), headers=CALL)
        ids.append(created.json()["id"])
    # The third is acknowledged in time: only its resolve deadline can be breached.
    await http.post(f"/api/v1/complaints/{ids[2]}/assign", json={"assignee": "a"}, headers=CALL)
    context = context_of(quiet_service.app)
    database = quiet_service.database
    later = now_utc() + timedelta(days=30)

    # Deterministic interleaving: A holds its rows uncommitted while B sweeps.
    async with database.transaction() as first:
        found_first = await sweep(first, context, later)
        async with database.transaction() as second:
            assert await sweep(second, context, later) == []
    assert len(found_first) == 5

    # Free-running: two sweepers at once on fresh breaches.
    more = []
    for _ in range(4):
        created = await http.post("/api/v1/complaints", json=body(), headers=CALL)
        more.append(created.json()["id"])

    async def one_round() -> list[object]:
        async with database.transaction() as session:
            return list(await sweep(session, context, later))

    rounds = await asyncio.gather(one_round(), one_round())
    assert sum(len(found) for found in rounds) == 8
    async with database.transaction() as session:
        assert await sweep(session, context, later) == []

    events = await escalated_events(quiet_service)
    assert len(events) == len(set(events)) == 13
    assert (ids[2], "acknowledge_overdue") not in events
    assert (ids[2], "resolve_overdue") in events

    overdue = await http.get("/api/v1/complaints?overdue=true&limit=100", headers=CALL)
    assert {item["id"] for item in overdue.json()["items"]} == set(ids + more)
    on_time = await http.get("/api/v1/complaints?overdue=false", headers=CALL)
    assert on_time.json()["items"] == []
    timeline = (await http.get(f"/api/v1/complaints/{ids[0]}/timeline", headers=CALL)).json()[
        "items"
    ]
    assert [entry["action"] for entry in timeline] == ["filed", "escalate", "escalate"]
    assert {entry["actor"] for entry in timeline[1:]} == {"deadline-sweeper"}


async def test_nothing_is_escalated_before_the_deadline(quiet_service: ServiceUnderTest) -> None:
    await quiet_service.http.post("/api/v1/complaints", json=body(), headers=CALL)
    async with quiet_service.database.transaction() as session:
        assert await sweep(session, context_of(quiet_service.app), now_utc()) == []
