"""Benchmark helpers: infrastructure, repeated timing, floors, reporting (table + JSON)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import resource
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from retailcare_shared.devstack import LocalBroker, LocalPostgres
from retailcare_shared.migrations import upgrade_to_head

RESULTS_DIR = Path(os.environ.get("BENCH_RESULTS_DIR", "bench-results"))


@dataclass
class Infrastructure:
    """Where the benchmark's PostgreSQL server and broker are."""

    postgres_server_url: str
    kafka_bootstrap: str


@contextlib.contextmanager
def infrastructure() -> Iterator[Infrastructure]:
    """The servers named by the environment, else an embedded PostgreSQL and Tansu."""
    with contextlib.ExitStack() as stack:
        server_url = os.environ.get("DATABASE_SERVER_URL")
        if not server_url:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-pg-")))
            postgres = LocalPostgres(folder / "data", durable=True)
            postgres.start()
            stack.callback(postgres.stop)
            server_url = postgres.server_url
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if not bootstrap:
            broker = LocalBroker()
            broker.start()
            stack.callback(broker.stop)
            bootstrap = broker.bootstrap_servers
        yield Infrastructure(server_url, bootstrap)


async def create_database(server_url: str, name: str, service_dir: Path | None = None) -> str:
    """(Re)create a database, optionally migrated to a service's head; return its asyncpg URL."""
    admin_url = make_url(server_url).set(drivername="postgresql", database="postgres")
    admin = await asyncpg.connect(admin_url.render_as_string(hide_password=False))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = make_url(server_url).set(drivername="postgresql+asyncpg", database=name)
    rendered = url.render_as_string(hide_password=False)
    if service_dir is not None:
        import asyncio

        await asyncio.to_thread(upgrade_to_head, service_dir, rendered)
    return rendered


async def timed_rounds(
    run: Callable[[], Awaitable[Any]], *, rounds: int, warmup: int = 1
) -> list[float]:
    """Seconds taken by each of `rounds` runs after `warmup` unmeasured runs."""
    for _ in range(warmup):
        await run()
    durations = []
    for _ in range(rounds):
        started = time.perf_counter()
        await run()
        durations.append(time.perf_counter() - started)
    return durations


def percentile(values: list[float], fraction: float) -> float:
    """The `fraction` percentile (nearest rank) of the values."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Result:
    """One benchmark's figures against its target and floor."""

    id: str
    scenario: str
    metric: str
    unit: str
    median: float
    spread: float
    rounds: int
    target: str
    floor_metric: str | None = None
    floor_median: float | None = None
    ratio: float | None = None
    ratio_target: str | None = None
    met: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def dump(self) -> None:
        """Print a table row and write `bench-results/<id>.json`."""
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        self.extra.setdefault("scale", float(os.environ.get("BENCH_SCALE", "1")))
        payload = {
            **asdict(self),
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
        }
        (RESULTS_DIR / f"{self.id}.json").write_text(json.dumps(payload, indent=2))
        ratio = f"{self.ratio:.2f} ({self.ratio_target})" if self.ratio is not None else "—"
        floor = f"{self.floor_median:,.2f} {self.unit}" if self.floor_median is not None else "—"
        verdict = {True: "met", False: "MISSED", None: "—"}[self.met]
        print(
            f"{self.id:<4} {self.scenario:<48} {self.median:>12,.2f} {self.unit:<10} "
            f"±{self.spread:,.2f}  target {self.target:<22} floor {floor:<20} "
            f"ratio {ratio:<16} {verdict}",
            flush=True,
        )


def machine() -> dict[str, Any]:
    """The machine the figures were measured on."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


def spread_of(values: list[float]) -> float:
    """Half the interquartile range: a robust ± around the median."""
    if len(values) < 2:
        return 0.0
    quartiles = statistics.quantiles(values, n=4)
    return (quartiles[2] - quartiles[0]) / 2


@contextlib.contextmanager
def service_process(
    module: str, prefix: str, port: int, environment: dict[str, str]
) -> Iterator[str]:
    """Run `python -m <module> serve` on a port until the block ends; yield its base URL."""
    import subprocess
    import sys
    import urllib.request

    env = {
        **os.environ,
        **environment,
        f"{prefix}PORT": str(port),
        f"{prefix}HOST": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen([sys.executable, "-m", module, "serve"], env=env)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base_url + "/readyz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{module} did not become ready") from None
                time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=20)


async def drain(dsn: str, timeout: float = 600, interval: float = 0.2) -> float:
    """Seconds until the relays have published every outbox row."""
    connection = await asyncpg.connect(dsn)
    started = time.perf_counter()
    try:
        while await connection.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"):
            if time.perf_counter() - started > timeout:
                raise RuntimeError("the relay did not drain the outbox")
            await asyncio.sleep(interval)
    finally:
        await connection.close()
    return time.perf_counter() - started
