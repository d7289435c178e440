"""Upstream failures become problems: refused → 503 with Retry-After, too slow → 504."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from gateway.config import Settings
from gateway.main import create_app
from retailcare_shared.devstack import free_port
from retailcare_shared.testing import TEST_JWT_SECRET, bearer, running


async def _silent_server(port: int) -> asyncio.Server:
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)
        writer.close()

    return await asyncio.start_server(never_answer, "127.0.0.1", port)


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[FastAPI, int]]:
    refused, slow = free_port(), free_port()
    server = await _silent_server(slow)
    settings = Settings(
        auth_jwt_secret=TEST_JWT_SECRET,
        kafka_bootstrap_servers="unused:9092",
        customer_svc_url=f"http://127.0.0.1:{refused}",
        valuation_svc_url=f"http://127.0.0.1:{refused}",
        complaint_svc_url=f"http://127.0.0.1:{slow}",
        survey_svc_url=f"http://127.0.0.1:{refused}",
        upstream_timeout_seconds=0.5,
    )
    async with running(create_app(settings)) as app:
        yield app, slow
    server.close()


async def test_refused_upstream_is_503_with_retry_after(gateway: tuple[FastAPI, int]) -> None:
    app, _ = gateway
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gw"
    ) as client:
        response = await client.get("/api/v1/customers", headers=bearer(["admin"]))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert "customer-svc is unavailable" in response.json()["detail"]


async def test_slow_upstream_is_504(gateway: tuple[FastAPI, int]) -> None:
    app, _ = gateway
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gw"
    ) as client:
        response = await client.get("/api/v1/complaints", headers=bearer(["admin"]))
    assert response.status_code == 504
    assert response.headers["content-type"] == "application/problem+json"


async def test_unknown_api_path_is_404_and_anonymous_is_401(
    gateway: tuple[FastAPI, int],
) -> None:
    app, _ = gateway
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gw"
    ) as client:
        unknown = await client.get("/api/v1/nothing", headers=bearer(["admin"]))
        anonymous = await client.get("/api/v1/customers")
    assert unknown.status_code == 404
    assert anonymous.status_code == 401
