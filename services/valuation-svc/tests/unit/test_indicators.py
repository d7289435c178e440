"""The 21 indicators, pinned with the spec's numbers."""

import math

import numpy as np
import pytest

from valuation_svc.valuation import indicators as ind


def one(value: object) -> float:
    return float(np.asarray(value).reshape(-1)[0])


def test_the_catalogue_has_21_indicators_in_5_dimensions() -> None:
    assert len(ind.INDICATORS) == 21
    assert [len(names) for names in ind.DIMENSIONS.values()] == [6, 5, 3, 3, 4]


@pytest.mark.parametrize(
    ("value", "log2max", "expected"),
    [
        (1.0, 10.0, 0.0),
        (0.0, 10.0, 0.0),
        (1024.0, 10.0, 100.0),
        (32.0, 10.0, 50.0),
        (2.0, 0.0, 0.0),
    ],
)
def test_log2_scaled(value: float, log2max: float, expected: float) -> None:
    assert one(ind.log2_scaled(value, log2max)) == pytest.approx(expected)


def test_log2_of_max() -> None:
    assert ind.log2_of_max([1.0, 8.0, 4.0]) == 3.0
    assert ind.log2_of_max([0.5, 1.0]) == 0.0


def test_sales_structure_is_one_point_per_yuan_from_the_group_average() -> None:
    # shop 300 yuan/carton, group 280 yuan/carton → 50 + 20
    assert one(ind.sales_structure(3000, 10, 28000, 100)) == 70.0
    assert one(ind.sales_structure(100, 10, 28000, 100)) == 0.0  # clamped
    assert one(ind.sales_structure(10000, 10, 28000, 100)) == 100.0  # clamped
    assert math.isnan(one(ind.sales_structure(0, 0, 28000, 100)))  # no cartons: unknown


def test_share_25_per_ten_thousand_is_100_and_25_per_million_is_1() -> None:
    assert one(ind.share(25, 10_000)) == pytest.approx(100.0)
    assert one(ind.share(25, 1_000_000)) == pytest.approx(1.0)
    assert one(ind.share(50, 10_000)) == 100.0
    assert math.isnan(one(ind.share(0, 0)))


@pytest.mark.parametrize(
    ("n", "expected"), [(9, 0.0), (10, 10.0), (15, 60.0), (18, 90.0), (19, 100.0), (30, 100.0)]
)
def test_key_brand_variety(n: int, expected: float) -> None:
    assert one(ind.key_brand_variety(n)) == expected


@pytest.mark.parametrize(
    ("rank", "cartons", "expected"),
    [(1, 5, 100.0), (20, 5, 100.0), (21, 5, 50.0), (100, 5, 50.0), (101, 5, 0.0), (1, 0, 0.0)],
)
def test_promotion_uptake(rank: int, cartons: float, expected: float) -> None:
    assert one(ind.promotion_uptake(rank, cartons)) == expected


def test_e_settlement_shares_and_unknown_without_orders() -> None:
    assert one(ind.ratio_score(3, 4)) == 75.0
    assert math.isnan(one(ind.ratio_score(0, 0)))


@pytest.mark.parametrize(
    ("n", "expected"), [(9, 0.0), (10, 20.0), (12, 36.0), (20, 100.0), (21, 100.0)]
)
def test_display_capability(n: int, expected: float) -> None:
    assert one(ind.display_capability(n)) == expected


def test_display_capability_unknown_count_is_excluded() -> None:
    assert math.isnan(one(ind.display_capability(np.nan)))


@pytest.mark.parametrize(("k", "expected"), [(0, 100.0), (1, 75.0), (3, 25.0), (4, 0.0), (6, 0.0)])
def test_consumer_complaints(k: int, expected: float) -> None:
    assert one(ind.consumer_complaints(k)) == expected


@pytest.mark.parametrize(("hours", "expected"), [(9.5, 0.0), (10, 44.0), (16, 68.0), (24, 100.0)])
def test_convenience(hours: float, expected: float) -> None:
    assert one(ind.convenience(hours)) == expected


@pytest.mark.parametrize(
    ("volume", "last_year", "expected"),
    [(105, 100, 50.0), (110, 100, 100.0), (150, 100, 100.0), (100, 100, 0.0), (90, 100, 0.0)],
)
def test_sales_growth(volume: float, last_year: float, expected: float) -> None:
    assert one(ind.sales_growth(volume, last_year)) == pytest.approx(expected)


def test_sales_growth_without_last_year_is_excluded() -> None:
    assert math.isnan(one(ind.sales_growth(100, 0)))
    assert math.isnan(one(ind.sales_growth(100, np.nan)))


@pytest.mark.parametrize(
    ("indicator", "value", "expected"),
    [
        ("lawful_operation", "A", 100.0),
        ("lawful_operation", "B", 80.0),
        ("lawful_operation", "C", 60.0),
        ("lawful_operation", "none", 0.0),
        ("price_labeling", "price_board", 100.0),
        ("price_labeling", "price_tags", 50.0),
        ("price_labeling", "none", 0.0),
        ("renown", "national", 100.0),
        ("renown", "city", 100.0 * 6 / 7),
        ("renown", "district", 100.0 * 5 / 7),
        ("renown", "street", 100.0 * 3 / 7),
        ("renown", "none", 0.0),
        ("reputation", "good", 100.0),
        ("reputation", "average", 0.0),
        ("display_form", "dedicated_cabinet", 100.0),
        ("display_form", "counter_prominent", 90.0),
        ("display_form", "counter_other", 80.0),
        ("display_form", "shelf", 70.0),
        ("display_form", "window", 60.0),
        ("display_form", "other", 50.0),
        ("trading_area", "commercial", 100.0),
        ("trading_area", "transit_hub", 90.0),
        ("trading_area", "residential", 80.0),
        ("trading_area", "industrial", 70.0),
        ("trading_area", "campus", 60.0),
        ("trading_area", "government_business", 50.0),
        ("trading_area", "other", 50.0),
        ("business_format", "supermarket", 100.0),
        ("business_format", "tobacco_liquor", 90.0),
        ("business_format", "mall", 80.0),
        ("business_format", "convenience", 70.0),
        ("business_format", "grocery", 60.0),
        ("business_format", "entertainment", 50.0),
        ("business_format", "other", 50.0),
    ],
)
def test_category_tables(indicator: str, value: str, expected: float) -> None:
    code = ind.encode_category(indicator, [value])
    assert one(ind.category_score(indicator, code)) == pytest.approx(expected)
    assert ind.decode_category(indicator, one(code)) == value


def test_unrecorded_category_is_unknown_and_unrecognised_falls_back_to_other() -> None:
    assert math.isnan(one(ind.category_score("renown", ind.encode_category("renown", [None]))))
    assert (
        one(ind.category_score("trading_area", ind.encode_category("trading_area", ["harbour"])))
        == 50.0
    )
    # renown has no `other`: an unrecognised value is unknown, never silently scored
    assert math.isnan(one(ind.encode_category("renown", ["galactic"])))
