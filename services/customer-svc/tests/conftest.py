"""Fixtures for customer-svc tests: the service on a fresh database and the session broker."""

from collections.abc import AsyncIterator

import httpx
import pytest

from customer_svc.main import definition
from retailcare_shared.testing import DatabaseFactory, service_client


@pytest.fixture
async def client(
    database_factory: DatabaseFactory, kafka_bootstrap: str
) -> AsyncIterator[httpx.AsyncClient]:
    async with service_client(definition, database_factory, kafka_bootstrap) as http:
        yield http
