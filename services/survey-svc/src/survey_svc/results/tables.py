"""Campaign results flattened into download tables: per item, per rating item, per group."""

from __future__ import annotations

from typing import Literal

from retailcare_shared.exports import Row
from survey_svc.results.schemas import CampaignResults, Figures

ResultTable = Literal["items", "ratings", "groups"]
# The key of the rows of the whole (design-weighted) campaign; a group key is never parenthesised.
TOTAL = "(total)"

Flat = tuple[list[str], list[Row]]


def _figures(results: CampaignResults) -> list[tuple[str | None, Figures]]:
    """The total first, then each group (a group without a key, e.g. no district, is empty)."""
    return [(TOTAL, results), *((group.key, group) for group in results.groups)]


def items_table(results: CampaignResults) -> Flat:
    """SERVQUAL items: expectation, perception and gap with its confidence interval."""
    headers = [
        results.by or "scope",
        "item_code",
        "dimension",
        "n",
        "mean_expectation",
        "mean_perception",
        "mean_gap",
        "sd_gap",
        "ci_low",
        "ci_high",
    ]
    rows: list[Row] = [
        [
            key,
            item.item_code,
            item.dimension,
            item.n,
            item.mean_expectation,
            item.mean_perception,
            item.mean_gap,
            item.sd_gap,
            item.ci_low,
            item.ci_high,
        ]
        for key, figures in _figures(results)
        for item in figures.items
    ]
    return headers, rows


def ratings_table(results: CampaignResults) -> Flat:
    """Rating items: mean, top-two box and the count of each answer value."""
    values = sorted(
        {
            value
            for _, figures in _figures(results)
            for rating in figures.ratings
            for value in rating.distribution
        },
        key=lambda value: (len(value), value),
    )
    headers = [
        results.by or "scope",
        "item_code",
        "n",
        "mean",
        "top_two_box",
        *(f"answer_{value}" for value in values),
    ]
    rows: list[Row] = [
        [
            key,
            rating.item_code,
            rating.n,
            rating.mean,
            rating.top_two_box,
            *(rating.distribution.get(value, 0) for value in values),
        ]
        for key, figures in _figures(results)
        for rating in figures.ratings
    ]
    return headers, rows


def groups_table(results: CampaignResults) -> Flat:
    """One row per group (the total first): response, SERVQUAL score, index, dimensions."""
    dimensions = sorted({name for _, figures in _figures(results) for name in figures.dimensions})
    headers = [
        results.by or "scope",
        "invited",
        "responded",
        "response_rate",
        "servqual_score",
        "satisfaction_index",
        *dimensions,
    ]
    rows: list[Row] = [
        [
            key,
            figures.invited,
            figures.responded,
            figures.response_rate,
            figures.servqual_score,
            figures.satisfaction_index,
            *(figures.dimensions.get(name) for name in dimensions),
        ]
        for key, figures in _figures(results)
    ]
    return headers, rows


TABLES = {"items": items_table, "ratings": ratings_table, "groups": groups_table}
