"""What an order adds to its shop's aggregates (pure: no I/O, no session)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from retailcare_shared.events import OrderPlaced
from valuation_svc.valuation.periods import month_start


def line_totals(order: OrderPlaced) -> tuple[int, Decimal, int, dict[str, int]]:
    """(cartons, gross profit, promoted cartons, key-brand cartons by SKU), one pass over lines."""
    cartons = promoted = 0
    gross_profit = Decimal(0)
    key_cartons: dict[str, int] = {}
    for line in order.lines:
        quantity = line.quantity
        cartons += quantity
        gross_profit += line.gross_profit
        if line.promoted:
            promoted += quantity
        if line.key_brand:
            # A key-brand SKU on several lines counts once, with their cartons summed.
            key_cartons[line.sku] = key_cartons.get(line.sku, 0) + quantity
    return cartons, gross_profit, promoted, key_cartons


def order_figures(order: OrderPlaced) -> dict[str, Any]:
    """What an order adds to its shop-month."""
    cartons, gross_profit, promoted, key_cartons = line_totals(order)
    return {
        "order_id": order.order_id,
        "customer_id": order.customer_id,
        "order_date": order.order_date,
        "month": month_start(order.order_date),
        "cartons": cartons,
        "amount": order.total_amount,
        "gross_profit": gross_profit,
        "e_settled": order.settlement == "e_settlement",
        "promoted_cartons": promoted,
        "key_skus": list(key_cartons),
        "key_cartons": list(key_cartons.values()),
    }


def pg_array(values: Iterable[object]) -> str:
    """A PostgreSQL array literal of the values, every element quoted (`CAST(... AS type[])`).

    Quoting each element keeps any text intact: commas, braces, blanks and the word NULL are
    data inside double quotes; only a quote or a backslash needs escaping.
    """
    texts = [str(value) for value in values]
    if not texts:
        return "{}"
    body = '","'.join(texts)
    if '"' in body or "\\" in body:
        body = '","'.join(text.replace("\\", "\\\\").replace('"', '\\"') for text in texts)
    return '{"' + body + '"}'


@dataclass
class OrderColumns:
    """A run of orders as one list per ledger column (a statement's `unnest` arrays)."""

    order_ids: list[uuid.UUID] = field(default_factory=list)
    customer_ids: list[uuid.UUID] = field(default_factory=list)
    order_dates: list[date] = field(default_factory=list)
    months: list[date] = field(default_factory=list)
    cartons: list[int] = field(default_factory=list)
    amounts: list[Decimal] = field(default_factory=list)
    gross_profits: list[Decimal] = field(default_factory=list)
    e_settled: list[bool] = field(default_factory=list)
    promoted_cartons: list[int] = field(default_factory=list)
    # Per order, its key-brand SKUs and their cartons as array literals (the arrays differ in
    # length from order to order, which one multi-dimensional array cannot hold).
    key_skus: list[str] = field(default_factory=list)
    key_cartons: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.order_ids)

    def parameters(self) -> dict[str, list[Any]]:
        """The columns as statement parameters, named as the fields."""
        return dict(vars(self))


def order_columns(orders: Iterable[OrderPlaced]) -> OrderColumns:
    """The ledger rows of a run of orders; a repeated order counts once, as its first copy."""
    columns = OrderColumns()
    seen: set[uuid.UUID] = set()
    for order in orders:
        if order.order_id in seen:
            continue
        seen.add(order.order_id)
        cartons, gross_profit, promoted, key_cartons = line_totals(order)
        columns.order_ids.append(order.order_id)
        columns.customer_ids.append(order.customer_id)
        columns.order_dates.append(order.order_date)
        columns.months.append(month_start(order.order_date))
        columns.cartons.append(cartons)
        columns.amounts.append(order.total_amount)
        columns.gross_profits.append(gross_profit)
        columns.e_settled.append(order.settlement == "e_settlement")
        columns.promoted_cartons.append(promoted)
        columns.key_skus.append(pg_array(key_cartons))
        columns.key_cartons.append(pg_array(key_cartons.values()))
    return columns
