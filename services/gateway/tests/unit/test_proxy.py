"""The proxy passes answers on unchanged: small ones whole, large ones streamed."""

import gzip
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from gateway.config import Settings
from gateway.main import create_app
from gateway.proxy import BUFFER_LIMIT_BYTES
from retailcare_shared.testing import TEST_JWT_SECRET, bearer, running

Handler = Callable[[httpx.Request], httpx.Response]


def network_response(status: int, body: bytes, headers: dict[str, str]) -> httpx.Response:
    """An upstream answer as the network delivers it: a byte stream with a declared length."""

    async def stream() -> AsyncIterator[bytes]:
        yield body

    return httpx.Response(
        status, content=stream(), headers={**headers, "content-length": str(len(body))}
    )


@pytest.fixture
def seen() -> list[httpx.Request]:
    return []


async def through_gateway(
    handler: Handler, method: str, path: str, **kwargs: object
) -> httpx.Response:
    settings = Settings(
        auth_jwt_secret=TEST_JWT_SECRET,
        kafka_bootstrap_servers="unused:9092",
        **{
            f"{name}_svc_url": "http://upstream"
            for name in ("customer", "valuation", "complaint", "survey")
        },
    )
    async with running(create_app(settings)) as app:
        # Upstreams answered in-process: the gateway's client gets a mock transport.
        mock = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        app.state.gateway.client = mock
        app.state.gateway.proxy_clients = [mock]
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gw"
        ) as client:
            return await client.request(method, path, **kwargs)  # type: ignore[arg-type]


async def test_small_answer_is_passed_on_whole(seen: list[httpx.Request]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return network_response(
            201,
            b'{"id":"c1"}',
            {"content-type": "application/json", "etag": '"3"', "connection": "close"},
        )

    response = await through_gateway(
        handler,
        "POST",
        "/api/v1/complaints?x=1&y=%E5%BC%A0",
        json={"a": 1},
        headers={**bearer(["call_center"]), "Idempotency-Key": "k1", "X-Forwarded-For": "10.0.0.1"},
    )

    assert response.status_code == 201
    assert response.content == b'{"id":"c1"}'
    assert response.headers["content-length"] == str(len(b'{"id":"c1"}'))
    assert response.headers["etag"] == '"3"'
    assert "connection" not in response.headers
    assert response.headers["x-request-id"]
    upstream = seen[0]
    assert str(upstream.url) == "http://upstream/api/v1/complaints?x=1&y=%E5%BC%A0"
    assert upstream.headers["idempotency-key"] == "k1"
    assert upstream.headers["x-request-id"] == response.headers["x-request-id"]
    assert upstream.headers["x-forwarded-for"].startswith("10.0.0.1, ")
    assert upstream.content == b'{"a":1}'


async def test_encoded_answer_keeps_its_bytes() -> None:
    packed = gzip.compress(b'{"items": []}')

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "application/json", "content-encoding": "gzip"}
        return network_response(200, packed, headers)

    response = await through_gateway(handler, "GET", "/api/v1/customers", headers=bearer(["admin"]))

    assert response.headers["content-encoding"] == "gzip"
    assert response.json() == {"items": []}  # httpx decodes what the gateway left encoded


async def test_large_answer_is_streamed_through() -> None:
    size = BUFFER_LIMIT_BYTES * 3

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"x" * BUFFER_LIMIT_BYTES

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks(), headers={"content-type": "text/plain"})

    response = await through_gateway(handler, "GET", "/api/v1/customers", headers=bearer(["admin"]))

    assert response.status_code == 200
    assert len(response.content) == size
