"""Fixtures for customer-svc tests: the service on a fresh database and the session broker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from customer_svc.config import Settings
from customer_svc.main import create_app, definition
from retailcare_shared.testing import (
    DatabaseFactory,
    ServiceUnderTest,
    TestBus,
    bearer,
    fresh_database,
    running,
    service_overrides,
)


@pytest.fixture
async def service(
    database_factory: DatabaseFactory, bus: TestBus
) -> AsyncIterator[ServiceUnderTest]:
    # The service's own factory (not the generic one): it adds the batch endpoint's body limit.
    async with fresh_database(database_factory, definition.service_dir) as url:
        settings = Settings(
            **{**service_overrides(url, bus.bootstrap), "kafka_topic_prefix": bus.prefix}
        )
        async with running(create_app(settings)) as app:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://customer-svc"
            ) as http:
                yield ServiceUnderTest(app, http)


@pytest.fixture
def client(service: ServiceUnderTest) -> httpx.AsyncClient:
    return service.http


class Api:
    """Tokens and helpers the tests share (a fixture, so test modules need no imports)."""

    ADMIN = bearer(["admin"], sub="admin-1")
    SUPERVISOR = bearer(["supervisor"], sub="sup-1", county="330102")
    OTHER_SUPERVISOR = bearer(["supervisor"], sub="sup-2", county="999999")
    CALL_CENTER = bearer(["call_center"], sub="cc-1")
    PLATFORM = bearer(["order_platform"], sub="platform")
    ANALYST = bearer(["analyst"], sub="analyst-1")

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    @staticmethod
    def manager_token(manager_id: uuid.UUID | str, sub: str = "mgr") -> dict[str, str]:
        """A customer manager's token."""
        return bearer(["customer_manager"], sub=sub, manager_id=str(manager_id))

    @staticmethod
    def shop_body(**overrides: Any) -> dict[str, Any]:
        """A valid registration body."""
        body: dict[str, Any] = {
            "license_no": "330102" + uuid.uuid4().hex[:8].upper(),
            "name": "Lucky Convenience",
            "owner_name": "Zhang San",
            "phones": ["13812345678"],
            "address": "1 Wulin Road, Hangzhou",
            "county": "330102",
            "district": "D01",
            "market_type": "urban",
            "business_format": "convenience",
            "scale": "small",
            "trading_area": "residential",
        }
        body.update(overrides)
        return body

    async def create_manager(
        self, employee_no: str | None = None, county: str = "330102"
    ) -> dict[str, Any]:
        """Create a manager through the API."""
        response = await self.client.post(
            "/api/v1/managers",
            json={
                "employee_no": employee_no or "E" + uuid.uuid4().hex[:8],
                "name": "Li Si",
                "county": county,
                "districts": ["D01", "D02"],
            },
            headers=self.ADMIN,
        )
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    async def register(self, **overrides: Any) -> dict[str, Any]:
        """Register a shop through the API as admin."""
        response = await self.client.post(
            "/api/v1/customers", json=self.shop_body(**overrides), headers=self.ADMIN
        )
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    return Api(client)
