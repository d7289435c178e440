"""The gateway: the one public entry, routing `/api/v1/...` by prefix to the owning service."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.config import Settings
from gateway.proxy import forward
from gateway.routing import match_upstream
from retailcare_shared.app import install_common
from retailcare_shared.auth import TokenVerifier, current_principal
from retailcare_shared.logging import configure_logging, get_logger
from retailcare_shared.problems import NotFound

log = get_logger(__name__)
PROXY_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


def create_app(settings: Settings | None = None) -> FastAPI:
    """The gateway application (uvicorn factory)."""
    settings = settings or Settings.load()
    upstreams = settings.upstreams()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging("gateway", settings.log_level, settings.log_json)
        timeout = httpx.Timeout(
            settings.upstream_timeout_seconds, connect=settings.upstream_connect_timeout_seconds
        )
        limits = httpx.Limits(max_connections=400, max_keepalive_connections=100)
        async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
            app.state.http = client
            log.info("service_started", port=settings.port, upstreams=upstreams)
            yield

    app = FastAPI(title="RetailCare gateway", version="1.0.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.token_verifier = TokenVerifier(settings)
    install_common(app, "gateway", settings.max_body_bytes)

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

    @app.api_route("/api/v1/{path:path}", methods=PROXY_METHODS, include_in_schema=False)
    async def proxy(request: Request) -> Response:
        """Route to the owning service; the token is checked here too (defence in depth)."""
        upstream = match_upstream(request.url.path, settings.routes)
        if upstream is None:
            raise NotFound(f"no service owns {request.url.path}")
        if not any(request.url.path.startswith(prefix) for prefix in settings.public_prefixes):
            current_principal(request)
        return await forward(request, request.app.state.http, upstreams[upstream], upstream)

    return app
