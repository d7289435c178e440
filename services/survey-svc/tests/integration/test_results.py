"""Results on a constructed set of responses, improvement actions, hidden-dissatisfaction alerts."""

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from retailcare_shared.events import ComplaintFiled, CustomerRegistered, build_envelope
from retailcare_shared.testing import ServiceUnderTest, TestBus, bearer, eventually
from retailcare_shared.workdays import COMPANY_TIME_ZONE
from survey_svc.readmodel.models import ComplaintView, CustomerView
from survey_svc.results.repository import rebuild

ADMIN = bearer(["admin"], sub="admin-1")
ANALYST = bearer(["analyst"], sub="analyst-1")
T_975_3 = 3.182446305284263  # Student's t, 97.5th percentile, 3 degrees of freedom

# (district, q1 expectation/perception, q2 expectation/perception, r1 score); A has 4 shops of
# which 2 answer (weight 4/2 = 2), B has 2 shops and both answer (weight 1).
ANSWERS = {
    "A": [((5, 3), (4, 4), 5), ((4, 3), (3, 4), 4)],
    "B": [((3, 3), (5, 2), 2), ((4, 4), (4, 3), 3)],
}


def registered(district: str) -> Any:
    customer_id = uuid.uuid4()
    return build_envelope(
        CustomerRegistered(
            customer_id=customer_id,
            license_no=str(customer_id.int)[:12],
            name="shop",
            county="C1",
            district=district,
            market_type="rural",
            status="active",
        ),
        source="customer-svc",
        subject=str(customer_id),
    )


def answers(q1: tuple[int, int], q2: tuple[int, int], r1: int) -> list[dict[str, Any]]:
    return [
        {"item_code": "q1", "expectation": q1[0], "perception": q1[1]},
        {"item_code": "q2", "expectation": q2[0], "perception": q2[1]},
        {"item_code": "r1", "score": r1},
    ]


async def test_hand_computed_results_actions_and_alerts(
    service: ServiceUnderTest, bus: TestBus
) -> None:
    http = service.http
    shops = {"A": [registered("A") for _ in range(4)], "B": [registered("B") for _ in range(2)]}
    complaint = build_envelope(
        ComplaintFiled(
            complaint_id=uuid.uuid4(),
            customer_id=uuid.UUID(shops["B"][0].subject),
            complainant_type="retailer",
            channel="phone",
            category="brand_shortage",
            priority="normal",
            filed_at=datetime.now(UTC),
        ),
        source="complaint-svc",
        subject=shops["B"][0].subject,
    )
    await bus.publish(*shops["A"], *shops["B"], complaint, complaint)

    async def applied() -> bool:
        async with service.database.transaction() as session:
            customers = await session.scalar(select(func.count()).select_from(CustomerView))
            complaints = await session.scalar(select(func.count()).select_from(ComplaintView))
            return customers == 6 and complaints == 1

    await eventually(applied)

    questionnaire = await http.post(
        "/api/v1/questionnaires",
        json={
            "code": "mini",
            "title": "Mini",
            "items": [
                {"code": "q1", "text": "Q1", "dimension": "reliability", "format": "servqual_pair"},
                {"code": "q2", "text": "Q2", "dimension": "empathy", "format": "servqual_pair"},
                {"code": "r1", "text": "R1", "format": "rating"},
            ],
        },
        headers=ADMIN,
    )
    assert questionnaire.status_code == 201, questionnaire.text
    assert questionnaire.json()["version"] == 1
    now = datetime.now(UTC)
    created = await http.post(
        "/api/v1/survey-campaigns",
        json={
            "name": "census",
            "questionnaire_id": questionnaire.json()["id"],
            "kind": "census",
            "method": "face_to_face",
            "county": "C1",
            "opens_at": (now - timedelta(hours=1)).isoformat(),
            "closes_at": (now + timedelta(days=7)).isoformat(),
            "sampling": {"rate": 1.0, "strata": ["district"], "seed": 11},
        },
        headers=ADMIN,
    )
    campaign = f"/api/v1/survey-campaigns/{created.json()['id']}"
    await http.post(f"{campaign}/sample", headers=ADMIN)
    await http.post(f"{campaign}/open", headers=ADMIN)
    invites = (await http.get(f"{campaign}/invitations", headers=ADMIN)).json()["items"]
    assert len(invites) == 6
    by_shop = {invite["customer_id"]: invite for invite in invites}
    for district, rows in ANSWERS.items():
        for shop, row in zip(shops[district], rows, strict=False):
            sent = await http.post(
                f"/api/v1/survey-invitations/{by_shop[shop.subject]['token']}/response",
                json={"answers": answers(*row)},
            )
            assert sent.status_code == 201, sent.text

    results = await http.get(f"{campaign}/results?by=district", headers=ANALYST)
    assert results.status_code == 200, results.text
    body = results.json()
    assert (body["invited"], body["responded"]) == (6, 4)
    assert body["response_rate"] == pytest.approx(4 / 6)
    q1, q2 = body["items"]
    sd = (4 / 6 * 4 / 3) ** 0.5
    assert q1["n"] == 4
    assert q1["mean_expectation"] == pytest.approx(25 / 6)
    assert q1["mean_perception"] == pytest.approx(19 / 6)
    assert q1["mean_gap"] == pytest.approx(-1.0)
    assert q1["sd_gap"] == pytest.approx(sd)
    assert q1["ci_low"] == pytest.approx(-1 - T_975_3 * sd / 2)
    assert q1["ci_high"] == pytest.approx(-1 + T_975_3 * sd / 2)
    assert q2["mean_gap"] == pytest.approx(-1 / 3)
    assert body["dimensions"] == pytest.approx({"reliability": -1.0, "empathy": -1 / 3})
    assert body["servqual_score"] == pytest.approx(-2 / 3)
    assert body["satisfaction_index"] == pytest.approx(100 * (40 / 12 - 1) / 4)
    (rating,) = body["ratings"]
    assert rating["mean"] == pytest.approx(23 / 6)
    assert rating["top_two_box"] == pytest.approx(4 / 6)
    assert rating["distribution"] == {"1": 0, "2": 1, "3": 1, "4": 1, "5": 1}
    assert [item["item_code"] for item in body["weakest_items"]] == ["q1", "q2"]
    groups = {group["key"]: group for group in body["groups"]}
    assert (groups["A"]["invited"], groups["A"]["responded"]) == (4, 2)
    assert groups["A"]["items"][0]["mean_gap"] == pytest.approx(-1.5)
    assert groups["B"]["items"][0]["mean_gap"] == pytest.approx(0.0)
    assert groups["B"]["items"][0]["sd_gap"] == pytest.approx(0.0)
    # The sums kept by each response equal a rebuild from the stored answers.
    async with service.database.transaction() as session:
        await rebuild(session, uuid.UUID(created.json()["id"]))
    rebuilt = await http.get(f"{campaign}/results?by=district", headers=ANALYST)
    assert rebuilt.json() == body
    manager = bearer(["customer_manager"], sub="m", manager_id=str(uuid.uuid4()))
    assert (await http.get(f"{campaign}/results", headers=manager)).status_code == 403

    # The same figures as downloads: per item and per rating item (the total, then each
    # district), and per group.
    items = await http.get(f"{campaign}/results/export?table=items&by=district", headers=ANALYST)
    assert items.status_code == 200 and items.content.startswith("\ufeff".encode())
    item_rows = list(csv.DictReader(io.StringIO(items.content.decode("utf-8-sig"))))
    assert [(row["district"], row["item_code"]) for row in item_rows] == [
        ("(total)", "q1"),
        ("(total)", "q2"),
        ("A", "q1"),
        ("A", "q2"),
        ("B", "q1"),
        ("B", "q2"),
    ]
    assert float(item_rows[0]["mean_gap"]) == pytest.approx(q1["mean_gap"])
    assert float(item_rows[0]["ci_low"]) == pytest.approx(q1["ci_low"])
    assert float(item_rows[2]["mean_gap"]) == pytest.approx(-1.5)
    ratings = await http.get(f"{campaign}/results/export?table=ratings", headers=ANALYST)
    (rating_row,) = csv.DictReader(io.StringIO(ratings.content.decode("utf-8-sig")))
    assert rating_row["scope"] == "(total)" and rating_row["item_code"] == "r1"
    assert [rating_row[f"answer_{value}"] for value in "12345"] == ["0", "1", "1", "1", "1"]
    workbook = await http.get(
        f"{campaign}/results/export?table=groups&by=district&format=xlsx", headers=ANALYST
    )
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content))["survey-groups"]
    header, *group_rows = list(sheet.iter_rows(values_only=True))
    assert header[:3] == ("district", "invited", "responded") and "empathy" in header
    assert [row[:3] for row in group_rows] == [("(total)", 6, 4), ("A", 4, 2), ("B", 2, 2)]
    assert group_rows[0][header.index("servqual_score")] == pytest.approx(-2 / 3)
    refused = await http.get(f"{campaign}/results/export", headers=manager)
    assert refused.status_code == 403
    unknown_table = await http.get(f"{campaign}/results/export?table=raw", headers=ANALYST)
    assert unknown_table.status_code == 422 and "table" in unknown_table.text

    # Improvement actions, tracked to done.
    both = await http.post(
        f"{campaign}/actions",
        json={
            "item_code": "q1",
            "dimension": "reliability",
            "action": "x",
            "owner": "o",
            "due": "2026-12-31",
        },
        headers=ADMIN,
    )
    assert both.status_code == 422 and both.json()["errors"][0]["field"] == "item_code"
    unknown = await http.post(
        f"{campaign}/actions",
        json={"item_code": "zz", "action": "x", "owner": "o", "due": "2026-12-31"},
        headers=ADMIN,
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["rule"] == "unknown_item"
    action = await http.post(
        f"{campaign}/actions",
        json={
            "item_code": "q1",
            "action": "weekly supply call",
            "owner": "ops",
            "due": "2026-12-31",
        },
        headers=ADMIN,
    )
    assert action.status_code == 201 and action.json()["status"] == "open"
    url = f"{campaign}/actions/{action.json()['id']}"
    assert (await http.patch(url, json={"status": "done"}, headers=ADMIN)).status_code == 428
    done = await http.patch(
        url, json={"status": "done", "note": "ok"}, headers={**ADMIN, "If-Match": '"1"'}
    )
    assert done.status_code == 200 and done.json()["status"] == "done"
    assert done.json()["done_at"] is not None
    listed = (await http.get(f"{campaign}/actions", headers=ANALYST)).json()["items"]
    assert [(a["item_code"], a["status"]) for a in listed] == [("q1", "done")]

    # Alerts: district A has no complaint and a satisfaction index of 62.5 → flagged;
    # district B complained (1 of 2 shops) → visible already, not flagged.
    today = datetime.now(COMPANY_TIME_ZONE).date()
    window = f"from={today - timedelta(days=1)}&to={today + timedelta(days=1)}"
    alerts = await http.get(
        f"/api/v1/survey-analytics/alerts?{window}&by=district", headers=ANALYST
    )
    assert alerts.status_code == 200, alerts.text
    flagged = alerts.json()["alerts"]
    assert [(a["key"], a["customers"], a["complaining_customers"]) for a in flagged] == [
        ("A", 4, 0)
    ]
    assert flagged[0]["satisfaction_index"] == pytest.approx(62.5)
    strict = await http.get(
        f"/api/v1/survey-analytics/alerts?{window}&satisfaction_index_below=60", headers=ANALYST
    )
    assert strict.json()["alerts"] == []
    backwards = await http.get(
        f"/api/v1/survey-analytics/alerts?from={today}&to={today - timedelta(days=1)}",
        headers=ANALYST,
    )
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "to"
