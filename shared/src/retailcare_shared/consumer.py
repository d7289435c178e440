"""Consumer runner: group membership, inbox de-duplication, offset commit after the effect, DLQ."""

from __future__ import annotations

import asyncio
import contextlib
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from retailcare_shared.db import Database
from retailcare_shared.events import Envelope, Payload, UnreadableEvent, decode, dlq_topic
from retailcare_shared.kafka import LazyProducer
from retailcare_shared.logging import correlation_id_var, get_logger
from retailcare_shared.metrics import CONSUMER_LAG, CONSUMER_MESSAGES, DLQ_MESSAGES
from retailcare_shared.platform_tables import InboxMessage

log = get_logger(__name__)

Handler = Callable[[AsyncSession, Envelope, Any], Awaitable[None]]


class ShutdownBeforeDeadLetter(RuntimeError):
    """Shutdown interrupted dead-lettering; the message stays uncommitted for redelivery."""


@dataclass(frozen=True)
class Subscription:
    """What one consumer group of a service listens to and how it applies each event type."""

    name: str
    topics: list[str]
    handlers: dict[str, Handler] = field(default_factory=dict)


class ConsumerRunner:
    """Runs one subscription: each message applied once, in its own transaction."""

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
        self._stopping = asyncio.Event()
        self._dlq_producer = LazyProducer(producer_factory)
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
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            for partition, records in batches.items():
                for record in records:
                    await self.process(record)
                # Offsets move only after every effect of the batch is committed.
                await consumer.commit({partition: records[-1].offset + 1})
                self._report_lag(consumer, partition, records[-1].offset + 1)

    async def process(self, record: ConsumerRecord[Any, Any]) -> None:
        """Apply one message once (inbox), retrying on failure and dead-lettering at the end."""
        try:
            envelope, payload = decode(record.value)
        except UnreadableEvent as error:
            await self._dead_letter(record, str(error))
            return
        token = correlation_id_var.set(envelope.correlation_id)
        try:
            handler = self.subscription.handlers.get(envelope.type)
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

    async def _apply_once(self, handler: Handler, envelope: Envelope, payload: Payload) -> bool:
        async with self.database.transaction() as session:
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
