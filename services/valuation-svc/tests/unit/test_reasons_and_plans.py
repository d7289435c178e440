"""Reasons and service-plan rules."""

from datetime import date

import pytest

from valuation_svc.plans import rules
from valuation_svc.valuation.classify import FLAG_NO_RECENT_ORDER, FLAG_VIOLATION
from valuation_svc.valuation.model_rules import default_model
from valuation_svc.valuation.reasons import classification_reasons

THRESHOLDS = default_model()["thresholds"]


def test_reason_for_a_credit_demotion_reads_like_the_spec() -> None:
    reasons = classification_reasons(
        rank=3,
        group_size=120,
        rank_class="A",
        value_class="B",
        credit=16.0,
        flags=0,
        thresholds=THRESHOLDS,
        excluded=[],
    )
    assert reasons == ["rank 3 of 120 (2.5%) qualifies for A; credit 16.0 < 17 → B"]


def test_reasons_for_a_double_demotion_problem_rules_and_exclusions() -> None:
    reasons = classification_reasons(
        rank=1,
        group_size=40,
        rank_class="A",
        value_class="problem",
        credit=14.0,
        flags=FLAG_VIOLATION | FLAG_NO_RECENT_ORDER,
        thresholds=THRESHOLDS,
        excluded=["sales_growth"],
        quadrant="value",
    )
    assert reasons[0] == (
        "rank 1 of 40 (2.5%) qualifies for A; credit 14.0 < 17 → C (credit 14.0 < 15 for B)"
    )
    assert any("violation" in reason for reason in reasons)
    assert any("no order in the 30 days" in reason for reason in reasons)
    assert "quadrant value" in reasons
    assert any(reason.startswith("sales_growth excluded") for reason in reasons)


@pytest.mark.parametrize(
    ("value_class", "hours", "visits"),
    [("A", 12, 4), ("B", 24, 3), ("C", 48, 2), ("D", 48, 1), ("problem", 48, 2)],
)
def test_delivery_promise_and_visits(value_class: str, hours: int, visits: int) -> None:
    assert rules.DELIVERY_HOURS[value_class] == hours
    assert rules.VISITS_PER_MONTH[value_class] == visits


def test_problem_customers_are_visited_for_inspection() -> None:
    assert rules.visit_purpose("problem") == "inspection"
    assert rules.visit_purpose("A") == "service"


def test_sales_anomaly_is_more_than_30_percent_from_the_3_month_average() -> None:
    assert rules.sales_anomaly(130, [100, 100, 100]) == (False, pytest.approx(0.30))
    assert rules.sales_anomaly(131, [100, 100, 100])[0]
    assert rules.sales_anomaly(69, [100, 100, 100])[0]
    assert rules.sales_anomaly(70, [100, 100, 100])[0] is False
    assert rules.sales_anomaly(50, [0, 0, 0]) == (False, None)


def facts(**changes: object) -> rules.PlanFacts:
    base: dict[str, object] = {
        "value_class": "C",
        "quadrant": "low_value",
        "licensed_on": date(2020, 1, 1),
        "order_method": "phone",
        "orders_last_month": 4,
        "sales_anomaly": False,
        "open_complaints": 0,
        "today": date(2026, 11, 23),
    }
    base.update(changes)
    return rules.PlanFacts(**base)  # type: ignore[arg-type]


def names(plan_facts: rules.PlanFacts) -> list[str]:
    return [item.name for item in rules.service_items(plan_facts)]


def test_service_items_each_with_its_reason() -> None:
    assert names(facts()) == []
    assert names(facts(licensed_on=date(2026, 9, 1))) == ["assisted_ordering"]
    assert names(facts(licensed_on=date(2026, 8, 23))) == []
    assert names(facts(order_method="app", orders_last_month=2)) == ["assisted_ordering"]
    assert names(facts(order_method="web", orders_last_month=3)) == []
    assert names(facts(quadrant="potential")) == ["business_guidance"]
    assert names(facts(sales_anomaly=True)) == ["business_guidance"]
    assert names(facts(open_complaints=2)) == ["issue_handling"]
    assert names(facts(value_class="A")) == ["relationship_care"]
    reasons = {item.name: item.reason for item in rules.service_items(facts(value_class="A"))}
    assert reasons == {"relationship_care": "class A customer"}


def test_workload_against_the_seeds_minimums() -> None:
    status = rules.workload_status("assisted_ordering", 13.0, 40)
    assert status["meets_minimum"] is True
    assert rules.workload_status("business_guidance", 12.5, 30)["meets_minimum"] is False
    assert rules.workload_status("relationship_care", 4.0, 35)["meets_minimum"] is False
    assert rules.workload_status("issue_handling", 3.0, 6)["meets_minimum"] is None
    assert rules.last_complete_month(date(2026, 11, 23)) == date(2026, 10, 1)


def test_order_figures_sum_lines_and_collect_key_brand_skus() -> None:
    import uuid
    from decimal import Decimal

    from retailcare_shared.events import OrderLine, OrderPlaced
    from valuation_svc.intake.handlers import order_figures

    def line(sku: str, quantity: int, *, key: bool, promoted: bool) -> OrderLine:
        return OrderLine(
            sku=sku,
            brand="B",
            quantity=quantity,
            unit_price=Decimal("100.00"),
            amount=Decimal("100.00") * quantity,
            gross_profit=Decimal("8.00") * quantity,
            key_brand=key,
            promoted=promoted,
        )

    placed = OrderPlaced(
        order_id=uuid.uuid4(),
        order_no="N1",
        customer_id=uuid.uuid4(),
        order_date=date(2026, 5, 17),
        settlement="e_settlement",
        total_amount=Decimal("1000.00"),
        total_quantity=10,
        lines=[
            line("K1", 3, key=True, promoted=True),
            line("K1", 2, key=True, promoted=False),
            line("X9", 5, key=False, promoted=False),
        ],
    )
    figures = order_figures(placed)
    assert figures["month"] == date(2026, 5, 1)
    assert figures["cartons"] == 10 and figures["promoted_cartons"] == 3
    assert figures["gross_profit"] == Decimal("80.00")
    assert figures["amount"] == Decimal("1000.00") and figures["e_settled"] is True
    assert (figures["key_skus"], figures["key_cartons"]) == (["K1"], [5])


def test_result_vectors_pack_and_unpack_with_nan_for_excluded() -> None:
    import math

    import numpy as np

    from valuation_svc.valuation.engine import pack, pack_rows, unpack

    values = unpack(pack([1.5, float("nan"), 100.0]))
    assert values[0] == 1.5 and math.isnan(values[1]) and values[2] == 100.0
    rows = pack_rows(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert [unpack(row) for row in rows] == [[1.0, 2.0], [3.0, 4.0]]
