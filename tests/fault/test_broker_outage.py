"""R1: the broker is down while 1,000 complaints are filed; once back, each is applied once."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from complaint_svc.main import definition as complaint_definition
from retailcare_shared.db import Database
from retailcare_shared.devstack import LocalBroker
from retailcare_shared.testing import (
    DatabaseFactory,
    TestBus,
    bearer,
    eventually,
    running_service,
    serve_http,
)
from survey_svc.main import definition as survey_definition
from valuation_svc.main import definition as valuation_definition

CALL_CENTRE = bearer(["call_center"], sub="agent-fault")
COMPLAINTS = 1_000
CLIENTS = 16


def complaint_body(shop: uuid.UUID, number: int) -> dict[str, Any]:
    """A valid complaint against one shop."""
    return {
        "customer_id": str(shop),
        "complainant_type": "consumer" if number % 2 else "retailer",
        "received_by": "agent-li",
        "channel": "hotline",
        "category": "settlement",
        "service_item": "after_sales_window",
        "description": f"Complaint number {number} while the broker is down.",
    }


async def scalar(database: Database, sql: str, **params: Any) -> Any:
    """One value from a query on a service's database."""
    async with database.transaction() as session:
        return await session.scalar(text(sql), params)


async def file_all(url: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    """POST every complaint over real HTTP from CLIENTS concurrent callers."""
    responses: list[httpx.Response | None] = [None] * len(bodies)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(len(bodies)):
        queue.put_nowait(index)

    async def caller(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            index = queue.get_nowait()
            # As a real caller would: a keep-alive connection the server closed just as it was
            # reused is retried with the same Idempotency-Key (never creating a second complaint).
            headers = {**CALL_CENTRE, "Idempotency-Key": f"r1-{index}"}
            for attempt in range(3):
                try:
                    responses[index] = await client.post(
                        "/api/v1/complaints", json=bodies[index], headers=headers
                    )
                    break
                except (httpx.ReadError, httpx.RemoteProtocolError):
                    if attempt == 2:
                        raise

    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await asyncio.gather(*(caller(client) for _ in range(CLIENTS)))
    return [response for response in responses if response is not None]


async def test_complaints_filed_while_the_broker_is_down_succeed_and_are_applied_once_after_restart(
    database_factory: DatabaseFactory, tmp_path: Path
) -> None:
    """All 1,000 POSTs get 201 with no broker; after restart each complaint.filed applies once."""
    broker = LocalBroker(log_path=tmp_path / "tansu.log")
    broker.start()
    bus = TestBus(broker.bootstrap_servers, f"r1{uuid.uuid4().hex[:8]}.")
    fast_retry = {"relay_max_backoff_seconds": 1.0}
    try:
        async with (
            running_service(
                complaint_definition,
                database_factory,
                bus,
                sweeper_enabled=False,
                consumers_enabled=False,
                **fast_retry,
            ) as complaints,
            running_service(valuation_definition, database_factory, bus, **fast_retry) as valuation,
            running_service(survey_definition, database_factory, bus, **fast_retry) as survey,
        ):
            broker.stop()
            shops = [uuid.uuid4() for _ in range(50)]
            bodies = [complaint_body(shops[n % len(shops)], n) for n in range(COMPLAINTS)]
            async with serve_http(complaints.app) as url:
                responses = await file_all(url, bodies)

            assert [response.status_code for response in responses] == [201] * COMPLAINTS
            filed = {response.json()["id"] for response in responses}
            assert len(filed) == COMPLAINTS
            unsent = "SELECT count(*) FROM outbox WHERE sent_at IS NULL"
            assert await scalar(complaints.database, unsent) == COMPLAINTS

            broker.start()
            applied = (
                "SELECT count(*) FROM inbox WHERE consumer = :group"
                " AND event_type = 'complaint.filed'"
            )
            consumers = {
                valuation.database: "valuation-svc.complaints",
                survey.database: "survey-svc.readmodel",
            }

            async def all_applied() -> bool:
                counts = [
                    await scalar(database, applied, group=group)
                    for database, group in consumers.items()
                ]
                return counts == [COMPLAINTS, COMPLAINTS]

            await eventually(all_applied, timeout=240, interval=1.0)
            await eventually(lambda: _is_zero(scalar(complaints.database, unsent)), timeout=60)

            # Each applied once: exactly one aggregate row per complaint, the same ids as filed.
            valuation_ids = await _ids(valuation.database, "SELECT complaint_id FROM complaints")
            survey_ids = await _ids(survey.database, "SELECT complaint_id FROM complaints_view")
            assert valuation_ids == survey_ids == sorted(filed)
            consumer_complaints = await scalar(
                valuation.database,
                "SELECT count(*) FROM complaints WHERE complainant_type = 'consumer'",
            )
            assert consumer_complaints == COMPLAINTS // 2
    finally:
        await bus.close()
        broker.stop()


async def _ids(database: Database, sql: str) -> list[str]:
    async with database.transaction() as session:
        return sorted(str(row[0]) for row in await session.execute(text(sql)))


async def _is_zero(awaitable: Any) -> bool:
    return bool(await awaitable == 0)
