"""Historical orders from a file: grouped into orders, idempotent by order number, order.placed."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx

from retailcare_shared.events import OrderPlaced
from retailcare_shared.testing import ServiceUnderTest

from ..conftest import Api
from .test_imports import finished, shop_events, upload

HEADER = "订单号,许可证号,订货日期,结算方式,sku,brand,quantity,unit_price,gross_profit,key_brand\n"


async def test_orders_file_lands_in_the_right_months_once(
    client: httpx.AsyncClient, api: Api, service: ServiceUnderTest
) -> None:
    shop = await api.register()
    other = await api.register()
    tag = uuid.uuid4().hex[:6]
    lic, olic = shop["license_no"], other["license_no"]
    body = (
        HEADER
        + f"H{tag}1,{lic},2025-12-03,cash,6901028180566,Zhonghua,2,450.00,90.00,true\n"
        + f"H{tag}2,{olic},2026-01-15,e_settlement,6901028000001,Hongtashan,5,120.50,20,false\n"
        + f"H{tag}1,{lic},2025-12-03,cash,6901028000001,Hongtashan,1,120.50,20.00,false\n"
        + f"H{tag}3,{lic},2025-12-04,cash,6901028000001,Hongtashan,1,120.50,20.00,false\n"
        + f"H{tag}3,{lic},2025-12-05,cash,6901028000002,Yuxi,1,100.00,20.00,false\n"
        + f"H{tag}4,NOSUCH00001,2025-12-05,cash,6901028000002,Yuxi,1,100.00,20.00,false\n"
        + f"H{tag}5,{lic},2025-12-05,cash,6901028000002,Yuxi,1,100.005,20.00,false\n"
    ).encode()
    response = await upload(client, body, kind="orders", mode="skip_invalid")
    assert response.status_code == 202, response.text
    job = await finished(client, response.json()["id"])
    assert job["status"] == "completed", job
    assert job["progress"]["rows_imported"] == 3 and job["progress"]["rows_rejected"] == 4
    report = (await client.get(job["error_report_url"], headers=Api.ADMIN)).text
    assert report.count("inconsistent_order") == 2
    assert "not_found" in report and "decimal_places" in report

    orders = (await client.get(f"/api/v1/customers/{shop['id']}/orders", headers=Api.ADMIN)).json()[
        "items"
    ]
    assert [(o["order_no"], o["order_date"]) for o in orders] == [(f"H{tag}1", "2025-12-03")]
    assert Decimal(orders[0]["total_amount"]) == Decimal("1020.50")
    placed = [
        payload
        for _, payload in await shop_events(service, "order.placed")
        if isinstance(payload, OrderPlaced) and payload.order_no.startswith(f"H{tag}")
    ]
    assert sorted(p.order_no for p in placed) == [f"H{tag}1", f"H{tag}2"]
    first = next(p for p in placed if p.order_no == f"H{tag}1")
    assert str(first.customer_id) == shop["id"] and first.total_quantity == 3
    assert [(line.sku, line.amount, line.key_brand) for line in first.lines] == [
        ("6901028180566", Decimal("900.00"), True),
        ("6901028000001", Decimal("120.50"), False),
    ]
    detail = (await client.get(f"/api/v1/orders/{first.order_id}", headers=Api.ADMIN)).json()
    assert [line["line_no"] for line in detail["lines"]] == [1, 2]

    again = await finished(
        client,
        (await upload(client, body, kind="orders", mode="skip_invalid")).json()["id"],
    )
    assert again["progress"]["rows_imported"] == 0 and again["progress"]["rows_unchanged"] == 3
    assert (
        len(
            [
                p
                for _, p in await shop_events(service, "order.placed")
                if isinstance(p, OrderPlaced) and p.order_no.startswith(f"H{tag}")
            ]
        )
        == 2
    )
