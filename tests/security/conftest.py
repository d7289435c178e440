"""Fixtures for the security suite (quality.md S1-S7): services on real databases and the broker."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import httpx
import pytest
import structlog
import uvicorn
from fastapi import FastAPI
from sqlalchemy import text

import complaint_svc.main
import customer_svc.main
import gateway.main
import survey_svc.main
import valuation_svc.main
from gateway.config import Settings as GatewaySettings
from retailcare_shared.devstack import free_port
from retailcare_shared.testing import (
    TEST_JWT_SECRET,
    DatabaseFactory,
    ServiceUnderTest,
    TestBus,
    fresh_database,
    running,
    service_overrides,
)

SERVICE_MODULES: dict[str, ModuleType] = {
    "customer-svc": customer_svc.main,
    "valuation-svc": valuation_svc.main,
    "complaint-svc": complaint_svc.main,
    "survey-svc": survey_svc.main,
}
# Background work the HTTP-level security tests never need (and that would only add noise).
QUIET = {"sweeper_enabled": False, "run_poll_seconds": 0.2}


def service_settings(name: str, database_url: str, kafka: str, prefix: str, **extra: Any) -> Any:
    """Settings of one service under test (real database and broker, quiet background jobs)."""
    definition = SERVICE_MODULES[name].definition
    fields = definition.settings_class.model_fields
    quiet = {key: value for key, value in QUIET.items() if key in fields}
    base = {**service_overrides(database_url, kafka), "kafka_topic_prefix": prefix}
    return definition.settings_class(**{**base, **quiet, **extra})


def build_app(name: str, settings: Any) -> FastAPI:
    """The service's own app factory (it may add per-path limits the generic one does not)."""
    app: FastAPI = SERVICE_MODULES[name].create_app(settings)
    return app


def gateway_settings(upstreams: dict[str, str], **overrides: Any) -> GatewaySettings:
    """Gateway settings routing to the given upstream URLs (unreachable ones for the rest)."""
    urls = {
        f"{name.split('-')[0]}_svc_url": upstreams.get(name, "http://127.0.0.1:1")
        for name in SERVICE_MODULES
    }
    return GatewaySettings(
        auth_jwt_secret=TEST_JWT_SECRET, kafka_bootstrap_servers="unused:9092", **urls, **overrides
    )


@contextlib.asynccontextmanager
async def started_service(
    name: str, factory: DatabaseFactory, bus: TestBus, **extra: Any
) -> AsyncIterator[ServiceUnderTest]:
    """A running service (its own factory) on a fresh database with an in-process client."""
    async with fresh_database(factory, SERVICE_MODULES[name].definition.service_dir) as url:
        settings = service_settings(name, url, bus.bootstrap, bus.prefix, **extra)
        async with running(build_app(name, settings)) as app:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=f"http://{name}") as http:
                yield ServiceUnderTest(app, http)


class ThreadedServer:
    """An app (lifespan included) served by uvicorn on its own thread and event loop.

    Synchronous callers (schemathesis, hypothesis) can then talk to it over real HTTP while the
    test's own event loop is not running.
    """

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"serve-{self.port}", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:
            self._error = error
            self._ready.set()

    async def _serve(self) -> None:
        async with running(self.app):
            config = uvicorn.Config(
                self.app, host="127.0.0.1", port=self.port, lifespan="off", log_config=None
            )
            self._server = uvicorn.Server(config)
            task = asyncio.create_task(self._server.serve())
            while not self._server.started:
                if task.done():
                    break
                await asyncio.sleep(0.02)
            self._ready.set()
            await task

    async def start(self) -> None:
        """Start serving; return once the port accepts requests."""
        self._thread.start()
        await asyncio.to_thread(self._ready.wait, 120)
        if self._error is not None:
            raise self._error
        if self._server is None or not self._server.started:
            raise RuntimeError("the server did not start")

    async def stop(self) -> None:
        """Stop serving and run the app's shutdown."""
        if self._server is not None:
            self._server.should_exit = True
        await asyncio.to_thread(self._thread.join, 60)


@dataclass
class LiveStack:
    """The four services and the gateway served over real HTTP, each on its own database."""

    urls: dict[str, str]
    apps: dict[str, FastAPI]


@pytest.fixture(scope="module")
async def live_stack(
    database_factory: DatabaseFactory, kafka_bootstrap: str
) -> AsyncIterator[LiveStack]:
    """Every service plus a gateway in front of them, served on threads (module-wide)."""
    prefix = f"sec{uuid.uuid4().hex[:8]}."
    servers: list[ThreadedServer] = []
    urls: list[str] = []
    try:
        apps: dict[str, FastAPI] = {}
        for name, module in SERVICE_MODULES.items():
            url = await database_factory.create(module.definition.service_dir)
            urls.append(url)
            settings = service_settings(
                name, url, kafka_bootstrap, prefix, consumers_enabled=False, relay_enabled=False
            )
            apps[name] = build_app(name, settings)
        for app in apps.values():
            server = ThreadedServer(app)
            await server.start()
            servers.append(server)
        upstreams = {name: server.url for name, server in zip(apps, servers, strict=True)}
        apps["gateway"] = gateway.main.create_app(gateway_settings(upstreams))
        front = ThreadedServer(apps["gateway"])
        await front.start()
        servers.append(front)
        yield LiveStack(
            urls={**upstreams, "gateway": front.url},
            apps=apps,
        )
    finally:
        for server in reversed(servers):
            await server.stop()
        for url in urls:
            await database_factory.drop(url)


class LogCapture:
    """Everything the service logs (structlog and stdlib) while the block runs, as text."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()

    @property
    def text(self) -> str:
        """The captured JSON lines."""
        return self.buffer.getvalue()

    def records(self) -> list[dict[str, Any]]:
        """The captured lines parsed as JSON objects."""
        return [json.loads(line) for line in self.text.splitlines() if line.startswith("{")]


@contextlib.contextmanager
def capture_service_logs() -> Iterator[LogCapture]:
    """Send the service's JSON log lines to a buffer for the duration of the block."""
    capture = LogCapture()
    handlers = logging.getLogger().handlers
    streams = [getattr(handler, "stream", None) for handler in handlers]
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(capture.buffer))
    for handler in handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(capture.buffer)
    try:
        yield capture
    finally:
        structlog.configure(logger_factory=structlog.PrintLoggerFactory())
        for handler, stream in zip(handlers, streams, strict=True):
            if isinstance(handler, logging.StreamHandler) and stream is not None:
                handler.setStream(stream)


@dataclass
class Cluster:
    """The four services on one topic prefix: customer-svc's events reach the others."""

    services: dict[str, ServiceUnderTest]
    bus: TestBus

    def http(self, name: str) -> httpx.AsyncClient:
        """The in-process client of one service."""
        client: httpx.AsyncClient = self.services[name].http
        return client


@pytest.fixture
async def cluster(database_factory: DatabaseFactory, bus: TestBus) -> AsyncIterator[Cluster]:
    """All four services, each on its own fresh database, consuming each other's events."""
    async with contextlib.AsyncExitStack() as stack:
        services = {
            name: await stack.enter_async_context(started_service(name, database_factory, bus))
            for name in SERVICE_MODULES
        }
        yield Cluster(services, bus)


async def count_rows(service: ServiceUnderTest, table: str) -> int:
    """Rows in one of the service's tables."""
    async with service.database.transaction() as session:
        return int(await session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


@pytest.fixture
def rows() -> Any:
    """`await rows(service, table)`: the row count of a table (to prove nothing was stored)."""
    return count_rows


@pytest.fixture
def launch(database_factory: DatabaseFactory, bus: TestBus) -> Any:
    """`async with launch(name, **settings) as service`: one running service on a fresh database."""

    def start(name: str, **extra: Any) -> contextlib.AbstractAsyncContextManager[ServiceUnderTest]:
        return started_service(name, database_factory, bus, **extra)

    return start


@pytest.fixture
def gateway_app() -> Any:
    """`gateway_app(upstreams, **settings)`: a gateway app routing to the given service URLs."""

    def build(upstreams: dict[str, str], **overrides: Any) -> FastAPI:
        app: FastAPI = gateway.main.create_app(gateway_settings(upstreams, **overrides))
        return app

    return build


@pytest.fixture
def captured_logs() -> Any:
    """`with captured_logs() as logs`: the service's JSON log lines written inside the block."""
    return capture_service_logs
