"""Analytics on the seeds' worked example and constructed series, through HTTP."""

import uuid
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import text

from complaint_svc.analytics import repository
from complaint_svc.analytics.repository import ANALYTICS_WORK_MEM, Window
from retailcare_shared.testing import ServiceUnderTest, bearer

CALL = bearer(["call_center"], sub="agent-li")
ANALYST = bearer(["analyst"], sub="analyst-1")
SUPERVISOR = bearer(["supervisor"], sub="boss-wang")


async def add_shops(
    service: ServiceUnderTest, rows: list[tuple[uuid.UUID, str, date | None]]
) -> None:
    async with service.database.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO shops (customer_id, county, district, status, active_since, "
                "inactive_since, business_format) VALUES (:id, 'east', :district, "
                "'active', '2020-01-01', CAST(:inactive AS date), 'convenience')"
            ),
            [
                {"id": shop, "district": district, "inactive": inactive}
                for shop, district, inactive in rows
            ],
        )


async def file(service: ServiceUnderTest, shop: uuid.UUID, category: str, item: str) -> str:
    response = await service.http.post(
        "/api/v1/complaints",
        json={
            "customer_id": str(shop),
            "complainant_type": "retailer",
            "received_by": "agent-li",
            "channel": "hotline",
            "category": category,
            "service_item": item,
            "description": "Complaint of the worked example.",
        },
        headers=CALL,
    )
    assert response.status_code == 201, response.text
    complaint_id: str = response.json()["id"]
    return complaint_id


async def test_worked_example_rate_repeats_concentration_overview(
    quiet_service: ServiceUnderTest,
) -> None:
    http = quiet_service.http
    shops = [uuid.uuid4() for _ in range(12)]
    # 12 active shops (d1: 6, d2: 6) and one that left in 2019 (never in the window).
    await add_shops(
        quiet_service,
        [(shop, "d1" if index < 6 else "d2", None) for index, shop in enumerate(shops)]
        + [(uuid.uuid4(), "d1", date(2019, 6, 1))],
    )
    # Seeds: 4 shops complain of brand shortage, 4 of staff attitude, 1 of forced bundling and
    # then twice more about it: 11 complaints, 2 repeats.
    for shop in shops[0:4]:
        await file(quiet_service, shop, "brand_shortage", "supply_allocation")
    for shop in shops[4:8]:
        await file(quiet_service, shop, "staff_attitude", "customer_manager_visit")
    bundling = [await file(quiet_service, shops[8], "forced_bundling", "supply_allocation")]
    for _ in range(2):
        bundling.append(await file(quiet_service, shops[8], "forced_bundling", "supply_allocation"))
    # A consumer complaint about a shop does not count in the company's complaint rate.
    window = f"from=2026-01-01&to={(date.today() + timedelta(days=1)).isoformat()}"

    repeat = (
        await http.get(f"/api/v1/complaint-analytics/repeat-rate?{window}", headers=ANALYST)
    ).json()
    assert repeat["total_complaints"] == 11
    assert repeat["repeat_complaints"] == 2
    assert round(repeat["rate"] * 100, 2) == 18.18
    assert repeat["warning"] is True and repeat["alert_level"] == 0.10

    table = (
        await http.get(
            f"/api/v1/complaint-analytics/concentration?by=category&{window}", headers=ANALYST
        )
    ).json()
    assert table["total"] == 11
    rows = {row["key"]: row for row in table["rows"]}
    assert round(rows["forced_bundling"]["share"] * 100, 2) == 27.27
    assert rows["forced_bundling"]["count"] == 3
    assert table["rows"][-1]["key"] == "forced_bundling"
    assert table["rows"][-1]["cumulative_share"] == pytest.approx(1.0)
    items = (
        await http.get(f"/api/v1/complaint-analytics/concentration?{window}", headers=ANALYST)
    ).json()
    assert items["rows"][0] == {
        "key": "supply_allocation",
        "count": 7,
        "share": pytest.approx(7 / 11),
        "cumulative_share": pytest.approx(7 / 11),
    }

    rate = (
        await http.get(f"/api/v1/complaint-analytics/rate?by=district&{window}", headers=ANALYST)
    ).json()
    # 9 complaining shops (the bundling shop counts once) of 12 active ones.
    assert rate["total"] == {"complaining_customers": 9, "customers": 12, "rate": 0.75}
    assert rate["groups"] == [
        {"key": "d1", "complaining_customers": 6, "customers": 6, "rate": 1.0},
        {"key": "d2", "complaining_customers": 3, "customers": 6, "rate": 0.5},
    ]
    bad = await http.get("/api/v1/complaint-analytics/rate?by=colour", headers=ANALYST)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "by"
    backwards = await http.get(
        "/api/v1/complaint-analytics/rate?from=2026-02-01&to=2026-01-01", headers=ANALYST
    )
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "from"
    west = bearer(["supervisor"], sub="sup-west", county="west")
    scoped = (await http.get(f"/api/v1/complaint-analytics/rate?{window}", headers=west)).json()
    assert scoped["total"]["customers"] == 0
    manager = bearer(["customer_manager"], sub="m", manager_id=str(uuid.uuid4()))
    assert (await http.get("/api/v1/complaint-analytics/rate", headers=manager)).status_code == 403

    # Handle one bundling complaint with a handover and resolve another directly.
    url = f"/api/v1/complaints/{bundling[0]}"
    await http.post(f"{url}/assign", json={"assignee": "a"}, headers=CALL)
    await http.post(f"{url}/start", headers=CALL)
    await http.post(f"{url}/resolve", json={"resolution": "r", "root_cause": "c"}, headers=CALL)
    url = f"/api/v1/complaints/{bundling[1]}"
    await http.post(f"{url}/assign", json={"assignee": "a"}, headers=CALL)
    await http.post(f"{url}/assign", json={"assignee": "b", "note": "handover"}, headers=CALL)
    await http.post(f"{url}/start", headers=CALL)
    await http.post(f"{url}/resolve", json={"resolution": "r", "root_cause": "c"}, headers=CALL)
    overview = (
        await http.get(f"/api/v1/complaint-analytics/overview?{window}", headers=ANALYST)
    ).json()
    assert overview["total_complaints"] == 11
    assert overview["by_status"] == {"received": 9, "resolved": 2}
    assert overview["first_contact_resolution_rate"] == 0.5
    assert round(overview["repeat_rate"], 4) == round(2 / 11, 4)
    assert [row["key"] for row in overview["top_items"]] == [
        "supply_allocation",
        "customer_manager_visit",
    ]
    assert overview["acknowledge_hours_mean"] is not None
    assert overview["resolve_hours_p90"] is not None

    candidates = (
        await http.get(f"/api/v1/complaint-analytics/case-candidates?{window}", headers=SUPERVISOR)
    ).json()
    first = candidates["candidates"][0]
    assert first == {
        "complaint_id": bundling[0],
        "ref": first["ref"],
        "service_item": "supply_allocation",
        "category": "forced_bundling",
        "repeats": 2,
        "reason": "repeat_chain",
    }

    # Case analysis on the chain's first complaint (supervisors; replacing needs If-Match).
    analysis = {
        "reconstruction": "The shop was told to take slow sellers with the popular brand.",
        "key_points": ["bundling at allocation"],
        "root_causes": [{"cause": "quota pressure on the account manager", "primary": True}],
        "countermeasures": [{"action": "audit allocations", "owner": "sales", "due": "2026-12-31"}],
        "responsible_parties": ["sales department"],
        "report": "Reported to the county company.",
    }
    created = await http.put(
        f"/api/v1/complaints/{bundling[0]}/case-analysis", json=analysis, headers=SUPERVISOR
    )
    assert created.status_code == 201 and created.json()["version"] == 1
    no_match = await http.put(
        f"/api/v1/complaints/{bundling[0]}/case-analysis", json=analysis, headers=SUPERVISOR
    )
    assert no_match.status_code == 428
    replaced = await http.put(
        f"/api/v1/complaints/{bundling[0]}/case-analysis",
        json={**analysis, "report": "Final report."},
        headers={**SUPERVISOR, "If-Match": created.headers["ETag"]},
    )
    assert replaced.status_code == 200 and replaced.json()["version"] == 2
    read = await http.get(f"/api/v1/complaints/{bundling[0]}/case-analysis", headers=CALL)
    assert read.json()["report"] == "Final report."
    missing_cause = await http.put(
        f"/api/v1/complaints/{bundling[1]}/case-analysis",
        json={**analysis, "root_causes": []},
        headers=SUPERVISOR,
    )
    assert missing_cause.status_code == 422
    assert missing_cause.json()["errors"][0]["field"] == "root_causes"
    not_supervisor = await http.put(
        f"/api/v1/complaints/{bundling[1]}/case-analysis", json=analysis, headers=CALL
    )
    assert not_supervisor.status_code == 403


async def test_trend_series_by_month(quiet_service: ServiceUnderTest) -> None:
    http = quiet_service.http
    shops = [uuid.uuid4() for _ in range(10)]
    await add_shops(quiet_service, [(shop, "d1", None) for shop in shops])
    # Complaining shops per month Jan..Apr 2026: 1, 2, 3, 5 of 10 → rising.
    plan = {"2026-01-15": 1, "2026-02-15": 2, "2026-03-15": 3, "2026-04-15": 5}
    for day, count in plan.items():
        for shop in shops[:count]:
            complaint_id = await file(quiet_service, shop, "supply_volume", "supply_allocation")
            async with quiet_service.database.transaction() as session:
                await session.execute(
                    text(
                        "UPDATE complaints SET filed_at = :day, filed_month = "
                        "date_trunc('month', :day AT TIME ZONE 'Asia/Shanghai') WHERE id = :id"
                    ),
                    {
                        "day": datetime.fromisoformat(day + "T10:00:00+08:00"),
                        "id": uuid.UUID(complaint_id),
                    },
                )
    trend = (
        await http.get(
            "/api/v1/complaint-analytics/trend?granularity=month&from=2026-01-01&to=2026-04-30&by=district",
            headers=ANALYST,
        )
    ).json()
    assert [period["period"] for period in trend["periods"]] == [
        "2026-01-01",
        "2026-02-01",
        "2026-03-01",
        "2026-04-01",
    ]
    assert [period["rate"] for period in trend["periods"]] == [0.1, 0.2, 0.3, 0.5]
    assert [period["customers"] for period in trend["periods"]] == [10, 10, 10, 10]
    assert trend["periods"][0]["change"] is None
    assert trend["periods"][1]["change"] == pytest.approx(0.1)
    assert trend["periods"][1]["relative_change"] == pytest.approx(1.0)
    assert trend["classification"] == "rising"
    assert "cause" in trend["advice"]
    assert trend["groups"][0]["key"] == "d1"
    assert trend["groups"][0]["classification"] == "rising"

    quarterly = (
        await http.get(
            "/api/v1/complaint-analytics/trend?granularity=quarter&from=2026-01-01&to=2026-04-30",
            headers=ANALYST,
        )
    ).json()
    assert [period["complaining_customers"] for period in quarterly["periods"]] == [3, 5]
    assert quarterly["classification"] == "insufficient_data"
    assert quarterly["groups"] == []


async def test_rate_and_trend_queries_get_room_for_their_hashes_in_their_transaction_only(
    quiet_service: ServiceUnderTest,
) -> None:
    window = Window(date(2026, 1, 1), date(2026, 3, 31))
    async with quiet_service.database.transaction() as session:
        default = await session.scalar(text("SHOW work_mem"))
    for query in (
        lambda session: repository.rate_groups(session, window, None),
        lambda session: repository.trend_counts(session, window, None, "month"),
    ):
        async with quiet_service.database.transaction() as session:
            await query(session)
            assert await session.scalar(text("SHOW work_mem")) == ANALYTICS_WORK_MEM
        async with quiet_service.database.transaction() as session:
            assert await session.scalar(text("SHOW work_mem")) == default
