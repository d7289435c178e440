"""Campaigns end to end: read model from events, sampling, invitations, responses, access."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from retailcare_shared.events import (
    SURVEY_EVENTS,
    CustomerManagerAssigned,
    CustomerRegistered,
    CustomerStatusChanged,
    ValuationCustomerClassified,
    build_envelope,
)
from retailcare_shared.testing import ServiceUnderTest, TestBus, bearer, eventually
from survey_svc.campaigns.models import CampaignFrameUnit
from survey_svc.questionnaires.catalogue import SERVQUAL_RETAIL
from survey_svc.readmodel.models import CustomerView

ADMIN = bearer(["admin"], sub="admin-1")
SUPERVISOR = bearer(["supervisor"], sub="sup-1", county="C1")
OTHER_COUNTY = bearer(["supervisor"], sub="sup-2", county="C9")
MANAGER_A = uuid.uuid4()
MANAGER_B = uuid.uuid4()
AS_MANAGER_A = bearer(["customer_manager"], sub="mgr-a", manager_id=str(MANAGER_A))
AS_MANAGER_B = bearer(["customer_manager"], sub="mgr-b", manager_id=str(MANAGER_B))


def shop_event(district: str, manager: uuid.UUID, county: str = "C1") -> Any:
    customer_id = uuid.uuid4()
    return build_envelope(
        CustomerRegistered(
            customer_id=customer_id,
            license_no=str(customer_id.int)[:12],
            name="shop",
            county=county,
            district=district,
            market_type="urban",
            manager_id=manager,
            status="active",
        ),
        source="customer-svc",
        subject=str(customer_id),
    )


def campaign_body(seed: int, *, exclude_days: int = 0, **overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "name": "November inquiry",
        "questionnaire_id": str(SERVQUAL_RETAIL.id),
        "kind": "monthly_inquiry",
        "method": "phone",
        "opens_at": (now - timedelta(days=1)).isoformat(),
        "closes_at": (now + timedelta(days=20)).isoformat(),
        "sampling": {
            "rate": 0.2,
            "strata": ["district"],
            "min_per_stratum": 2,
            "exclude_surveyed_within_days": exclude_days,
            "seed": seed,
        },
    }
    body.update(overrides)
    return body


def full_answers(gap: int = -1) -> list[dict[str, Any]]:
    return [
        {"item_code": item.code, "expectation": 4, "perception": 4 + gap}
        for item in SERVQUAL_RETAIL.items
    ]


async def drawn_campaign(service: ServiceUnderTest, body: dict[str, Any]) -> dict[str, Any]:
    created = await service.http.post("/api/v1/survey-campaigns", json=body, headers=SUPERVISOR)
    assert created.status_code == 201, created.text
    drawn = await service.http.post(
        f"/api/v1/survey-campaigns/{created.json()['id']}/sample", headers=SUPERVISOR
    )
    assert drawn.status_code == 200, drawn.text
    result: dict[str, Any] = drawn.json()
    return result


async def invitations(service: ServiceUnderTest, campaign_id: str, headers: Any) -> list[Any]:
    response = await service.http.get(
        f"/api/v1/survey-campaigns/{campaign_id}/invitations?limit=500", headers=headers
    )
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


async def test_sampling_invitations_and_responses(service: ServiceUnderTest, bus: TestBus) -> None:
    http = service.http
    # 30 shops in D1 (manager A), 10 in D2 (manager B), 5 in another county, one exited.
    events = [shop_event("D1", MANAGER_A) for _ in range(30)]
    events += [shop_event("D2", MANAGER_B) for _ in range(10)]
    events += [shop_event("D1", MANAGER_A, county="C9") for _ in range(5)]
    exited = shop_event("D1", MANAGER_A)
    events.append(exited)
    await bus.publish(*events)
    await bus.publish(
        build_envelope(
            CustomerStatusChanged(status="exited", effective_date=datetime.now(UTC).date()),
            source="customer-svc",
            subject=exited.subject,
        )
    )

    async def exited_applied() -> bool:
        async with service.database.transaction() as session:
            status = await session.scalar(
                select(CustomerView.status).where(
                    CustomerView.customer_id == uuid.UUID(exited.subject)
                )
            )
            count = await session.scalar(select(func.count()).select_from(CustomerView))
            return status == "exited" and count == 46

    await eventually(exited_applied)

    # The seeded questionnaires are there.
    listed = await http.get("/api/v1/questionnaires?limit=10", headers=SUPERVISOR)
    codes = {q["code"]: q for q in listed.json()["items"]}
    assert set(codes) == {"servqual-retail", "service-satisfaction", "callback"}
    assert len(codes["servqual-retail"]["items"]) == 20

    # Below the 5% floor → 422 naming sampling.rate.
    low = campaign_body(1)
    low["sampling"]["rate"] = 0.04
    refused = await http.post("/api/v1/survey-campaigns", json=low, headers=SUPERVISOR)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "sampling.rate"
    # Another county is not yours to survey.
    foreign = await http.post(
        "/api/v1/survey-campaigns", json=campaign_body(1, county="C9"), headers=SUPERVISOR
    )
    assert foreign.status_code == 422 and foreign.json()["errors"][0]["field"] == "county"

    first = await drawn_campaign(service, campaign_body(7))
    # D1: 30 active shops (exited one left out) → round(6) = 6; D2: 10 → max(2, 2) = 2.
    assert first["county"] == "C1" and first["frame_size"] == 40 and first["sample_size"] == 8
    assert [(s["key"], s["population"], s["sample_size"]) for s in first["strata"]] == [
        ({"district": "D1"}, 30, 6),
        ({"district": "D2"}, 10, 2),
    ]
    async with service.database.transaction() as session:
        frame_rows = await session.scalar(
            select(func.count())
            .select_from(CampaignFrameUnit)
            .where(CampaignFrameUnit.campaign_id == uuid.UUID(first["id"]))
        )
    assert frame_rows == 40  # the frame snapshot kept for audit

    same = await drawn_campaign(service, campaign_body(7))
    other = await drawn_campaign(service, campaign_body(8))
    first_shops = {i["customer_id"] for i in await invitations(service, first["id"], ADMIN)}
    same_shops = {i["customer_id"] for i in await invitations(service, same["id"], ADMIN)}
    other_shops = {i["customer_id"] for i in await invitations(service, other["id"], ADMIN)}
    assert first_shops == same_shops
    assert first_shops != other_shops
    # With a 90-day window, shops invited by the three campaigns above are avoided while
    # fresh ones remain.
    invited_before = first_shops | same_shops | other_shops
    fresh = await drawn_campaign(service, campaign_body(9, exclude_days=90))
    fresh_invites = await invitations(service, fresh["id"], ADMIN)
    fresh_shops = {i["customer_id"] for i in fresh_invites}
    assert len(fresh_shops) == 8
    # Both strata have enough fresh shops, so none of the recently invited ones is drawn.
    assert not fresh_shops & invited_before
    assert all(s["drawn_from_recent"] == 0 for s in fresh["strata"])

    # Managers see only their own shops' invitations; other counties see nothing.
    all_invites = await invitations(service, first["id"], ADMIN)
    assert all(len(i["token"]) >= 32 for i in all_invites)
    mine = await invitations(service, first["id"], AS_MANAGER_B)
    assert len(mine) == 2
    missing = await http.get(
        f"/api/v1/survey-campaigns/{first['id']}/invitations", headers=OTHER_COUNTY
    )
    assert missing.status_code == 404

    # Not open yet → 409; open it.
    token = all_invites[0]["token"]
    early = await http.post(
        f"/api/v1/survey-invitations/{token}/response", json={"answers": full_answers()}
    )
    assert early.status_code == 409
    opened = await http.post(f"/api/v1/survey-campaigns/{first['id']}/open", headers=SUPERVISOR)
    assert opened.json()["status"] == "open"

    # The public link renders the questionnaire without any account.
    rendered = await http.get(f"/api/v1/survey-invitations/{token}")
    assert rendered.status_code == 200 and len(rendered.json()["items"]) == 20
    assert (await http.get("/api/v1/survey-invitations/" + "x" * 32)).status_code == 404

    # Invalid answers: each problem names its item; nothing is stored.
    bad = full_answers()[2:]
    bad[0] = {"item_code": bad[0]["item_code"], "expectation": 7, "perception": 3.5}
    bad.append({"item_code": "no_such_item", "score": 3})
    rejected = await http.post(
        f"/api/v1/survey-invitations/{token}/response", json={"answers": bad}
    )
    assert rejected.status_code == 422
    problems = {(e["item_code"], e["rule"]) for e in rejected.json()["errors"]}
    assert problems == {
        ("rel_stable_supply", "required"),
        ("rel_supply_info", "required"),
        ("rel_delivery_quality", "scale"),
        ("no_such_item", "unknown_item"),
    }
    assert {e["field"] for e in rejected.json()["errors"] if e["rule"] == "scale"} == {
        "answers.0.expectation",
        "answers.0.perception",
    }

    accepted = await http.post(
        f"/api/v1/survey-invitations/{token}/response", json={"answers": full_answers(-1)}
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["overall_gap"] == -1.0
    assert accepted.json()["satisfaction_index"] == 50.0
    again = await http.post(
        f"/api/v1/survey-invitations/{token}/response", json={"answers": full_answers(0)}
    )
    assert again.status_code == 409

    recorded = await bus.events(SURVEY_EVENTS, expected=1, event_type="survey.response_recorded")
    assert recorded[0].data["response_id"] == accepted.json()["id"]
    assert recorded[0].data["overall_gap"] == -1.0
    assert recorded[0].subject == all_invites[0]["customer_id"]

    # Staff entry: a manager for another manager's shop gets 404; for their own, 201 and
    # the Idempotency-Key replays.
    b_invites = await invitations(service, first["id"], AS_MANAGER_B)
    a_invites = [i for i in all_invites if i["id"] not in {b["id"] for b in b_invites}]
    # Manager B's first invitation not already answered through the public link above.
    b_open = next(i for i in b_invites if i["id"] != all_invites[0]["id"])
    staff_body = {
        "invitation_id": b_open["id"],
        "answers": full_answers(1),
        "collected_by": "mgr-b",
    }
    foreign_shop = await http.post(
        "/api/v1/survey-responses",
        json={**staff_body, "invitation_id": a_invites[1]["id"]},
        headers=AS_MANAGER_B,
    )
    assert foreign_shop.status_code == 404
    key = {"Idempotency-Key": "entry-1"}
    entered = await http.post(
        "/api/v1/survey-responses", json=staff_body, headers={**AS_MANAGER_B, **key}
    )
    assert entered.status_code == 201, entered.text
    assert entered.json()["channel"] == "phone" and entered.json()["collected_by"] == "mgr-b"
    replay = await http.post(
        "/api/v1/survey-responses", json=staff_body, headers={**AS_MANAGER_B, **key}
    )
    assert replay.json()["id"] == entered.json()["id"]
    assert replay.headers["Idempotent-Replayed"] == "true"
    answered = {i["id"]: i["status"] for i in await invitations(service, first["id"], ADMIN)}
    assert answered[b_open["id"]] == "completed"

    # A shop's responses can be read back (the customer overview's "last survey result"),
    # by its own manager but not by another.
    shop = b_open["customer_id"]
    latest = await http.get(
        f"/api/v1/survey-responses?customer_id={shop}&limit=1", headers=AS_MANAGER_B
    )
    assert [item["id"] for item in latest.json()["items"]] == [entered.json()["id"]]
    location = entered.headers["location"]
    assert (await http.get(location, headers=AS_MANAGER_B)).json()["customer_id"] == shop
    assert (await http.get(location, headers=AS_MANAGER_A)).status_code == 404
    others = await http.get(f"/api/v1/survey-responses?customer_id={shop}", headers=AS_MANAGER_A)
    assert others.json()["items"] == []

    # A shop may decline; it cannot answer afterwards.
    declined = await http.post(f"/api/v1/survey-invitations/{a_invites[2]['token']}/decline")
    assert declined.status_code == 204
    after_decline = await http.post(
        f"/api/v1/survey-invitations/{a_invites[2]['token']}/response",
        json={"answers": full_answers()},
    )
    assert after_decline.status_code == 409

    # Closing: further answers → 409, unanswered invitations expire.
    closed = await http.post(f"/api/v1/survey-campaigns/{first['id']}/close", headers=SUPERVISOR)
    assert closed.json()["status"] == "closed"
    late = await http.post(
        f"/api/v1/survey-invitations/{a_invites[1]['token']}/response",
        json={"answers": full_answers()},
    )
    assert late.status_code == 409
    statuses = {i["status"] for i in await invitations(service, first["id"], ADMIN)}
    assert statuses == {"completed", "expired", "declined"}


async def test_expired_invitation_is_gone(service: ServiceUnderTest, bus: TestBus) -> None:
    http = service.http
    shops = [shop_event("D1", MANAGER_A) for _ in range(3)]
    await bus.publish(*shops)
    moved_id, classified_id = (uuid.UUID(shop.subject) for shop in shops[:2])
    unknown = uuid.uuid4()
    await bus.publish(
        build_envelope(
            CustomerManagerAssigned(
                manager_id=MANAGER_B,
                previous_manager_id=MANAGER_A,
                effective_date=datetime.now(UTC).date(),
            ),
            source="customer-svc",
            subject=str(moved_id),
        ),
        *(
            build_envelope(
                ValuationCustomerClassified(
                    customer_id=customer_id,
                    period="2026-10",
                    run_id=uuid.uuid4(),
                    value_class="A",
                    total_score=91.0,
                ),
                source="valuation-svc",
                subject=str(customer_id),
            )
            for customer_id in (classified_id, unknown)
        ),
    )

    async def applied() -> bool:
        async with service.database.transaction() as session:
            rows = {
                row.customer_id: row for row in (await session.scalars(select(CustomerView))).all()
            }
        return (
            len(rows) == 4
            and rows[moved_id].manager_id == MANAGER_B
            and rows[classified_id].value_class == "A"
            and rows[unknown].status == "unknown"  # known only from its classification
        )

    await eventually(applied)
    past = datetime.now(UTC) - timedelta(days=30)
    body = campaign_body(
        3, opens_at=past.isoformat(), closes_at=(past + timedelta(days=7)).isoformat()
    )
    body["sampling"]["rate"] = 1.0
    campaign = await drawn_campaign(service, body)
    await http.post(f"/api/v1/survey-campaigns/{campaign['id']}/open", headers=SUPERVISOR)
    token = (await invitations(service, campaign["id"], ADMIN))[0]["token"]
    gone = await http.post(
        f"/api/v1/survey-invitations/{token}/response", json={"answers": full_answers()}
    )
    assert gone.status_code == 410
    assert (await http.get(f"/api/v1/survey-invitations/{token}")).status_code == 410
    # A draft has no results yet: zeros, not an error.
    draft = await http.post("/api/v1/survey-campaigns", json=campaign_body(4), headers=SUPERVISOR)
    empty = await http.get(
        f"/api/v1/survey-campaigns/{draft.json()['id']}/results?by=manager_id", headers=ADMIN
    )
    assert empty.status_code == 200
    assert (empty.json()["invited"], empty.json()["items"][0]["n"]) == (0, 0)
    assert empty.json()["servqual_score"] is None and empty.json()["groups"] == []
    # Drawing twice is refused; an analyst may read but not draw.
    again = await http.post(f"/api/v1/survey-campaigns/{campaign['id']}/sample", headers=ADMIN)
    assert again.status_code == 409
    analyst = bearer(["analyst"], sub="an-1")
    assert (
        await http.get(f"/api/v1/survey-campaigns/{campaign['id']}", headers=analyst)
    ).status_code == 200
    denied = await http.post(f"/api/v1/survey-campaigns/{campaign['id']}/close", headers=analyst)
    assert denied.status_code == 403
