"""What orders add to the aggregates, and the array literals that carry them (pure)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from retailcare_shared.events import OrderLine, OrderPlaced
from valuation_svc.intake.figures import line_totals, order_columns, order_figures, pg_array


def line(sku: str, quantity: int, *, key: bool, promoted: bool = False) -> OrderLine:
    return OrderLine(
        sku=sku,
        brand="B",
        quantity=quantity,
        unit_price=Decimal("100.00"),
        amount=Decimal("100.00") * quantity,
        gross_profit=Decimal("8.25") * quantity,
        key_brand=key,
        promoted=promoted,
    )


def order(day: date, lines: list[OrderLine], *, settlement: str = "cash") -> OrderPlaced:
    return OrderPlaced(
        order_id=uuid.uuid4(),
        order_no="N1",
        customer_id=uuid.uuid4(),
        order_date=day,
        settlement=settlement,  # type: ignore[arg-type]
        total_amount=sum((item.amount for item in lines), Decimal(0)),
        total_quantity=sum(item.quantity for item in lines),
        lines=lines,
    )


def test_line_totals_sum_every_line_and_merge_a_key_sku_over_its_lines() -> None:
    placed = order(
        date(2026, 2, 3),
        [
            line("K1", 3, key=True, promoted=True),
            line("X", 4, key=False, promoted=True),
            line("K2", 1, key=True),
            line("K1", 2, key=True),
        ],
    )
    cartons, gross_profit, promoted, key_cartons = line_totals(placed)
    assert (cartons, promoted) == (10, 7)
    assert gross_profit == Decimal("82.50")
    assert key_cartons == {"K1": 5, "K2": 1}  # first-seen order kept


def test_an_order_without_key_lines_has_empty_key_arrays() -> None:
    figures = order_figures(order(date(2026, 8, 31), [line("X", 2, key=False)]))
    assert figures["month"] == date(2026, 8, 1) and figures["e_settled"] is False
    assert (figures["key_skus"], figures["key_cartons"]) == ([], [])


def test_pg_array_quotes_every_element_and_escapes_only_quote_and_backslash() -> None:
    assert pg_array([]) == "{}"
    assert pg_array(["SKU1", "SKU2"]) == '{"SKU1","SKU2"}'
    assert pg_array([5, 12]) == '{"5","12"}'
    assert pg_array(["a,b", "{c}", "NULL", " d ", ""]) == '{"a,b","{c}","NULL"," d ",""}'
    assert pg_array(['say "hi"', "back\\slash"]) == '{"say \\"hi\\"","back\\\\slash"}'


def test_order_columns_keep_the_first_copy_of_a_repeated_order_in_run_order() -> None:
    first = order(
        date(2026, 6, 30), [line("K1", 2, key=True), line("K2", 3, key=True, promoted=True)]
    )
    second = order(date(2026, 7, 1), [line("X", 1, key=False)], settlement="e_settlement")
    columns = order_columns([first, second, first])

    assert len(columns) == 2
    assert columns.order_ids == [first.order_id, second.order_id]
    assert columns.customer_ids == [first.customer_id, second.customer_id]
    assert columns.months == [date(2026, 6, 1), date(2026, 7, 1)]
    assert columns.cartons == [5, 1] and columns.promoted_cartons == [3, 0]
    assert columns.amounts == [Decimal("500.00"), Decimal("100.00")]
    assert columns.gross_profits == [Decimal("41.25"), Decimal("8.25")]
    assert columns.e_settled == [False, True]
    assert columns.key_skus == ['{"K1","K2"}', "{}"]
    assert columns.key_cartons == ['{"2","3"}', "{}"]
    assert set(columns.parameters()) == {
        "order_ids",
        "customer_ids",
        "order_dates",
        "months",
        "cartons",
        "amounts",
        "gross_profits",
        "e_settled",
        "promoted_cartons",
        "key_skus",
        "key_cartons",
    }
