"""Upserts of the event-fed aggregates (each statement keyed so a replay changes nothing)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from valuation_svc.intake.figures import OrderColumns
from valuation_svc.intake.models import Complaint, Shop, Violation

SNAPSHOT_FIELDS = (
    "county",
    "district",
    "market_type",
    "manager_id",
    "status",
    "licensed_on",
    "self_operated",
    "order_method",
    "trading_area",
    "business_format",
    "business_hours",
    "display_form",
    "renown",
    "reputation",
    "compliance_grade",
    "price_labeling",
    "display_sku_count",
)


async def upsert_shop(session: AsyncSession, values: dict[str, Any]) -> None:
    """Insert or overwrite a shop snapshot."""
    statement = insert(Shop).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Shop.customer_id],
            set_={name: statement.excluded[name] for name in (*SNAPSHOT_FIELDS, "updated_at")},
        )
    )


async def update_shop(session: AsyncSession, customer_id: uuid.UUID, **values: Any) -> None:
    """Change some attributes of a known shop (unknown shops are ignored)."""
    assignments = ", ".join(f"{name} = :{name}" for name in values)
    await session.execute(
        text(f"UPDATE shops SET {assignments}, updated_at = now() WHERE customer_id = :id"),
        {**values, "id": customer_id},
    )


async def add_violation(
    session: AsyncSession, violation_id: uuid.UUID, customer_id: uuid.UUID, kind: str, day: date
) -> None:
    """Record a violation once."""
    await session.execute(
        insert(Violation)
        .values(violation_id=violation_id, customer_id=customer_id, kind=kind, occurred_on=day)
        .on_conflict_do_nothing()
    )


async def add_complaint(
    session: AsyncSession,
    complaint_id: uuid.UUID,
    customer_id: uuid.UUID | None,
    complainant_type: str,
    filed_on: date,
    reopened_from: uuid.UUID | None = None,
) -> None:
    """Record a complaint once (open); a shop-less one waits for complaint.customer_attached."""
    await session.execute(
        insert(Complaint)
        .values(
            complaint_id=complaint_id,
            customer_id=customer_id,
            complainant_type=complainant_type,
            filed_on=filed_on,
            open=True,
            reopened_from=reopened_from,
        )
        .on_conflict_do_nothing()
    )


async def attach_complaint(
    session: AsyncSession, complaint_id: uuid.UUID, customer_id: uuid.UUID
) -> None:
    """Name the shop of a complaint recorded without one (a replay changes nothing)."""
    await session.execute(
        text(
            "UPDATE complaints SET customer_id = :customer"
            " WHERE complaint_id = :id AND customer_id IS NULL"
        ),
        {"customer": customer_id, "id": complaint_id},
    )


async def set_complaint_open(session: AsyncSession, complaint_id: uuid.UUID, is_open: bool) -> None:
    """Mark a known complaint open or closed."""
    await session.execute(
        text("UPDATE complaints SET open = :open WHERE complaint_id = :id"),
        {"open": is_open, "id": complaint_id},
    )


async def add_order(session: AsyncSession, order: dict[str, Any]) -> bool:
    """Add an order to the ledger once; False when it is already known (or was cancelled first)."""
    inserted = await session.execute(
        text(
            "INSERT INTO shop_orders (order_id, customer_id, order_date, month, cartons, amount,"
            " gross_profit, e_settled, promoted_cartons, key_skus, key_cartons)"
            " VALUES (:order_id, :customer_id, :order_date, :month, :cartons, :amount,"
            " :gross_profit, :e_settled, :promoted_cartons, :key_skus, :key_cartons)"
            " ON CONFLICT (order_id) DO NOTHING RETURNING order_id"
        ),
        order,
    )
    return inserted.first() is not None


def half_year(month: date) -> str:
    """The key-SKU period of a month ("2026H1")."""
    return f"{month.year}H{1 if month.month <= 6 else 2}"


# How a shop-month row absorbs figures added to it (one order or a batch's sums).
_ADD_TO_MONTH = (
    " ON CONFLICT (customer_id, month) DO UPDATE SET"
    " cartons = m.cartons + EXCLUDED.cartons, amount = m.amount + EXCLUDED.amount,"
    " gross_profit = m.gross_profit + EXCLUDED.gross_profit,"
    " orders = m.orders + EXCLUDED.orders, e_orders = m.e_orders + EXCLUDED.e_orders,"
    " e_amount = m.e_amount + EXCLUDED.e_amount,"
    " promoted_cartons = m.promoted_cartons + EXCLUDED.promoted_cartons,"
    " last_order_date = GREATEST(m.last_order_date, EXCLUDED.last_order_date)"
)


async def apply_to_month(session: AsyncSession, order: dict[str, Any], sign: int) -> None:
    """Add (sign 1) or subtract (sign -1) an order's figures to its shop-month and SKU rows."""
    params = {
        "customer_id": order["customer_id"],
        "month": order["month"],
        "cartons": sign * int(order["cartons"]),
        "amount": sign * Decimal(order["amount"]),
        "gross_profit": sign * Decimal(order["gross_profit"]),
        "orders": sign,
        "e_orders": sign if order["e_settled"] else 0,
        "e_amount": sign * Decimal(order["amount"]) if order["e_settled"] else Decimal(0),
        "promoted": sign * int(order["promoted_cartons"]),
        "order_date": order["order_date"] if sign > 0 else None,
    }
    await session.execute(
        text(
            "INSERT INTO shop_months AS m (customer_id, month, cartons, amount, gross_profit,"
            " orders, e_orders, e_amount, promoted_cartons, last_order_date)"
            " VALUES (:customer_id, :month, :cartons, :amount, :gross_profit, :orders, :e_orders,"
            " :e_amount, :promoted, :order_date)" + _ADD_TO_MONTH
        ),
        params,
    )
    if order["key_skus"]:
        period = half_year(order["month"])
        keys = {"customer_id": order["customer_id"], "period": period}
        await session.execute(
            text(
                "INSERT INTO shop_period_skus AS s (customer_id, period, sku, cartons)"
                " SELECT CAST(:customer_id AS uuid), CAST(:period AS varchar), sku, :sign * cartons"
                " FROM unnest(CAST(:skus AS varchar[]), CAST(:cartons AS bigint[]))"
                " AS t(sku, cartons)"
                " ON CONFLICT (customer_id, period, sku) DO UPDATE SET"
                " cartons = s.cartons + EXCLUDED.cartons"
            ),
            {
                **keys,
                "sign": sign,
                "skus": list(order["key_skus"]),
                "cartons": [int(value) for value in order["key_cartons"]],
            },
        )
        await session.execute(
            text(
                "INSERT INTO shop_periods AS p (customer_id, period, key_skus)"
                " SELECT CAST(:customer_id AS uuid), CAST(:period AS varchar), count(*)"
                " FROM shop_period_skus"
                " WHERE customer_id = :customer_id AND period = :period AND cartons > 0"
                " ON CONFLICT (customer_id, period) DO UPDATE SET key_skus = EXCLUDED.key_skus"
            ),
            keys,
        )
    if sign < 0:
        # The month's last order date may have been the cancelled order's.
        await session.execute(
            text(
                "UPDATE shop_months SET last_order_date = (SELECT max(order_date) FROM shop_orders"
                " WHERE customer_id = :customer_id AND month = :month AND NOT cancelled)"
                " WHERE customer_id = :customer_id AND month = :month"
            ),
            {"customer_id": order["customer_id"], "month": order["month"]},
        )


async def cancel_order(
    session: AsyncSession, order_id: uuid.UUID, customer_id: uuid.UUID | None
) -> dict[str, Any] | None:
    """Mark an order cancelled once and return its figures; a cancellation that arrives before
    its order leaves a tombstone so the late order is never counted."""
    row = (
        (
            await session.execute(
                text(
                    "UPDATE shop_orders SET cancelled = true WHERE order_id = :id AND NOT cancelled"
                    " RETURNING customer_id, month, order_date, cartons, amount, gross_profit,"
                    " e_settled, promoted_cartons, key_skus, key_cartons"
                ),
                {"id": order_id},
            )
        )
        .mappings()
        .first()
    )
    if row is not None:
        return dict(row)
    if customer_id is not None:
        await session.execute(
            text(
                "INSERT INTO shop_orders (order_id, customer_id, cancelled) VALUES (:id, :c, true)"
                " ON CONFLICT (order_id) DO NOTHING"
            ),
            {"id": order_id, "c": customer_id},
        )
    return None


# A run of orders in one statement: the ledger insert skips known orders (and tombstones), and
# only the rows it inserted feed the shop-month and SKU upserts, summed per key and taken in key
# order so concurrent batches lock rows in the same order. The rows come as one array per
# column (binary parameters, no JSON to build or parse), so the statement and its prepared plan
# are the same whatever the run's size. The half-year expression is `half_year` in SQL.
_ADD_ORDERS = text(
    "WITH new AS ("
    " INSERT INTO shop_orders (order_id, customer_id, order_date, month, cartons, amount,"
    " gross_profit, e_settled, promoted_cartons, key_skus, key_cartons)"
    " SELECT r.order_id, r.customer_id, r.order_date, r.month, r.cartons, r.amount,"
    " r.gross_profit, r.e_settled, r.promoted_cartons, CAST(r.key_skus AS varchar[]),"
    " CAST(r.key_cartons AS bigint[])"
    " FROM unnest(CAST(:order_ids AS uuid[]), CAST(:customer_ids AS uuid[]),"
    " CAST(:order_dates AS date[]), CAST(:months AS date[]), CAST(:cartons AS bigint[]),"
    " CAST(:amounts AS numeric[]), CAST(:gross_profits AS numeric[]),"
    " CAST(:e_settled AS boolean[]), CAST(:promoted_cartons AS bigint[]),"
    " CAST(:key_skus AS text[]), CAST(:key_cartons AS text[]))"
    " AS r(order_id, customer_id, order_date, month, cartons, amount, gross_profit, e_settled,"
    " promoted_cartons, key_skus, key_cartons)"
    " ON CONFLICT (order_id) DO NOTHING"
    " RETURNING customer_id, order_date, month, cartons, amount, gross_profit, e_settled,"
    " promoted_cartons, key_skus, key_cartons"
    "), months AS ("
    " INSERT INTO shop_months AS m (customer_id, month, cartons, amount, gross_profit, orders,"
    " e_orders, e_amount, promoted_cartons, last_order_date)"
    " SELECT customer_id, month, sum(cartons), sum(amount), sum(gross_profit), count(*),"
    " count(*) FILTER (WHERE e_settled), coalesce(sum(amount) FILTER (WHERE e_settled), 0),"
    " sum(promoted_cartons), max(order_date)"
    " FROM new GROUP BY customer_id, month ORDER BY customer_id, month"
    + _ADD_TO_MONTH
    + "), skus AS ("
    " INSERT INTO shop_period_skus AS s (customer_id, period, sku, cartons)"
    " SELECT new.customer_id, to_char(new.month, 'YYYY')"
    " || CASE WHEN extract(month FROM new.month) <= 6 THEN 'H1' ELSE 'H2' END, k.sku,"
    " sum(k.cartons)"
    " FROM new, unnest(new.key_skus, new.key_cartons) AS k(sku, cartons)"
    " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    " ON CONFLICT (customer_id, period, sku) DO UPDATE SET"
    " cartons = s.cartons + EXCLUDED.cartons"
    " RETURNING customer_id, period"
    ")"
    " SELECT DISTINCT customer_id, period FROM skus ORDER BY customer_id, period"
)

# Statements of one command see the same snapshot, so the key-SKU counts are taken afterwards.
# One index probe per touched (shop, period): a join here was planned as a scan and sort of the
# whole SKU table for every batch.
_COUNT_KEY_SKUS = text(
    "INSERT INTO shop_periods AS p (customer_id, period, key_skus)"
    " SELECT t.customer_id, t.period, (SELECT count(*) FROM shop_period_skus AS s"
    " WHERE s.customer_id = t.customer_id AND s.period = t.period AND s.cartons > 0)"
    " FROM unnest(CAST(:customer_ids AS uuid[]), CAST(:periods AS varchar[]))"
    " AS t(customer_id, period)"
    " ORDER BY t.customer_id, t.period"
    " ON CONFLICT (customer_id, period) DO UPDATE SET key_skus = EXCLUDED.key_skus"
)


async def add_orders(session: AsyncSession, orders: OrderColumns) -> None:
    """Add a run of orders to the ledger and their figures to the aggregates, in bulk.

    Gives the same rows as `add_order` then `apply_to_month(order, 1)` for each in turn.
    """
    if not len(orders):
        return
    periods = (await session.execute(_ADD_ORDERS, orders.parameters())).all()
    if periods:
        await session.execute(
            _COUNT_KEY_SKUS,
            {
                "customer_ids": [row.customer_id for row in periods],
                "periods": [row.period for row in periods],
            },
        )
