"""R9: SIGTERM under load: in-flight requests finish, consumers commit, exit within 10 s."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy.engine import make_url

from complaint_svc.main import definition
from retailcare_shared.events import CUSTOMER_EVENTS, CustomerRegistered, Envelope, build_envelope
from retailcare_shared.testing import (
    DatabaseFactory,
    ServiceProcess,
    TestBus,
    bearer,
    eventually,
    fresh_database,
)

CALL_CENTRE = bearer(["call_center"], sub="agent-fault")
IN_FLIGHT = 8
EVENTS = 2_000
TOTAL = EVENTS + 1  # and one warm-up registration
GROUP = "complaint-svc.readmodel"
# The spec's bound (quality.md R9): the process is gone within 10 s of SIGTERM.
EXIT_WITHIN_SECONDS = 10.0


def registered(customer_id: uuid.UUID) -> Envelope:
    """customer.registered with a complete snapshot."""
    return build_envelope(
        CustomerRegistered(
            customer_id=customer_id,
            license_no=f"L{customer_id.hex[:10]}",
            name="shop",
            county="C1",
            district="D1",
            market_type="urban",
            trading_area="commercial",
            business_format="convenience",
            scale="medium",
            order_method="phone",
            manager_id=None,
            status="active",
            licensed_on=date(2020, 1, 1),
            self_operated=False,
            business_hours=16.0,
            display_form="shelf",
            renown="street",
            reputation="good",
            compliance_grade="A",
            price_labeling="price_board",
            display_sku_count=15,
        ),
        source="customer-svc",
        subject=str(customer_id),
    )


def complaint_body(number: int) -> dict[str, Any]:
    """A valid complaint without a shop."""
    return {
        "complainant_type": "retailer",
        "received_by": "agent-li",
        "channel": "hotline",
        "category": "settlement",
        "service_item": "after_sales_window",
        "description": f"Complaint {number} assigned while the service stops.",
    }


def plain_url(database_url: str) -> str:
    """The asyncpg (non-SQLAlchemy) form of a database URL."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


def refuses_connections(port: int) -> bool:
    """True once nothing listens on the port any more."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


async def committed_offsets(bus: TestBus) -> dict[int, int]:
    """The group's committed offset per partition of the customer topic (0 where none)."""
    topic = bus.prefix + CUSTOMER_EVENTS
    # Kafka groups are namespaced by the topic prefix, like the topics.
    probe = AIOKafkaConsumer(
        bootstrap_servers=bus.bootstrap, group_id=bus.prefix + GROUP, enable_auto_commit=False
    )
    await probe.start()
    try:
        partitions = [TopicPartition(topic, p) for p in probe.partitions_for_topic(topic) or ()]
        return {tp.partition: (await probe.committed(tp)) or 0 for tp in partitions}
    finally:
        await probe.stop()


async def test_sigterm_lets_in_flight_requests_finish_commits_offsets_and_exits_within_10s(
    database_factory: DatabaseFactory, bus: TestBus, tmp_path: Path
) -> None:
    """Blocked requests complete after SIGTERM; applied == committed; the process exits in 10 s."""
    async with fresh_database(database_factory, definition.service_dir) as database_url:
        service = ServiceProcess(
            "complaint_svc",
            "COMPLAINT_SVC_",
            database_url=database_url,
            kafka_bootstrap=bus.bootstrap,
            topic_prefix=bus.prefix,
            log_path=tmp_path / "complaint-svc.log",
            sweeper_enabled=False,
            outbox_poll_seconds=0.2,
        )
        database = await asyncpg.connect(plain_url(database_url))
        try:
            # The topic exists and the group has settled before the load: a rebalance in progress
            # at SIGTERM (topic creation triggers one) would be a different fault.
            await bus.publish(registered(uuid.uuid4()))
            await service.start()
            await eventually(lambda: _committed_any(bus), timeout=120)
            async with httpx.AsyncClient(base_url=service.url, timeout=60) as client:
                created = [
                    await client.post(
                        "/api/v1/complaints", json=complaint_body(n), headers=CALL_CENTRE
                    )
                    for n in range(IN_FLIGHT)
                ]
            ids = [uuid.UUID(response.json()["id"]) for response in created]

            # Load on the consumer: thousands of registrations, applied one transaction each.
            await bus.publish_all([registered(uuid.uuid4()) for _ in range(EVENTS)])
            applied_sql = "SELECT count(*) FROM inbox WHERE consumer = $1"
            await eventually(
                lambda: _beyond_warm_up(database.fetchval(applied_sql, GROUP)), timeout=120
            )

            # Hold every complaint's row so the assign requests are provably in flight.
            holder = await asyncpg.connect(plain_url(database_url))
            holding = holder.transaction()
            await holding.start()
            await holder.execute("SELECT 1 FROM complaints WHERE id = ANY($1) FOR UPDATE", ids)

            async def assign(complaint_id: uuid.UUID) -> httpx.Response:
                async with httpx.AsyncClient(base_url=service.url, timeout=60) as fresh:
                    return await fresh.post(
                        f"/api/v1/complaints/{complaint_id}/assign",
                        json={"assignee": "agent-wang"},
                        headers=CALL_CENTRE,
                    )

            requests = [asyncio.create_task(assign(complaint_id)) for complaint_id in ids]
            waiting_sql = (
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'"
            )

            async def all_waiting() -> bool:
                # Not on `holder`: activity statistics are a snapshot per transaction.
                return bool(await database.fetchval(waiting_sql) == IN_FLIGHT)

            await eventually(all_waiting, timeout=60)

            service.send_signal(signal.SIGTERM)
            sigterm_at = time.monotonic()
            # Shutdown has begun (no new connections) while the requests are still blocked.
            await eventually(lambda: _async(refuses_connections(service.port)), timeout=5)
            assert not any(request.done() for request in requests)
            await holding.rollback()
            await holder.close()

            responses = await asyncio.gather(*requests)
            exit_code = await service.wait(timeout=EXIT_WITHIN_SECONDS + 20)
            exited_after = time.monotonic() - sigterm_at
        finally:
            service.kill()

        assert [response.status_code for response in responses] == [200] * IN_FLIGHT
        assert {response.json()["status"] for response in responses} == {"assigned"}
        assert exited_after < EXIT_WITHIN_SECONDS, f"exited {exited_after:.1f}s after SIGTERM"
        assert exit_code in (0, -signal.SIGTERM), service.output()[-3000:]
        assert '"service_stopped"' in service.output()

        # The consumer finished its batch and committed it: what it applied is what it committed.
        applied = await database.fetchval(applied_sql, GROUP)
        await database.close()
        offsets = await committed_offsets(bus)
        assert 1 < applied <= TOTAL
        assert sum(offsets.values()) == applied, (offsets, applied)

        # A restarted process takes over from the committed offsets: nothing re-applied or lost.
        restarted = ServiceProcess(
            "complaint_svc",
            "COMPLAINT_SVC_",
            database_url=database_url,
            kafka_bootstrap=bus.bootstrap,
            topic_prefix=bus.prefix,
            log_path=tmp_path / "complaint-svc-restarted.log",
            sweeper_enabled=False,
        )
        database = await asyncpg.connect(plain_url(database_url))
        try:
            await restarted.start()
            await eventually(
                lambda: _equals(database.fetchval(applied_sql, GROUP), TOTAL), timeout=180
            )
            shops = await database.fetchval("SELECT count(*) FROM shops")
        finally:
            restarted.kill()
            await database.close()
        assert shops == TOTAL
        logged = [
            json.loads(line) for line in restarted.output().splitlines() if line.startswith("{")
        ]
        consumed = [entry for entry in logged if entry.get("consumer") == GROUP]
        # Batches log their counts; a message applied on its own logs its outcome.
        duplicates = sum(
            int(entry.get("duplicates", 0)) + (entry.get("outcome") == "duplicate")
            for entry in consumed
        )
        applied_again = sum(
            int(entry.get("applied", 0)) + (entry.get("outcome") == "applied") for entry in consumed
        )
        assert duplicates == 0
        assert applied_again == TOTAL - applied


async def _committed_any(bus: TestBus) -> bool:
    return sum((await committed_offsets(bus)).values()) > 0


async def _beyond_warm_up(awaitable: Any) -> bool:
    return bool(await awaitable > 1)


async def _equals(awaitable: Any, expected: int) -> bool:
    return bool(await awaitable == expected)


async def _async(value: bool) -> bool:
    return value
