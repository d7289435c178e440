"""R4: PostgreSQL restarted under load: fast 503 problems during the outage, recovery by itself."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from complaint_svc.config import Settings
from complaint_svc.main import create_app, definition
from retailcare_shared.db import Database
from retailcare_shared.devstack import LocalPostgres
from retailcare_shared.events import CUSTOMER_EVENTS, CustomerRegistered, build_envelope, dlq_topic
from retailcare_shared.migrations import upgrade_to_head
from retailcare_shared.testing import (
    TestBus,
    bearer,
    eventually,
    running,
    serve_http,
    service_overrides,
)

CALL_CENTRE = bearer(["call_center"], sub="agent-fault")
CLIENTS = 6
# The client waits up to a minute, like a patient caller; the service must answer far sooner.
REQUEST_TIMEOUT_SECONDS = 60.0
# "Fail fast": the database connect timeout is 5 s, so a 503 must come well inside 15 s.
FAIL_FAST_SECONDS = 15.0


@dataclass
class Outcome:
    """One request of the load: what came back and how long it took."""

    phase: str
    method: str
    status: int | None
    seconds: float
    content_type: str = ""
    retry_after: str | None = None
    body: Any = None
    error: str | None = None


@pytest.fixture
async def dedicated_postgres(tmp_path: Path) -> AsyncIterator[LocalPostgres]:
    """A PostgreSQL server of this test alone (it is stopped and restarted)."""
    server = LocalPostgres(tmp_path / "postgres", durable=False)
    await asyncio.to_thread(server.start)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop, "immediate")


async def complaint_service_on(
    server: LocalPostgres, bus: TestBus, **overrides: Any
) -> tuple[str, Settings]:
    """A migrated complaints database on the server and complaint-svc settings using it."""
    server.create_database("complaints")
    url = server.url("complaints")
    await asyncio.to_thread(upgrade_to_head, definition.service_dir, url)
    base = {
        **service_overrides(url, bus.bootstrap),
        "kafka_topic_prefix": bus.prefix,
        "sweeper_enabled": False,
    }
    return url, Settings(**{**base, **overrides})


def complaint_body(number: int) -> dict[str, Any]:
    """A valid complaint."""
    return {
        "customer_id": str(uuid.uuid4()),
        "complainant_type": "retailer",
        "received_by": "agent-li",
        "channel": "hotline",
        "category": "settlement",
        "service_item": "after_sales_window",
        "description": f"Complaint {number} filed while the database restarts.",
    }


class Load:
    """CLIENTS callers filing and listing complaints until stopped, recording every outcome."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.phase = "before"
        self.outcomes: list[Outcome] = []
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start the callers."""
        self._tasks = [asyncio.create_task(self._caller(n)) for n in range(CLIENTS)]

    async def stop(self) -> None:
        """Stop the callers and wait for their last requests."""
        self._stop.set()
        await asyncio.gather(*self._tasks)

    def count(self, phase: str, status: int) -> int:
        """Outcomes of one phase with one status."""
        return sum(1 for o in self.outcomes if o.phase == phase and o.status == status)

    async def _caller(self, number: int) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=REQUEST_TIMEOUT_SECONDS) as client:
            sequence = 0
            while not self._stop.is_set():
                sequence += 1
                phase = self.phase
                started = time.monotonic()
                method = "POST" if sequence % 2 else "GET"
                try:
                    if method == "POST":
                        response = await client.post(
                            "/api/v1/complaints",
                            json=complaint_body(number * 100_000 + sequence),
                            headers=CALL_CENTRE,
                        )
                    else:
                        response = await client.get(
                            "/api/v1/complaints?limit=5", headers=CALL_CENTRE
                        )
                except httpx.HTTPError as error:
                    self.outcomes.append(
                        Outcome(phase, method, None, time.monotonic() - started, error=repr(error))
                    )
                    continue
                self.outcomes.append(
                    Outcome(
                        phase,
                        method,
                        response.status_code,
                        time.monotonic() - started,
                        response.headers.get("content-type", ""),
                        response.headers.get("retry-after"),
                        response.json() if response.content else None,
                    )
                )
                if response.status_code == 503:
                    await asyncio.sleep(0.05)  # a caller honouring Retry-After would wait longer


async def test_requests_during_a_database_restart_fail_fast_with_503_and_the_service_recovers(
    dedicated_postgres: LocalPostgres, bus: TestBus
) -> None:
    """Outage: every answer is 201/200 or a quick 503 problem; afterwards writes succeed again."""
    url, settings = await complaint_service_on(dedicated_postgres, bus, consumers_enabled=False)
    async with running(create_app(settings)) as app, serve_http(app) as base_url:
        load = Load(base_url)
        load.start()
        try:
            await eventually(lambda: _at_least(load, "before", 201, 10), timeout=120)

            load.phase = "outage"
            await asyncio.to_thread(dedicated_postgres.stop, "fast")
            await eventually(lambda: _at_least(load, "outage", 503, 20), timeout=120)
            async with httpx.AsyncClient(base_url=base_url, timeout=30) as probe:
                readiness_during_outage = await probe.get("/readyz")

            load.phase = "restarting"
            await asyncio.to_thread(dedicated_postgres.start)
            load.phase = "after"
            await eventually(lambda: _at_least(load, "after", 201, 10), timeout=120)
            async with httpx.AsyncClient(base_url=base_url, timeout=30) as probe:
                readiness_after = await probe.get("/readyz")
        finally:
            await load.stop()

        failures = [o for o in load.outcomes if o.status not in (200, 201, 503)]
        assert failures == [], failures[:5]
        unavailable = [o for o in load.outcomes if o.status == 503]
        for outcome in unavailable:
            assert outcome.content_type.startswith("application/problem+json"), outcome
            assert outcome.body["status"] == 503 and outcome.body["type"].endswith(
                "/service-unavailable"
            ), outcome
            assert outcome.retry_after is not None and int(outcome.retry_after) >= 1, outcome
        slowest = max(outcome.seconds for outcome in unavailable)
        assert slowest < FAIL_FAST_SECONDS, f"a 503 took {slowest:.1f}s"

        assert readiness_during_outage.status_code == 503
        assert readiness_during_outage.headers["retry-after"]
        assert readiness_after.status_code == 200

        # Recovered by itself: the same app, never restarted, stores what it acknowledged.
        acknowledged = {
            o.body["id"] for o in load.outcomes if o.status == 201 and o.method == "POST"
        }
        database = Database(url)
        try:
            async with database.transaction() as session:
                stored = {
                    str(row[0]) for row in await session.execute(text("SELECT id FROM complaints"))
                }
        finally:
            await database.dispose()
        assert acknowledged <= stored


async def test_events_consumed_during_a_database_outage_are_applied_after_it_not_dead_lettered(
    dedicated_postgres: LocalPostgres, bus: TestBus
) -> None:
    """An outage outlasting the handler retries leaves events uncommitted, never in the DLQ."""
    url, settings = await complaint_service_on(
        dedicated_postgres, bus, consumer_retry_backoff_seconds=0.05
    )
    shops = [uuid.uuid4() for _ in range(20)]
    async with running(create_app(settings)) as app:
        await asyncio.gather(*(runner.started.wait() for runner in app.state.consumers))
        await asyncio.to_thread(dedicated_postgres.stop, "fast")
        await bus.publish_all([registered(shop) for shop in shops])
        # Far longer than the retries (3 x 0.05 s backoff) that dead-letter a faulty message.
        await asyncio.sleep(5)
        await asyncio.to_thread(dedicated_postgres.start)

        database = Database(url)
        try:

            async def all_shops_known() -> bool:
                async with database.transaction() as session:
                    known = await session.scalar(text("SELECT count(*) FROM shops"))
                return known == len(shops)

            await eventually(all_shops_known, timeout=120)
        finally:
            await database.dispose()
    assert await bus.read(dlq_topic(CUSTOMER_EVENTS)) == []


def registered(shop: uuid.UUID) -> Any:
    """customer.registered for a new shop."""
    return build_envelope(
        CustomerRegistered(
            customer_id=shop,
            license_no=f"33010{shop.int % 10**7:07d}",
            name="Shop",
            county="east",
            district="d1",
            market_type="urban",
            business_format="convenience",
            status="active",
            licensed_on=date(2020, 1, 1),
        ),
        source="customer-svc",
        subject=str(shop),
    )


async def _at_least(load: Load, phase: str, status: int, count: int) -> bool:
    return load.count(phase, status) >= count
