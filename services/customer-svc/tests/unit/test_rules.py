"""The pure rules, read like the spec's tables."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from customer_svc.customers import rules
from customer_svc.managers.workload import average, share
from customer_svc.orders.pricing import (
    cents_problem,
    line_amount,
    money,
    order_date_problem,
    shop_problem,
    totals,
)
from customer_svc.orders.schemas import OrderIn
from customer_svc.orders.service import placed_data
from customer_svc.visits.rules import duration_problem, is_perfunctory, minutes_between
from retailcare_shared.events import OrderPlaced


@pytest.mark.parametrize(
    ("current", "requested", "allowed"),
    [
        ("active", "suspended", True),
        ("active", "exited", True),
        ("suspended", "active", True),
        ("suspended", "exited", True),
        ("exited", "active", False),
        ("exited", "suspended", False),
        ("active", "active", False),
    ],
)
def test_status_transitions(current: str, requested: str, allowed: bool) -> None:
    assert (rules.status_violation(current, requested) is None) is allowed


def test_manager_may_not_set_assignment_or_grade_but_supervisor_may() -> None:
    assert rules.forbidden_field({"customer_manager"}, {"name", "manager_id"}) == "manager_id"
    assert rules.forbidden_field({"customer_manager"}, {"compliance_grade"}) == "compliance_grade"
    assert rules.forbidden_field({"customer_manager"}, {"name", "phones"}) is None
    assert rules.forbidden_field({"supervisor"}, {"manager_id", "compliance_grade"}) is None
    assert rules.forbidden_field({"admin"}, {"license_no"}) is None


def test_manager_may_not_set_the_credit_inputs_even_when_registering() -> None:
    for registering in (False, True):
        for field in ("price_labeling", "compliance_grade"):
            assert (
                rules.forbidden_field({"customer_manager"}, {field}, registering=registering)
                == field
            )
    assert rules.forbidden_field({"supervisor"}, {"price_labeling"}) is None


def test_birthday_and_hobbies_need_consent() -> None:
    violation = rules.consent_violation(False, {"birthday": date(1980, 1, 1)})
    assert violation is not None and violation.field == "birthday"
    assert rules.consent_violation(False, {"owner_name": "Zhang", "phones": ["1"]}) is None
    assert rules.consent_violation(True, {"hobbies": "chess"}) is None
    withdrawn = rules.withdraw_consent(
        {"personal_data_consent": False, "birthday": "1980-01-01", "hobbies": "chess", "name": "x"}
    )
    assert (withdrawn["birthday"], withdrawn["hobbies"], withdrawn["name"]) == (None, None, "x")


def test_changes_record_old_and_new_values() -> None:
    old = {"name": "A", "scale": "small", "phones": ["1"]}
    new = {"name": "B", "scale": "small", "phones": ["1", "2"]}
    assert rules.changes_between(old, new) == {
        "name": {"old": "A", "new": "B"},
        "phones": {"old": ["1"], "new": ["1", "2"]},
    }


def test_erasure_blanks_personal_fields_only() -> None:
    snapshot = {
        "name": "Shop",
        "owner_name": "Zhang",
        "phones": ["13812345678"],
        "birthday": "1980-01-01",
        "hobbies": "chess",
        "personal_data_consent": True,
    }
    erased = rules.erase_snapshot(snapshot)
    assert erased == {
        "name": "Shop",
        "owner_name": None,
        "phones": [],
        "birthday": None,
        "hobbies": None,
        "personal_data_consent": False,
    }
    changes = rules.erase_changes(
        {"owner_name": {"old": "Zhang", "new": "Li"}, "name": {"old": "A", "new": "B"}}
    )
    assert changes["owner_name"] == {"old": None, "new": None, "erased": True}
    assert changes["name"] == {"old": "A", "new": "B"}


def test_masking() -> None:
    masked = rules.mask_personal(
        {"owner_name": "Zhang", "phones": ["13812345678"], "birthday": "1980-01-01", "name": "S"}
    )
    assert masked == {
        "owner_name": "Z****",
        "phones": ["138****5678"],
        "birthday": None,
        "name": "S",
    }
    history = rules.mask_changes({"phones": {"old": None, "new": ["13812345678"]}})
    assert history["phones"]["new"] == ["138****5678"]


def test_amounts_are_computed_to_the_cent() -> None:
    assert line_amount(3, Decimal("230.50")) == Decimal("691.50")
    assert line_amount(7, Decimal("0.15")) == Decimal("1.05")
    assert totals([(3, Decimal("691.50")), (2, Decimal("900.20"))]) == (Decimal("1591.70"), 5)


def test_order_date_and_shop_rules() -> None:
    today = date(2026, 11, 23)
    assert order_date_problem(date(2026, 11, 24), today) is None
    problem = order_date_problem(date(2026, 11, 25), today)
    assert problem is not None and problem.rule == "not_after_tomorrow"
    assert shop_problem("customer_id", False, None) is not None
    exited = shop_problem("license_no", True, "exited")
    assert exited is not None and (exited.field, exited.rule) == ("license_no", "customer_exited")
    assert shop_problem("customer_id", True, "suspended") is None


@pytest.mark.parametrize(
    ("minutes", "findings", "requests", "follow_ups", "perfunctory"),
    [
        (2, None, None, [], True),
        (4.9, "  ", "", [" "], True),
        (5, None, None, [], False),
        (2, "expired stock", None, [], False),
        (2, None, "wants more Liqun", [], False),
        (2, None, None, ["bring price tags"], False),
    ],
)
def test_perfunctory_visit(
    minutes: float,
    findings: str | None,
    requests: str | None,
    follow_ups: list[str],
    perfunctory: bool,
) -> None:
    assert is_perfunctory(minutes, findings, requests, follow_ups) is perfunctory


def test_visit_duration_rules() -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    start = now - timedelta(hours=3)
    assert duration_problem(start, start + timedelta(minutes=30), now) is None
    assert duration_problem(start, start, now) == (
        "ended_at",
        "after_started_at",
        "ended_at must be after started_at",
    )
    long_start = now - timedelta(hours=13)
    assert duration_problem(long_start, now, now)[1] == "at_most_12_hours"  # type: ignore[index]
    assert duration_problem(start, now + timedelta(minutes=1), now)[1] == "not_in_future"  # type: ignore[index]
    assert minutes_between(start, start + timedelta(seconds=150)) == 2.5


def test_report_figures() -> None:
    assert share(1, 3) == 0.3333 and share(0, 0) is None
    assert average(30, 3) == 10.0 and average(5, 0) is None


def test_money_has_at_most_two_decimals() -> None:
    assert cents_problem("p", Decimal("230.5")) is None
    assert cents_problem("p", Decimal("230")) is None
    assert cents_problem("p", Decimal("230.500")) is None
    problem = cents_problem("lines.0.unit_price", Decimal("230.505"))
    assert problem is not None and (problem.field, problem.rule) == (
        "lines.0.unit_price",
        "decimal_places",
    )
    assert money(Decimal("5")) == "5.00"


def test_hand_built_order_placed_payload_matches_the_contract() -> None:
    order = OrderIn.model_validate(
        {
            "order_no": "PO-1",
            "customer_id": str(uuid.uuid4()),
            "order_date": "2026-11-23",
            "settlement": "cash",
            "lines": [
                {
                    "sku": "A",
                    "brand": "Liqun",
                    "quantity": 3,
                    "unit_price": "230.5",
                    "gross_profit": 90,
                    "key_brand": True,
                },
                {
                    "sku": "B",
                    "brand": "Yuxi",
                    "quantity": 1,
                    "unit_price": "20.10",
                    "gross_profit": "0",
                },
            ],
        }
    )
    assert order.customer_id is not None
    order_id = uuid.uuid4()
    amounts = [line_amount(line.quantity, line.unit_price) for line in order.lines]
    total, quantity = totals([(3, amounts[0]), (1, amounts[1])])
    data = placed_data(order, order_id, order.customer_id, amounts, total, quantity)
    typed = OrderPlaced.model_validate(data)
    assert typed.model_dump(mode="json") == data
    assert data["total_amount"] == "711.60" and data["lines"][0]["unit_price"] == "230.50"


def test_manager_registering_names_territory_but_not_assignment() -> None:
    fields = {"license_no", "county", "district", "name"}
    assert rules.forbidden_field({"customer_manager"}, fields, registering=True) is None
    assert rules.forbidden_field({"customer_manager"}, fields) == "county"
    assert (
        rules.forbidden_field({"customer_manager"}, {"manager_id"}, registering=True)
        == "manager_id"
    )
