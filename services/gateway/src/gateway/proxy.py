"""Streaming reverse proxy to the owning service, turning upstream failures into problems."""

from __future__ import annotations

from urllib.parse import quote

import httpx
from fastapi import Request, Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask
from starlette.types import Scope

from gateway.upstream import UpstreamError, UpstreamPool, UpstreamResponse, UpstreamTimeout
from retailcare_shared.logging import get_logger, request_id_var
from retailcare_shared.problems import ProblemError

log = get_logger(__name__)

# Hop-by-hop headers (RFC 9110 §7.6.1) never cross a proxy.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}
HOP_BY_HOP_RAW = frozenset(name.encode() for name in HOP_BY_HOP)
# Expect is answered by the gateway's own server; passed on, the upstream's interim 100 would
# reach a client that already sent its body.
DROPPED_REQUEST_HEADERS = HOP_BY_HOP_RAW | {b"expect", b"x-request-id", b"x-forwarded-for"}
RETRYABLE_METHODS = {"GET", "HEAD"}
# Responses declaring at most this many bytes are read whole and sent in one piece: cheaper than
# streaming (no extra task, no per-chunk sends); anything larger or of unknown size is streamed.
BUFFER_LIMIT_BYTES = 64 * 1024


class UpstreamFailure(ProblemError):
    """The owning service could not be reached or did not answer (counts against its breaker)."""


class GatewayTimeout(UpstreamFailure):
    """The owning service did not answer in time."""

    status, type_slug = 504, "gateway-timeout"


class UpstreamUnavailable(UpstreamFailure):
    """The owning service refused the connection or is down."""

    status, type_slug = 503, "service-unavailable"

    def __init__(self, detail: str, retry_after_seconds: int = 2) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_seconds)})


class BufferedResponse(Response):
    """A complete upstream answer passed on as-is: raw header pairs, body in one message."""

    def __init__(
        self, body: bytes, status_code: int, raw_headers: list[tuple[bytes, bytes]]
    ) -> None:
        # Response.__init__ would re-encode every header; these are already wire bytes.
        self.body = body
        self.status_code = status_code
        self.background = None
        self.raw_headers = [*raw_headers, (b"content-length", str(len(body)).encode())]


def forwarded_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    """Request headers to pass upstream (raw pairs), with the request id the gateway assigned."""
    raw: list[tuple[bytes, bytes]] = scope["headers"]
    headers = [(name, value) for name, value in raw if name not in DROPPED_REQUEST_HEADERS]
    request_id = request_id_var.get() or next(
        (value.decode("latin-1") for name, value in raw if name == b"x-request-id"), ""
    )
    client = scope.get("client")
    address = client[0] if client else ""
    previous = next((value for name, value in raw if name == b"x-forwarded-for"), None)
    forwarded = f"{previous.decode('latin-1')}, {address}" if previous else address
    headers += ((b"x-request-id", request_id.encode()), (b"x-forwarded-for", forwarded.encode()))
    return headers


def request_target(scope: Scope) -> bytes:
    """Path and query as the client sent them (the gateway routes by path, it does not rewrite)."""
    raw_path = scope.get("raw_path")
    if not raw_path:
        raw_path = quote(scope["path"], safe="/:@!$&'()*+,;=-._~").encode()
    query: bytes = scope.get("query_string", b"")
    return raw_path + b"?" + query if query else raw_path


async def forward(request: Request, pool: UpstreamPool, upstream: str) -> Response:
    """Send the request to the upstream; pass a small answer on whole, stream a large one."""
    body = await request.body()
    scope = request.scope
    target, headers = request_target(scope), forwarded_headers(scope)
    attempts = 2 if request.method in RETRYABLE_METHODS else 1
    for attempt in range(attempts):
        try:
            answer = await pool.request(request.method, target, headers, body)
            break
        except UpstreamTimeout:
            raise GatewayTimeout(f"{upstream} did not answer in time") from None
        except UpstreamError as error:
            if attempt + 1 < attempts:
                continue
            log.warning("upstream_unavailable", upstream=upstream, error=str(error))
            raise UpstreamUnavailable(f"{upstream} is unavailable; retry shortly") from None
    raw_headers = [(name, value) for name, value in answer.headers if name not in HOP_BY_HOP_RAW]
    declared = answer.header(b"content-length") or b""
    if request.method != "HEAD" and declared.isdigit() and int(declared) <= BUFFER_LIMIT_BYTES:
        return BufferedResponse(await _read_whole(answer, upstream), answer.status, raw_headers)
    response = StreamingResponse(
        answer.iter_body(),
        status_code=answer.status,
        background=BackgroundTask(answer.release),
    )
    response.raw_headers = raw_headers  # no content-length: the server sends it chunked
    return response


async def forward_upload(
    request: Request, client: httpx.AsyncClient, base_url: str, upstream: str, timeout: float
) -> Response:
    """Stream a file upload to the upstream as it arrives, and its answer back.

    The keep-alive pool writes a request body in one piece; an upload of up to hundreds of MB
    goes through httpx instead, which sends the client's chunks on with flow control.
    """
    scope = request.scope
    headers = [
        (name, value) for name, value in forwarded_headers(scope) if name != b"content-length"
    ]
    declared = request.headers.get("content-length")
    if declared is not None:
        headers.append((b"content-length", declared.encode()))
    upstream_request = client.build_request(
        request.method,
        base_url + request_target(scope).decode("latin-1"),
        headers=headers,
        content=request.stream(),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
    )
    try:
        answer = await client.send(upstream_request, stream=True)
    except httpx.TimeoutException:
        raise GatewayTimeout(f"{upstream} did not answer in time") from None
    except httpx.TransportError as error:
        log.warning("upstream_unavailable", upstream=upstream, error=str(error))
        raise UpstreamUnavailable(f"{upstream} is unavailable; retry shortly") from None
    response = StreamingResponse(
        answer.aiter_raw(), status_code=answer.status_code, background=BackgroundTask(answer.aclose)
    )
    response.raw_headers = [
        (name, value) for name, value in answer.headers.raw if name.lower() not in HOP_BY_HOP_RAW
    ]
    return response


async def _read_whole(answer: UpstreamResponse, upstream: str) -> bytes:
    """A small upstream answer, whole (raw bytes, content coding untouched)."""
    try:
        return await answer.read()
    except UpstreamTimeout:
        raise GatewayTimeout(f"{upstream} did not answer in time") from None
    except UpstreamError as error:
        log.warning("upstream_unavailable", upstream=upstream, error=str(error))
        raise UpstreamUnavailable(f"{upstream} is unavailable; retry shortly") from None
