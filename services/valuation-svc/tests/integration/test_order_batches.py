"""order.placed applied a run at a time gives the same aggregates as one order at a time."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from retailcare_shared.db import Database
from retailcare_shared.events import (
    Envelope,
    OrderCancelled,
    OrderLine,
    OrderPlaced,
    build_envelope,
)
from retailcare_shared.testing import DatabaseFactory, fresh_database
from valuation_svc.intake.handlers import on_order_cancelled, on_order_placed, on_orders_placed
from valuation_svc.main import definition

SHOPS = [uuid.uuid4() for _ in range(3)]
AGGREGATES = {
    "shop_months": "customer_id, month",
    "shop_period_skus": "customer_id, period, sku",
    "shop_periods": "customer_id, period",
    "shop_orders": "order_id",
}


def placed(
    shop: uuid.UUID, day: date, *, settlement: str = "e_settlement", seed: int = 0
) -> OrderPlaced:
    """order.placed with a mix of key-brand, promoted and plain lines."""
    lines = [
        OrderLine(
            sku=f"SKU{(seed + n) % 5}",
            brand="B",
            quantity=1 + seed + n,
            unit_price=Decimal("210.50"),
            amount=Decimal("210.50") * (1 + seed + n),
            gross_profit=Decimal("17.25") * (1 + seed + n),
            key_brand=n != 2,
            promoted=n == 0,
        )
        for n in range(4)
    ]
    return OrderPlaced(
        order_id=uuid.uuid4(),
        order_no=f"N{seed}",
        customer_id=shop,
        order_date=day,
        settlement=settlement,  # type: ignore[arg-type]
        total_amount=sum((line.amount for line in lines), Decimal(0)),
        total_quantity=sum(line.quantity for line in lines),
        lines=lines,
    )


def envelope_of(payload: OrderPlaced | OrderCancelled) -> Envelope:
    return build_envelope(payload, source="customer-svc", subject=str(payload.customer_id))


@pytest.fixture
async def databases(database_factory: DatabaseFactory) -> AsyncIterator[tuple[Database, Database]]:
    async with (
        fresh_database(database_factory, definition.service_dir) as single_url,
        fresh_database(database_factory, definition.service_dir) as batch_url,
    ):
        single, batch = Database(single_url), Database(batch_url)
        try:
            yield single, batch
        finally:
            await single.dispose()
            await batch.dispose()


async def aggregates(database: Database) -> dict[str, list[dict[str, Any]]]:
    """Every row of the order-fed tables, in key order."""
    async with database.transaction() as session:
        return {
            table: [
                dict(row)
                for row in (
                    await session.execute(text(f"SELECT * FROM {table} ORDER BY {key}"))
                ).mappings()
            ]
            for table, key in AGGREGATES.items()
        }


async def test_a_run_of_orders_gives_the_same_aggregates_as_one_order_at_a_time(
    databases: tuple[Database, Database],
) -> None:
    single, batch = databases
    seen_before = placed(SHOPS[0], date(2026, 6, 3), seed=1)
    cancelled_first = placed(SHOPS[1], date(2026, 6, 4), seed=2)
    cancellation = OrderCancelled(
        order_id=cancelled_first.order_id, order_no="N2", customer_id=SHOPS[1]
    )
    # Both databases start from the same history: one order already counted, one tombstone.
    for database in databases:
        async with database.transaction() as session:
            await on_order_placed(session, envelope_of(seen_before), seen_before)
            await on_order_cancelled(session, envelope_of(cancellation), cancellation)

    repeated = placed(SHOPS[2], date(2026, 6, 30), seed=3)
    run = [
        placed(SHOPS[0], date(2026, 6, 5), seed=4),
        seen_before,  # already in the ledger: adds nothing
        repeated,
        placed(SHOPS[0], date(2026, 6, 1), settlement="cash", seed=5),
        cancelled_first,  # its cancellation came first: never counted
        placed(SHOPS[1], date(2026, 7, 2), seed=6),  # the second half-year
        repeated,  # the same order twice in one run: counted once
        placed(SHOPS[2], date(2026, 6, 12), settlement="cash", seed=7),
    ]
    events = [(envelope_of(order), order) for order in run]
    for envelope, order in events:
        async with single.transaction() as session:
            await on_order_placed(session, envelope, order)
    async with batch.transaction() as session:
        await on_orders_placed(session, events)

    expected = await aggregates(single)
    assert await aggregates(batch) == expected
    # Not vacuous: six distinct counted orders in three shop-months, the tombstone uncounted.
    assert len(expected["shop_months"]) == 3
    assert sum(row["orders"] for row in expected["shop_months"]) == 6
    assert {row["period"] for row in expected["shop_periods"]} == {"2026H1", "2026H2"}


async def test_key_skus_of_any_spelling_reach_the_ledger_intact_through_the_batch_path(
    databases: tuple[Database, Database],
) -> None:
    single, batch = databases
    # The batch path carries each order's SKUs as an array literal: every character that has a
    # meaning in one must come out as data.
    spellings = ["A,B", "{C}", "NULL", " D ", 'say "hi"', "back\\slash", ""]
    lines = [
        OrderLine(
            sku=sku,
            brand="B",
            quantity=n + 1,
            unit_price=Decimal("1.00"),
            amount=Decimal("1.00") * (n + 1),
            gross_profit=Decimal("0.10") * (n + 1),
            key_brand=True,
        )
        for n, sku in enumerate([*spellings, "A,B"])  # "A,B" twice: one SKU, cartons summed
    ]
    order = OrderPlaced(
        order_id=uuid.uuid4(),
        order_no="N9",
        customer_id=SHOPS[0],
        order_date=date(2026, 3, 9),
        settlement="cash",
        total_amount=sum((line.amount for line in lines), Decimal(0)),
        total_quantity=sum(line.quantity for line in lines),
        lines=lines,
    )
    async with single.transaction() as session:
        await on_order_placed(session, envelope_of(order), order)
    async with batch.transaction() as session:
        await on_orders_placed(session, [(envelope_of(order), order)])

    expected = await aggregates(single)
    assert await aggregates(batch) == expected
    (ledger,) = expected["shop_orders"]
    assert ledger["key_skus"] == spellings
    assert ledger["key_cartons"] == [1 + 8, 2, 3, 4, 5, 6, 7]
    assert [row["key_skus"] for row in expected["shop_periods"]] == [len(spellings)]
