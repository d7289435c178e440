"""complaint.resolved → one callback; attempts; the answer complaint-svc needs."""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from retailcare_shared.events import SURVEY_EVENTS, ComplaintResolved, build_envelope
from retailcare_shared.testing import ServiceUnderTest, TestBus, bearer, eventually
from survey_svc.callbacks.models import Callback

CALL = bearer(["call_center"], sub="agent-1")


def resolved(complaint_id: uuid.UUID, shop: uuid.UUID, when: datetime) -> Any:
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


async def test_callbacks_from_resolved_complaints(service: ServiceUnderTest, bus: TestBus) -> None:
    http = service.http
    unhappy, unreachable = uuid.uuid4(), uuid.uuid4()
    shop = uuid.uuid4()
    # Friday 2026-11-20 10:00 in Shanghai → due Wednesday 25th (three working days).
    friday = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    first = resolved(unhappy, shop, friday)
    # The same event twice, and a second resolved event for the same complaint.
    await bus.publish(first, first, resolved(unhappy, shop, friday))
    await bus.publish(resolved(unreachable, shop, datetime(2026, 11, 23, 2, 0, tzinfo=UTC)))

    async def two_callbacks() -> bool:
        async with service.database.transaction() as session:
            return await session.scalar(select(func.count()).select_from(Callback)) == 2

    await eventually(two_callbacks)
    # All four events share a key (one partition, in order): the duplicates were applied first.
    queue = (await http.get("/api/v1/callbacks?status=pending", headers=CALL)).json()["items"]
    assert [c["complaint_id"] for c in queue] == [str(unhappy), str(unreachable)]  # oldest due
    assert queue[0]["due_at"].startswith("2026-11-25T02:00:00")
    assert queue[0]["attempts"] == 0 and queue[0]["status"] == "pending"
    of_shop = (await http.get(f"/api/v1/callbacks?customer_id={shop}", headers=CALL)).json()
    assert len(of_shop["items"]) == 2
    of_other = (
        await http.get(f"/api/v1/callbacks?customer_id={uuid.uuid4()}", headers=CALL)
    ).json()
    assert of_other["items"] == []
    # Keyset pages over (due_at, id): the second page starts after the first.
    page = (await http.get("/api/v1/callbacks?limit=1", headers=CALL)).json()
    assert [c["complaint_id"] for c in page["items"]] == [str(unhappy)]
    rest = await http.get(f"/api/v1/callbacks?limit=1&cursor={page['next_cursor']}", headers=CALL)
    assert [c["complaint_id"] for c in rest.json()["items"]] == [str(unreachable)]
    assert rest.json()["next_cursor"] is None
    async with service.database.transaction() as session:
        per_complaint = await session.scalar(
            select(func.count()).select_from(Callback).where(Callback.complaint_id == unhappy)
        )
    assert per_complaint == 1

    # Three unanswered calls → unreachable; a fourth is refused.
    url = f"/api/v1/callbacks/{queue[1]['id']}"
    for expected in ("pending", "pending", "unreachable"):
        attempt = await http.post(f"{url}/attempts", json={"note": "no answer"}, headers=CALL)
        assert attempt.json()["status"] == expected
    assert (await http.post(f"{url}/attempts", json={}, headers=CALL)).status_code == 409
    pending = (await http.get("/api/v1/callbacks?status=pending", headers=CALL)).json()["items"]
    assert [c["complaint_id"] for c in pending] == [str(unhappy)]

    # Invalid answers name the item; a valid unsatisfied answer emits the event.
    answer_url = f"/api/v1/callbacks/{queue[0]['id']}/response"
    invalid = await http.post(
        answer_url,
        json={
            "answers": [
                {"item_code": "reached", "value": True},
                {"item_code": "satisfaction", "score": 9},
            ],
            "collected_by": "agent-1",
        },
        headers=CALL,
    )
    assert invalid.status_code == 422
    assert {(e["item_code"], e["rule"]) for e in invalid.json()["errors"]} == {
        ("satisfaction", "scale"),
        ("solved", "required"),
    }
    body = {
        "answers": [
            {"item_code": "reached", "value": True},
            {"item_code": "solved", "value": True},
            {"item_code": "satisfaction", "score": 3},
            {"item_code": "comment", "value": "slow"},
        ],
        "collected_by": "agent-1",
    }
    answered = await http.post(answer_url, json=body, headers={**CALL, "Idempotency-Key": "cb-1"})
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "completed" and answered.json()["satisfied"] is False
    replay = await http.post(answer_url, json=body, headers={**CALL, "Idempotency-Key": "cb-1"})
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert (await http.post(answer_url, json=body, headers=CALL)).status_code == 409

    (event,) = await bus.events(SURVEY_EVENTS, expected=1, event_type="survey.callback_completed")
    assert event.data["complaint_id"] == str(unhappy)
    assert event.data["customer_id"] == str(shop)
    assert event.data["satisfied"] is False
    assert event.data["comment"] == "slow"
    assert event.data["response_id"] == answered.json()["response_id"]

    analyst = bearer(["analyst"], sub="an")
    assert (await http.get("/api/v1/callbacks", headers=analyst)).status_code == 403
