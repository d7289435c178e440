"""A consumer whose group never assigns it partitions says so, instead of waiting silently.

The broker is replaced by a consumer whose join never completes (what a group that does not
settle looks like from the member): the watchdog is this module's own logic, not the bus's.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from structlog.testing import capture_logs

from retailcare_shared.consumer import ConsumerRunner, Subscription
from retailcare_shared.db import Database
from retailcare_shared.metrics import CONSUMER_JOINING


class NeverAssigned:
    """A group member whose join waits for ever (until stopped)."""

    def __init__(self) -> None:
        self.stopped = False

    def subscribe(self, topics: list[str], listener: Any) -> None:
        self.topics = topics

    async def start(self) -> None:
        await asyncio.Event().wait()

    async def stop(self) -> None:
        self.stopped = True


async def test_a_join_that_does_not_finish_is_reported_until_it_is_stopped() -> None:
    member = NeverAssigned()
    database = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")  # never connected
    runner = ConsumerRunner(
        database,
        Subscription(name="widgets", topics=["widget-events"]),
        service="widget-svc",
        consumer_factory=lambda topics, group: cast(AIOKafkaConsumer, member),
        producer_factory=lambda: cast(AIOKafkaProducer, None),
        join_warning_seconds=0.05,
    )
    gauge = CONSUMER_JOINING.labels("widget-svc", "widget-svc.widgets")
    with capture_logs() as logs:
        running = asyncio.create_task(runner.run())
        await asyncio.sleep(0.18)
        joining_while_waiting = gauge._value.get()
        runner.stop()
        await asyncio.wait_for(running, timeout=5)
    await database.dispose()

    slow = [entry for entry in logs if entry["event"] == "consumer_join_slow"]
    assert len(slow) >= 2  # reported every interval, not once
    assert slow[0]["consumer"] == "widget-svc.widgets"
    assert slow[-1]["waited_seconds"] > slow[0]["waited_seconds"]
    assert joining_while_waiting == 1 and gauge._value.get() == 0
    assert member.stopped and not runner.started.is_set()
