"""Issue 16: a period's current results per county, the default period, and consumer
complaints counted by company-local date, once per grievance, with shops attached later;
issue 15: the same results as CSV and XLSX downloads."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime
from typing import Any

import openpyxl
from sqlalchemy import text

from retailcare_shared.events import (
    ComplaintCustomerAttached,
    ComplaintFiled,
    CustomerRegistered,
    Envelope,
    build_envelope,
)
from retailcare_shared.testing import ServiceUnderTest, TestBus, bearer, eventually

ADMIN = bearer(["admin"], sub="admin-1")
ANALYST = bearer(["analyst"], sub="analyst-1")


def registered(customer_id: uuid.UUID, county: str = "C1") -> Envelope:
    """customer.registered of an active, long-licensed shop."""
    snapshot = CustomerRegistered(
        customer_id=customer_id,
        license_no=f"L{customer_id.hex[:10]}",
        name="shop",
        county=county,
        district="D1",
        market_type="urban",
        trading_area="commercial",
        business_format="convenience",
        scale="medium",
        order_method="phone",
        manager_id=None,
        status="active",
        licensed_on=date(2020, 1, 1),
        self_operated=False,
        business_hours=16.0,
        display_form="shelf",
        renown="street",
        reputation="good",
        compliance_grade="A",
        price_labeling="price_board",
        display_sku_count=15,
    )
    return build_envelope(snapshot, source="customer-svc", subject=str(customer_id))


async def wait_for_run(service: ServiceUnderTest, run_id: str) -> None:
    async def done() -> dict[str, Any] | None:
        response = await service.http.get(f"/api/v1/valuation-runs/{run_id}", headers=ANALYST)
        body: dict[str, Any] = response.json()
        return body if body["status"] in ("completed", "failed") else None

    finished: dict[str, Any] = await eventually(done)
    assert finished["status"] == "completed", finished


async def run(service: ServiceUnderTest, period: str, as_of: date, **scope: str) -> str:
    started = await service.http.post(
        "/api/v1/valuation-runs",
        json={"period": period, "as_of": as_of.isoformat(), **scope},
        headers=ADMIN,
    )
    assert started.status_code == 202, started.text
    run_id: str = started.json()["run_id"]
    await wait_for_run(service, run_id)
    return run_id


async def listed(service: ServiceUnderTest, headers: dict[str, str], **params: Any) -> Any:
    response = await service.http.get(
        "/api/v1/valuations", params={"limit": 500, **params}, headers=headers
    )
    assert response.status_code == 200, response.text
    return {item["customer_id"]: item["run_id"] for item in response.json()["items"]}


async def shops_known(service: ServiceUnderTest, count: int) -> None:
    async def known() -> bool:
        async with service.database.transaction() as session:
            return await session.scalar(text("SELECT count(*) FROM shops")) == count

    await eventually(known)


async def two_counties(
    service: ServiceUnderTest, bus: TestBus
) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """Three shops in county C1 and two in C2, known to the service."""
    east = [uuid.uuid4() for _ in range(3)]
    west = [uuid.uuid4() for _ in range(2)]
    await bus.publish(
        *[registered(shop, county="C1") for shop in east],
        *[registered(shop, county="C2") for shop in west],
    )
    await shops_known(service, 5)
    return east, west


async def test_each_county_shows_its_latest_completed_run(
    service: ServiceUnderTest, bus: TestBus
) -> None:
    east, west = await two_counties(service, bus)
    older_period = await run(service, "2025H2", date(2025, 12, 31))
    whole = await run(service, "2026H1", date(2026, 6, 30))
    east_again = await run(service, "2026H1", date(2026, 6, 30), county="C1")

    expected = {str(shop): east_again for shop in east} | {str(shop): whole for shop in west}
    assert await listed(service, ANALYST, period="2026H1") == expected
    # Without `period`: the latest period, not the latest run of any scope.
    assert await listed(service, ANALYST) == expected
    assert await listed(service, ANALYST, period="2025H2") == {
        str(shop): older_period for shop in east + west
    }
    west_supervisor = bearer(["supervisor"], sub="sup-2", county="C2")
    assert await listed(service, west_supervisor) == {str(shop): whole for shop in west}
    assert await listed(service, ANALYST, county="C1") == {str(shop): east_again for shop in east}
    # Pages of the per-county list follow one another without gaps or repeats.
    first = await service.http.get(
        "/api/v1/valuations", params={"period": "2026H1", "limit": 2}, headers=ANALYST
    )
    seen = [item["customer_id"] for item in first.json()["items"]]
    cursor = first.json()["next_cursor"]
    while cursor is not None:
        more = await service.http.get(
            "/api/v1/valuations",
            params={"period": "2026H1", "limit": 2, "cursor": cursor},
            headers=ANALYST,
        )
        seen += [item["customer_id"] for item in more.json()["items"]]
        cursor = more.json()["next_cursor"]
    assert sorted(seen) == sorted(expected)


def consumer_complaint(
    customer_id: uuid.UUID | None,
    filed_at: datetime,
    *,
    complaint_id: uuid.UUID | None = None,
    reopened_from: uuid.UUID | None = None,
) -> Envelope:
    complaint_id = complaint_id or uuid.uuid4()
    return build_envelope(
        ComplaintFiled(
            complaint_id=complaint_id,
            customer_id=customer_id,
            complainant_type="consumer",
            channel="hotline",
            category="overpricing",
            priority="normal",
            filed_at=filed_at,
            is_repeat=reopened_from is not None,
            repeat_of=reopened_from,
            reopened_from=reopened_from,
        ),
        source="complaint-svc",
        subject=str(customer_id or complaint_id),
    )


async def test_consumer_complaints_count_by_shanghai_date_once_per_grievance(
    service: ServiceUnderTest, bus: TestBus
) -> None:
    shop, attached_shop = uuid.uuid4(), uuid.uuid4()
    await bus.publish(registered(shop), registered(attached_shop))
    await shops_known(service, 2)
    original, shopless = uuid.uuid4(), uuid.uuid4()
    await bus.publish(
        # 23:00 on 30 June in Shanghai: H1, not counted in H2.
        consumer_complaint(shop, datetime(2026, 6, 30, 15, 0, tzinfo=UTC)),
        # 01:00 on 1 July in Shanghai (still 30 June in UTC): counted in H2.
        consumer_complaint(shop, datetime(2026, 6, 30, 17, 0, tzinfo=UTC)),
        consumer_complaint(shop, datetime(2026, 7, 2, 2, 0, tzinfo=UTC), complaint_id=original),
        # The repeat row of its reopen: the same grievance, not a second complaint.
        consumer_complaint(shop, datetime(2026, 7, 9, 2, 0, tzinfo=UTC), reopened_from=original),
    )
    await bus.publish(
        consumer_complaint(None, datetime(2026, 7, 3, 2, 0, tzinfo=UTC), complaint_id=shopless),
        build_envelope(
            ComplaintCustomerAttached(
                complaint_id=shopless, customer_id=attached_shop, attached_by="agent-1"
            ),
            source="complaint-svc",
            subject=str(shopless),
        ),
    )

    async def recorded() -> bool:
        async with service.database.transaction() as session:
            total = await session.scalar(text("SELECT count(*) FROM complaints"))
            attached = await session.scalar(
                text("SELECT count(*) FROM complaints WHERE customer_id = :c"),
                {"c": attached_shop},
            )
        return (total, attached) == (5, 1)

    await eventually(recorded)
    async with service.database.transaction() as session:
        days = (
            await session.execute(
                text("SELECT filed_on FROM complaints WHERE customer_id = :c ORDER BY filed_on"),
                {"c": shop},
            )
        ).scalars()
        assert list(days) == [
            date(2026, 6, 30),
            date(2026, 7, 1),
            date(2026, 7, 2),
            date(2026, 7, 9),
        ]

    run_id = await run(service, "2026H2", date(2026, 7, 31))
    page = await service.http.get("/api/v1/valuations", params={"run_id": run_id}, headers=ANALYST)
    complaints = {
        item["customer_id"]: next(
            ind["input"] for ind in item["indicators"] if ind["name"] == "consumer_complaints"
        )
        for item in page.json()["items"]
    }
    assert complaints == {str(shop): 2, str(attached_shop): 1}


def csv_rows(body: bytes) -> list[dict[str, str]]:
    assert body.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


async def test_a_runs_results_download_as_csv_and_xlsx(
    service: ServiceUnderTest, bus: TestBus
) -> None:
    east, west = await two_counties(service, bus)
    run_id = await run(service, "2026H1", date(2026, 6, 30))
    shown = (
        await service.http.get(
            "/api/v1/valuations", params={"run_id": run_id, "limit": 50}, headers=ANALYST
        )
    ).json()["items"]

    download = await service.http.get(
        "/api/v1/valuations/export", params={"run_id": run_id}, headers=ANALYST
    )
    assert download.status_code == 200, download.text
    rows = csv_rows(download.content)
    assert sorted(row["customer_id"] for row in rows) == sorted(str(s) for s in east + west)
    by_shop = {row["customer_id"]: row for row in rows}
    for item in shown:
        row = by_shop[item["customer_id"]]
        assert row["value_class"] == item["value_class"] and row["run_id"] == run_id
        assert float(row["total_score"]) == item["total_score"]
        assert float(row["contribution"]) == item["dimensions"]["contribution"]
    assert "score_sales_volume" in rows[0] and "score_sales_growth" in rows[0]

    # Filters of the list apply; a county-scoped supervisor gets only their county.
    west_supervisor = bearer(["supervisor"], sub="sup-2", county="C2")
    workbook = await service.http.get(
        "/api/v1/valuations/export",
        params={"run_id": run_id, "format": "xlsx"},
        headers=west_supervisor,
    )
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content))["valuations"]
    header, *results = list(sheet.iter_rows(values_only=True))
    county = header.index("county")
    assert len(results) == 2 and {row[county] for row in results} == {"C2"}
    # Without run_id: the period's current results, as the list shows them.
    current = csv_rows(
        (await service.http.get("/api/v1/valuations/export", headers=ANALYST)).content
    )
    assert {row["customer_id"] for row in current} == set(await listed(service, ANALYST))


async def test_an_unknown_run_or_format_gets_a_problem(service: ServiceUnderTest) -> None:
    missing = await service.http.get(
        "/api/v1/valuations/export", params={"run_id": str(uuid.uuid4())}, headers=ANALYST
    )
    assert missing.status_code == 404
    bad = await service.http.get(
        "/api/v1/valuations/export", params={"format": "ods"}, headers=ANALYST
    )
    assert bad.status_code == 422 and "format" in bad.text
    nothing_yet = await service.http.get("/api/v1/valuations/export", headers=ANALYST)
    assert nothing_yet.status_code == 200
    assert csv_rows(nothing_yet.content) == []
    assert nothing_yet.content.decode("utf-8-sig").startswith("run_id,customer_id,period,county")
