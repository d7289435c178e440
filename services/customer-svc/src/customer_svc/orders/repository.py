"""Every query of the order domain; a batch is written in one statement (orders, lines, events)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from customer_svc.customers.models import Customer
from customer_svc.orders.models import Order, OrderLine
from retailcare_shared.db import session_driver
from retailcare_shared.platform_tables import OUTBOX_CHANNEL

# Orders, their lines and their `order.placed` outbox rows in ONE statement: lines and events are
# written only for the orders the INSERT actually created (ON CONFLICT skips stored order numbers),
# so a re-sent order creates nothing, and the whole batch costs one round trip.
WRITE_ORDERS = f"""
WITH new_orders AS (
    INSERT INTO orders (id, order_no, customer_id, order_date, settlement, total_amount,
                        total_quantity, line_count, status, created_by)
    SELECT o.id, o.order_no, o.customer_id, o.order_date, o.settlement, o.total_amount,
           o.total_quantity, o.line_count, 'placed', $9::text
    FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::date[], $5::text[], $6::numeric[],
                $7::int[], $8::int[])
         AS o(id, order_no, customer_id, order_date, settlement, total_amount, total_quantity,
              line_count)
    ON CONFLICT (order_no) DO NOTHING
    RETURNING id, order_no
), new_lines AS (
    INSERT INTO order_lines (order_id, line_no, sku, brand, quantity, unit_price, amount,
                             gross_profit, key_brand, promoted)
    SELECT l.order_id, l.line_no, l.sku, l.brand, l.quantity, l.unit_price, l.amount,
           l.gross_profit, l.key_brand, l.promoted
    FROM unnest($10::uuid[], $11::int[], $12::text[], $13::text[], $14::int[], $15::numeric[],
                $16::numeric[], $17::numeric[], $18::bool[], $19::bool[])
         AS l(order_id, line_no, sku, brand, quantity, unit_price, amount, gross_profit,
              key_brand, promoted)
    JOIN new_orders n ON n.id = l.order_id
), new_events AS (
    INSERT INTO outbox (event_id, topic, key, event_type, value)
    SELECT e.event_id, $23::text, e.key, 'order.placed', e.value
    FROM unnest($20::uuid[], $21::uuid[], $22::text[], $24::bytea[])
         AS e(order_id, event_id, key, value)
    JOIN new_orders n ON n.id = e.order_id
), notified AS (
    SELECT pg_notify('{OUTBOX_CHANNEL}', '') AS done
)
SELECT n.order_no FROM new_orders n CROSS JOIN notified
"""


async def shops_for(
    session: AsyncSession, customer_ids: list[uuid.UUID], license_nos: list[str]
) -> list[Any]:
    """(id, license_no, status, county, manager_id) of the shops an order batch names."""
    if not customer_ids and not license_nos:
        return []
    statement = select(
        Customer.id, Customer.license_no, Customer.status, Customer.county, Customer.manager_id
    ).where(or_(Customer.id.in_(customer_ids), Customer.license_no.in_(license_nos)))
    return list((await session.execute(statement)).all())


async def write_orders(session: AsyncSession, arrays: list[Any]) -> set[str]:
    """Insert orders, lines and events in one statement; the order numbers actually created."""
    driver = await session_driver(session)
    rows = await driver.fetch(WRITE_ORDERS, *arrays)
    return {row["order_no"] for row in rows}


async def ids_of(session: AsyncSession, order_nos: list[str]) -> dict[str, uuid.UUID]:
    """order_no → id of stored orders."""
    if not order_nos:
        return {}
    rows = await session.execute(
        select(Order.order_no, Order.id).where(Order.order_no.in_(order_nos))
    )
    return {row.order_no: row.id for row in rows}


async def get(session: AsyncSession, order_id: uuid.UUID, *, lock: bool = False) -> Order | None:
    """An order by id."""
    statement = select(Order).where(Order.id == order_id)
    if lock:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def lines_of(session: AsyncSession, order_id: uuid.UUID) -> list[OrderLine]:
    """An order's lines in order."""
    rows = await session.scalars(
        select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.line_no)
    )
    return list(rows)


def for_customer(customer_id: uuid.UUID, start: date | None, end: date | None) -> Select[Any]:
    """A shop's orders between two dates (inclusive), paging applied by the caller."""
    statement = select(Order).where(Order.customer_id == customer_id)
    if start is not None:
        statement = statement.where(Order.order_date >= start)
    if end is not None:
        statement = statement.where(Order.order_date <= end)
    return statement
