"""Pure order rules: amounts computed by the service, totals, and what makes an order invalid."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
MAX_LINES = 200


@dataclass(frozen=True)
class Problem:
    """One reason an order is rejected: the field and the rule it breaks."""

    field: str
    rule: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """The `{field, rule, message}` form used in problems and batch results."""
        return {"field": self.field, "rule": self.rule, "message": self.message}


def line_amount(quantity: int, unit_price: Decimal) -> Decimal:
    """amount = quantity x unit price (yuan per carton), to the cent."""
    return (unit_price * quantity).quantize(CENT, rounding=ROUND_HALF_UP)


def totals(lines: Sequence[tuple[int, Decimal]]) -> tuple[Decimal, int]:
    """(total amount, total quantity) of (quantity, amount) pairs."""
    amount = sum((line_amount_ for _, line_amount_ in lines), Decimal("0.00"))
    quantity = sum(quantity for quantity, _ in lines)
    return amount.quantize(CENT), quantity


def cents_problem(field: str, value: Decimal) -> Problem | None:
    """Money has at most two decimals ("230.50"; "230.5" and "230.500" are fine too)."""
    if value.quantize(CENT) == value:
        return None
    return Problem(field, "decimal_places", "at most 2 decimal places")


def money(value: Decimal) -> str:
    """The wire form of an amount: a decimal string with two decimals."""
    return f"{value:.2f}"


def order_date_problem(order_date: date, today: date) -> Problem | None:
    """An order date may not be after tomorrow (the platform's clock may run ahead by a day)."""
    if order_date > today + timedelta(days=1):
        return Problem("order_date", "not_after_tomorrow", "the order date is after tomorrow")
    return None


def shop_problem(
    field: str, found: bool, status: str | None, visible: bool = True
) -> Problem | None:
    """The shop must exist (and be visible to the caller) and must not have exited."""
    if not found or not visible:
        return Problem(field, "not_found", "no such customer")
    if status == "exited":
        return Problem(field, "customer_exited", "the customer has left the network")
    return None
