"""R6 concurrent idempotent POSTs, R7 concurrent If-Match writes, R8 two sweeping replicas."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from complaint_svc.config import Settings
from complaint_svc.main import create_app, definition
from retailcare_shared.db import Database
from retailcare_shared.testing import (
    DatabaseFactory,
    TestBus,
    bearer,
    eventually,
    fresh_database,
    running,
    serve_http,
    service_overrides,
)

CALL_CENTRE = bearer(["call_center"], sub="agent-fault")
DUPLICATES = 50
WRITERS = 20
BREACHES = 12


def complaint_body(number: int = 0) -> dict[str, Any]:
    """A valid complaint without a shop."""
    return {
        "complainant_type": "retailer",
        "received_by": "agent-li",
        "channel": "hotline",
        "category": "settlement",
        "service_item": "after_sales_window",
        "description": f"Complaint {number} for the concurrency faults.",
    }


def settings_for(url: str, bus: TestBus, **overrides: Any) -> Settings:
    """complaint-svc settings on a given database, without consumers."""
    base = {**service_overrides(url, bus.bootstrap), "kafka_topic_prefix": bus.prefix}
    return Settings(**{**base, "consumers_enabled": False, **overrides})


@contextlib.asynccontextmanager
async def served(url: str, bus: TestBus, **overrides: Any) -> AsyncIterator[tuple[FastAPI, str]]:
    """complaint-svc running on a database and served over real HTTP."""
    async with (
        running(create_app(settings_for(url, bus, **overrides))) as app,
        serve_http(app) as base_url,
    ):
        yield app, base_url


async def scalar(database: Database, sql: str) -> Any:
    """One value from the service's database."""
    async with database.transaction() as session:
        return await session.scalar(text(sql))


async def test_fifty_concurrent_posts_with_one_idempotency_key_create_one_complaint(
    database_factory: DatabaseFactory, bus: TestBus
) -> None:
    """R6: 50 identical POSTs at once → one complaint; every caller gets the same answer."""
    async with (
        fresh_database(database_factory, definition.service_dir) as url,
        served(url, bus, sweeper_enabled=False) as (app, base_url),
        httpx.AsyncClient(base_url=base_url, timeout=60) as client,
    ):
        headers = {**CALL_CENTRE, "Idempotency-Key": "r6-the-only-key"}
        responses = await asyncio.gather(
            *(
                client.post("/api/v1/complaints", json=complaint_body(), headers=headers)
                for _ in range(DUPLICATES)
            )
        )
        database = app.state.database
        complaints = await scalar(database, "SELECT count(*) FROM complaints")
        filed_events = await scalar(
            database, "SELECT count(*) FROM outbox WHERE event_type = 'complaint.filed'"
        )

    assert [response.status_code for response in responses] == [201] * DUPLICATES
    first = responses[0].json()
    assert all(response.json() == first for response in responses)
    assert {response.headers["location"] for response in responses} == {
        f"/api/v1/complaints/{first['id']}"
    }
    assert complaints == 1
    assert filed_events == 1


async def test_concurrent_writes_with_the_same_if_match_let_exactly_one_through(
    database_factory: DatabaseFactory, bus: TestBus
) -> None:
    """R7: 20 writes carrying the same ETag at once → one succeeds, 19 get 412, one change."""
    async with (
        fresh_database(database_factory, definition.service_dir) as url,
        served(url, bus, sweeper_enabled=False) as (app, base_url),
        httpx.AsyncClient(base_url=base_url, timeout=60) as client,
    ):
        created = await client.post(
            "/api/v1/complaints", json=complaint_body(), headers=CALL_CENTRE
        )
        complaint_url = created.headers["location"]
        headers = {**CALL_CENTRE, "If-Match": created.headers["etag"]}
        responses = await asyncio.gather(
            *(
                client.post(
                    complaint_url + "/assign", json={"assignee": f"agent-{n}"}, headers=headers
                )
                for n in range(WRITERS)
            )
        )
        database = app.state.database
        assignments = await scalar(
            database, "SELECT count(*) FROM outbox WHERE event_type = 'complaint.assigned'"
        )
        version = await scalar(database, "SELECT version FROM complaints")

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [412] * (WRITERS - 1)
    refused = [response for response in responses if response.status_code == 412]
    assert all(r.headers["content-type"].startswith("application/problem+json") for r in refused)
    assert assignments == 1
    assert version == int(json.loads(created.headers["etag"])) + 1


async def test_two_replicas_running_the_sweeper_escalate_each_breach_once(
    database_factory: DatabaseFactory, bus: TestBus
) -> None:
    """R8: two complaint-svc apps on one database, both sweeping often → one event per breach."""
    async with fresh_database(database_factory, definition.service_dir) as url:
        async with served(url, bus, sweeper_enabled=False) as (app, base_url):
            async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
                for n in range(BREACHES):
                    created = await client.post(
                        "/api/v1/complaints", json=complaint_body(n), headers=CALL_CENTRE
                    )
                    assert created.status_code == 201
            async with app.state.database.transaction() as session:
                # Both deadlines passed an hour ago: two breaches per complaint.
                await session.execute(
                    text(
                        "UPDATE complaints SET acknowledge_due_at = now() - interval '1 hour',"
                        " resolve_due_at = now() - interval '1 hour'"
                    )
                )

        replicas = {
            "sweeper_enabled": True,
            "sweeper_interval_seconds": 0.05,
            "relay_enabled": False,
        }
        async with (
            running(create_app(settings_for(url, bus, **replicas))) as first,
            running(create_app(settings_for(url, bus, **replicas))) as second,
        ):
            database = first.state.database
            escalated_sql = "SELECT count(*) FROM outbox WHERE event_type = 'complaint.escalated'"

            async def all_escalated() -> bool:
                return bool(await scalar(database, escalated_sql) >= 2 * BREACHES)

            await eventually(all_escalated, timeout=120)
            # Let both replicas sweep many more rounds over the same, now escalated, breaches.
            await asyncio.sleep(1.0)
            async with database.transaction() as session:
                events = [
                    (row[0], row[1])
                    for row in await session.execute(
                        text(
                            "SELECT data->>'complaint_id', data->>'reason' FROM ("
                            " SELECT convert_from(value, 'UTF8')::json->'data' AS data"
                            " FROM outbox WHERE event_type = 'complaint.escalated') AS e"
                        )
                    )
                ]
            del second

    assert len(events) == 2 * BREACHES
    assert len(set(events)) == 2 * BREACHES
