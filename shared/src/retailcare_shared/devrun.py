"""`make run`: the whole system on one machine without Docker.

Starts embedded PostgreSQL (data under `.data/`, one database per service) and the Tansu broker
unless `DATABASE_SERVER_URL` / `KAFKA_BOOTSTRAP_SERVERS` name real servers, applies migrations,
then runs the four services and the gateway as separate uvicorn processes on 127.0.0.1.
Ctrl-C (or SIGTERM) stops everything in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from retailcare_shared.devstack import LocalBroker, LocalPostgres, wait_for_port
from retailcare_shared.events import TOPICS, dlq_topic


@dataclass(frozen=True)
class Process:
    """One service process of the local stack."""

    name: str
    module: str
    prefix: str
    default_port: int
    database: str | None

    @property
    def port(self) -> int:
        """The port, overridable with `<PREFIX>PORT`."""
        return int(os.environ.get(f"{self.prefix}PORT", self.default_port))


SERVICES = [
    Process("customer-svc", "customer_svc", "CUSTOMER_SVC_", 8001, "customer_svc"),
    Process("valuation-svc", "valuation_svc", "VALUATION_SVC_", 8002, "valuation_svc"),
    Process("complaint-svc", "complaint_svc", "COMPLAINT_SVC_", 8003, "complaint_svc"),
    Process("survey-svc", "survey_svc", "SURVEY_SVC_", 8004, "survey_svc"),
]
GATEWAY = Process("gateway", "gateway", "GATEWAY_", 8080, None)
TOPIC_PARTITIONS = 3


def log(message: str) -> None:
    """Progress line for the person running the stack."""
    print(f"[make run] {message}", flush=True)


async def create_topics(bootstrap: str) -> None:
    """Create every topic and its DLQ twin (existing ones are left alone)."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        prefix = os.environ.get("KAFKA_TOPIC_PREFIX", "")
        names = [prefix + name for topic in TOPICS for name in (topic, dlq_topic(topic))]
        wanted = [name for name in names if name not in existing]
        if wanted:
            topics = [NewTopic(name, TOPIC_PARTITIONS, 1) for name in wanted]
            with contextlib.suppress(TopicAlreadyExistsError):  # another starter won the race
                await admin.create_topics(topics)
    finally:
        await admin.close()


def wait_ready(url: str, timeout: float = 60.0) -> None:
    """Poll a readiness URL until it answers 200."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} not ready after {timeout}s")
        time.sleep(0.2)


def main() -> int:
    """Start everything, wait for Ctrl-C, stop everything."""
    root = Path(os.environ.get("RETAILCARE_DATA_DIR", ".data")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    environment = dict(os.environ)
    environment.setdefault(
        "AUTH_JWT_SECRET", "dev-secret"
    )  # `make run` only; never a production default
    environment.setdefault("LOG_LEVEL", "INFO")
    postgres: LocalPostgres | None = None
    broker: LocalBroker | None = None
    children: list[tuple[Process, subprocess.Popen[bytes]]] = []
    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        server_url = environment.get("DATABASE_SERVER_URL")
        if not server_url:
            postgres = LocalPostgres(
                root / "postgres", port=int(environment.get("POSTGRES_PORT", "5433"))
            )
            log(f"starting embedded PostgreSQL on port {postgres.port} (data: {postgres.data_dir})")
            postgres.start()
            server_url = postgres.server_url
        for service in SERVICES:
            key = f"{service.prefix}DATABASE_URL"
            if key not in environment:
                assert service.database is not None
                if postgres is not None:
                    postgres.create_database(service.database)
                else:
                    _create_database(server_url, service.database)
                url = make_url(server_url).set(
                    drivername="postgresql+asyncpg", database=service.database
                )
                environment[key] = url.render_as_string(hide_password=False)
        if not environment.get("KAFKA_BOOTSTRAP_SERVERS"):
            broker = LocalBroker(
                port=int(environment.get("BROKER_PORT", "9092")), log_path=root / "tansu.log"
            )
            log(f"starting Tansu broker on {broker.bootstrap_servers}")
            broker.start()
            environment["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap_servers
        asyncio.run(create_topics(environment["KAFKA_BOOTSTRAP_SERVERS"]))

        for service in SERVICES:
            log(f"migrating {service.name}")
            subprocess.run(
                [sys.executable, "-m", service.module, "migrate"], env=environment, check=True
            )
        for service in SERVICES:
            environment[f"GATEWAY_{service.prefix}URL"] = f"http://127.0.0.1:{service.port}"
        for service in [*SERVICES, GATEWAY]:
            child_environment = {
                **environment,
                f"{service.prefix}PORT": str(service.port),
                f"{service.prefix}HOST": "127.0.0.1",
            }
            process = subprocess.Popen(
                [sys.executable, "-m", service.module, "serve"], env=child_environment
            )
            children.append((service, process))
        for service, process in children:
            wait_for_port(service.port, timeout=60)
            wait_ready(f"http://127.0.0.1:{service.port}/readyz")
            if process.poll() is not None:
                raise RuntimeError(f"{service.name} exited with {process.returncode}")
        _print_banner()
        while not stopping:
            for service, process in children:
                if process.poll() is not None:
                    log(
                        f"{service.name} exited with code {process.returncode}; stopping everything"
                    )
                    stopping = True
            time.sleep(0.3)
        return 0
    finally:
        log("stopping")
        for _, process in reversed(children):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _, process in reversed(children):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        if broker is not None:
            broker.stop()
        if postgres is not None:
            postgres.stop()
        log("stopped")


def _create_database(server_url: str, name: str) -> None:
    import asyncpg

    async def create() -> None:
        url = make_url(server_url).set(drivername="postgresql", database="postgres")
        connection = await asyncpg.connect(url.render_as_string(hide_password=False))
        try:
            if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(create())


def _print_banner() -> None:
    lines = [
        "",
        "RetailCare is running:",
        f"  gateway        http://127.0.0.1:{GATEWAY.port}  (API docs: /docs)",
    ]
    lines += [f"  {service.name:<14} http://127.0.0.1:{service.port}" for service in SERVICES]
    lines += [
        "",
        "Get a token (valid one hour, signed with AUTH_JWT_SECRET, default dev-secret):",
        "  make token ROLE=call_center",
        "  make token ROLE=customer_manager MANAGER_ID=<uuid>",
        "Then:",
        f'  curl -H "Authorization: Bearer $(make -s token ROLE=admin)" '
        f"http://127.0.0.1:{GATEWAY.port}/api/v1/customers",
        "",
        "Ctrl-C stops everything.",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
