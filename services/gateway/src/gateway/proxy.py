"""Streaming reverse proxy to the owning service, turning upstream failures into problems."""

from __future__ import annotations

import importlib.util
import sys

import httpx
from fastapi import Request, Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

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
RETRYABLE_METHODS = {"GET", "HEAD"}
# Responses declaring at most this many bytes are read whole and sent in one piece: cheaper than
# streaming (no extra task, no per-chunk sends); anything larger or of unknown size is streamed.
BUFFER_LIMIT_BYTES = 64 * 1024

# httpcore tries `import sniffio` several times per request; without sniffio installed every try
# is a failed search of sys.path (~8% of the gateway's CPU). A None entry fails the import at once.
if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]


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


def forwarded_headers(request: Request) -> dict[str, str]:
    """Request headers to pass upstream, with the request id the gateway assigned."""
    # Raw ASGI pairs (names already lower-case): cheaper than Starlette's Headers mapping.
    raw = request.scope["headers"]
    headers = {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in raw
        if name not in HOP_BY_HOP_RAW
    }
    headers["x-request-id"] = request_id_var.get() or headers.get("x-request-id", "")
    client = request.client.host if request.client else ""
    previous = next((value for name, value in raw if name == b"x-forwarded-for"), None)
    headers["x-forwarded-for"] = f"{previous.decode('latin-1')}, {client}" if previous else client
    return headers


async def forward(
    request: Request, client: httpx.AsyncClient, base_url: str, upstream: str
) -> Response:
    """Send the request to the upstream; pass a small answer on whole, stream a large one."""
    body = await request.body()
    scope = request.scope
    # The same URL as base_url + request.url.path + "?" + query (Starlette escapes these three
    # characters the same way), without building the URL object and re-merging query parameters.
    path = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    target = base_url + path
    query = scope.get("query_string", b"")
    outgoing = client.build_request(
        request.method,
        # UTF-8 as Starlette decodes it; an invalid byte becomes U+FFFD instead of a 500.
        target + "?" + query.decode("utf-8", "replace") if query else target,
        headers=forwarded_headers(request),
        content=body,
    )
    attempts = 2 if request.method in RETRYABLE_METHODS else 1
    for attempt in range(attempts):
        try:
            upstream_response = await client.send(outgoing, stream=True)
            break
        except httpx.TimeoutException:
            raise GatewayTimeout(f"{upstream} did not answer in time") from None
        except httpx.TransportError as error:
            if attempt + 1 < attempts:
                continue
            log.warning("upstream_unavailable", upstream=upstream, error=type(error).__name__)
            raise UpstreamUnavailable(f"{upstream} is unavailable; retry shortly") from None
    declared = upstream_response.headers.get("content-length", "")
    if request.method != "HEAD" and declared.isdigit() and int(declared) <= BUFFER_LIMIT_BYTES:
        return await _buffered(upstream_response, upstream)
    headers = {
        name: value
        for name, value in upstream_response.headers.items()
        if name.lower() not in HOP_BY_HOP
    }
    return StreamingResponse(
        upstream_response.aiter_raw(),
        status_code=upstream_response.status_code,
        headers=headers,
        background=BackgroundTask(upstream_response.aclose),
    )


async def _buffered(upstream_response: httpx.Response, upstream: str) -> Response:
    """Read a small upstream answer whole (raw bytes, encoding untouched) and pass it on."""
    try:
        body = b"".join([chunk async for chunk in upstream_response.aiter_raw()])
    except httpx.TimeoutException:
        raise GatewayTimeout(f"{upstream} did not answer in time") from None
    except httpx.TransportError as error:
        log.warning("upstream_unavailable", upstream=upstream, error=type(error).__name__)
        raise UpstreamUnavailable(f"{upstream} is unavailable; retry shortly") from None
    finally:
        await upstream_response.aclose()
    raw_headers = [
        (name.lower(), value)
        for name, value in upstream_response.headers.raw
        if name.lower() not in HOP_BY_HOP_RAW
    ]
    return BufferedResponse(body, upstream_response.status_code, raw_headers)
