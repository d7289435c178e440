"""Streaming reverse proxy to the owning service, turning upstream failures into problems."""

from __future__ import annotations

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
RETRYABLE_METHODS = {"GET", "HEAD"}


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


def forwarded_headers(request: Request) -> dict[str, str]:
    """Request headers to pass upstream, with the request id the gateway assigned."""
    headers = {
        name: value for name, value in request.headers.items() if name.lower() not in HOP_BY_HOP
    }
    headers["x-request-id"] = request_id_var.get() or headers.get("x-request-id", "")
    client = request.client.host if request.client else ""
    previous = request.headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{previous}, {client}" if previous else client
    return headers


async def forward(
    request: Request, client: httpx.AsyncClient, base_url: str, upstream: str
) -> Response:
    """Send the request to the upstream and stream its response back."""
    body = await request.body()
    outgoing = client.build_request(
        request.method,
        base_url + request.url.path,
        params=request.url.query,
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
