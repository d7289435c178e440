"""Pytest fixtures: one real PostgreSQL and one real Kafka-protocol broker per test session.

The server named by the environment is used if any (`DATABASE_SERVER_URL`,
`KAFKA_BOOTSTRAP_SERVERS`); otherwise embedded PostgreSQL and Tansu are started once. Tests are
isolated by database: each service's migrations run once into a template, and every test gets a
fresh copy (`CREATE DATABASE ... TEMPLATE`), which takes milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from retailcare_shared.app import ServiceDefinition, create_service_app
from retailcare_shared.auth import issue_token
from retailcare_shared.db import Database
from retailcare_shared.devstack import LocalBroker, LocalPostgres, free_port
from retailcare_shared.events import Envelope, decode, encode
from retailcare_shared.migrations import upgrade_to_head

TEST_JWT_SECRET = "test-secret-not-for-production-use-0123456789"


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL (without database) of the session's PostgreSQL server."""
    configured = os.environ.get("DATABASE_SERVER_URL")
    if configured:
        yield configured
        return
    server = LocalPostgres(tmp_path_factory.mktemp("postgres") / "data", durable=False)
    server.start()
    try:
        yield server.server_url
    finally:
        server.stop(mode="immediate")


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap servers of the session's broker."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    broker = LocalBroker(log_path=tmp_path_factory.mktemp("tansu") / "tansu.log")
    broker.start()
    try:
        yield broker.bootstrap_servers
    finally:
        broker.stop()


def _database_url(server_url: str, database: str) -> str:
    url = make_url(server_url).set(drivername="postgresql+asyncpg", database=database)
    return url.render_as_string(hide_password=False)


class DatabaseFactory:
    """Creates migrated template databases once and clones them per test."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self._templates: dict[Path, str] = {}
        self._lock = asyncio.Lock()

    async def _admin(self) -> asyncpg.Connection:
        url = make_url(self.server_url).set(drivername="postgresql", database="postgres")
        return await asyncpg.connect(url.render_as_string(hide_password=False))

    async def template_for(self, service_dir: Path) -> str:
        """Name of a template database migrated to head for the service."""
        async with self._lock:
            if service_dir not in self._templates:
                name = f"tpl_{service_dir.name.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
                admin = await self._admin()
                try:
                    await admin.execute(f'CREATE DATABASE "{name}"')
                finally:
                    await admin.close()
                await asyncio.to_thread(
                    upgrade_to_head, service_dir, _database_url(self.server_url, name)
                )
                self._templates[service_dir] = name
            return self._templates[service_dir]

    async def create(self, service_dir: Path) -> str:
        """A fresh database at the migration head; returns its asyncpg URL."""
        template = await self.template_for(service_dir)
        name = f"t_{uuid.uuid4().hex[:16]}"
        admin = await self._admin()
        try:
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        finally:
            await admin.close()
        return _database_url(self.server_url, name)

    async def drop(self, url: str) -> None:
        """Drop a test database, disconnecting anything left connected."""
        name = make_url(url).database
        admin = await self._admin()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture(scope="session")
def database_factory(postgres_server_url: str) -> DatabaseFactory:
    """The session's database factory."""
    return DatabaseFactory(postgres_server_url)


@contextlib.asynccontextmanager
async def fresh_database(factory: DatabaseFactory, service_dir: Path) -> AsyncIterator[str]:
    """A migrated database for one test, dropped afterwards."""
    url = await factory.create(service_dir)
    try:
        yield url
    finally:
        await factory.drop(url)


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[FastAPI]:
    """Run an app's lifespan (engine, relay, consumers) around a block."""
    async with app.router.lifespan_context(app):
        yield app


class TestBus:
    """The session's broker seen through a per-test topic prefix, so tests never see each other."""

    __test__ = False  # not a test class

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.bootstrap = bootstrap
        self.prefix = prefix
        self._producer: AIOKafkaProducer | None = None

    async def _started_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap)
            await self._producer.start()
        return self._producer

    async def publish(self, *envelopes: Envelope) -> None:
        """Publish envelopes as the producing service would (key = subject)."""
        producer = await self._started_producer()
        for envelope in envelopes:
            await producer.send_and_wait(
                self.prefix + envelope.topic, encode(envelope), key=envelope.subject.encode()
            )

    async def publish_all(self, envelopes: list[Envelope]) -> None:
        """Publish many envelopes pipelined (send all, then wait for every acknowledgement)."""
        producer = await self._started_producer()
        deliveries = [
            await producer.send(
                self.prefix + envelope.topic, encode(envelope), key=envelope.subject.encode()
            )
            for envelope in envelopes
        ]
        await asyncio.gather(*deliveries)

    async def publish_raw(self, topic: str, value: bytes, key: bytes = b"test") -> None:
        """Publish arbitrary bytes (for malformed-message tests)."""
        producer = await self._started_producer()
        await producer.send_and_wait(self.prefix + topic, value, key=key)

    async def events(
        self, topic: str, *, expected: int, event_type: str | None = None, timeout: float = 30.0
    ) -> list[Envelope]:
        """Wait for `expected` events (optionally of one type) on a topic; return them decoded."""

        def wanted(record: Any) -> bool:
            return event_type is None or decode(record.value)[0].type == event_type

        records = await collect_messages(
            self.bootstrap,
            self.prefix + topic,
            expected=expected,
            timeout=timeout,
            predicate=wanted,
        )
        return [decode(record.value)[0] for record in records]

    async def read(self, topic: str) -> list[Any]:
        """Every raw record now in a topic (ConsumerRecords, e.g. to read DLQ headers)."""
        return await read_topic(self.bootstrap, self.prefix + topic)

    async def close(self) -> None:
        """Stop the producer."""
        if self._producer is not None:
            await self._producer.stop()


@pytest.fixture
async def bus(kafka_bootstrap: str) -> AsyncIterator[TestBus]:
    """A per-test view of the broker (unique topic prefix)."""
    test_bus = TestBus(kafka_bootstrap, f"t{uuid.uuid4().hex[:10]}.")
    yield test_bus
    await test_bus.close()


@dataclass
class ServiceUnderTest:
    """A running service app, an HTTP client bound to it, and its database."""

    app: FastAPI
    http: httpx.AsyncClient

    @property
    def database(self) -> Database:
        """The service's database (for arranging and checking state directly)."""
        database: Database = self.app.state.database
        return database


@contextlib.asynccontextmanager
async def running_service(
    definition: ServiceDefinition, factory: DatabaseFactory, bus: TestBus, **overrides: Any
) -> AsyncIterator[ServiceUnderTest]:
    """A running service on a fresh database, on the test's topics, with an HTTP client."""
    async with fresh_database(factory, definition.service_dir) as url:
        base = {**service_overrides(url, bus.bootstrap), "kafka_topic_prefix": bus.prefix}
        settings = definition.settings_class(**{**base, **overrides})
        async with running(create_service_app(definition, settings)) as app:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url=f"http://{definition.name}"
            ) as client:
                yield ServiceUnderTest(app, client)


@contextlib.asynccontextmanager
async def serve_http(app: FastAPI, **config: Any) -> AsyncIterator[str]:
    """Serve an already-running app over real HTTP on a free loopback port; yield its URL.

    `config` goes to uvicorn.Config (e.g. proxy_headers=False to see the real client port).
    """
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_config=None, **config)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class ServiceProcess:
    """One service as a real `python -m <module> serve` process (for SIGKILL / SIGTERM faults).

    Settings come from the environment, as in production; its output goes to `log_path`.
    """

    def __init__(
        self,
        module: str,
        env_prefix: str,
        *,
        database_url: str,
        kafka_bootstrap: str,
        topic_prefix: str,
        log_path: Path,
        **settings: Any,
    ) -> None:
        self.module = module
        self.port = free_port()
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.environment = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "KAFKA_TOPIC_PREFIX": topic_prefix,
            "AUTH_JWT_SECRET": TEST_JWT_SECRET,
            "LOG_JSON": "true",
            f"{env_prefix}DATABASE_URL": database_url,
            f"{env_prefix}PORT": str(self.port),
            f"{env_prefix}HOST": "127.0.0.1",
            **{f"{env_prefix}{name.upper()}": str(value) for name, value in settings.items()},
        }

    @property
    def url(self) -> str:
        """Base URL of the process."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """Process id of the running process."""
        assert self.process is not None, "not started"
        return self.process.pid

    async def start(self, timeout: float = 120.0) -> None:
        """Start the process and wait until `/readyz` answers 200."""
        self.process = self._spawn()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.module} exited early:\n{self.output()[-4000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(self.url + "/readyz")).status_code == 200:
                        return
                if loop.time() > deadline:
                    raise TimeoutError(f"{self.module} not ready:\n{self.output()[-4000:]}")
                await asyncio.sleep(0.1)

    def _spawn(self) -> subprocess.Popen[bytes]:
        with self.log_path.open("ab") as log_file:
            return subprocess.Popen(
                [sys.executable, "-m", self.module, "serve"],
                env=self.environment,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )

    def send_signal(self, number: int) -> None:
        """Send a signal (SIGTERM, SIGKILL) to the process."""
        assert self.process is not None, "not started"
        self.process.send_signal(number)

    async def wait(self, timeout: float) -> int:
        """Wait for the process to exit; return its exit code (TimeoutError if it does not)."""
        assert self.process is not None, "not started"
        process = self.process
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while process.poll() is None:
            if loop.time() > deadline:
                raise TimeoutError(f"{self.module} still running after {timeout}s")
            await asyncio.sleep(0.05)
        return process.returncode

    def kill(self) -> None:
        """SIGKILL the process if it still runs and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def output(self) -> str:
        """Everything the process wrote so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def service_overrides(database_url: str, kafka: str) -> dict[str, Any]:
    """Settings overrides for a service under test (real database and broker)."""
    return {
        "database_url": database_url,
        "kafka_bootstrap_servers": kafka,
        "auth_jwt_secret": TEST_JWT_SECRET,
        "log_json": True,
        "outbox_poll_seconds": 0.2,
    }


def bearer(roles: list[str], *, sub: str = "tester", **claims: Any) -> dict[str, str]:
    """Authorization header with a test token."""
    return {
        "Authorization": "Bearer " + issue_token(TEST_JWT_SECRET, sub=sub, roles=roles, **claims)
    }


async def collect_messages(
    bootstrap: str, topic: str, *, expected: int, timeout: float = 30.0, predicate: Any = None
) -> list[Any]:
    """Read a topic from the start until `expected` matching messages arrive or time runs out."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"test-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        metadata_max_age_ms=1000,
    )
    await consumer.start()
    found: list[Any] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(found) < expected and loop.time() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                found.extend(r for r in records if predicate is None or predicate(r))
    finally:
        await consumer.stop()
    return found


async def read_topic(bootstrap: str, topic: str) -> list[Any]:
    """Every message currently in a topic (up to the end offsets seen at the start)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            if topic not in await consumer.topics():  # refreshes the metadata
                return []  # a topic nobody wrote to (e.g. an empty DLQ)
            partitions = [
                TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
            ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: list[Any] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                found.extend(records)
        return found
    finally:
        await consumer.stop()


async def eventually(check: Any, *, timeout: float = 30.0, interval: float = 0.1) -> Any:
    """Poll an async check until it returns a truthy value (raises AssertionError on timeout)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: Any = None
    while loop.time() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


STACK_PREFIXES = {
    "customer-svc": "CUSTOMER_SVC_",
    "valuation-svc": "VALUATION_SVC_",
    "complaint-svc": "COMPLAINT_SVC_",
    "survey-svc": "SURVEY_SVC_",
    "gateway": "GATEWAY_",
}


@dataclass(frozen=True)
class Stack:
    """Ports of the running processes and the topic prefix they use."""

    ports: dict[str, int]
    topic_prefix: str

    def url(self, process: str = "gateway") -> str:
        """Base URL of one process."""
        return f"http://127.0.0.1:{self.ports[process]}"


READY_LINE = "Ctrl-C stops everything"


@pytest.fixture(scope="session")
def stack(
    postgres_server_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """What `make run` runs (`retailcare_shared.devrun`), stopped with Ctrl-C at the end.

    Its output goes to a file: a pipe read only until start-up would fill with request logs
    and block every service.
    """
    ports = {name: free_port() for name in STACK_PREFIXES}
    prefix = f"e2e{uuid.uuid4().hex[:8]}."
    data_dir = tmp_path_factory.mktemp("stack")
    environment = {
        **os.environ,
        "DATABASE_SERVER_URL": postgres_server_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "KAFKA_TOPIC_PREFIX": prefix,
        "RETAILCARE_DATA_DIR": str(data_dir),
        **{f"{STACK_PREFIXES[name]}PORT": str(port) for name, port in ports.items()},
        # e2e flows wait for consumers: poll the outbox often.
        **{f"{p}OUTBOX_POLL_SECONDS": "0.2" for p in STACK_PREFIXES.values()},
    }
    environment.pop("AUTH_JWT_SECRET", None)  # make run's own default applies
    log_path = data_dir / "make-run.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "retailcare_shared.devrun"],
            env=environment,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def output() -> str:
        return log_path.read_text(errors="replace")

    deadline = time.monotonic() + 180
    while READY_LINE not in output():
        if process.poll() is not None:
            pytest.fail("make run exited early:\n" + output()[-4000:])
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("make run did not come up:\n" + output()[-4000:])
        time.sleep(0.2)
    try:
        yield Stack(ports, prefix)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
        remaining = output()
        assert process.returncode == 0, remaining[-2000:]
        assert "[make run] stopped" in remaining
