"""R3: valuation-svc SIGKILLed while consuming orders, then restarted: nothing lost or doubled."""

from __future__ import annotations

import signal
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from retailcare_shared.events import Envelope, OrderLine, OrderPlaced, build_envelope
from retailcare_shared.testing import (
    DatabaseFactory,
    ServiceProcess,
    TestBus,
    eventually,
    fresh_database,
)
from valuation_svc.main import definition

ORDERS = 2_000
SHOPS = 60
GROUP = "valuation-svc.orders"


def order(shop: uuid.UUID, number: int) -> Envelope:
    """order.placed with two lines whose figures depend on the order number."""
    cartons = 1 + number % 7
    price = Decimal("250.00")
    lines = [
        OrderLine(
            sku=f"SKU{number % 5:03d}",
            brand="B",
            quantity=cartons,
            unit_price=price,
            amount=price * cartons,
            gross_profit=Decimal("20.00") * cartons,
            key_brand=True,
            promoted=number % 2 == 0,
        ),
        OrderLine(
            sku="SKU999",
            brand="C",
            quantity=1,
            unit_price=price,
            amount=price,
            gross_profit=Decimal("5.00"),
            key_brand=False,
            promoted=False,
        ),
    ]
    return build_envelope(
        OrderPlaced(
            order_id=uuid.uuid4(),
            order_no=f"N{number}",
            customer_id=shop,
            order_date=date(2026, 1 + number % 6, 1 + number % 28),
            settlement="e_settlement" if number % 3 else "cash",
            total_amount=sum((line.amount for line in lines), Decimal(0)),
            total_quantity=sum(line.quantity for line in lines),
            lines=lines,
        ),
        source="customer-svc",
        subject=str(shop),
    )


def plain_url(database_url: str) -> str:
    """The asyncpg (non-SQLAlchemy) form of a database URL."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


async def test_a_consumer_killed_mid_batch_and_restarted_counts_every_order_exactly_once(
    database_factory: DatabaseFactory, bus: TestBus, tmp_path: Path
) -> None:
    """SIGKILL after some batches, restart: shop-month totals equal the orders' totals."""
    shops = [uuid.uuid4() for _ in range(SHOPS)]
    orders = [order(shops[n % SHOPS], n) for n in range(ORDERS)]
    payloads: list[Any] = [envelope.payload() for envelope in orders]
    expected = (
        ORDERS,
        sum(sum(line.quantity for line in p.lines) for p in payloads),
        sum(p.total_amount for p in payloads),
        sum(sum(line.gross_profit for line in p.lines) for p in payloads),
    )
    applied_sql = "SELECT count(*) FROM inbox WHERE consumer = $1"
    totals_sql = "SELECT sum(orders), sum(cartons), sum(amount), sum(gross_profit) FROM shop_months"

    async with fresh_database(database_factory, definition.service_dir) as database_url:
        database = await asyncpg.connect(plain_url(database_url))

        def service(name: str) -> ServiceProcess:
            return ServiceProcess(
                "valuation_svc",
                "VALUATION_SVC_",
                database_url=database_url,
                kafka_bootstrap=bus.bootstrap,
                topic_prefix=bus.prefix,
                log_path=tmp_path / f"{name}.log",
                # Small batches: the stream spans many transactions, so the kill lands mid-way
                # (at the default size one poll can take and apply all of it at once).
                consumer_batch_size=50,
            )

        first, second = service("first"), service("second")
        try:
            await first.start()
            await bus.publish_all(orders)

            async def some_applied() -> bool:
                return bool(await database.fetchval(applied_sql, GROUP) > 0)

            await eventually(some_applied, timeout=180, interval=0.05)
            first.send_signal(signal.SIGKILL)
            await first.wait(timeout=30)
            applied_before_kill = await database.fetchval(applied_sql, GROUP)
            assert 0 < applied_before_kill < ORDERS, "the kill must land mid-stream"

            await second.start()

            async def all_applied() -> bool:
                return bool(await database.fetchval(applied_sql, GROUP) == ORDERS)

            await eventually(all_applied, timeout=240, interval=0.5)
            totals = tuple(await database.fetchrow(totals_sql))
            ledger = await database.fetchval("SELECT count(*) FROM shop_orders")
        finally:
            first.kill()
            second.kill()
            await database.close()

    assert ledger == ORDERS
    assert totals == expected
