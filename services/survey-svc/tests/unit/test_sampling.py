"""Stratified sampling: sizes, reproducibility, exclusion window, the 5% floor."""

import random

import pytest

from survey_svc.campaigns.sampling import (
    FrameUnit,
    draw_stratified_sample,
    stratum_sample_size,
)


@pytest.mark.parametrize(
    ("population", "rate", "minimum", "expected"),
    [
        (100, 0.10, 1, 10),  # round(rate · N)
        (25, 0.10, 1, 3),  # 2.5 rounds half up
        (24, 0.10, 1, 2),  # 2.4 rounds down
        (5, 0.10, 1, 1),  # round(0.5) = 1
        (4, 0.10, 1, 1),  # round(0.4) = 0, the minimum lifts it to 1
        (10, 0.05, 3, 3),  # minimum per stratum wins over the rate
        (2, 0.50, 5, 2),  # capped at N
        (0, 0.50, 1, 0),  # an empty stratum draws nothing
        (7, 1.0, 1, 7),  # census
    ],
)
def test_stratum_sample_size(population: int, rate: float, minimum: int, expected: int) -> None:
    assert stratum_sample_size(population, rate, minimum) == expected


def _frame(sizes: dict[str, int], recent: set[str] | None = None) -> list[FrameUnit]:
    recent = recent or set()
    return [
        FrameUnit(f"{district}-{index:04d}", (district,), f"{district}-{index:04d}" in recent)
        for district, size in sizes.items()
        for index in range(size)
    ]


def test_same_frame_and_seed_draw_the_same_sample_and_another_seed_another() -> None:
    frame = _frame({"D1": 200, "D2": 50, "D3": 7})
    first = draw_stratified_sample(frame, rate=0.1, min_per_stratum=2, seed=42)
    shuffled = list(frame)
    random.Random(3).shuffle(shuffled)
    again = draw_stratified_sample(shuffled, rate=0.1, min_per_stratum=2, seed=42)
    other = draw_stratified_sample(frame, rate=0.1, min_per_stratum=2, seed=43)
    assert sorted(first.selected) == sorted(again.selected)
    assert sorted(first.selected) != sorted(other.selected)
    assert len(set(first.selected)) == len(first.selected)  # without replacement


def test_every_stratum_gets_max_of_minimum_and_rounded_rate_capped_at_its_size() -> None:
    frame = _frame({"D1": 200, "D2": 25, "D3": 3, "D4": 1})
    draw = draw_stratified_sample(frame, rate=0.1, min_per_stratum=2, seed=1)
    sizes = {plan.key[0]: plan.sample_size for plan in draw.strata}
    assert sizes == {"D1": 20, "D2": 3, "D3": 2, "D4": 1}
    drawn_per_stratum: dict[str, int] = {}
    for customer_id in draw.selected:
        district = customer_id.split("-")[0]
        drawn_per_stratum[district] = drawn_per_stratum.get(district, 0) + 1
    assert drawn_per_stratum == sizes
    assert {plan.key[0]: plan.population for plan in draw.strata} == {
        "D1": 200,
        "D2": 25,
        "D3": 3,
        "D4": 1,
    }


def test_exclusion_window_respected_when_the_stratum_can_be_filled_otherwise() -> None:
    recent = {f"D1-{index:04d}" for index in range(90)} | {f"D2-{index:04d}" for index in range(9)}
    frame = _frame({"D1": 100, "D2": 10}, recent)
    draw = draw_stratified_sample(frame, rate=0.1, min_per_stratum=1, seed=5)
    d1 = [c for c in draw.selected if c.startswith("D1")]
    d2 = [c for c in draw.selected if c.startswith("D2")]
    # D1 needs 10 and has exactly 10 fresh shops: none of the recent ones is drawn.
    assert len(d1) == 10 and not set(d1) & recent
    # D2 needs 1 and has one fresh shop.
    assert d2 == ["D2-0009"]
    plans = {plan.key[0]: plan for plan in draw.strata}
    assert plans["D1"].drawn_from_recent == 0


def test_recent_shops_are_drawn_only_to_fill_a_stratum() -> None:
    recent = {f"D1-{index:04d}" for index in range(8)}
    frame = _frame({"D1": 10}, recent)
    draw = draw_stratified_sample(frame, rate=0.5, min_per_stratum=1, seed=9)
    fresh = {"D1-0008", "D1-0009"}
    assert len(draw.selected) == 5
    assert fresh <= set(draw.selected)  # both fresh shops first
    assert draw.strata[0].drawn_from_recent == 3


def test_rate_below_the_five_percent_floor_is_refused() -> None:
    with pytest.raises(ValueError, match="rate"):
        draw_stratified_sample(_frame({"D1": 10}), rate=0.04, min_per_stratum=1, seed=1)


def test_frame_units_know_their_stratum_and_none_keys_sort_first() -> None:
    frame = [FrameUnit("a", (None,)), FrameUnit("b", ("X",)), FrameUnit("c", ("X",))]
    draw = draw_stratified_sample(frame, rate=1.0, min_per_stratum=1, seed=0)
    assert [plan.key for plan in draw.strata] == [(None,), ("X",)]
    assert draw.stratum_of == {"a": 0, "b": 1, "c": 1}
