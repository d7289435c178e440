"""Periods and value-model validation."""

from datetime import date

from valuation_svc.valuation.model_rules import default_model, validate_model
from valuation_svc.valuation.periods import (
    Period,
    add_months,
    default_as_of,
    licensed_long_enough,
    parse_period,
)


def test_periods_are_half_years() -> None:
    h1 = parse_period("2026H1")
    assert h1 == Period(2026, 1)
    assert (h1.start, h1.end) == (date(2026, 1, 1), date(2026, 6, 30))
    h2 = parse_period("2026H2")
    assert h2 is not None
    assert (h2.start, h2.end) == (date(2026, 7, 1), date(2026, 12, 31))
    assert parse_period("2026H3") is None
    assert parse_period("2026-1") is None
    assert str(h1.last_year()) == "2025H1"


def test_as_of_defaults_to_today_within_the_period() -> None:
    h2 = Period(2026, 2)
    assert default_as_of(h2, date(2026, 11, 23)) == date(2026, 11, 23)
    assert default_as_of(Period(2026, 1), date(2026, 11, 23)) == date(2026, 6, 30)


def test_new_shops_join_after_one_month() -> None:
    as_of = date(2026, 6, 30)
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert licensed_long_enough(date(2026, 5, 30), as_of)
    assert not licensed_long_enough(date(2026, 5, 31), as_of)
    assert licensed_long_enough(None, as_of)


def test_default_model_version_1_is_the_spec_tables() -> None:
    model = default_model()
    assert validate_model(model) == []
    urban, rural = model["weights"]["urban"], model["weights"]["rural"]
    assert [urban[d]["weight"] for d in urban] == [40, 20, 20, 10, 10]
    assert [rural[d]["weight"] for d in rural] == [35, 20, 20, 10, 15]
    assert urban["contribution"]["indicators"]["sales_volume"] == 0.15
    assert rural["contribution"]["indicators"]["sales_volume"] == 0.25
    assert urban["contribution"]["indicators"]["gross_profit"] == 0.25
    assert rural["contribution"]["indicators"]["gross_profit"] == 0.15
    assert urban["support"]["indicators"]["display_capability"] == 0.30
    assert urban["credit"]["indicators"] == {
        "lawful_operation": 0.5,
        "consumer_complaints": 0.3,
        "price_labeling": 0.2,
    }
    assert model["thresholds"]["credit"] == {"A": 17.0, "B": 15.0, "D": 10.0}
    assert model["thresholds"]["position"] == {"A": 0.05, "B": 0.25, "C": 0.85}


def fields(model: dict[str, object]) -> set[tuple[str, str]]:
    return {(error.field, error.rule) for error in validate_model(model)}  # type: ignore[arg-type]


def test_model_rejections_name_the_field_and_rule() -> None:
    model = default_model()
    model["weights"]["urban"]["support"]["indicators"]["display_capability"] = 0.5
    assert ("weights.urban.support.indicators", "indicator_weights_sum") in fields(model)

    model = default_model()
    model["weights"]["rural"]["growth"]["weight"] = 20
    assert ("weights.rural", "dimension_weights_sum") in fields(model)

    model = default_model()
    model["weights"]["urban"]["credit"]["indicators"]["charm"] = 0.0
    assert ("weights.urban.credit.indicators.charm", "unknown_indicator") in fields(model)

    model = default_model()
    model["weights"]["urban"]["credit"]["indicators"] = {
        "lawful_operation": 0.5,
        "renown": 0.5,
    }
    assert ("weights.urban.credit.indicators.renown", "wrong_dimension") in fields(model)

    model = default_model()
    model["thresholds"]["position"]["B"] = 0.01
    assert ("thresholds.position", "range") in fields(model)

    model = default_model()
    model["thresholds"]["credit"]["A"] = 25
    assert ("thresholds.credit", "range") in fields(model)

    model = default_model()
    model["quadrant"] = {"mode": "fixed", "current": 120, "potential": 50}
    assert ("quadrant.current", "range") in fields(model)

    model = default_model()
    model["weights"]["urban"]["sales_volume_weight"] = 1  # tolerance: ±0.001 only
    del model["weights"]["urban"]["sales_volume_weight"]
    model["weights"]["urban"]["support"]["indicators"]["display_capability"] = 0.3009
    assert validate_model(model) == []
