"""The consumer runner against a real broker and database: once-only effects, DLQ, commits."""

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from functools import partial
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from retailcare_shared.consumer import ConsumerRunner, Subscription, app_of
from retailcare_shared.db import Database
from retailcare_shared.events import (
    CustomerStatusChanged,
    CustomerViolationRecorded,
    Envelope,
    ViolationKind,
    build_envelope,
    dlq_topic,
    encode,
)
from retailcare_shared.kafka import make_consumer, make_producer
from retailcare_shared.platform_tables import InboxMessage
from retailcare_shared.testing import collect_messages, eventually, service_overrides
from widget_service.app import AppliedEvent, WidgetSettings, apply_violation, definition


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


RunnerFactory = Callable[..., ConsumerRunner]


@pytest.fixture
def new_runner(
    database: Database, topic: str, widget_database: str, kafka_bootstrap: str
) -> RunnerFactory:
    """`new_runner(subscription, context, batch_size=…, commit_delay=…)`: `make_runner` on this
    test's database and topic."""
    return partial(make_runner, database, topic, widget_database, kafka_bootstrap)


def make_runner(
    database: Database,
    topic: str,
    widget_database: str,
    kafka_bootstrap: str,
    subscription: Subscription | None = None,
    context: FastAPI | None = None,
    batch_size: int = 500,
    commit_delay: float = 0.0,
    topic_prefix: str = "",
) -> ConsumerRunner:
    settings = WidgetSettings(**service_overrides(widget_database, kafka_bootstrap))

    def consumer(topics: list[str], group: str) -> AIOKafkaConsumer:
        client = make_consumer(settings, topics=topics, group_id=group, client_id="t")
        if commit_delay:
            commit = client.commit

            async def slow_commit(offsets: Any = None) -> None:
                # Widens the moment a commit is on its way, as a slow network would.
                await asyncio.sleep(commit_delay)
                await commit(offsets)

            client.commit = slow_commit  # type: ignore[method-assign]
        return client

    return ConsumerRunner(
        database,
        subscription or definition([topic]).subscriptions[0],
        # A consumer group per test: the test broker (Tansu 0.6) keeps a departed leader as the
        # leader of a group whose last members left mid-rebalance, and no later member of that
        # group is ever assigned anything, so one test's group must not be another's.
        service=f"widget-svc-{topic}",
        consumer_factory=consumer,
        producer_factory=partial(make_producer, settings, client_id="t-dlq"),
        max_retries=2,
        retry_backoff_seconds=0.01,
        batch_size=batch_size,
        context=context,
        topic_prefix=topic_prefix,
    )


def violation(kind: ViolationKind = "other") -> bytes:
    payload = CustomerViolationRecorded(
        violation_id=uuid.uuid4(), kind=kind, occurred_on=date(2026, 1, 1)
    )
    return encode(build_envelope(payload, source="test", subject="shop-1"))


def event_id(value: bytes) -> str:
    return str(json.loads(value)["id"])


def status_changed() -> bytes:
    payload = CustomerStatusChanged(status="suspended", effective_date=date(2026, 1, 1))
    return encode(build_envelope(payload, source="test", subject="shop-1"))


async def applied_in_order(database: Database) -> list[str]:
    """Event ids of the applied effects, in the order they were written."""
    async with database.transaction() as session:
        rows = await session.scalars(select(AppliedEvent.event_id).order_by(AppliedEvent.id))
        return [str(value) for value in rows]


async def inbox_transactions(database: Database) -> int:
    """Distinct transactions that wrote inbox rows (processed_at is the transaction start)."""
    async with database.transaction() as session:
        return int(
            await session.scalar(select(func.count(func.distinct(InboxMessage.processed_at)))) or 0
        )


async def applied(database: Database, event_id: str | None = None) -> int:
    statement = select(func.count()).select_from(AppliedEvent)
    if event_id:
        statement = statement.where(AppliedEvent.event_id == uuid.UUID(event_id))
    async with database.transaction() as session:
        return int(await session.scalar(statement) or 0)


async def committed_and_end_offsets(
    kafka_bootstrap: str, group_id: str, topic: str
) -> tuple[dict[int, int], dict[int, int]]:
    """Per partition of `topic`: the group's committed offset (0 if none) and the end offset."""
    probe = AIOKafkaConsumer(
        bootstrap_servers=kafka_bootstrap, group_id=group_id, enable_auto_commit=False
    )
    await probe.start()
    try:
        partitions = [TopicPartition(topic, p) for p in probe.partitions_for_topic(topic) or ()]
        committed = {tp.partition: await probe.committed(tp) or 0 for tp in partitions}
        ends = {tp.partition: end for tp, end in (await probe.end_offsets(partitions)).items()}
    finally:
        await probe.stop()
    return committed, ends


async def run_until(
    runner: ConsumerRunner | list[ConsumerRunner], condition: object, timeout: float = 60
) -> None:
    """Run the runner(s) until the condition holds, then stop them and wait for them to end."""
    runners = runner if isinstance(runner, list) else [runner]
    tasks = [asyncio.create_task(each.run()) for each in runners]
    try:
        await eventually(condition, timeout=timeout)
    finally:
        for each in runners:
            each.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=15)


async def test_environments_sharing_a_broker_consume_in_groups_of_their_own(
    database: Database,
    producer: AIOKafkaProducer,
    topic: str,
    kafka_bootstrap: str,
    new_runner: RunnerFactory,
) -> None:
    """The same consumer under two topic prefixes: one Kafka group per prefix, one inbox name."""
    environments = [f"env-{letter}-{uuid.uuid4().hex[:6]}." for letter in "ab"]
    values = {prefix: violation() for prefix in environments}
    for prefix, value in values.items():
        await producer.send_and_wait(prefix + topic, value, key=b"shop-1")
    runners = [new_runner(topic_prefix=prefix) for prefix in environments]

    async def both_applied() -> bool:
        return await applied(database) == len(environments)

    await run_until(runners, both_applied)

    assert [runner.group_id for runner in runners] == [
        prefix + runners[0].name for prefix in environments
    ]
    for prefix in environments:
        # Each environment's group committed its own topic, and nothing of the other's.
        own, ends = await committed_and_end_offsets(
            kafka_bootstrap, prefix + runners[0].name, prefix + topic
        )
        assert own == ends
        for other in set(environments) - {prefix}:
            foreign, _ = await committed_and_end_offsets(
                kafka_bootstrap, prefix + runners[0].name, other + topic
            )
            assert sum(foreign.values()) == 0
    # Inbox rows keep the environment-independent consumer name.
    async with database.transaction() as session:
        names = set(await session.scalars(select(InboxMessage.consumer)))
    assert names == {runners[0].name}


async def test_redelivered_event_is_applied_once(
    database: Database,
    producer: AIOKafkaProducer,
    topic: str,
    new_runner: RunnerFactory,
) -> None:
    event, sentinel = violation(), violation()
    for value in (event, event, event, sentinel):
        await producer.send_and_wait(topic, value, key=b"shop-1")
    sentinel_id = json.loads(sentinel)["id"]

    runner = new_runner()
    await run_until(runner, lambda: applied(database, sentinel_id))

    assert await applied(database, json.loads(event)["id"]) == 1
    assert await applied(database) == 2


async def test_malformed_and_unreadable_events_go_to_the_dlq_and_the_next_is_processed(
    database: Database,
    producer: AIOKafkaProducer,
    topic: str,
    kafka_bootstrap: str,
    new_runner: RunnerFactory,
) -> None:
    future_version = json.loads(violation())
    future_version["schema_version"] = 99
    good = violation()
    for value in (b"{not json", json.dumps(future_version).encode(), good):
        await producer.send_and_wait(topic, value, key=b"shop-1")

    runner = new_runner()
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
    kafka_bootstrap: str,
    new_runner: RunnerFactory,
) -> None:
    poison, good = violation("counterfeit"), violation()
    for value in (poison, good):
        await producer.send_and_wait(topic, value, key=b"shop-1")

    runner = new_runner()
    await run_until(runner, lambda: applied(database, json.loads(good)["id"]))

    dead = await collect_messages(kafka_bootstrap, dlq_topic(topic), expected=1)
    assert dead[0].value == poison
    assert "counterfeit widgets are refused" in dict(dead[0].headers)["error"].decode()
    assert await applied(database) == 1


async def test_offsets_are_committed_after_the_effect_and_the_group_is_left_on_stop(
    database: Database,
    producer: AIOKafkaProducer,
    topic: str,
    kafka_bootstrap: str,
    new_runner: RunnerFactory,
) -> None:
    values = [violation() for _ in range(5)]
    for value in values:
        await producer.send_and_wait(topic, value, key=b"shop-1")

    runner = new_runner()
    await run_until(runner, lambda: applied(database, json.loads(values[-1])["id"]))

    committed, ends = await committed_and_end_offsets(kafka_bootstrap, runner.group_id, topic)
    assert all(committed[partition] == ends[partition] for partition in ends if ends[partition])

    # A second runner in the same group starts after the committed offset: nothing re-applied.
    sentinel = violation()
    await producer.send_and_wait(topic, sentinel, key=b"shop-1")
    second = new_runner()
    await run_until(second, lambda: applied(database, json.loads(sentinel)["id"]))
    assert await applied(database) == 6


async def test_a_backlog_with_repeats_is_applied_in_batch_transactions_once_each_in_order(
    database: Database,
    producer: AIOKafkaProducer,
    topic: str,
    new_runner: RunnerFactory,
) -> None:
    values = [violation() for _ in range(200)]
    # The same event twice in a row and once more later, all inside one batch.
    delivered = [*values[:10], values[9], *values[10:100], values[5], *values[100:]]
    for value in delivered:
        await producer.send(topic, value, key=b"shop-1")
    await producer.flush()

    runner = new_runner()
    await run_until(runner, lambda: applied(database, event_id(values[-1])))

    assert await applied_in_order(database) == [event_id(value) for value in values]
    # One transaction per message would give 200 distinct transaction start times.
    assert await inbox_transactions(database) < 20


async def test_a_poison_message_inside_a_batch_is_dead_lettered_and_the_rest_applied_in_order(
    database: Database,
    producer: AIOKafkaProducer,
    topic: str,
    kafka_bootstrap: str,
    new_runner: RunnerFactory,
) -> None:
    before, poison, after = (
        [violation() for _ in range(20)],
        violation("counterfeit"),
        [violation() for _ in range(20)],
    )
    for value in (*before, poison, *after):
        await producer.send(topic, value, key=b"shop-1")
    await producer.flush()

    runner = new_runner()
    await run_until(runner, lambda: applied(database, event_id(after[-1])))

    dead = await collect_messages(kafka_bootstrap, dlq_topic(topic), expected=1)
    assert [message.value for message in dead] == [poison]
    assert "counterfeit widgets are refused" in dict(dead[0].headers)["error"].decode()
    assert await applied_in_order(database) == [event_id(value) for value in (*before, *after)]


async def test_a_batch_offset_is_committed_only_after_its_effects_are_committed(
    database: Database,
    producer: AIOKafkaProducer,
    topic: str,
    kafka_bootstrap: str,
    new_runner: RunnerFactory,
) -> None:
    values = [violation() for _ in range(10)] + [violation("smuggled")] + [violation()]
    deliveries = [await producer.send(topic, value, key=b"shop-1") for value in values]
    partition = TopicPartition(topic, (await deliveries[-1]).partition)
    seen: list[tuple[int, int]] = []

    async def observe(session: AsyncSession, envelope: Envelope, payload: object) -> None:
        await apply_violation(session, envelope, payload)
        if getattr(payload, "kind", None) == "smuggled":
            # Mid-batch: the committed offset may not count messages whose effect is uncommitted.
            seen.append((await probe.committed(partition) or 0, await applied(database)))

    subscription = Subscription(
        name="widgets", topics=[topic], handlers={"customer.violation_recorded": observe}
    )
    runner = new_runner(subscription)
    probe = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=runner.group_id)
    await probe.start()
    try:
        await run_until(runner, lambda: applied(database, event_id(values[-1])))
        final = await probe.committed(partition)
    finally:
        await probe.stop()

    assert seen and all(committed <= visible for committed, visible in seen)
    assert final == len(values)


async def test_runs_of_a_type_go_to_its_batch_handler_in_order_and_handlers_see_the_app(
    database: Database,
    producer: AIOKafkaProducer,
    topic: str,
    new_runner: RunnerFactory,
) -> None:
    app = FastAPI()
    head, status, tail = (
        [violation() for _ in range(3)],
        status_changed(),
        [violation(), violation()],
    )
    for value in (*head, status, *tail):
        await producer.send(topic, value, key=b"shop-1")
    await producer.flush()
    runs: list[list[str]] = []
    contexts: list[FastAPI] = []

    async def apply_run(session: AsyncSession, events: list[tuple[Envelope, object]]) -> None:
        runs.append([str(envelope.id) for envelope, _ in events])
        contexts.append(app_of(session))
        for envelope, payload in events:
            await apply_violation(session, envelope, payload)

    async def apply_status(session: AsyncSession, envelope: Envelope, payload: object) -> None:
        contexts.append(app_of(session))
        session.add(AppliedEvent(event_id=envelope.id, widget_id=uuid.uuid4(), kind="status"))

    subscription = Subscription(
        name="widgets",
        topics=[topic],
        handlers={"customer.status_changed": apply_status},
        batch_handlers={"customer.violation_recorded": apply_run},
    )
    runner = new_runner(subscription, app)
    await run_until(runner, lambda: applied(database, event_id(tail[-1])))

    assert runs == [[event_id(v) for v in head], [event_id(v) for v in tail]]
    assert await applied_in_order(database) == [event_id(v) for v in (*head, status, *tail)]
    assert contexts and all(context is app for context in contexts)


async def test_polls_overlap_yet_batches_of_at_most_batch_size_apply_in_order_then_commit(
    database: Database,
    producer: AIOKafkaProducer,
    topic: str,
    kafka_bootstrap: str,
    new_runner: RunnerFactory,
) -> None:
    values = [violation() for _ in range(60)]
    for value in values:
        await producer.send(topic, value, key=b"shop-1")
    await producer.flush()
    runs: list[list[str]] = []

    async def slow_run(session: AsyncSession, events: list[tuple[Envelope, object]]) -> None:
        # Slow enough that the next poll is fetched and decoded while this one is applied.
        await asyncio.sleep(0.05)
        runs.append([str(envelope.id) for envelope, _ in events])
        for envelope, payload in events:
            await apply_violation(session, envelope, payload)

    subscription = Subscription(
        name="widgets", topics=[topic], batch_handlers={"customer.violation_recorded": slow_run}
    )
    runner = new_runner(subscription, batch_size=7)
    await run_until(runner, lambda: applied(database, event_id(values[-1])))

    expected = [event_id(value) for value in values]
    assert await applied_in_order(database) == expected
    assert [event for run in runs for event in run] == expected[: sum(map(len, runs))]
    assert runs and all(len(run) <= 7 for run in runs)
    assert await inbox_transactions(database) >= len(values) // 7

    probe = AIOKafkaConsumer(
        bootstrap_servers=kafka_bootstrap, group_id=runner.group_id, enable_auto_commit=False
    )
    await probe.start()
    try:
        partitions = [TopicPartition(topic, p) for p in probe.partitions_for_topic(topic) or ()]
        committed = [await probe.committed(tp) for tp in partitions]
    finally:
        await probe.stop()
    # One key, one partition: stopping finished the poll in hand and committed all of it.
    assert sorted(committed, key=lambda offset: offset or 0) == [
        *([None] * (len(partitions) - 1)),
        len(values),
    ]


async def test_a_member_joining_mid_backlog_and_a_stop_during_the_rebalance_lose_no_commit(
    database: Database,
    producer: AIOKafkaProducer,
    topic: str,
    kafka_bootstrap: str,
    new_runner: RunnerFactory,
) -> None:
    """A rebalance while polls are applied, and a stop before it completes: every event is
    applied once and its offset committed (offsets are committed before the member rejoins,
    not held by the broker until a rebalance that waits on this very member)."""
    total = 3000
    await produce_for_shops(producer, topic, total)
    first = new_runner(batch_size=50)
    second = new_runner(batch_size=50)
    # Scale-out: the group rebalances; both stop whether or not it has completed.
    async with second_member_joins(first, second, once_applied=applied_at_least(database, 200)):
        await eventually(applied_at_least(database, total), timeout=120)

    assert await applied(database) == total
    committed, _ = await committed_and_end_offsets(kafka_bootstrap, first.group_id, topic)
    # Every partition's offset is past its last record (the offsets of `total` records).
    assert sum(committed.values()) == total, committed


async def test_the_group_settles_while_slow_commits_are_on_their_way(
    database: Database,
    producer: AIOKafkaProducer,
    topic: str,
    new_runner: RunnerFactory,
) -> None:
    """A member joins while the other's commits are slow to go out: the rebalance completes in
    the broker's usual time (the rejoining member never waits on a commit already sent, which
    the broker may hold until the rebalance completes) and every event is applied once."""
    total = 400
    await produce_for_shops(producer, topic, total)
    first = new_runner(batch_size=20, commit_delay=1.0)
    second = new_runner(batch_size=20)
    async with second_member_joins(first, second, once_applied=applied_at_least(database, 20)):
        # A rebalance on this broker takes about 6 s; held up by the first member, it would last
        # until the broker expels it.
        await asyncio.wait_for(second.started.wait(), timeout=20)
        await eventually(applied_at_least(database, total), timeout=120)
    assert await applied(database) == total


async def produce_for_shops(producer: AIOKafkaProducer, topic: str, total: int) -> None:
    """`total` violations spread over 40 shops (so over every partition)."""
    sends = [
        await producer.send(topic, violation(), key=f"shop-{n % 40}".encode()) for n in range(total)
    ]
    await asyncio.gather(*sends)


@contextlib.asynccontextmanager
async def second_member_joins(
    first: ConsumerRunner, second: ConsumerRunner, *, once_applied: Callable[[], Awaitable[bool]]
) -> AsyncIterator[None]:
    """Run `first`, start `second` in the same group once `once_applied` holds; stop both after
    the block, whether or not their rebalance has completed."""
    tasks = [asyncio.create_task(first.run())]
    try:
        await eventually(once_applied, timeout=60)
        tasks.append(asyncio.create_task(second.run()))
        yield
    finally:
        first.stop()
        second.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=20)


def applied_at_least(database: Database, expected: int) -> Callable[[], Awaitable[bool]]:
    """A condition for `eventually`: at least `expected` effects applied."""

    async def condition() -> bool:
        return await applied(database) >= expected

    return condition
