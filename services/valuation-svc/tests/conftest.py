"""Fixtures for valuation-svc tests: the service on a fresh database and the session broker."""

from collections.abc import AsyncIterator

import httpx
import pytest

from retailcare_shared.testing import DatabaseFactory, ServiceUnderTest, TestBus, running_service
from valuation_svc.main import definition


@pytest.fixture
async def service(
    database_factory: DatabaseFactory, bus: TestBus
) -> AsyncIterator[ServiceUnderTest]:
    # Workers poll quickly so a queued run starts at once in tests.
    async with running_service(definition, database_factory, bus, run_poll_seconds=0.2) as running:
        yield running


@pytest.fixture
def client(service: ServiceUnderTest) -> httpx.AsyncClient:
    return service.http
