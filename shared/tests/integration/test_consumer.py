"""The consumer runner against a real broker and database: once-only effects, DLQ, commits."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import date
from functools import partial

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy import func, select

from retailcare_shared.consumer import ConsumerRunner
from retailcare_shared.db import Database
from retailcare_shared.events import (
    CustomerViolationRecorded,
    ViolationKind,
    build_envelope,
    dlq_topic,
    encode,
)
from retailcare_shared.kafka import make_consumer, make_producer
from retailcare_shared.testing import collect_messages, eventually, service_overrides
from widget_service.app import AppliedEvent, WidgetSettings, definition


@pytest.fixture
def topic() -> str:
    return f"widget-events-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def database(widget_database: str) -> AsyncIterator[Database]:
    db = Database(widget_database)
    yield db
    await db.dispose()


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    client = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await client.start()
    yield client
    await client.stop()


def make_runner(
    database: Database, topic: str, widget_database: str, kafka_bootstrap: str
) -> ConsumerRunner:
    settings = WidgetSettings(**service_overrides(widget_database, kafka_bootstrap))
    return ConsumerRunner(
        database,
        definition([topic]).subscriptions[0],
        service="widget-svc",
        consumer_factory=lambda topics, group: make_consumer(
            settings, topics=topics, group_id=group, client_id="t"
        ),
        producer_factory=partial(make_producer, settings, client_id="t-dlq"),
        max_retries=2,
        retry_backoff_seconds=0.01,
    )


def violation(kind: ViolationKind = "other") -> bytes:
    payload = CustomerViolationRecorded(
        violation_id=uuid.uuid4(), kind=kind, occurred_on=date(2026, 1, 1)
    )
    return encode(build_envelope(payload, source="test", subject="shop-1"))


async def applied(database: Database, event_id: str | None = None) -> int:
    statement = select(func.count()).select_from(AppliedEvent)
    if event_id:
        statement = statement.where(AppliedEvent.event_id == uuid.UUID(event_id))
    async with database.transaction() as session:
        return int(await session.scalar(statement) or 0)


async def run_until(runner: ConsumerRunner, condition: object, timeout: float = 60) -> None:
    task = asyncio.create_task(runner.run())
    try:
        await eventually(condition, timeout=timeout)
    finally:
        runner.stop()
        await asyncio.wait_for(task, timeout=15)


async def test_redelivered_event_is_applied_once(
    database: Database,
    producer: AIOKafkaProducer,
    topic: str,
    widget_database: str,
    kafka_bootstrap: str,
) -> None:
    event, sentinel = violation(), violation()
    for value in (event, event, event, sentinel):
        await producer.send_and_wait(topic, value, key=b"shop-1")
    sentinel_id = json.loads(sentinel)["id"]

    runner = make_runner(database, topic, widget_database, kafka_bootstrap)
    await run_until(runner, lambda: applied(database, sentinel_id))

    assert await applied(database, json.loads(event)["id"]) == 1
    assert await applied(database) == 2


async def test_malformed_and_unreadable_events_go_to_the_dlq_and_the_next_is_processed(
    database: Database,
    producer: AIOKafkaProducer,
    topic: str,
    widget_database: str,
    kafka_bootstrap: str,
) -> None:
    future_version = json.loads(violation())
    future_version["schema_version"] = 99
    good = violation()
    for value in (b"{not json", json.dumps(future_version).encode(), good):
        await producer.send_and_wait(topic, value, key=b"shop-1")

    runner = make_runner(database, topic, widget_database, kafka_bootstrap)
    await run_until(runner, lambda: applied(database, json.loads(good)["id"]))

    dead = await collect_messages(kafka_bootstrap, dlq_topic(topic), expected=2)
    errors = [dict(message.headers)["error"].decode() for message in dead]
    assert dead[0].value == b"{not json"
    assert errors[0].startswith("invalid envelope")
    assert "unsupported schema_version 99" in errors[1]
    assert all(dict(message.headers)["original_topic"] == topic.encode() for message in dead)
    assert await applied(database) == 1


async def test_a_handler_that_keeps_failing_is_retried_then_dead_lettered(
    database: Database,
    producer: AIOKafkaProducer,
    topic: str,
    widget_database: str,
    kafka_bootstrap: str,
) -> None:
    poison, good = violation("counterfeit"), violation()
    for value in (poison, good):
        await producer.send_and_wait(topic, value, key=b"shop-1")

    runner = make_runner(database, topic, widget_database, kafka_bootstrap)
    await run_until(runner, lambda: applied(database, json.loads(good)["id"]))

    dead = await collect_messages(kafka_bootstrap, dlq_topic(topic), expected=1)
    assert dead[0].value == poison
    assert "counterfeit widgets are refused" in dict(dead[0].headers)["error"].decode()
    assert await applied(database) == 1


async def test_offsets_are_committed_after_the_effect_and_the_group_is_left_on_stop(
    database: Database,
    producer: AIOKafkaProducer,
    topic: str,
    widget_database: str,
    kafka_bootstrap: str,
) -> None:
    values = [violation() for _ in range(5)]
    for value in values:
        await producer.send_and_wait(topic, value, key=b"shop-1")

    runner = make_runner(database, topic, widget_database, kafka_bootstrap)
    await run_until(runner, lambda: applied(database, json.loads(values[-1])["id"]))

    probe = AIOKafkaConsumer(
        bootstrap_servers=kafka_bootstrap, group_id=runner.group_id, enable_auto_commit=False
    )
    await probe.start()
    try:
        partitions = [TopicPartition(topic, p) for p in probe.partitions_for_topic(topic) or ()]
        committed = {tp: await probe.committed(tp) for tp in partitions}
        ends = await probe.end_offsets(partitions)
    finally:
        await probe.stop()
    assert all(committed[tp] == ends[tp] for tp in partitions if ends[tp])

    # A second runner in the same group starts after the committed offset: nothing re-applied.
    sentinel = violation()
    await producer.send_and_wait(topic, sentinel, key=b"shop-1")
    second = make_runner(database, topic, widget_database, kafka_bootstrap)
    await run_until(second, lambda: applied(database, json.loads(sentinel)["id"]))
    assert await applied(database) == 6
