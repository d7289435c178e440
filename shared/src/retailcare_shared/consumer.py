"""Consumer runner: group membership, inbox de-duplication, offset commit after the effect, DLQ."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import traceback
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from retailcare_shared.db import Database, is_database_unavailable
from retailcare_shared.events import Envelope, Payload, UnreadableEvent, decode, dlq_topic
from retailcare_shared.kafka import LazyProducer
from retailcare_shared.logging import correlation_id_var, get_logger
from retailcare_shared.metrics import CONSUMER_LAG, CONSUMER_MESSAGES, DLQ_MESSAGES
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


class ConsumerRunner:
    """Runs one subscription: each partition's batch applied once, in one transaction.

    A batch that fails as a whole is rolled back and replayed one message per transaction (with
    retries, then the DLQ), so a poison message costs only itself and ordering is kept. The
    partitions of one poll are applied concurrently; `context` (the service's app) is put on
    every session for `app_of`.
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
    ) -> None:
        self.topics = [topic_prefix + topic for topic in subscription.topics]
        self.database = database
        self.subscription = subscription
        self.service = service
        self.group_id = f"{service}.{subscription.name}"
        self.consumer_factory = consumer_factory
        self.producer_factory = producer_factory
        self.max_retries = max_retries
        self.retry_backoff_seconds = retry_backoff_seconds
        self.max_reconnect_seconds = max_reconnect_seconds
        self.batch_size = batch_size
        self.context = context
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
            try:
                await consumer.start()
                self.started.set()
                backoff = 0.2
                await self._consume(consumer)
            except Exception as error:
                log.warning(
                    "consumer_failed", consumer=self.group_id, error=repr(error), retry_in=backoff
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=backoff)
                backoff = min(backoff * 2, self.max_reconnect_seconds)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(consumer.stop(), timeout=5)
        await self._dlq_producer.close()

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        while not self._stopping.is_set():
            batches = await consumer.getmany(timeout_ms=500, max_records=self.batch_size)
            if not batches:
                continue
            partitions = list(batches)
            # Partitions are independent (all events of a shop share one), so their batches are
            # applied side by side, each in its own order and transactions: one partition's
            # database round trips overlap another's decoding.
            outcomes = await asyncio.gather(
                *(self.process_batch(batches[partition]) for partition in partitions),
                return_exceptions=True,
            )
            # Offsets move only after every effect of the batch is committed.
            done = {
                partition: batches[partition][-1].offset + 1
                for partition, outcome in zip(partitions, outcomes, strict=True)
                if outcome is None
            }
            if done:
                await consumer.commit(done)
                for partition, position in done.items():
                    self._report_lag(consumer, partition, position)
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome

    async def process_batch(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        """Apply one partition's records in one transaction; on failure, one at a time."""
        decoded: list[_Decoded] = []
        unreadable: list[tuple[ConsumerRecord[Any, Any], str]] = []
        ignored = 0
        for record in records:
            try:
                envelope, payload = decode(record.value)
            except UnreadableEvent as error:
                unreadable.append((record, str(error)))
                continue
            if self.subscription.handles(envelope.type):
                decoded.append(_Decoded(record, envelope, payload))
            else:
                ignored += 1
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
                consumer=self.group_id,
                size=len(records),
                error=repr(error),
            )
            for record in records:
                await self.process(record)
            return
        if ignored:
            CONSUMER_MESSAGES.labels(self.service, self.group_id, "ignored").inc(ignored)
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
                            "consumer": self.group_id,
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
        fresh = {id(item) for item in applied}
        CONSUMER_MESSAGES.labels(self.service, self.group_id, "applied").inc(len(applied))
        duplicates = len(decoded) - len(applied)
        if duplicates:
            CONSUMER_MESSAGES.labels(self.service, self.group_id, "duplicate").inc(duplicates)
        # One info line per batch (a line per event cost as much as applying it); it names every
        # correlation id, so a request can still be followed into its consumers.
        log.info(
            "events_consumed",
            consumer=self.group_id,
            applied=len(applied),
            duplicates=duplicates,
            correlation_ids=sorted({i.envelope.correlation_id or "" for i in decoded} - {""}),
        )
        for item in decoded:
            log.debug(
                "event_consumed",
                consumer=self.group_id,
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
                CONSUMER_MESSAGES.labels(self.service, self.group_id, "ignored").inc()
                return
            for attempt in range(self.max_retries + 1):
                try:
                    applied = await self._apply_once(handler, envelope, payload)
                    outcome = "applied" if applied else "duplicate"
                    CONSUMER_MESSAGES.labels(self.service, self.group_id, outcome).inc()
                    log.info(
                        "event_consumed",
                        consumer=self.group_id,
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
                            consumer=self.group_id,
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
                .values(consumer=self.group_id, event_id=envelope.id, event_type=envelope.type)
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
            ("consumer", self.group_id.encode()),
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
        DLQ_MESSAGES.labels(self.service, self.group_id, record.topic).inc()
        CONSUMER_MESSAGES.labels(self.service, self.group_id, "dead_lettered").inc()
        log.error(
            "event_dead_lettered",
            consumer=self.group_id,
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
                self.service, self.group_id, partition.topic, str(partition.partition)
            ).set(max(0, highwater - position))
