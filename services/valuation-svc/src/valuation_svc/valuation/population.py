"""Loading the population of a run in one set-based query (categoricals encoded in SQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from valuation_svc.valuation import indicators as ind
from valuation_svc.valuation.classify import CATEGORY_INPUTS, NUMERIC_INPUTS, Population
from valuation_svc.valuation.periods import Period, add_months, month_start

# Columns fetched as float8 (NaN = unknown) in this order, after customer_id, county, market_type
# and the two booleans (FIRST_FLOAT is the index of the first).
FLOAT_COLUMNS = (*NUMERIC_INPUTS, *CATEGORY_INPUTS.values())
FIRST_FLOAT = 5


def _category_sql(indicator: str, column: str) -> str:
    # The vocabulary is code, never input: safe to inline. Unrecognised non-null values fall back
    # to `other` where the table has one, else stay unknown (NULL → NaN).
    vocabulary = ind.VOCABULARY[indicator]
    literal = "ARRAY[" + ",".join(f"'{value}'" for value in vocabulary) + "]::text[]"
    fallback = str(vocabulary.index("other")) if "other" in vocabulary else "NULL::int"
    return (
        f"COALESCE(array_position({literal}, s.{column}::text) - 1,"
        f" CASE WHEN s.{column} IS NULL THEN NULL::int ELSE {fallback} END)::float8"
    )


@dataclass(frozen=True)
class Window:
    """The dates a run reads."""

    period: str
    first_month: date
    last_month: date
    last_year_first: date
    last_year_last: date
    period_start: date
    as_of: date
    licence_cutoff: date
    recent_from: date
    recent_first_month: date


def window(period: Period, as_of: date, no_order_days: int) -> Window:
    """Months of the period up to as_of, the same months last year, and the recent-order window."""
    last_month = month_start(min(as_of, period.end))
    recent_from = as_of - timedelta(days=no_order_days)
    return Window(
        period=str(period),
        first_month=period.start,
        last_month=last_month,
        last_year_first=add_months(period.start, -12),
        last_year_last=add_months(last_month, -12),
        period_start=period.start,
        as_of=as_of,
        licence_cutoff=add_months(as_of, -1),
        recent_from=recent_from,
        recent_first_month=month_start(recent_from),
    )


def eligibility_sql() -> str:
    """Why a shop of the scope is not evaluated (NULL = eligible)."""
    return (
        "CASE WHEN s.status <> 'active' THEN 'inactive'"
        " WHEN s.self_operated THEN 'self_operated'"
        " WHEN s.licensed_on > :licence_cutoff THEN 'new_licence' END"
    )


def population_sql(group_by: str, *, single_shop: bool = False, county_scoped: bool = False) -> str:
    """One query: every eligible shop of the scope (the whole province, or one county when
    `county_scoped`) with its period figures (or one shop)."""
    # Plain predicates (not `eligibility_sql() IS NULL`) so the planner estimates the population
    # right and hash-joins the aggregates instead of looping over index probes; the county
    # filter is only written when there is one (an `:county IS NULL OR …` keeps the planner from
    # turning the county's shops into a semi-join and makes it scan every shop's aggregates).
    eligible = (
        ("s.county = :county AND " if county_scoped else "")
        + "s.status = 'active' AND NOT s.self_operated"
        " AND (s.licensed_on IS NULL OR s.licensed_on <= :licence_cutoff)"
    )
    scope = "s.customer_id = :customer_id" if single_shop else eligible
    # A county run reads only that county's aggregates.
    if single_shop:
        in_scope = "customer_id = :customer_id"
    elif county_scoped:
        in_scope = "customer_id IN (SELECT customer_id FROM shops WHERE county = :county)"
    else:
        in_scope = "TRUE"
    categories = ", ".join(
        _category_sql(indicator, column) for indicator, column in CATEGORY_INPUTS.items()
    )
    return f"""
WITH cur AS (
    SELECT customer_id, sum(cartons) AS v, sum(amount) AS a, sum(gross_profit) AS g,
           sum(orders) AS o, sum(e_orders) AS eo, sum(e_amount) AS ea, sum(promoted_cartons) AS pc
    FROM shop_months WHERE month BETWEEN :first_month AND :last_month AND {in_scope}
    GROUP BY customer_id
), prior AS (
    SELECT customer_id, sum(cartons) AS v
    FROM shop_months WHERE month BETWEEN :last_year_first AND :last_year_last AND {in_scope}
    GROUP BY customer_id
), complaints AS (
    SELECT customer_id, count(*) AS k FROM complaints
    WHERE complainant_type = 'consumer' AND filed_on BETWEEN :period_start AND :as_of
      AND {in_scope}
    GROUP BY customer_id
), violated AS (
    SELECT DISTINCT customer_id FROM violations
    WHERE kind <> 'other' AND occurred_on BETWEEN :period_start AND :as_of
), recent AS (
    SELECT DISTINCT customer_id FROM shop_months
    WHERE month BETWEEN :recent_first_month AND :as_of AND orders > 0
      AND last_order_date BETWEEN :recent_from AND :as_of AND {in_scope}
)
SELECT s.customer_id::text, s.county, s.market_type,
       violated.customer_id IS NOT NULL AS violation,
       recent.customer_id IS NOT NULL AS recent_order,
       COALESCE(cur.v, 0)::float8, COALESCE(cur.a, 0)::float8, COALESCE(cur.g, 0)::float8,
       COALESCE(cur.o, 0)::float8, COALESCE(cur.eo, 0)::float8, COALESCE(cur.ea, 0)::float8,
       COALESCE(cur.pc, 0)::float8, COALESCE(skus.key_skus, 0)::float8,
       s.display_sku_count::float8, COALESCE(complaints.k, 0)::float8, s.business_hours::float8,
       prior.v::float8,
       {categories}
FROM shops s
LEFT JOIN cur ON cur.customer_id = s.customer_id
LEFT JOIN prior ON prior.customer_id = s.customer_id
LEFT JOIN shop_periods skus ON skus.customer_id = s.customer_id AND skus.period = :period
LEFT JOIN complaints ON complaints.customer_id = s.customer_id
LEFT JOIN violated ON violated.customer_id = s.customer_id
LEFT JOIN recent ON recent.customer_id = s.customer_id
WHERE {scope}
"""


def excluded_sql() -> str:
    """Shops of the scope that are not evaluated, with the reason."""
    return (
        f"SELECT s.customer_id::text, {eligibility_sql()} AS reason FROM shops s"
        " WHERE (CAST(:county AS text) IS NULL OR s.county = :county)"
        f" AND {eligibility_sql()} IS NOT NULL ORDER BY s.customer_id"
    )


@dataclass
class LoadedPopulation:
    """The population arrays plus the labels results are stored with."""

    population: Population
    customer_ids: list[str]
    counties: list[str]
    market_types: list[str]
    group_labels: list[tuple[str, str]]


def _float_column(rows: list[Any], index: int) -> npt.NDArray[np.float64]:
    return np.array(
        [np.nan if (value := row[index]) is None else value for row in rows], dtype=np.float64
    )


@dataclass
class Chunk:
    """Column arrays of one fetched batch of rows."""

    customer_ids: list[str]
    counties: list[str]
    market_types: list[str]
    violation: npt.NDArray[np.bool_]
    recent: npt.NDArray[np.bool_]
    columns: dict[str, npt.NDArray[np.float64]]


def chunk_of(rows: list[Any]) -> Chunk:
    """Columns of fetched rows (population_sql order), so row objects can be dropped early."""
    n = len(rows)
    return Chunk(
        customer_ids=[row[0] for row in rows],
        counties=[row[1] for row in rows],
        market_types=[row[2] for row in rows],
        violation=np.fromiter((row[3] for row in rows), dtype=np.bool_, count=n),
        recent=np.fromiter((row[4] for row in rows), dtype=np.bool_, count=n),
        columns={
            name: _float_column(rows, FIRST_FLOAT + i) for i, name in enumerate(FLOAT_COLUMNS)
        },
    )


def ranking_groups(
    counties: list[str], market_types: list[str], group_by: str
) -> tuple[npt.NDArray[np.int64], list[tuple[str, str]]]:
    """Each shop's ranking-group id and the groups' (county, market type or `*`) labels, numbered
    in label order (computed here rather than by a window function sorting every shop in SQL)."""
    keys: list[tuple[str, str]] = (
        [(county, "*") for county in counties]
        if group_by == "county"
        else list(zip(counties, market_types, strict=True))
    )
    labels = sorted(set(keys))
    index = {label: number for number, label in enumerate(labels)}
    group = np.fromiter((index[key] for key in keys), dtype=np.int64, count=len(keys))
    return group, labels


def assemble(chunks: list[Chunk], group_by: str) -> LoadedPopulation:
    """One population from fetched chunks."""
    customer_ids = [cid for chunk in chunks for cid in chunk.customer_ids]
    counties = [county for chunk in chunks for county in chunk.counties]
    market_types = [market for chunk in chunks for market in chunk.market_types]

    def joined(arrays: list[Any], dtype: Any) -> Any:
        return np.concatenate(arrays) if arrays else np.zeros(0, dtype=dtype)

    group, labels = ranking_groups(counties, market_types, group_by)
    columns = {
        name: joined([chunk.columns[name] for chunk in chunks], np.float64)
        for name in FLOAT_COLUMNS
    }
    rural = np.array([market == "rural" for market in market_types], dtype=np.bool_)
    return LoadedPopulation(
        population=Population(
            group=group,
            market_rural=rural,
            columns=columns,
            violation=joined([chunk.violation for chunk in chunks], np.bool_),
            recent_order=joined([chunk.recent for chunk in chunks], np.bool_),
        ),
        customer_ids=customer_ids,
        counties=counties,
        market_types=market_types,
        group_labels=labels,
    )


def from_rows(rows: list[Any], group_by: str) -> LoadedPopulation:
    """A population from fetched rows (columns in population_sql order)."""
    return assemble([chunk_of(rows)] if rows else [], group_by)
