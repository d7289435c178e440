"""The gateway: the one public entry, routing `/api/v1/...` by prefix to the owning service."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.config import Settings
from gateway.limits import CircuitBreaker, RateLimiter, client_address, public_token
from gateway.openapi import fetch_documents, merge_documents
from gateway.overview import build_overview
from gateway.proxy import UpstreamFailure, forward, forward_upload
from gateway.routing import match_upstream
from gateway.upstream import UpstreamPool
from retailcare_shared.app import install_common
from retailcare_shared.auth import Principal, TokenVerifier, current_principal
from retailcare_shared.logging import configure_logging, get_logger
from retailcare_shared.memory import freeze_if_serving
from retailcare_shared.problems import NotFound, ServiceUnavailable, TooManyRequests

log = get_logger(__name__)

# httpcore (the overview's and OpenAPI fetches' client) tries `import sniffio` several times per
# request; without sniffio installed every try is a failed search of sys.path. A None entry fails
# the import at once.
if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]

PROXY_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


class Gateway:
    """Per-process gateway state: upstream client, rate-limit buckets, circuit breakers."""

    def __init__(
        self,
        settings: Settings,
        client: httpx.AsyncClient,
        pools: dict[str, UpstreamPool],
    ) -> None:
        self.settings = settings
        self.client = client
        self.pools = pools
        self.upstreams = settings.upstreams()
        self.limiter = RateLimiter()
        # Addresses and survey tokens in their own table: a flood of made-up tokens evicts
        # other tokens' buckets, never the authenticated clients'.
        self.public_limiter = RateLimiter()
        self.breakers = {
            name: CircuitBreaker(settings.breaker_failure_threshold, settings.breaker_reset_seconds)
            for name in self.upstreams
        }

    def is_public(self, path: str) -> bool:
        """The public survey-token endpoints need no token."""
        return any(path.startswith(prefix) for prefix in self.settings.public_prefixes)

    def client_address(self, request: Request) -> str:
        """The caller's address, through the configured trusted proxies only."""
        return client_address(
            request.client.host if request.client else None,
            request.headers.getlist("x-forwarded-for"),
            self.settings.trusted_proxies,
        )

    def admit(self, request: Request, principal: Principal | None) -> None:
        """Apply the caller's rate limit (429 with Retry-After when exceeded)."""
        now = time.monotonic()
        if principal is None:
            limit = self.settings.rate_limit_public
            address = self.client_address(request)
            wait = self.public_limiter.check(f"address:{address}", limit.rate, limit.burst, now)
            token = public_token(request.url.path, self.settings.public_prefixes)
            if not wait and token is not None:
                limit = self.settings.rate_limit_public_token
                wait = self.public_limiter.check(f"token:{token}", limit.rate, limit.burst, now)
        else:
            limits = [
                self.settings.rate_limits_by_role[role]
                for role in principal.roles
                if role in self.settings.rate_limits_by_role
            ]
            limit = (
                max(limits, key=lambda item: item.rate)
                if limits
                else self.settings.rate_limit_default
            )
            wait = self.limiter.check(f"sub:{principal.sub}", limit.rate, limit.burst, now)
        if wait:
            raise TooManyRequests("rate limit exceeded; slow down", retry_after_seconds=wait)

    async def send(self, request: Request, upstream: str) -> Response:
        """Forward through the upstream's circuit breaker."""
        breaker = self.breakers[upstream]
        now = time.monotonic()
        if not breaker.allow(now):
            raise ServiceUnavailable(
                f"{upstream} is failing; not forwarding for now", breaker.retry_after(now)
            )
        try:
            if request.url.path in self.settings.streamed_paths:
                response = await forward_upload(
                    request,
                    self.client,
                    self.upstreams[upstream],
                    upstream,
                    self.settings.upload_timeout_seconds,
                )
            else:
                response = await forward(request, self.pools[upstream], upstream)
        except UpstreamFailure:
            breaker.record_failure(time.monotonic())
            raise
        if response.status_code in (502, 503, 504):
            breaker.record_failure(time.monotonic())
        else:
            breaker.record_success()
        return response


def create_app(settings: Settings | None = None) -> FastAPI:
    """The gateway application (uvicorn factory)."""
    settings = settings or Settings.load()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging("gateway", settings.log_level, settings.log_json)
        timeout = httpx.Timeout(
            settings.upstream_timeout_seconds, connect=settings.upstream_connect_timeout_seconds
        )
        # Idle upstream connections are dropped before the services' uvicorn closes them (after
        # 5 s): sending a POST on a connection the server is closing fails it with a 503.
        limits = httpx.Limits(
            max_connections=400, max_keepalive_connections=100, keepalive_expiry=4.0
        )
        pools = {
            name: UpstreamPool(
                url,
                timeout=settings.upstream_timeout_seconds,
                connect_timeout=settings.upstream_connect_timeout_seconds,
                max_connections=200,
                max_idle=50,
                keepalive_expiry=4.0,
            )
            for name, url in settings.upstreams().items()
        }
        async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
            app.state.gateway = Gateway(settings, client, pools)
            log.info("service_started", port=settings.port, upstreams=settings.upstreams())
            freeze_if_serving()
            try:
                yield
            finally:
                for pool in pools.values():
                    await pool.aclose()

    app = FastAPI(
        title="RetailCare API",
        version="1.0.0",
        description="The public API of RetailCare, through the gateway.",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.token_verifier = TokenVerifier(settings)
    install_common(
        app,
        "gateway",
        settings.max_body_bytes,
        settings.max_body_bytes_by_path,
        streamed_paths=settings.streamed_paths,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=PROXY_METHODS,
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Idempotency-Key",
                "If-Match",
                "X-Request-ID",
            ],
            expose_headers=["ETag", "Retry-After", "X-Request-ID", "Location"],
            max_age=600,
        )

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """Liveness."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> dict[str, str]:
        """Readiness: the gateway has no database; it is ready once started."""
        return {"status": "ready"}

    @app.get("/metrics", tags=["operations"], response_class=Response)
    async def metrics() -> Response:
        """Prometheus text format."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> JSONResponse:
        """One document for the whole API: the services' own documents merged."""
        gateway: Gateway = request.app.state.gateway
        documents, missing = await fetch_documents(gateway.client, gateway.upstreams)
        merged: dict[str, Any] = merge_documents(app.openapi(), documents, settings.routes)
        if missing:
            merged["info"] = {**merged["info"], "x-unavailable": missing}
        return JSONResponse(merged)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        """Swagger UI over the merged document."""
        return get_swagger_ui_html(openapi_url="/openapi.json", title="RetailCare API")

    @app.get("/api/v1/customers/{customer_id}/overview", tags=["customer overview"])
    async def customer_overview(customer_id: uuid.UUID, request: Request) -> dict[str, Any]:
        """Customer-360: profile, valuation and plan, complaints, survey and callbacks at once.

        A part whose service is down is null and its service is named in `unavailable`; a part
        the caller's role may not read is null and named in `withheld`.
        """
        gateway: Gateway = request.app.state.gateway
        principal = current_principal(request)
        gateway.admit(request, principal)
        return await build_overview(
            gateway, request, customer_id, settings.overview_timeout_seconds
        )

    async def proxy(request: Request) -> Response:
        """Route to the owning service; the token is checked here too (defence in depth)."""
        gateway: Gateway = request.app.state.gateway
        upstream = match_upstream(request.url.path, settings.routes)
        if upstream is None:
            raise NotFound(f"no service owns {request.url.path}")
        principal = None if gateway.is_public(request.url.path) else current_principal(request)
        gateway.admit(request, principal)
        return await gateway.send(request, upstream)

    # A plain Starlette route: the proxy takes no parameters to validate, and FastAPI's request
    # handling around an endpoint (dependency solving, response shaping) costs more than it does.
    app.add_route("/api/v1/{path:path}", proxy, methods=PROXY_METHODS, include_in_schema=False)
    return app
