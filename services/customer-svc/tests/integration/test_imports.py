"""Bulk import of shops through HTTP, on the real PostgreSQL: staging, merge, history, events."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from customer_svc.config import Settings
from customer_svc.customers.models import Customer, CustomerVersion
from customer_svc.imports import repository
from customer_svc.imports.worker import process_next
from customer_svc.main import create_app, definition
from retailcare_shared.events import CustomerRegistered, CustomerUpdated, decode
from retailcare_shared.platform_tables import OutboxMessage
from retailcare_shared.testing import (
    DatabaseFactory,
    ServiceUnderTest,
    TestBus,
    eventually,
    fresh_database,
    running,
    service_overrides,
)

from ..conftest import Api

HEADER = ["license_no", "name", "county", "market_type", "district", "address", "phones", "scale"]


def shop_csv(rows: list[list[str]], header: list[str] = HEADER, encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def licence() -> str:
    return "330102" + uuid.uuid4().hex[:8].upper()


def shop_row(license_no: str, name: str = "Lucky Shop", **overrides: str) -> list[str]:
    values = {
        "license_no": license_no,
        "name": name,
        "county": "330102",
        "market_type": "urban",
        "district": "D01",
        "address": "1 Wulin Road",
        "phones": "138 1234 5678;13900000000",
        "scale": "small",
        **overrides,
    }
    return [values[column] for column in HEADER]


async def upload(
    client: httpx.AsyncClient,
    body: bytes,
    *,
    kind: str = "shops",
    headers: dict[str, str] | None = None,
    content_type: str = "text/csv",
    **params: str,
) -> httpx.Response:
    return await client.post(
        "/api/v1/imports",
        params={"kind": kind, **params},
        content=body,
        headers={**(headers or Api.ADMIN), "content-type": content_type},
    )


async def finished(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        job: dict[str, Any] = (
            await client.get(f"/api/v1/imports/{job_id}", headers=Api.ADMIN)
        ).json()
        return job if job["status"] in ("completed", "failed") else None

    result: dict[str, Any] = await eventually(check, timeout=60)
    return result


async def imported(client: httpx.AsyncClient, body: bytes, **params: str) -> dict[str, Any]:
    response = await upload(client, body, **params)
    assert response.status_code == 202, response.text
    return await finished(client, response.json()["id"])


async def shop_events(service: ServiceUnderTest, event_type: str) -> list[Any]:
    async with service.database.transaction() as session:
        values = (
            await session.scalars(
                select(OutboxMessage.value).where(OutboxMessage.event_type == event_type)
            )
        ).all()
    return [decode(value) for value in values]


async def test_csv_import_registers_shops_with_versions_and_events(
    client: httpx.AsyncClient, service: ServiceUnderTest
) -> None:
    first, second = licence(), licence()
    body = shop_csv([shop_row(first, "Lucky Shop"), shop_row(second, "幸福便利店")])

    response = await upload(client, body, effective_date="2026-01-01")
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    job = await finished(client, response.json()["id"])

    assert job["status"] == "completed"
    assert job["progress"] == {
        "rows_read": 2,
        "rows_valid": 2,
        "rows_rejected": 0,
        "rows_imported": 2,
        "rows_unchanged": 0,
    }
    assert job["error_report_url"] is None
    shop = (await client.get(f"/api/v1/customers/by-license/{second}", headers=Api.ADMIN)).json()
    assert shop["name"] == "幸福便利店"
    assert shop["phones"] == ["13812345678", "13900000000"]
    assert shop["version"] == 1 and shop["status"] == "active"
    history = (
        await client.get(f"/api/v1/customers/{shop['id']}/history", headers=Api.ADMIN)
    ).json()["items"]
    assert len(history) == 1
    assert history[0]["change_kind"] == "registered"
    assert history[0]["effective_date"] == "2026-01-01"
    assert history[0]["changes"]["name"] == {"old": None, "new": "幸福便利店"}
    # The shop existed from the file's effective date on.
    as_of = await client.get(
        f"/api/v1/customers/{shop['id']}", params={"as_of": "2026-01-02"}, headers=Api.ADMIN
    )
    assert as_of.status_code == 200 and as_of.json()["name"] == "幸福便利店"
    # One customer.registered per shop, exactly the payload the API would publish.
    registered = {
        envelope.subject: payload
        for envelope, payload in await shop_events(service, "customer.registered")
    }
    assert set(registered) >= {shop["id"]}
    expected = CustomerRegistered(
        customer_id=shop["id"],
        **{
            name: shop[name]
            for name in CustomerRegistered.model_fields
            if name != "customer_id" and name in shop
        },
    )
    assert registered[shop["id"]] == expected
    found = (await client.get("/api/v1/customers", params={"q": "幸福"}, headers=Api.ADMIN)).json()
    assert [item["license_no"] for item in found["items"]] == [second]


async def test_rerun_is_idempotent_and_a_changed_row_is_a_new_version(
    client: httpx.AsyncClient, service: ServiceUnderTest
) -> None:
    same, changed = licence(), licence()
    rows = [shop_row(same), shop_row(changed, address="2 Old Street")]
    assert (await imported(client, shop_csv(rows)))["progress"]["rows_imported"] == 2

    again = await imported(client, shop_csv(rows))
    assert again["progress"]["rows_imported"] == 0
    assert again["progress"]["rows_unchanged"] == 2

    rows[1] = shop_row(changed, address="9 New Street")
    job = await imported(client, shop_csv(rows), effective_date="2026-03-01")
    assert job["progress"]["rows_imported"] == 1 and job["progress"]["rows_unchanged"] == 1
    # The job list: newest first, page by page.
    first = (await client.get("/api/v1/imports?limit=2", headers=Api.ADMIN)).json()
    rest = await client.get(
        "/api/v1/imports", params={"limit": 2, "cursor": first["next_cursor"]}, headers=Api.ADMIN
    )
    jobs = [item["id"] for item in first["items"] + rest.json()["items"]]
    assert jobs[0] == job["id"] and jobs[1] == again["id"] and len(jobs) == len(set(jobs)) == 3

    shop = (await client.get(f"/api/v1/customers/by-license/{changed}", headers=Api.ADMIN)).json()
    assert shop["address"] == "9 New Street" and shop["version"] == 2
    history = (
        await client.get(f"/api/v1/customers/{shop['id']}/history", headers=Api.ADMIN)
    ).json()["items"]
    assert [entry["version"] for entry in history] == [2, 1]
    assert history[0]["changed_fields"] == ["address"]
    assert history[0]["changes"] == {"address": {"old": "2 Old Street", "new": "9 New Street"}}
    assert history[0]["effective_date"] == "2026-03-01"
    assert history[1]["valid_to"] is not None
    updated = [
        payload
        for envelope, payload in await shop_events(service, "customer.updated")
        if envelope.subject == shop["id"]
    ]
    assert len(updated) == 1
    assert isinstance(updated[0], CustomerUpdated)
    assert updated[0].changed_fields == ["address"] and updated[0].version == 2
    # The unchanged shop has one version and one event only.
    async with service.database.transaction() as session:
        versions = await session.scalar(
            select(func.count())
            .select_from(CustomerVersion)
            .join(Customer, Customer.id == CustomerVersion.customer_id)
            .where(Customer.license_no == same)
        )
    assert versions == 1


async def test_xlsx_with_chinese_headers_and_gbk_csv_are_read(client: httpx.AsyncClient) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["许可证号", "店名", "区县", "市场类型", "电话"])
    number = int("330102" + str(uuid.uuid4().int)[:8])
    sheet.append([number, "老街烟酒店", 330102, "rural", 13812345678])
    buffer = io.BytesIO()
    workbook.save(buffer)
    job = await imported(client, buffer.getvalue(), content_type="application/octet-stream")
    assert job["status"] == "completed", job
    assert job["file_format"] == "xlsx"
    shop = (await client.get(f"/api/v1/customers/by-license/{number}", headers=Api.ADMIN)).json()
    assert shop["name"] == "老街烟酒店" and shop["phones"] == ["13812345678"]

    gbk = licence()
    job = await imported(client, shop_csv([shop_row(gbk, "红塔山便利店")], encoding="gbk"))
    assert job["encoding"] == "gb18030"
    shop = (await client.get(f"/api/v1/customers/by-license/{gbk}", headers=Api.ADMIN)).json()
    assert shop["name"] == "红塔山便利店"


async def test_multipart_upload_with_bom(client: httpx.AsyncClient) -> None:
    number = licence()
    body = b"\xef\xbb\xbf" + shop_csv([shop_row(number)])
    response = await client.post(
        "/api/v1/imports",
        params={"kind": "shops"},
        files={"file": ("shops.csv", body, "text/csv")},
        headers=Api.ADMIN,
    )
    assert response.status_code == 202, response.text
    job = await finished(client, response.json()["id"])
    assert job["status"] == "completed" and job["file_name"] == "shops.csv"
    assert job["encoding"] == "utf-8-sig"


async def test_bad_rows_are_reported_and_nothing_is_imported(
    client: httpx.AsyncClient, service: ServiceUnderTest
) -> None:
    good, dup = licence(), licence()
    rows = [
        shop_row(good),
        shop_row(dup),
        shop_row(dup, "Second Copy"),
        shop_row("x!", "Bad licence"),
        shop_row(licence(), market_type="downtown"),
    ]
    response = await upload(client, shop_csv(rows))
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["status"] == "failed"
    assert job["progress"]["rows_rejected"] == 3 and job["progress"]["rows_imported"] == 0
    report = await client.get(job["error_report_url"], headers=Api.ADMIN)
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(report.text.lstrip("\ufeff"))))
    assert lines[0] == ["row", "field", "rule", "message"]
    assert [line[:3] for line in lines[1:]] == [
        ["4", "license_no", "duplicate_in_file"],
        ["5", "license_no", "string_pattern_mismatch"],
        ["6", "market_type", "literal_error"],
    ]
    missing = await client.get(f"/api/v1/customers/by-license/{good}", headers=Api.ADMIN)
    assert missing.status_code == 404

    # skip_invalid: the valid rows land (in one transaction), the invalid ones are listed.
    job = await imported(client, shop_csv(rows), mode="skip_invalid")
    assert job["status"] == "completed"
    assert job["progress"]["rows_imported"] == 2 and job["progress"]["rows_rejected"] == 3
    assert (
        await client.get(f"/api/v1/customers/by-license/{good}", headers=Api.ADMIN)
    ).status_code == 200


async def test_unusable_files_are_422_problems_and_write_nothing(
    client: httpx.AsyncClient, service: ServiceUnderTest
) -> None:
    async def problem(body: bytes, rule: str) -> dict[str, Any]:
        response = await upload(client, body)
        assert response.status_code == 422, response.text
        result: dict[str, Any] = response.json()
        assert result["errors"][0]["rule"] == rule, result
        return result

    missing = await problem(b"license_no,name\n330102000001,A\n", "missing_column")
    assert missing["errors"][0]["field"] == "county,market_type"
    await problem(b"license_no,name,county,market_type,colour\n", "unknown_column")
    await problem(shop_csv([]), "empty")
    await problem(
        b"license_no,name,county,market_type\n1234567,\xff\xfe\xfa\xfb,330102,urban\n", "encoding"
    )
    assert (await upload(client, b"")).status_code == 422
    async with service.database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Customer)) == 0


async def test_a_county_supervisor_imports_only_their_county(
    client: httpx.AsyncClient, api: Api
) -> None:
    other = licence()
    await api.register(license_no=other, county="999999")
    rows = [shop_row(licence(), county="999999"), shop_row(other)]
    response = await upload(client, shop_csv(rows), headers=Api.SUPERVISOR)
    job = response.json()
    assert job["status"] == "failed", job
    report = (await client.get(job["error_report_url"], headers=Api.SUPERVISOR)).text
    assert "forbidden_for_role" in report
    lines = list(csv.reader(io.StringIO(report.lstrip("\ufeff"))))
    assert sorted((line[0], line[1]) for line in lines[1:]) == [
        ("2", "county"),
        ("3", "license_no"),
    ]
    # Another county's supervisor cannot see the job, nor find it in the list.
    assert (
        await client.get(f"/api/v1/imports/{job['id']}", headers=Api.OTHER_SUPERVISOR)
    ).status_code == 404
    listed = (await client.get("/api/v1/imports?kind=shops", headers=Api.SUPERVISOR)).json()
    assert [item["id"] for item in listed["items"]] == [job["id"]]
    assert listed["items"][0]["status"] == "failed" and listed["next_cursor"] is None
    other_county = await client.get("/api/v1/imports", headers=Api.OTHER_SUPERVISOR)
    assert other_county.json()["items"] == []
    assert (await client.get("/api/v1/imports?status=completed", headers=Api.SUPERVISOR)).json()[
        "items"
    ] == []
    assert (await upload(client, shop_csv(rows), headers=Api.CALL_CENTER)).status_code == 403


async def test_manager_by_employee_number(
    client: httpx.AsyncClient, api: Api, service: ServiceUnderTest
) -> None:
    manager = await api.create_manager()
    foreign = await api.create_manager(county="999999")
    header = [*HEADER, "manager_employee_no"]
    number = licence()
    rows = [
        [*shop_row(number), manager["employee_no"]],
        [*shop_row(licence()), foreign["employee_no"]],
        [*shop_row(licence()), "NOBODY"],
    ]
    response = await upload(client, shop_csv(rows, header), mode="skip_invalid")
    job = await finished(client, response.json()["id"])
    assert job["progress"]["rows_imported"] == 1 and job["progress"]["rows_rejected"] == 2
    report = (await client.get(job["error_report_url"], headers=Api.ADMIN)).text
    assert "county_mismatch" in report and "not_found" in report
    shop = (await client.get(f"/api/v1/customers/by-license/{number}", headers=Api.ADMIN)).json()
    assert shop["manager_id"] == manager["id"]
    assignments = (
        await client.get(f"/api/v1/customers/{shop['id']}/manager-assignments", headers=Api.ADMIN)
    ).json()
    assert [item["manager_id"] for item in assignments["items"]] == [manager["id"]]


async def test_row_limit_is_checked_before_anything_is_written(
    client: httpx.AsyncClient, service: ServiceUnderTest, tmp_path: Any
) -> None:
    # A million-row file, generated here (never checked in): refused before a row is staged.
    path = tmp_path / "million.csv"
    with path.open("w", newline="") as handle:
        handle.write("license_no,name,county,market_type\n")
        handle.writelines(f"L{index:09d},Shop {index},330102,urban\n" for index in range(1_000_000))
    response = await upload(client, path.read_bytes())
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["rule"] == "too_many_rows"
    async with service.database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Customer)) == 0


@pytest.fixture
async def idle_service(
    database_factory: DatabaseFactory, bus: TestBus
) -> AsyncIterator[ServiceUnderTest]:
    """customer-svc without its import worker: queued jobs wait for process_next."""
    async with fresh_database(database_factory, definition.service_dir) as url:
        settings = Settings(
            **{
                **service_overrides(url, bus.bootstrap),
                "kafka_topic_prefix": bus.prefix,
                "import_worker_enabled": False,
            }
        )
        async with running(create_app(settings)) as app:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://c") as http:
                yield ServiceUnderTest(app, http)


async def test_a_job_waits_in_the_database_and_one_worker_at_a_time_merges_it(
    idle_service: ServiceUnderTest,
) -> None:
    client, settings = idle_service.http, idle_service.app.state.settings
    number = licence()
    response = await upload(client, shop_csv([shop_row(number)]))
    job_id = response.json()["id"]
    assert (await client.get(f"/api/v1/imports/{job_id}", headers=Api.ADMIN)).json()[
        "status"
    ] == "queued"
    # Another replica holds the job: this one skips it, and the job shows as importing.
    async with idle_service.database.transaction() as holder:
        claimed = await repository.claim_next(holder)
        assert claimed is not None and str(claimed.id) == job_id
        assert await process_next(idle_service.database, settings) is None
        shown = (await client.get(f"/api/v1/imports/{job_id}", headers=Api.ADMIN)).json()
        assert shown["status"] == "importing"
    # The holder ended without merging (as if its process died): the job is still there.
    assert str(await process_next(idle_service.database, settings)) == job_id
    assert await process_next(idle_service.database, settings) is None
    job = (await client.get(f"/api/v1/imports/{job_id}", headers=Api.ADMIN)).json()
    assert job["status"] == "completed" and job["progress"]["rows_imported"] == 1
