"""The outbox relay against a real PostgreSQL and a real broker: nothing lost, nothing doubled."""

import asyncio
import uuid
from datetime import date
from functools import partial
from pathlib import Path

import httpx
from sqlalchemy import func, select

from retailcare_shared.db import Database
from retailcare_shared.devstack import LocalBroker
from retailcare_shared.events import CUSTOMER_EVENTS, CustomerViolationRecorded, build_envelope
from retailcare_shared.kafka import make_producer
from retailcare_shared.outbox import notify_relays, record_events
from retailcare_shared.platform_tables import OutboxMessage
from retailcare_shared.relay import OutboxRelay
from retailcare_shared.testing import (
    bearer,
    collect_messages,
    eventually,
    read_topic,
    running,
    service_overrides,
)
from widget_service.app import WidgetSettings, create_app

AUTH = bearer(["call_center"])


def event_ids_of(messages: list) -> list[str]:
    import json

    return [json.loads(message.value)["id"] for message in messages]


async def unsent(database: Database) -> int:
    async with database.transaction() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.sent_at.is_(None))
            )
            or 0
        )


async def test_events_written_while_the_broker_is_down_are_delivered_after_restart(
    widget_database: str, tmp_path: Path
) -> None:
    broker = LocalBroker(log_path=tmp_path / "tansu.log")
    broker.start()
    overrides = {
        **service_overrides(widget_database, broker.bootstrap_servers),
        "relay_max_backoff_seconds": 1.0,
    }
    try:
        async with running(create_app(overrides)) as app:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://w") as client:
                broker.stop()
                responses = [
                    await client.post(
                        "/api/v1/widgets", json={"name": f"w{n}", "size": 1}, headers=AUTH
                    )
                    for n in range(30)
                ]
                assert {response.status_code for response in responses} == {201}
                assert await unsent(app.state.database) == 30

                broker.start()
                widget_ids = {response.json()["id"] for response in responses}
                messages = await collect_messages(
                    broker.bootstrap_servers, CUSTOMER_EVENTS, expected=30, timeout=60
                )
                delivered = [message.key.decode() for message in messages]
                assert sorted(delivered) == sorted(widget_ids)
                await eventually(lambda: _is_zero(unsent(app.state.database)))
    finally:
        broker.stop()


async def _is_zero(awaitable: object) -> bool:
    return await awaitable == 0  # type: ignore[misc]


async def test_two_relays_publish_each_row_once_and_in_order(
    widget_database: str, kafka_bootstrap: str
) -> None:
    settings = WidgetSettings(**service_overrides(widget_database, kafka_bootstrap))
    database = Database(widget_database)
    subject = str(uuid.uuid4())
    envelopes = [
        build_envelope(
            CustomerViolationRecorded(
                violation_id=uuid.uuid4(), kind="other", occurred_on=date(2026, 1, 1)
            ),
            source="test",
            subject=subject,
        )
        for _ in range(400)
    ]
    for start in range(0, 400, 100):
        async with database.transaction() as session:
            await record_events(session, envelopes[start : start + 100])

    relays = [
        OutboxRelay(
            database,
            partial(make_producer, settings, client_id=f"relay-{n}"),
            service="t",
            batch_size=50,
            poll_seconds=0.05,
        )
        for n in range(2)
    ]
    tasks = [asyncio.create_task(relay.run()) for relay in relays]
    try:
        await eventually(lambda: _is_zero(unsent(database)), timeout=60)
    finally:
        for relay in relays:
            relay.stop()
        await asyncio.gather(*tasks)
        await database.dispose()

    expected = [str(envelope.id) for envelope in envelopes]
    # Every row is marked sent, so everything either relay published is already in the topic.
    messages = [
        m for m in await read_topic(kafka_bootstrap, CUSTOMER_EVENTS) if m.key == subject.encode()
    ]
    assert event_ids_of(messages) == expected


async def test_an_idle_relay_wakes_on_notify_relays_without_waiting_for_its_poll(
    widget_database: str, kafka_bootstrap: str
) -> None:
    # The writer is another replica (its own Database), so only NOTIFY can reach this relay.
    published = await _publish_one_while_idle(widget_database, kafka_bootstrap, same_process=False)
    assert published


async def test_a_commit_that_writes_events_wakes_its_own_process_relay_without_notify(
    widget_database: str, kafka_bootstrap: str
) -> None:
    published = await _publish_one_while_idle(widget_database, kafka_bootstrap, same_process=True)
    assert published


async def _publish_one_while_idle(
    widget_database: str, kafka_bootstrap: str, *, same_process: bool
) -> bool:
    """Record one event while the relay idles on a 10-minute poll; True once it is sent."""
    settings = WidgetSettings(**service_overrides(widget_database, kafka_bootstrap))
    database = Database(widget_database)
    writer = database if same_process else Database(widget_database)
    relay = OutboxRelay(
        database,
        partial(make_producer, settings, client_id="relay-idle"),
        service="t",
        poll_seconds=600,  # only a wake-up can get the row out within the test
    )
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: _idle(relay))  # polled once, now asleep for ten minutes
        envelope = build_envelope(
            CustomerViolationRecorded(
                violation_id=uuid.uuid4(), kind="other", occurred_on=date(2026, 1, 1)
            ),
            source="test",
            subject=str(uuid.uuid4()),
        )
        async with writer.transaction() as session:
            await record_events(session, [envelope])
            if not same_process:
                await notify_relays(session)
        await eventually(lambda: _is_zero(unsent(database)), timeout=30)
        return True
    finally:
        relay.stop()
        await task
        await database.dispose()
        if writer is not database:
            await writer.dispose()


async def _idle(relay: OutboxRelay) -> bool:
    return relay.listening and relay.idle
