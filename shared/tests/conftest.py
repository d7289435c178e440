"""Fixtures for the platform tests: the widget service on a fresh database and the real broker."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from retailcare_shared.db import Database
from retailcare_shared.testing import DatabaseFactory, fresh_database, running, service_overrides
from widget_service.app import SERVICE_DIR, create_app


@pytest.fixture
async def widget_database(database_factory: DatabaseFactory) -> AsyncIterator[str]:
    async with fresh_database(database_factory, SERVICE_DIR) as url:
        yield url


@pytest.fixture
async def widget_db(widget_database: str) -> AsyncIterator[Database]:
    """A Database with one pooled connection: each block reuses it unless it was discarded."""
    database = Database(widget_database, pool_size=1)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def widget_app(widget_database: str, kafka_bootstrap: str) -> AsyncIterator[FastAPI]:
    async with running(create_app(service_overrides(widget_database, kafka_bootstrap))) as app:
        yield app


@pytest.fixture
async def client(widget_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=widget_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://widget-svc") as http:
        yield http
