"""Upstream failures become problems: refused → 503 with Retry-After, too slow → 504."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gateway.config import Settings
from gateway.main import create_app
from retailcare_shared.devstack import free_port
from retailcare_shared.testing import TEST_JWT_SECRET, bearer, running


def gateway_settings(*, down: str = "http://127.0.0.1:1", **overrides: Any) -> Settings:
    """Gateway settings whose upstreams are all `down` unless overridden."""
    upstreams = {
        f"{name}_svc_url": down for name in ("customer", "valuation", "complaint", "survey")
    }
    return Settings(
        auth_jwt_secret=TEST_JWT_SECRET,
        kafka_bootstrap_servers="unused:9092",
        **{**upstreams, **overrides},
    )


async def _silent_server(port: int) -> asyncio.Server:
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)
        writer.close()

    return await asyncio.start_server(never_answer, "127.0.0.1", port)


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[FastAPI, int]]:
    refused, slow = free_port(), free_port()
    server = await _silent_server(slow)
    settings = gateway_settings(
        down=f"http://127.0.0.1:{refused}",
        complaint_svc_url=f"http://127.0.0.1:{slow}",
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


async def test_breaker_opens_after_repeated_failures() -> None:
    settings = gateway_settings(
        customer_svc_url=f"http://127.0.0.1:{free_port()}",
        breaker_failure_threshold=3,
        breaker_reset_seconds=60,
    )
    async with (
        running(create_app(settings)) as app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client,
    ):
        first = [await client.get("/api/v1/customers", headers=bearer(["admin"])) for _ in range(3)]
        tripped = await client.get("/api/v1/customers", headers=bearer(["admin"]))
        other = await client.get("/api/v1/complaints", headers=bearer(["admin"]))
    assert [response.json()["detail"] for response in first] == [
        "customer-svc is unavailable; retry shortly"
    ] * 3
    assert tripped.status_code == 503
    assert "not forwarding for now" in tripped.json()["detail"]
    assert 55 <= int(tripped.headers["retry-after"]) <= 60
    assert "complaint-svc is unavailable" in other.json()["detail"]  # breakers are per upstream


async def test_rate_limit_per_client_and_per_address_for_public_paths() -> None:
    settings = gateway_settings(
        rate_limit_default={"rate": 0.5, "burst": 2},
        rate_limit_public={"rate": 0.5, "burst": 1},
        breaker_failure_threshold=1000,
    )
    async with (
        running(create_app(settings)) as app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client,
    ):
        calls = [
            await client.get("/api/v1/customers", headers=bearer(["analyst"], sub="bob"))
            for _ in range(3)
        ]
        carol = await client.get("/api/v1/customers", headers=bearer(["analyst"], sub="carol"))
        public = [await client.get("/api/v1/survey-invitations/tok") for _ in range(2)]
    assert [response.status_code for response in calls] == [503, 503, 429]
    assert calls[2].headers["retry-after"] == "2"
    assert calls[2].headers["content-type"] == "application/problem+json"
    assert carol.status_code == 503  # another client has its own bucket
    assert [response.status_code for response in public] == [503, 429]


async def test_cors_preflight_only_for_configured_origins() -> None:
    settings = gateway_settings(
        cors_origins=["https://app.retailcare.example"],
    )
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization",
    }
    async with (
        running(create_app(settings)) as app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client,
    ):
        allowed = await client.options(
            "/api/v1/complaints",
            headers={"Origin": "https://app.retailcare.example", **preflight},
        )
        refused = await client.options(
            "/api/v1/complaints", headers={"Origin": "https://evil.example", **preflight}
        )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.retailcare.example"
    assert "access-control-allow-origin" not in refused.headers


async def test_merged_openapi_names_unreachable_services(gateway: tuple[FastAPI, int]) -> None:
    app, _ = gateway
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gw"
    ) as client:
        document = await client.get("/openapi.json")
        docs = await client.get("/docs")
    assert document.status_code == 200
    assert set(document.json()["info"]["x-unavailable"]) == {
        "customer-svc",
        "valuation-svc",
        "survey-svc",
        "complaint-svc",
    }
    assert "swagger-ui" in docs.text


async def _partial_server(port: int, then_close: bool) -> asyncio.Server:
    """Answers headers announcing 100 bytes, sends 10, then closes or goes silent."""

    async def partial(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n" + b"x" * 10)
        await writer.drain()
        if not then_close:
            await asyncio.sleep(30)
        writer.close()

    return await asyncio.start_server(partial, "127.0.0.1", port)


@pytest.mark.parametrize(("then_close", "status"), [(True, 503), (False, 504)])
async def test_answer_broken_off_midway_is_a_problem_not_half_a_body(
    then_close: bool, status: int
) -> None:
    port = free_port()
    server = await _partial_server(port, then_close)
    settings = gateway_settings(
        customer_svc_url=f"http://127.0.0.1:{port}", upstream_timeout_seconds=0.5
    )
    async with (
        running(create_app(settings)) as app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client,
    ):
        response = await client.get("/api/v1/customers", headers=bearer(["admin"]))
    server.close()
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
