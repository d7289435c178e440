"""Outbox relay: publishes unsent outbox rows in order, marks them sent, survives broker outages."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select, text, update

from retailcare_shared.db import Database
from retailcare_shared.kafka import LazyProducer
from retailcare_shared.logging import get_logger
from retailcare_shared.metrics import OUTBOX_BACKLOG, OUTBOX_PUBLISHED
from retailcare_shared.platform_tables import OUTBOX_CHANNEL, OutboxMessage

log = get_logger(__name__)

# One relay publishes at a time (per database), so events of one shop keep their order even
# when several replicas run; SKIP LOCKED additionally guarantees no row is taken twice.
RELAY_LOCK_KEY = 0x0B0C_5E1A


class OutboxRelay:
    """Background task publishing the outbox of one service's database.

    Transactions of its own process that write outbox rows wake it right after their commit;
    rows written by other replicas are found by polling every `poll_seconds` (an indexed select
    on the small unsent-rows index), or at once when a bulk writer calls `outbox.notify_relays`.
    """

    def __init__(
        self,
        database: Database,
        producer_factory: Callable[[], AIOKafkaProducer],
        *,
        service: str,
        batch_size: int = 500,
        poll_seconds: float = 0.5,
        max_backoff_seconds: float = 5.0,
        transactional: bool = False,
        topic_prefix: str = "",
    ) -> None:
        self.database = database
        self.topic_prefix = topic_prefix
        self.producer_factory = producer_factory
        self.service = service
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.transactional = transactional
        self._producer = LazyProducer(producer_factory)
        self._wake = asyncio.Event()
        database.on_outbox_commit(self._wake.set)
        self.idle = False  # True while waiting for a wake-up or the next poll
        self._stopping = asyncio.Event()
        self._listener: asyncpg.Connection | None = None

    @property
    def listening(self) -> bool:
        """True while the relay is subscribed to new-row notifications (see notify_relays)."""
        return self._listener is not None and not self._listener.is_closed()

    def stop(self) -> None:
        """Ask the relay to finish the batch in hand and exit."""
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Publish until stopped, backing off while the broker or database is unavailable."""
        backoff = 0.2
        try:
            while not self._stopping.is_set():
                await self._ensure_listener()
                try:
                    published = await self.publish_batch()
                    backoff = 0.2
                except Exception as error:  # broker or database down: keep rows, retry later
                    log.warning("outbox_publish_failed", error=repr(error), retry_in=backoff)
                    await self._producer.close()
                    await self._pause(backoff)
                    backoff = min(backoff * 2, self.max_backoff_seconds)
                    continue
                if published < self.batch_size:
                    await self._sleep(self.poll_seconds)
        finally:
            await self._producer.close()
            await self._close_listener()

    async def publish_batch(self) -> int:
        """Publish one batch of unsent rows in id order and mark them sent; return the count."""
        async with self.database.transaction() as session:
            leader = await session.scalar(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": RELAY_LOCK_KEY}
            )
            if not leader:
                return 0
            rows = (
                await session.execute(
                    select(
                        OutboxMessage.id,
                        OutboxMessage.topic,
                        OutboxMessage.key,
                        OutboxMessage.value,
                    )
                    .where(OutboxMessage.sent_at.is_(None))
                    .order_by(OutboxMessage.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            producer = await self._producer.get()
            await self._send_all(producer, rows)
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([row.id for row in rows]))
                .values(sent_at=func.now())
            )
        OUTBOX_PUBLISHED.labels(self.service).inc(len(rows))
        return len(rows)

    async def backlog(self) -> int:
        """Number of unsent rows (also exported as a gauge)."""
        async with self.database.transaction() as session:
            count = int(
                await session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.sent_at.is_(None))
                )
                or 0
            )
        OUTBOX_BACKLOG.labels(self.service).set(count)
        return count

    async def _send_all(self, producer: AIOKafkaProducer, rows: Sequence[Any]) -> None:
        if self.transactional:
            async with producer.transaction():
                await self._send_ordered(producer, rows)
        else:
            await self._send_ordered(producer, rows)

    async def _send_ordered(self, producer: AIOKafkaProducer, rows: Sequence[Any]) -> None:
        # send() enqueues in call order per partition; waiting on all futures afterwards keeps
        # the order while letting the producer batch.
        deliveries = [
            await producer.send(self.topic_prefix + row.topic, row.value, key=row.key.encode())
            for row in rows
        ]
        await asyncio.gather(*deliveries)

    async def _ensure_listener(self) -> None:
        if self.listening:
            return
        url = self.database.engine.url.set(drivername="postgresql")
        try:
            connection = await asyncpg.connect(url.render_as_string(hide_password=False), timeout=5)
            await connection.add_listener(OUTBOX_CHANNEL, self._on_notify)
            self._listener = connection
        except Exception as error:  # polling still delivers; LISTEN only makes it prompt
            log.debug("outbox_listen_unavailable", error=repr(error))
            self._listener = None

    async def _close_listener(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close(timeout=2)
            self._listener = None

    async def _pause(self, seconds: float) -> None:
        # A backoff is not cut short by new rows (that would hammer a broker that is down).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _sleep(self, seconds: float) -> None:
        self.idle = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        self.idle = False
        self._wake.clear()
