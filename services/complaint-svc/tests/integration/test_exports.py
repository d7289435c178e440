"""Complaint list and analytics downloads (CSV, XLSX) through HTTP on a real database."""

import csv
import io
import uuid
from datetime import date, datetime, timedelta

import openpyxl
from sqlalchemy import text

from retailcare_shared.testing import ServiceUnderTest, bearer

CALL = bearer(["call_center"], sub="agent-li")
ANALYST = bearer(["analyst"], sub="analyst-1")
SUPERVISOR = bearer(["supervisor"], sub="boss-wang")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def add_shop(service: ServiceUnderTest, manager: uuid.UUID, district: str) -> uuid.UUID:
    shop = uuid.uuid4()
    async with service.database.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO shops (customer_id, county, district, status, active_since, "
                "manager_id) VALUES (:id, 'east', :district, 'active', '2020-01-01', :manager)"
            ),
            {"id": shop, "district": district, "manager": manager},
        )
    return shop


async def file(
    service: ServiceUnderTest, shop: uuid.UUID, category: str, description: str
) -> dict[str, str]:
    response = await service.http.post(
        "/api/v1/complaints",
        json={
            "customer_id": str(shop),
            "complainant_type": "retailer",
            "complainant_name": "王小明",
            "complainant_phone": "13812345678",
            "received_by": "agent-li",
            "channel": "hotline",
            "category": category,
            "service_item": "supply_allocation",
            "description": description,
        },
        headers=CALL,
    )
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


def csv_rows(body: bytes) -> list[dict[str, str]]:
    assert body.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


async def test_the_complaint_list_downloads_with_its_filters_and_masking(
    quiet_service: ServiceUnderTest,
) -> None:
    http = quiet_service.http
    manager = uuid.uuid4()
    shop = await add_shop(quiet_service, manager, "d1")
    other = await add_shop(quiet_service, uuid.uuid4(), "d2")
    first = await file(quiet_service, shop, "brand_shortage", "=SUM(A1:A9) 货源不足")
    second = await file(quiet_service, other, "brand_shortage", "二号店的货源一直缺货")
    await file(quiet_service, shop, "staff_attitude", "客户经理态度不好")

    supervisor = await http.get(
        "/api/v1/complaints/export?format=csv&category=brand_shortage", headers=SUPERVISOR
    )
    assert supervisor.status_code == 200, supervisor.text
    assert supervisor.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in supervisor.headers["content-disposition"]
    rows = csv_rows(supervisor.content)
    assert [row["ref"] for row in rows] == [second["ref"], first["ref"]]  # newest first
    assert rows[1]["description"] == "'=SUM(A1:A9) 货源不足"  # never run as a formula
    assert rows[1]["complainant_phone"] == "13812345678"
    assert rows[1]["customer_id"] == str(shop) and rows[1]["district"] == "d1"

    # An analyst sees the same complaints with contacts masked; a manager only own shops'.
    analyst = csv_rows((await http.get("/api/v1/complaints/export", headers=ANALYST)).content)
    assert len(analyst) == 3
    assert {row["complainant_phone"] for row in analyst} == {"138****5678"}
    own = bearer(["customer_manager"], sub="mgr", manager_id=str(manager))
    mine = csv_rows((await http.get("/api/v1/complaints/export", headers=own)).content)
    assert {row["customer_id"] for row in mine} == {str(shop)}


async def test_the_complaint_list_downloads_as_a_workbook(
    quiet_service: ServiceUnderTest,
) -> None:
    shop = await add_shop(quiet_service, uuid.uuid4(), "d1")
    filed = await file(quiet_service, shop, "brand_shortage", "本周货源严重不足")
    response = await quiet_service.http.get(
        "/api/v1/complaints/export?format=xlsx", headers=SUPERVISOR
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX
    sheet = openpyxl.load_workbook(io.BytesIO(response.content))["complaints"]
    header, row = list(sheet.iter_rows(values_only=True))
    record = dict(zip(header, row, strict=True))
    assert record["ref"] == filed["ref"] and record["description"] == "本周货源严重不足"
    assert record["reopen_count"] == 0 and record["customer_verified"] is True
    # Timestamps are real dates in company-local time.
    filed_at = datetime.fromisoformat(filed["filed_at"]).astimezone().replace(tzinfo=None)
    assert isinstance(record["filed_at"], datetime)
    assert abs(record["filed_at"] - (filed_at + _shanghai_offset(filed_at))) < timedelta(seconds=1)


def _shanghai_offset(local: datetime) -> timedelta:
    """From the machine's local time to Asia/Shanghai's (tests may run in any zone)."""
    here = local.astimezone().utcoffset() or timedelta()
    return timedelta(hours=8) - here


async def test_bad_export_parameters_get_a_problem_naming_the_field(
    quiet_service: ServiceUnderTest,
) -> None:
    http = quiet_service.http
    wrong_format = await http.get("/api/v1/complaints/export?format=pdf", headers=SUPERVISOR)
    assert wrong_format.status_code == 422
    assert wrong_format.headers["content-type"] == "application/problem+json"
    assert "format" in wrong_format.text
    reversed_window = await http.get(
        "/api/v1/complaints/export?from=2026-02-01&to=2026-01-01", headers=SUPERVISOR
    )
    assert reversed_window.status_code == 422 and "before_to" in reversed_window.text
    outsider = await http.get(
        "/api/v1/complaints/export", headers=bearer(["order_platform"], sub="shop-app")
    )
    assert outsider.status_code == 403


async def test_analytics_tables_download_as_shown_by_the_api(
    quiet_service: ServiceUnderTest,
) -> None:
    http = quiet_service.http
    manager = uuid.uuid4()
    shops = [await add_shop(quiet_service, manager, district) for district in ("d1", "d1", "d2")]
    await file(quiet_service, shops[0], "brand_shortage", "热销品牌长期缺货")
    await file(quiet_service, shops[2], "staff_attitude", "送货员态度很差")
    window = f"from=2026-01-01&to={(date.today() + timedelta(days=1)).isoformat()}"

    rate = (
        await http.get(f"/api/v1/complaint-analytics/rate?{window}&by=district", headers=ANALYST)
    ).json()
    download = await http.get(
        f"/api/v1/complaint-analytics/rate/export?{window}&by=district", headers=ANALYST
    )
    rows = csv_rows(download.content)
    assert [row["district"] for row in rows] == [g["key"] for g in rate["groups"]] + ["(total)"]
    assert rows[-1]["customers"] == str(rate["total"]["customers"]) == "3"
    assert rows[-1]["complaining_customers"] == "2"

    pareto = csv_rows(
        (
            await http.get(
                f"/api/v1/complaint-analytics/concentration/export?{window}&by=category",
                headers=ANALYST,
            )
        ).content
    )
    assert {row["category"] for row in pareto} == {"brand_shortage", "staff_attitude", "(total)"}
    assert pareto[-1]["count"] == "2"

    trend = await http.get(
        f"/api/v1/complaint-analytics/trend/export?{window}&format=xlsx&by=district",
        headers=ANALYST,
    )
    sheet = openpyxl.load_workbook(io.BytesIO(trend.content))["complaint-trend"]
    header, *periods = list(sheet.iter_rows(values_only=True))
    assert header[:3] == ("district", "period", "complaining_customers")
    assert {row[0] for row in periods} == {"(total)", "d1", "d2"}
    refused = await http.get(f"/api/v1/complaint-analytics/rate/export?{window}", headers=CALL)
    assert refused.status_code == 403
