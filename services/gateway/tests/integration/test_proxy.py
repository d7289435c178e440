"""The proxy passes answers on unchanged (small ones whole, large ones streamed) over real HTTP."""

import asyncio
import gzip
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from fastapi.responses import StreamingResponse

from gateway.config import Settings
from gateway.main import create_app
from gateway.proxy import BUFFER_LIMIT_BYTES
from gateway.upstream import UpstreamPool
from retailcare_shared.testing import TEST_JWT_SECRET, bearer, running, serve_http

PACKED = gzip.compress(b'{"items": []}')


@dataclass
class Seen:
    """What the upstream received: one entry per request."""

    requests: list[dict[str, Any]] = field(default_factory=list)

    def ports(self) -> set[int]:
        """Client ports the requests came from: one per upstream connection."""
        return {request["client_port"] for request in self.requests}


def upstream_app(seen: Seen) -> FastAPI:
    """A stand-in service answering a few shapes of response."""
    app = FastAPI()

    async def record(request: Request) -> None:
        seen.requests.append(
            {
                "method": request.method,
                "raw_path": request.scope["raw_path"],
                "query": request.scope["query_string"],
                "headers": request.scope["headers"],
                "body": await request.body(),
                "client_port": request.client.port if request.client else 0,
            }
        )

    @app.post("/api/v1/complaints")
    async def small(request: Request) -> Response:
        await record(request)
        return Response(
            b'{"id":"c1"}',
            status_code=201,
            media_type="application/json",
            headers={"etag": '"3"', "x-note": "a"},
        )

    @app.api_route("/api/v1/customers", methods=["GET", "HEAD"])
    async def encoded(request: Request) -> Response:
        await record(request)
        return Response(PACKED, media_type="application/json", headers={"content-encoding": "gzip"})

    @app.get("/api/v1/visits")
    async def large(request: Request) -> StreamingResponse:
        await record(request)

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(3):
                yield b"x" * BUFFER_LIMIT_BYTES

        return StreamingResponse(chunks(), media_type="text/plain")

    @app.post("/api/v1/imports")
    async def upload(request: Request) -> Response:
        chunks = [chunk async for chunk in request.stream()]
        seen.requests.append(
            {
                "method": request.method,
                "headers": request.scope["headers"],
                "body": b"".join(chunks),
                "chunks": len(chunks),
            }
        )
        return Response(b'{"id":"job-1"}', status_code=202, media_type="application/json")

    @app.get("/api/v1/managers")
    async def closing(request: Request) -> Response:
        await record(request)
        return Response(b"{}", media_type="application/json", headers={"connection": "close"})

    return app


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[str, Seen]]:
    seen = Seen()
    # Without proxy headers the client port is the connection's own (one port per connection).
    async with serve_http(upstream_app(seen), proxy_headers=False) as url:
        yield url, seen


@pytest.fixture
async def gateway(upstream: tuple[str, Seen]) -> AsyncIterator[httpx.AsyncClient]:
    url, _ = upstream
    upstreams: dict[str, Any] = {
        f"{name}_svc_url": url for name in ("customer", "valuation", "complaint", "survey")
    }
    settings = Settings(
        auth_jwt_secret=TEST_JWT_SECRET, kafka_bootstrap_servers="unused:9092", **upstreams
    )
    async with (
        running(create_app(settings)) as app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client,
    ):
        yield client


async def test_small_answer_is_passed_on_whole(
    gateway: httpx.AsyncClient, upstream: tuple[str, Seen]
) -> None:
    url, seen = upstream
    response = await gateway.post(
        "/api/v1/complaints?x=1&y=%E5%BC%A0",
        json={"a": 1},
        headers={**bearer(["call_center"]), "Idempotency-Key": "k1", "X-Forwarded-For": "10.0.0.1"},
    )

    assert response.status_code == 201
    assert response.content == b'{"id":"c1"}'
    assert response.headers["content-length"] == str(len(b'{"id":"c1"}'))
    assert response.headers["etag"] == '"3"'
    assert response.headers["x-note"] == "a"
    assert response.headers["x-request-id"]
    received = seen.requests[0]
    headers = dict(received["headers"])
    assert received["raw_path"] == b"/api/v1/complaints"
    assert received["query"] == b"x=1&y=%E5%BC%A0"
    assert headers[b"host"] == url.removeprefix("http://").encode()
    assert headers[b"idempotency-key"] == b"k1"
    assert headers[b"x-request-id"].decode() == response.headers["x-request-id"]
    assert headers[b"x-forwarded-for"].startswith(b"10.0.0.1, ")
    assert [name for name, _ in received["headers"]].count(b"x-forwarded-for") == 1
    assert received["body"] == b'{"a":1}'


async def test_encoded_answer_keeps_its_bytes(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/api/v1/customers", headers=bearer(["admin"]))

    assert response.headers["content-encoding"] == "gzip"
    assert response.json() == {"items": []}  # httpx decodes what the gateway left encoded


async def test_large_answer_is_streamed_through(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/api/v1/visits", headers=bearer(["admin"]))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.content == b"x" * (BUFFER_LIMIT_BYTES * 3)


async def test_connections_are_reused_and_closed_ones_replaced(
    gateway: httpx.AsyncClient, upstream: tuple[str, Seen]
) -> None:
    _, seen = upstream
    for _ in range(5):
        assert (await gateway.get("/api/v1/customers", headers=bearer(["admin"]))).is_success
    head = await gateway.head("/api/v1/customers", headers=bearer(["admin"]))
    assert head.status_code == 200
    assert head.content == b""
    assert len(seen.ports()) == 1  # five GETs and the HEAD on one kept-alive connection

    closing = await gateway.get("/api/v1/managers", headers=bearer(["admin"]))
    after = await gateway.get("/api/v1/customers", headers=bearer(["admin"]))

    assert closing.json() == {} and after.json() == {"items": []}
    # The HEAD's connection is not reused, nor the one the upstream closed: three in all.
    assert len(seen.ports()) == 3


async def test_idle_connections_expire_before_the_server_drops_them(
    upstream: tuple[str, Seen],
) -> None:
    url, seen = upstream
    pool = UpstreamPool(url, timeout=5, connect_timeout=1, keepalive_expiry=0.05)
    for pause in (0, 0, 0.2):
        await asyncio.sleep(pause)
        answer = await pool.request("GET", b"/api/v1/customers", [], b"")
        assert await answer.read() == PACKED
    await pool.aclose()

    assert len(seen.ports()) == 2  # the third request came after the first connection expired


async def test_concurrent_requests_get_their_own_answers(upstream: tuple[str, Seen]) -> None:
    url, seen = upstream
    pool = UpstreamPool(url, timeout=5, connect_timeout=1, max_connections=4)

    async def one(index: int) -> tuple[int, bytes]:
        answer = await pool.request(
            "POST", b"/api/v1/complaints", [(b"x-index", str(index).encode())], b"{}"
        )
        return answer.status, await answer.read()

    answers = await asyncio.gather(*(one(index) for index in range(40)))
    await pool.aclose()

    assert answers == [(201, b'{"id":"c1"}')] * 40
    assert len(seen.requests) == 40
    assert len(seen.ports()) <= 4  # never more connections than the pool allows


async def test_a_file_upload_is_streamed_through_with_its_media_type(
    gateway: httpx.AsyncClient, upstream: tuple[str, Seen]
) -> None:
    _, seen = upstream
    csv = "license_no,name\n" + "".join(f"L{index:08d},店{index}\n" for index in range(200_000))
    data = csv.encode()  # about 3.5 MB: far over the JSON limit, and not JSON

    async def parts() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 64 * 1024):
            yield data[start : start + 64 * 1024]

    response = await gateway.post(
        "/api/v1/imports?kind=shops",
        content=parts(),
        headers={**bearer(["admin"]), "Content-Type": "text/csv; charset=utf-8"},
    )

    assert response.status_code == 202
    assert response.json() == {"id": "job-1"}
    received = seen.requests[0]
    assert received["body"] == data
    assert received["chunks"] > 1  # it arrived in pieces, not as one buffered body
    assert dict(received["headers"])[b"content-type"] == b"text/csv; charset=utf-8"


async def test_an_upload_over_its_limit_is_refused_at_the_gateway(
    upstream: tuple[str, Seen],
) -> None:
    url, seen = upstream
    upstreams: dict[str, Any] = {
        f"{name}_svc_url": url for name in ("customer", "valuation", "complaint", "survey")
    }
    settings = Settings(
        auth_jwt_secret=TEST_JWT_SECRET,
        kafka_bootstrap_servers="unused:9092",
        max_body_bytes_by_path={"/api/v1/imports": 10_000},
        **upstreams,
    )
    async with (
        running(create_app(settings)) as app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client,
    ):
        response = await client.post(
            "/api/v1/imports?kind=shops",
            content=b"x" * 20_000,
            headers={**bearer(["admin"]), "Content-Type": "text/csv"},
        )

    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert seen.requests == []
