"""The body guard: JSON-only and 1 MiB everywhere, except declared upload paths, which stream."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from retailcare_shared.middleware import BodyGuardMiddleware

LIMIT = 2048
UPLOAD_LIMIT = 64 * 1024


async def echo_size(request: Request) -> JSONResponse:
    size, chunks = 0, 0
    async for chunk in request.stream():
        size, chunks = size + len(chunk), chunks + 1
    return JSONResponse({"size": size, "chunks": chunks})


def client() -> httpx.AsyncClient:
    # Installed like install_common does: inside Starlette's error middleware.
    app = Starlette(
        routes=[
            Route("/upload", echo_size, methods=["POST"]),
            Route("/json", echo_size, methods=["POST"]),
        ],
        middleware=[
            Middleware(
                BodyGuardMiddleware,
                max_body_bytes=LIMIT,
                path_limits={"/upload": UPLOAD_LIMIT},
                streamed_paths=["/upload"],
            )
        ],
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def streamed(size: int, chunk: int = 4096):  # type: ignore[no-untyped-def]
    sent = 0
    while sent < size:
        part = min(chunk, size - sent)
        sent += part
        yield b"x" * part


async def test_an_upload_path_takes_any_media_type_beyond_the_default_limit() -> None:
    async with client() as http:
        response = await http.post(
            "/upload", content=b"a,b\n" * 4000, headers={"content-type": "text/csv"}
        )
    assert response.status_code == 200
    assert response.json()["size"] == 16000


async def test_an_upload_reaches_the_handler_in_chunks_not_buffered() -> None:
    async with client() as http:
        response = await http.post(
            "/upload", content=streamed(40_000), headers={"content-type": "text/csv"}
        )
    assert response.status_code == 200
    assert response.json()["size"] == 40_000
    assert response.json()["chunks"] >= 10


async def test_an_upload_over_its_limit_is_413_declared_or_streamed() -> None:
    async with client() as http:
        declared = await http.post(
            "/upload", content=b"x" * (UPLOAD_LIMIT + 1), headers={"content-type": "text/csv"}
        )
        chunked = await http.post(
            "/upload", content=streamed(UPLOAD_LIMIT + 10), headers={"content-type": "text/csv"}
        )
    assert declared.status_code == 413
    assert chunked.status_code == 413
    assert chunked.json()["status"] == 413


async def test_other_paths_stay_json_only_and_small() -> None:
    async with client() as http:
        csv = await http.post("/json", content=b"a,b\n", headers={"content-type": "text/csv"})
        big = await http.post(
            "/json", content=b"1" * (LIMIT + 1), headers={"content-type": "application/json"}
        )
    assert csv.status_code == 415
    assert big.status_code == 413
