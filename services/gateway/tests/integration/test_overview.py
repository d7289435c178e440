"""Customer overview: parts fetched from the owning services; a down service is named, not fatal."""

import uuid

import httpx

from customer_svc.main import definition as customer_service
from gateway.config import Settings
from gateway.main import create_app
from retailcare_shared.devstack import free_port
from retailcare_shared.testing import (
    TEST_JWT_SECRET,
    DatabaseFactory,
    TestBus,
    bearer,
    running,
    running_service,
    serve_http,
)

SHOP = {
    "license_no": "330102" + uuid.uuid4().hex[:8].upper(),
    "name": "Lucky Convenience",
    "owner_name": "Zhang San",
    "phones": ["13812345678"],
    "county": "330102",
    "district": "D01",
    "market_type": "urban",
    "business_format": "convenience",
    "scale": "small",
}


async def test_overview_names_unavailable_services_and_hides_foreign_shops(
    database_factory: DatabaseFactory, bus: TestBus
) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    async with running_service(customer_service, database_factory, bus) as customers:
        created = await customers.http.post(
            "/api/v1/customers", json=SHOP, headers=bearer(["admin"])
        )
        assert created.status_code == 201, created.text
        shop_id = created.json()["id"]
        async with serve_http(customers.app) as customer_url:
            settings = Settings(
                auth_jwt_secret=TEST_JWT_SECRET,
                kafka_bootstrap_servers="unused:9092",
                customer_svc_url=customer_url,
                valuation_svc_url=down,
                complaint_svc_url=down,
                survey_svc_url=down,
            )
            async with running(create_app(settings)) as app:
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
                    overview = await client.get(
                        f"/api/v1/customers/{shop_id}/overview", headers=bearer(["call_center"])
                    )
                    foreign = await client.get(
                        f"/api/v1/customers/{shop_id}/overview",
                        headers=bearer(["customer_manager"], manager_id=str(uuid.uuid4())),
                    )
                    unknown = await client.get(
                        f"/api/v1/customers/{uuid.uuid4()}/overview",
                        headers=bearer(["call_center"]),
                    )
                    anonymous = await client.get(f"/api/v1/customers/{shop_id}/overview")

    assert overview.status_code == 200, overview.text
    body = overview.json()
    assert body["profile"]["id"] == shop_id
    assert body["unavailable"] == ["complaint-svc", "survey-svc", "valuation-svc"]
    assert body["valuation"] is None and body["open_complaints"] is None
    assert body["pending_callbacks"] is None
    assert foreign.status_code == 404
    assert unknown.status_code == 404
    assert anonymous.status_code == 401
