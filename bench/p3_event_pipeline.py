"""P3: event pipeline, `order.placed` → valuation aggregates.

Two phases on the real broker and PostgreSQL, with valuation-svc's own consumer runner and
handlers (inbox, ledger, shop-month and key-SKU upserts, one transaction per partition batch,
set-based `order.placed` batch handler):
1. throughput: a backlog of N order.placed events (10 lines each, 2,000 shops) is consumed;
   events/s = N / time until every order is in the aggregates;
2. lag: events are produced at a sustained 1,000 orders/s while the consumer runs; the lag of
   each event is the time from publication to its committed effect; p95 reported.
Floor, same run: an aiokafka consume-only loop reading the same backlog topic (events/s).

BENCH_SCALE (default 1) scales N (20,000 at 1) and the sustained phase (20 s at 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bench.common import Result, create_database, infrastructure, percentile, spread_of
from retailcare_shared.consumer import ConsumerRunner, Subscription
from retailcare_shared.db import Database
from retailcare_shared.events import (
    ORDER_EVENTS,
    Envelope,
    OrderLine,
    OrderPlaced,
    build_envelope,
    encode,
)
from retailcare_shared.kafka import make_consumer, make_producer
from retailcare_shared.logging import configure_logging
from retailcare_shared.memory import freeze_long_lived
from valuation_svc.config import Settings
from valuation_svc.intake.handlers import SUBSCRIPTIONS, on_orders_placed

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
BACKLOG = max(500, int(20_000 * SCALE))
SUSTAINED_SECONDS = max(2.0, 20.0 * SCALE)
RATE = 1_000
SHOPS = [uuid.uuid5(uuid.NAMESPACE_DNS, f"shop-{i}") for i in range(2_000)]
SERVICE_DIR = Path(__file__).resolve().parents[1] / "services" / "valuation-svc"
SECRET = "bench-secret-0123456789-0123456789-abcd"


def order_event(index: int) -> bytes:
    """One encoded order.placed with 10 lines."""
    customer = SHOPS[index % len(SHOPS)]
    lines = [
        OrderLine(
            sku=f"SKU{(index + line) % 40:03d}",
            brand="B",
            quantity=2 + line,
            unit_price=Decimal("230.00"),
            amount=Decimal("230.00") * (2 + line),
            gross_profit=Decimal("18.00") * (2 + line),
            key_brand=line % 2 == 0,
            promoted=line == 0,
        )
        for line in range(10)
    ]
    envelope = build_envelope(
        OrderPlaced(
            order_id=uuid.uuid4(),
            order_no=f"N{index}",
            customer_id=customer,
            order_date=date(2026, 6, 1 + index % 28),
            settlement="e_settlement" if index % 3 else "cash",
            total_amount=sum((item.amount for item in lines), Decimal(0)),
            total_quantity=sum(item.quantity for item in lines),
            lines=lines,
        ),
        source="customer-svc",
        subject=str(customer),
    )
    return encode(envelope)


def shop_key(index: int) -> bytes:
    """The message key of order `index`: its shop (spec: key = customer id)."""
    return str(SHOPS[index % len(SHOPS)]).encode()


async def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    """Publish values as fast as the broker takes them (key = shop)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        futures = [
            await producer.send(topic, value, key=shop_key(index))
            for index, value in enumerate(values)
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def consume_only(bootstrap: str, topic: str, expected: int) -> float:
    """The floor: seconds for a plain aiokafka group consumer to read `expected` messages."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"floor-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=500,
    )
    await consumer.start()
    try:
        seen = 0
        started = time.perf_counter()
        while seen < expected:
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            for partition, records in batches.items():
                seen += len(records)
                await consumer.commit({partition: records[-1].offset + 1})
        return time.perf_counter() - started
    finally:
        await consumer.stop()


def runner(database: Database, settings: Settings, subscription: Subscription) -> ConsumerRunner:
    """valuation-svc's consumer runner for the order subscription."""
    return ConsumerRunner(
        database,
        subscription,
        service="valuation-svc",
        consumer_factory=lambda topics, group: make_consumer(
            settings, topics=topics, group_id=group, client_id="bench-p3"
        ),
        producer_factory=partial(make_producer, settings, client_id="bench-p3"),
        topic_prefix=settings.kafka_topic_prefix,
    )


async def count_orders(database: Database) -> int:
    """Orders in the aggregates' ledger."""
    async with database.transaction() as session:
        return int(await session.scalar(text("SELECT count(*) FROM shop_orders")) or 0)


async def throughput_round(database: Database, bootstrap: str, url: str) -> tuple[float, float]:
    """(events/s of the valuation consumer, events/s of the consume-only floor) on one backlog."""
    prefix = f"p3{uuid.uuid4().hex[:8]}."
    async with database.transaction() as session:
        await session.execute(
            text("TRUNCATE shop_orders, shop_months, shop_period_skus, shop_periods, inbox")
        )
    await produce(bootstrap, prefix + ORDER_EVENTS, [order_event(i) for i in range(BACKLOG)])
    floor_seconds = await consume_only(bootstrap, prefix + ORDER_EVENTS, BACKLOG)
    settings = Settings(
        database_url=url,
        kafka_bootstrap_servers=bootstrap,
        auth_jwt_secret=SECRET,
        kafka_topic_prefix=prefix,
    )
    subscription = next(item for item in SUBSCRIPTIONS if item.name == "orders")
    consumer = runner(database, settings, subscription)
    task = asyncio.create_task(consumer.run())
    await consumer.started.wait()
    started = time.perf_counter()
    while True:
        if await count_orders(database) >= BACKLOG:
            break
        await asyncio.sleep(0.05)
    seconds = time.perf_counter() - started
    consumer.stop()
    await task
    return BACKLOG / seconds, BACKLOG / floor_seconds


async def lag_round(database: Database, bootstrap: str, url: str) -> list[float]:
    """Lags (s) of events produced at a sustained 1,000/s."""
    prefix = f"p3lag{uuid.uuid4().hex[:8]}."
    lags: list[float] = []
    all_applied = asyncio.Event()
    total = int(RATE * SUSTAINED_SECONDS)

    async def timed_placed(session: AsyncSession, events: list[tuple[Envelope, Any]]) -> None:
        await on_orders_placed(session, events)
        # Committed right after the handler returns; close enough for a p95 in seconds.
        now = datetime.now(UTC)
        lags.extend((now - envelope.time).total_seconds() for envelope, _ in events)
        if len(lags) >= total:
            all_applied.set()

    settings = Settings(
        database_url=url,
        kafka_bootstrap_servers=bootstrap,
        auth_jwt_secret=SECRET,
        kafka_topic_prefix=prefix,
    )
    subscription = Subscription(
        name="orders", topics=[ORDER_EVENTS], batch_handlers={"order.placed": timed_placed}
    )
    # Create the topic first so the consumer group is assigned before the load starts.
    await produce(bootstrap, prefix + ORDER_EVENTS, [order_event(0)])
    consumer = runner(database, settings, subscription)
    task = asyncio.create_task(consumer.run())
    await consumer.started.wait()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=2)
    await producer.start()
    try:
        began = time.perf_counter()
        for index in range(total):
            # Envelope time is set at build: build each event when it is due.
            due = began + index / RATE
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await producer.send(prefix + ORDER_EVENTS, order_event(index), key=shop_key(index))
        await producer.flush()
    finally:
        await producer.stop()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(all_applied.wait(), timeout=120)
    consumer.stop()
    await task
    return lags


async def run_benchmark(server_url: str, bootstrap: str) -> None:
    """Throughput rounds with their floor, then the sustained-rate lag."""
    url = await create_database(server_url, "bench_p3_valuation", SERVICE_DIR)
    database = Database(url, pool_size=4)
    try:
        await throughput_round(database, bootstrap, url)  # warm-up
        rounds = [await throughput_round(database, bootstrap, url) for _ in range(3)]
        lags = await lag_round(database, bootstrap, url)
    finally:
        await database.dispose()
    rates = [rate for rate, _ in rounds]
    floors = [floor for _, floor in rounds]
    median = statistics.median(rates)
    floor = statistics.median(floors)
    lag_p95 = percentile(lags, 0.95) if lags else float("inf")
    Result(
        id="P3",
        scenario="order.placed -> valuation aggregates",
        metric="consumer events/s",
        unit="events/s",
        median=median,
        spread=spread_of(rates),
        rounds=len(rates),
        target=">= 5,000 ev/s, lag p95 <= 2 s",
        floor_metric="aiokafka consume-only loop, same topic",
        floor_median=floor,
        ratio=median / floor,
        ratio_target="(reported)",
        met=median >= 5_000 and lag_p95 <= 2.0,
        extra={
            "backlog_events": BACKLOG,
            "lag_p95_s": round(lag_p95, 3),
            "lag_events": len(lags),
            "sustained_rate": RATE,
            "sustained_seconds": SUSTAINED_SECONDS,
        },
    ).dump()


def main() -> None:
    """Entry point: `python -m bench.p3_event_pipeline`."""
    # Log as the service does (JSON, INFO), so logging costs what it costs in production.
    configure_logging("valuation-svc", "INFO", json=True)
    # As a served process does once started (memory.freeze_long_lived): what lives as long as
    # the process is not walked by each full collection.
    freeze_long_lived()
    with infrastructure() as infra:
        asyncio.run(run_benchmark(infra.postgres_server_url, infra.kafka_bootstrap))


if __name__ == "__main__":
    main()
