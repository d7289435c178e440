"""Fixtures for complaint-svc tests: the service on a fresh database and the session broker."""

from collections.abc import AsyncIterator

import httpx
import pytest

from complaint_svc.main import definition
from retailcare_shared.testing import DatabaseFactory, ServiceUnderTest, TestBus, running_service


@pytest.fixture
async def service(
    database_factory: DatabaseFactory, bus: TestBus
) -> AsyncIterator[ServiceUnderTest]:
    # The sweeper is driven explicitly by the tests (sweep()), never by the clock.
    async with running_service(definition, database_factory, bus, sweeper_enabled=False) as running:
        yield running


@pytest.fixture
async def quiet_service(
    database_factory: DatabaseFactory, bus: TestBus
) -> AsyncIterator[ServiceUnderTest]:
    """The service without consumers (no consumer-group join) for HTTP-only tests."""
    async with running_service(
        definition, database_factory, bus, sweeper_enabled=False, consumers_enabled=False
    ) as running:
        yield running


@pytest.fixture
def client(service: ServiceUnderTest) -> httpx.AsyncClient:
    return service.http
