"""Consumer runner: group membership, inbox de-duplication, offset commit after the effect, DLQ."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.errors import CommitFailedError, IllegalStateError
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from retailcare_shared.db import Database, is_database_unavailable
from retailcare_shared.events import Envelope, Payload, UnreadableEvent, decode, dlq_topic
from retailcare_shared.kafka import LazyProducer
from retailcare_shared.logging import correlation_id_var, get_logger
from retailcare_shared.memory import gc_paused
from retailcare_shared.metrics import (
    CONSUMER_JOINING,
    CONSUMER_LAG,
    CONSUMER_MESSAGES,
    DLQ_MESSAGES,
)
from retailcare_shared.platform_tables import InboxMessage

log = get_logger(__name__)

Handler = Callable[[AsyncSession, Envelope, Any], Awaitable[None]]
# Receives a run of consecutive, not yet applied events of one type, in offset order.
BatchHandler = Callable[[AsyncSession, list[tuple[Envelope, Any]]], Awaitable[None]]

# Where the runner leaves its context (the service's FastAPI app) on each transaction's session.
APP_KEY = "retailcare.app"

# One statement records a whole batch in the inbox; RETURNING names the ids not seen before.
_INBOX_BATCH = text(
    "INSERT INTO inbox (consumer, event_id, event_type)"
    " SELECT CAST(:consumer AS varchar), t.event_id, t.event_type"
    " FROM unnest(CAST(:ids AS uuid[]), CAST(:types AS varchar[])) AS t(event_id, event_type)"
    " ON CONFLICT DO NOTHING RETURNING event_id"
)


def app_of(session: AsyncSession) -> FastAPI:
    """The app whose consumer runner opened this session (for consumed-event handlers)."""
    app = session.info.get(APP_KEY)
    if not isinstance(app, FastAPI):
        raise RuntimeError("this session was not opened by a consumer runner with a context")
    return app


class ShutdownBeforeDeadLetter(RuntimeError):
    """Shutdown interrupted dead-lettering; the message stays uncommitted for redelivery."""


@dataclass(frozen=True)
class Subscription:
    """What one consumer group of a service listens to and how it applies each event type.

    `batch_handlers` are optional set-based twins of `handlers`: when a batch holds consecutive
    events of a type that has one, they are applied in one call instead of one call each.
    """

    name: str
    topics: list[str]
    handlers: dict[str, Handler] = field(default_factory=dict)
    batch_handlers: dict[str, BatchHandler] = field(default_factory=dict)

    def handles(self, event_type: str) -> bool:
        """Whether this subscription applies events of the type (others are ignored)."""
        return event_type in self.handlers or event_type in self.batch_handlers


class _Decoded(NamedTuple):
    record: ConsumerRecord[Any, Any]
    envelope: Envelope
    payload: Payload


class _Batch(NamedTuple):
    """One partition's consecutive records, decoded and sorted out, not yet applied."""

    records: Sequence[ConsumerRecord[Any, Any]]
    decoded: list[_Decoded]
    unreadable: list[tuple[ConsumerRecord[Any, Any], str]]
    ignored: int


# What applying a partition's batches of one poll gave: the offset to commit (None when no batch
# was applied) and the error that stopped it, if any.
_Outcome = tuple[int | None, Exception | None]


def _debug_enabled() -> bool:
    """Whether debug lines are emitted (the per-event lines are skipped, not built, otherwise)."""
    check = getattr(log.bind(), "is_enabled_for", None)
    return bool(check(logging.DEBUG)) if check is not None else True


class ConsumerRunner:
    """Runs one subscription: each partition's batch applied once, in one transaction.

    A batch that fails as a whole is rolled back and replayed one message per transaction (with
    retries, then the DLQ), so a poison message costs only itself and ordering is kept. A poll
    takes up to `batch_size` records per assigned partition; its partitions are applied
    concurrently while the next poll is fetched and decoded. `context` (the service's app) is
    put on every session for `app_of`.
    """

    def __init__(
        self,
        database: Database,
        subscription: Subscription,
        *,
        service: str,
        consumer_factory: Callable[[list[str], str], AIOKafkaConsumer],
        producer_factory: Callable[[], AIOKafkaProducer],
        max_retries: int = 3,
        retry_backoff_seconds: float = 0.2,
        max_reconnect_seconds: float = 5.0,
        topic_prefix: str = "",
        batch_size: int = 500,
        context: FastAPI | None = None,
        join_warning_seconds: float = 60.0,
    ) -> None:
        self.topics = [topic_prefix + topic for topic in subscription.topics]
        self.database = database
        self.subscription = subscription
        self.service = service
        # The consumer's identity (inbox rows, metrics, logs) is the same in every environment; its
        # Kafka group is namespaced like the topics, so environments sharing a cluster (or tests
        # sharing a broker) never share a group and never rebalance each other.
        self.name = f"{service}.{subscription.name}"
        self.group_id = topic_prefix + self.name
        self.consumer_factory = consumer_factory
        self.producer_factory = producer_factory
        self.max_retries = max_retries
        self.retry_backoff_seconds = retry_backoff_seconds
        self.max_reconnect_seconds = max_reconnect_seconds
        self.batch_size = batch_size
        self.context = context
        self.join_warning_seconds = join_warning_seconds
        self._stopping = asyncio.Event()
        self._dlq_producer = LazyProducer(producer_factory)
        self._dlq_lock = asyncio.Lock()
        self.started = asyncio.Event()

    def stop(self) -> None:
        """Finish the batch in hand, commit, leave the group."""
        self._stopping.set()

    async def run(self) -> None:
        """Consume until stopped; reconnect with backoff while the broker is unavailable."""
        backoff = 0.2
        while not self._stopping.is_set():
            consumer = self.consumer_factory(self.topics, self.group_id)
            membership = _Membership(self, consumer)
            consumer.subscribe(self.topics, listener=membership)
            try:
                if not await self._joined(consumer):
                    break  # stopped while joining the group
                self.started.set()
                backoff = 0.2
                await self._consume(consumer, membership)
            except Exception as error:
                log.warning(
                    "consumer_failed", consumer=self.name, error=repr(error), retry_in=backoff
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=backoff)
                backoff = min(backoff * 2, self.max_reconnect_seconds)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(consumer.stop(), timeout=5)
        await self._dlq_producer.close()

    async def _joined(self, consumer: AIOKafkaConsumer) -> bool:
        """Start the consumer (which waits for a partition assignment) unless stopped first.

        A join that takes longer than `join_warning_seconds` is reported every such interval
        (log `consumer_join_slow`, gauge `consumer_joining`): a group that never settles applies
        nothing, and is otherwise silent. (Tansu 0.6 keeps a departed leader as the leader of a
        group whose members all left mid-rebalance, and then assigns no later member anything;
        Apache Kafka's coordinator elects a new leader. See issue 17's note.)
        """
        joining = CONSUMER_JOINING.labels(self.service, self.name)
        joining.set(1)
        starting = asyncio.ensure_future(consumer.start())
        stopping = asyncio.ensure_future(self._stopping.wait())
        began = time.monotonic()
        try:
            while not (starting.done() or stopping.done()):
                await asyncio.wait(
                    (starting, stopping),
                    timeout=self.join_warning_seconds,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if not (starting.done() or stopping.done()):
                    log.warning(
                        "consumer_join_slow",
                        consumer=self.name,
                        waited_seconds=round(time.monotonic() - began, 1),
                        detail="the group has not assigned this member partitions yet",
                    )
        finally:
            joining.set(0)
            stopping.cancel()
            if not starting.done():
                # A join can wait for the whole group to rebalance: never let it delay a stop.
                starting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await starting
        return not starting.cancelled() and starting.result() is None

    async def _consume(self, consumer: AIOKafkaConsumer, membership: _Membership) -> None:
        # Two polls overlap: while one poll's batches are applied (the database works), the next
        # is fetched and decoded (this process works). A partition's batches are still applied
        # one after another, and its offset moves only after their effects are committed.
        try:
            while not self._stopping.is_set():
                generation = membership.generation
                polled = await consumer.getmany(
                    # With a poll in flight, take only what is already fetched: an empty answer
                    # means there is nothing to overlap, so settle the poll in flight at once.
                    timeout_ms=0 if membership.in_flight is not None else 500,
                    max_records=self.batch_size * max(1, len(consumer.assignment())),
                )
                prepared = self._prepare_poll(polled) if polled else None
                await membership.settle()
                if not prepared:
                    continue
                if await membership.still_assigned(generation, self._stopping):
                    membership.in_flight = asyncio.create_task(self._apply_poll(prepared))
                elif not self._stopping.is_set():  # when stopping, the next owner reads them
                    await membership.fetch_again(polled)
        except BaseException as error:
            # Cancelled: roll back what is in hand (it is redelivered). Failed elsewhere (the
            # broker): let the effects finish and commit their offsets if still possible.
            if isinstance(error, asyncio.CancelledError) and membership.in_flight is not None:
                membership.in_flight.cancel()
            with contextlib.suppress(BaseException):
                await membership.settle()
            raise
        # Stopping: finish the batch in hand and commit it.
        await membership.settle()

    def _prepare_poll(
        self, polled: dict[TopicPartition, list[ConsumerRecord[Any, Any]]]
    ) -> dict[TopicPartition, list[_Batch]]:
        """Decode a poll: each partition's records in batches of at most `batch_size`."""
        size = self.batch_size
        with gc_paused():
            return {
                partition: [
                    self._prepare(records[start : start + size])
                    for start in range(0, len(records), size)
                ]
                for partition, records in polled.items()
            }

    async def _apply_poll(
        self, prepared: dict[TopicPartition, list[_Batch]]
    ) -> dict[TopicPartition, _Outcome]:
        # Partitions are independent (all events of a shop share one), so their batches are
        # applied side by side, each in its own order and transactions: one partition's
        # database round trips overlap another's work.
        partitions = list(prepared)
        outcomes = await asyncio.gather(
            *(self._apply_partition(prepared[partition]) for partition in partitions)
        )
        return dict(zip(partitions, outcomes, strict=True))

    async def _apply_partition(self, batches: list[_Batch]) -> _Outcome:
        position: int | None = None
        for batch in batches:
            try:
                await self._apply(batch)
            except Exception as error:
                # The batches before it stay committed; this one and the rest are redelivered.
                return position, error
            position = batch.records[-1].offset + 1
        return position, None

    async def _settle(
        self, consumer: AIOKafkaConsumer, task: asyncio.Task[dict[TopicPartition, _Outcome]]
    ) -> None:
        """Wait for a poll's effects, then commit the offsets of what was applied."""
        outcomes = await task
        # Offsets move only after every effect of the batch is committed.
        done = {
            partition: position
            for partition, (position, _) in outcomes.items()
            if position is not None
        }
        if done:
            try:
                await consumer.commit(done)
            except (CommitFailedError, IllegalStateError) as lost:
                # The group rebalanced under this commit: the effects are committed, and the
                # partitions' next owner skips their events by the inbox.
                log.warning("consumer_commit_lost_to_rebalance", error=repr(lost))
            else:
                for partition, position in done.items():
                    self._report_lag(consumer, partition, position)
        for _, error in outcomes.values():
            if error is not None:
                raise error

    async def process_batch(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        """Apply one partition's records in one transaction; on failure, one at a time."""
        with gc_paused():
            batch = self._prepare(records)
        await self._apply(batch)

    def _prepare(self, records: Sequence[ConsumerRecord[Any, Any]]) -> _Batch:
        decoded: list[_Decoded] = []
        unreadable: list[tuple[ConsumerRecord[Any, Any], str]] = []
        ignored = 0
        handles = self.subscription.handles
        for record in records:
            try:
                envelope, payload = decode(record.value)
            except UnreadableEvent as error:
                unreadable.append((record, str(error)))
                continue
            if handles(envelope.type):
                decoded.append(_Decoded(record, envelope, payload))
            else:
                ignored += 1
        return _Batch(records, decoded, unreadable, ignored)

    async def _apply(self, batch: _Batch) -> None:
        records, decoded, unreadable, ignored = batch
        if len(decoded) <= 1 and not unreadable:
            # Nothing to gain from the batch path; the single path is the reference behaviour.
            for record in records:
                await self.process(record)
            return
        try:
            applied = await self._apply_batch(decoded) if decoded else []
        except Exception as error:
            if is_database_unavailable(error):
                raise  # not the messages' fault: leave them uncommitted, reconnect, redeliver
            log.warning(
                "batch_failed_retrying_one_by_one",
                consumer=self.name,
                size=len(records),
                error=repr(error),
            )
            for record in records:
                await self.process(record)
            return
        if ignored:
            CONSUMER_MESSAGES.labels(self.service, self.name, "ignored").inc(ignored)
        self._count(decoded, applied)
        # The effects are committed; unreadable messages are dead-lettered in their order.
        for record, reason in unreadable:
            await self._dead_letter(record, reason)

    async def _apply_batch(self, items: list[_Decoded]) -> list[_Decoded]:
        """One transaction: inbox rows for the batch, then the handlers of the new events."""
        async with self.database.transaction() as session:
            self._bind(session)
            # An id repeated inside the batch is recorded (and applied) once: its first copy.
            first: dict[uuid.UUID, str] = {}
            for item in items:
                first.setdefault(item.envelope.id, item.envelope.type)
            new_ids: set[uuid.UUID] = set(
                (
                    await session.execute(
                        _INBOX_BATCH,
                        {
                            "consumer": self.name,
                            "ids": list(first),
                            "types": list(first.values()),
                        },
                    )
                ).scalars()
            )
            fresh: list[_Decoded] = []
            for item in items:
                if item.envelope.id in new_ids:
                    new_ids.discard(item.envelope.id)
                    fresh.append(item)
            for event_type, run in itertools.groupby(fresh, key=lambda i: i.envelope.type):
                await self._apply_run(session, event_type, list(run))
        return fresh

    async def _apply_run(self, session: AsyncSession, event_type: str, run: list[_Decoded]) -> None:
        batch_handler = self.subscription.batch_handlers.get(event_type)
        if batch_handler is not None:
            await batch_handler(session, [(item.envelope, item.payload) for item in run])
            await self._isolate(session)
            return
        handler = self.subscription.handlers[event_type]
        for item in run:
            token = correlation_id_var.set(item.envelope.correlation_id)
            try:
                await handler(session, item.envelope, item.payload)
            finally:
                correlation_id_var.reset(token)
            await self._isolate(session)

    @staticmethod
    async def _isolate(session: AsyncSession) -> None:
        # Handlers were written for a transaction each: flush their ORM writes so the next one
        # sees them (autoflush is off) and drop the identity map so it never reads stale rows.
        await session.flush()
        session.expunge_all()

    def _count(self, decoded: list[_Decoded], applied: list[_Decoded]) -> None:
        CONSUMER_MESSAGES.labels(self.service, self.name, "applied").inc(len(applied))
        duplicates = len(decoded) - len(applied)
        if duplicates:
            CONSUMER_MESSAGES.labels(self.service, self.name, "duplicate").inc(duplicates)
        # One info line per batch (a line per event cost as much as applying it); it names every
        # correlation id, so a request can still be followed into its consumers.
        log.info(
            "events_consumed",
            consumer=self.name,
            applied=len(applied),
            duplicates=duplicates,
            correlation_ids=sorted({i.envelope.correlation_id or "" for i in decoded} - {""}),
        )
        if not _debug_enabled():
            return
        fresh = {id(item) for item in applied}
        for item in decoded:
            log.debug(
                "event_consumed",
                consumer=self.name,
                event_type=item.envelope.type,
                event_id=str(item.envelope.id),
                correlation_id=item.envelope.correlation_id,
                outcome="applied" if id(item) in fresh else "duplicate",
            )

    def _bind(self, session: AsyncSession) -> None:
        if self.context is not None:
            session.info[APP_KEY] = self.context

    async def process(self, record: ConsumerRecord[Any, Any]) -> None:
        """Apply one message once (inbox), retrying on failure and dead-lettering at the end."""
        try:
            envelope, payload = decode(record.value)
        except UnreadableEvent as error:
            await self._dead_letter(record, str(error))
            return
        token = correlation_id_var.set(envelope.correlation_id)
        try:
            handler = self._single_handler(envelope.type)
            if handler is None:
                CONSUMER_MESSAGES.labels(self.service, self.name, "ignored").inc()
                return
            for attempt in range(self.max_retries + 1):
                try:
                    applied = await self._apply_once(handler, envelope, payload)
                    outcome = "applied" if applied else "duplicate"
                    CONSUMER_MESSAGES.labels(self.service, self.name, outcome).inc()
                    log.info(
                        "event_consumed",
                        consumer=self.name,
                        event_type=envelope.type,
                        event_id=str(envelope.id),
                        outcome=outcome,
                    )
                    return
                except Exception as error:
                    if is_database_unavailable(error):
                        # An outage is no reason to dead-letter a good message: the runner
                        # reconnects with backoff and the uncommitted message comes again.
                        raise
                    if attempt >= self.max_retries:
                        log.error(
                            "event_failed",
                            consumer=self.name,
                            event_id=str(envelope.id),
                            error=repr(error),
                        )
                        await self._dead_letter(
                            record, "".join(traceback.format_exception_only(error)).strip()
                        )
                        return
                    await asyncio.sleep(self.retry_backoff_seconds * (2**attempt))
        finally:
            correlation_id_var.reset(token)

    def _single_handler(self, event_type: str) -> Handler | None:
        handler = self.subscription.handlers.get(event_type)
        if handler is not None:
            return handler
        batch_handler = self.subscription.batch_handlers.get(event_type)
        if batch_handler is None:
            return None

        async def apply_alone(session: AsyncSession, envelope: Envelope, payload: Any) -> None:
            await batch_handler(session, [(envelope, payload)])

        return apply_alone

    async def _apply_once(self, handler: Handler, envelope: Envelope, payload: Payload) -> bool:
        async with self.database.transaction() as session:
            self._bind(session)
            inserted = await session.scalar(
                insert(InboxMessage)
                .values(consumer=self.name, event_id=envelope.id, event_type=envelope.type)
                .on_conflict_do_nothing()
                .returning(InboxMessage.event_id)
            )
            if inserted is None:
                return False
            await handler(session, envelope, payload)
            return True

    async def _dead_letter(self, record: ConsumerRecord[Any, Any], error: str) -> None:
        headers = [
            ("error", error[:4000].encode()),
            ("original_topic", record.topic.encode()),
            ("original_partition", str(record.partition).encode()),
            ("original_offset", str(record.offset).encode()),
            ("consumer", self.name.encode()),
        ]
        backoff = 0.2
        # The offset must not move past a message that is in neither the effect nor the DLQ.
        while True:
            try:
                # Partitions dead-letter concurrently; one at a time shares one producer.
                async with self._dlq_lock:
                    producer = await self._dlq_producer.get()
                    await producer.send_and_wait(
                        dlq_topic(record.topic), record.value, key=record.key, headers=headers
                    )
                break
            except Exception as dlq_error:
                if self._stopping.is_set():
                    # Leave the offset uncommitted: the message is redelivered after restart.
                    raise ShutdownBeforeDeadLetter(record.topic, record.offset) from dlq_error
                log.warning("dlq_publish_failed", error=repr(dlq_error), retry_in=backoff)
                await self._dlq_producer.close()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_reconnect_seconds)
        DLQ_MESSAGES.labels(self.service, self.name, record.topic).inc()
        CONSUMER_MESSAGES.labels(self.service, self.name, "dead_lettered").inc()
        log.error(
            "event_dead_lettered",
            consumer=self.name,
            topic=record.topic,
            offset=record.offset,
            error=error[:500],
        )

    def _report_lag(
        self, consumer: AIOKafkaConsumer, partition: TopicPartition, position: int
    ) -> None:
        highwater = consumer.highwater(partition)
        if highwater is not None:
            CONSUMER_LAG.labels(
                self.service, self.name, partition.topic, str(partition.partition)
            ).set(max(0, highwater - position))


class _Membership(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    """The runner's side of group rebalances: what it applied is committed before its partitions
    are revoked, and nothing fetched before a rebalance is applied after it.

    Committing in `on_partitions_revoked` happens before the member rejoins, while the broker
    still accepts its offsets; records fetched under the old assignment are dropped (the new
    owner, possibly this member again, fetches them from the committed offsets).
    """

    def __init__(self, runner: ConsumerRunner, consumer: AIOKafkaConsumer) -> None:
        self.runner = runner
        self.consumer = consumer
        self.in_flight: asyncio.Task[dict[TopicPartition, _Outcome]] | None = None
        self.generation = 0
        self.rebalancing = False
        self._assigned = asyncio.Event()

    async def settle(self) -> None:
        """Wait for the poll in flight (if any) and commit what it applied.

        Whoever takes the task commits it: a rebalance does not wait for a commit already sent
        (the broker holds that one until the rebalance completes, which waits for this member).
        """
        task, self.in_flight = self.in_flight, None
        if task is not None:
            await self.runner._settle(self.consumer, task)

    async def still_assigned(self, generation: int, stopping: asyncio.Event) -> bool:
        """Whether a poll fetched in `generation` may be applied: no rebalance since it began
        (waiting out one in progress, unless stopping)."""
        while self.rebalancing and not stopping.is_set():
            self._assigned.clear()
            waiters = [asyncio.ensure_future(self._assigned.wait())]
            waiters.append(asyncio.ensure_future(stopping.wait()))
            _, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for waiter in pending:
                waiter.cancel()
        return not self.rebalancing and self.generation == generation

    async def fetch_again(
        self, polled: dict[TopicPartition, list[ConsumerRecord[Any, Any]]]
    ) -> None:
        """Drop a poll fetched before a rebalance: partitions still (or again) assigned are read
        again from its first record, or from the committed offset if that is earlier."""
        assigned = self.consumer.assignment()
        for partition, records in polled.items():
            if records and partition in assigned:
                position = await self.consumer.position(partition)
                self.consumer.seek(partition, min(position, records[0].offset))

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Before rejoining: stop taking new polls and commit the one in flight."""
        self.rebalancing = True
        self.generation += 1
        try:
            await self.settle()
        except Exception as error:  # its uncommitted records are redelivered to the new owner
            log.warning("consumer_commit_before_rebalance_failed", error=repr(error))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """The rebalance is over: polls fetched from now on may be applied."""
        self.rebalancing = False
        self._assigned.set()
