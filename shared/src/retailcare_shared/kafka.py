"""Kafka client construction from settings (created at start-up, never at import)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from retailcare_shared.settings import PlatformSettings


def make_producer(
    settings: PlatformSettings, *, client_id: str, transactional: bool = False
) -> AIOKafkaProducer:
    """A producer; idempotence and transactions only where the broker supports them."""
    transactional_id = f"{client_id}-{socket.gethostname()}" if transactional else None
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=settings.kafka_enable_idempotence or transactional,
        transactional_id=transactional_id,
        linger_ms=5,
        request_timeout_ms=10_000,
        retry_backoff_ms=200,
    )


def make_consumer(
    settings: PlatformSettings, *, topics: list[str], group_id: str, client_id: str
) -> AIOKafkaConsumer:
    """A consumer in a group that commits offsets itself, after the effect is committed."""
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed" if settings.kafka_transactions else "read_uncommitted",
        max_poll_records=500,
        request_timeout_ms=20_000,
        session_timeout_ms=10_000,
        heartbeat_interval_ms=1_000,
        metadata_max_age_ms=5_000,
    )


class LazyProducer:
    """A producer started on first use and dropped after a failure, so the next use reconnects."""

    def __init__(self, factory: Callable[[], AIOKafkaProducer]) -> None:
        self.factory = factory
        self._producer: AIOKafkaProducer | None = None

    async def get(self) -> AIOKafkaProducer:
        """The started producer (starting it now if needed)."""
        if self._producer is None:
            producer = self.factory()
            try:
                await producer.start()
            except Exception:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def close(self) -> None:
        """Stop the producer, if any, without raising (the broker may be gone)."""
        if self._producer is not None:
            producer, self._producer = self._producer, None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), timeout=5)
