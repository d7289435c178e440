"""Loading the population of a run in one set-based query (categoricals encoded in SQL),
streamed as fixed-width binary COPY rows and decoded by numpy."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from valuation_svc.valuation import indicators as ind
from valuation_svc.valuation.classify import CATEGORY_INPUTS, NUMERIC_INPUTS, Population
from valuation_svc.valuation.periods import Period, add_months, month_start
from valuation_svc.valuation.pgcopy import FixedRowsDecoder, uuid_bytes, uuid_text

Ints = npt.NDArray[np.int64]

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


def eligible_sql(*, county_scoped: bool) -> str:
    """The evaluated shops of a scope (plain predicates, so the planner estimates them right)."""
    # The county filter is only written when there is one: an `:county IS NULL OR …` keeps the
    # planner from turning the county's shops into a semi-join and makes it scan every shop.
    return (
        ("s.county = :county AND " if county_scoped else "")
        + "s.status = 'active' AND NOT s.self_operated"
        " AND (s.licensed_on IS NULL OR s.licensed_on <= :licence_cutoff)"
    )


def _figures_sql(in_scope: str) -> str:
    """The CTEs of a run's figures per shop: one pass over the shop-months and the complaints
    and violations of the period."""
    # One scan and one hash aggregate over the period's months, last year's and the recent-order
    # window (FILTER picks each figure's months) instead of three scans, three aggregates and
    # three joins. Sums are float8 over whole numbers (cartons, orders, amounts in cents), which
    # are exact below 2^53 — so the result is the double nearest to the exact sum, as the
    # numeric sum cast to float8 was — and keep the aggregate's state small and in memory where
    # numeric sums spilled a million shops' states to disk.
    cur = "month BETWEEN :first_month AND :last_month"
    prior = "month BETWEEN :last_year_first AND :last_year_last"
    recent = "month BETWEEN :recent_first_month AND :as_of"

    def cents(column: str) -> str:
        return f"sum(({column} * 100)::int8::float8) FILTER (WHERE {cur}) / 100"

    return f"""
WITH figures AS (
    SELECT customer_id,
           sum(cartons::float8) FILTER (WHERE {cur}) AS v,
           {cents("amount")} AS a,
           {cents("gross_profit")} AS g,
           sum(orders) FILTER (WHERE {cur}) AS o,
           sum(e_orders) FILTER (WHERE {cur}) AS eo,
           {cents("e_amount")} AS ea,
           sum(promoted_cartons::float8) FILTER (WHERE {cur}) AS pc,
           sum(cartons::float8) FILTER (WHERE {prior}) AS prior_v,
           bool_or(orders > 0 AND last_order_date BETWEEN :recent_from AND :as_of)
               FILTER (WHERE {recent}) AS recent
    FROM shop_months
    WHERE ({cur} OR {prior} OR {recent}) AND {in_scope}
    GROUP BY customer_id
), complaints AS (
    SELECT customer_id, count(*) AS k FROM complaints
    WHERE complainant_type = 'consumer' AND filed_on BETWEEN :period_start AND :as_of
      AND reopened_from IS NULL AND {in_scope}
    GROUP BY customer_id
), violated AS (
    SELECT DISTINCT customer_id FROM violations
    WHERE kind <> 'other' AND occurred_on BETWEEN :period_start AND :as_of
)"""


_FIGURES_JOINS = """
LEFT JOIN figures f ON f.customer_id = s.customer_id
LEFT JOIN shop_periods skus ON skus.customer_id = s.customer_id AND skus.period = :period
LEFT JOIN complaints ON complaints.customer_id = s.customer_id
LEFT JOIN violated ON violated.customer_id = s.customer_id"""


def _float_sql() -> list[str]:
    """The FLOAT_COLUMNS expressions (NULL = unknown)."""
    categories = [_category_sql(indicator, column) for indicator, column in CATEGORY_INPUTS.items()]
    return [
        "COALESCE(f.v, 0)",
        "COALESCE(f.a, 0)",
        "COALESCE(f.g, 0)",
        "COALESCE(f.o, 0)::float8",
        "COALESCE(f.eo, 0)::float8",
        "COALESCE(f.ea, 0)",
        "COALESCE(f.pc, 0)",
        "COALESCE(skus.key_skus, 0)::float8",
        "s.display_sku_count::float8",
        "COALESCE(complaints.k, 0)::float8",
        "s.business_hours::float8",
        "f.prior_v",
        *categories,
    ]


def _in_scope(*, single_shop: bool, county_scoped: bool) -> str:
    # A county run reads only that county's aggregates.
    if single_shop:
        return "customer_id = :customer_id"
    if county_scoped:
        return "customer_id IN (SELECT customer_id FROM shops WHERE county = :county)"
    return "TRUE"


def population_sql(group_by: str, *, single_shop: bool = False, county_scoped: bool = False) -> str:
    """Every eligible shop of the scope (the whole province, or one county when
    `county_scoped`) with its period figures (or one shop, eligibility ignored), as rows:
    customer_id, county, market_type, violation, recent_order, then FLOAT_COLUMNS."""
    scope = (
        "s.customer_id = :customer_id" if single_shop else eligible_sql(county_scoped=county_scoped)
    )
    figures = _figures_sql(_in_scope(single_shop=single_shop, county_scoped=county_scoped))
    return f"""{figures}
SELECT s.customer_id::text, s.county, s.market_type,
       violated.customer_id IS NOT NULL AS violation,
       COALESCE(f.recent, false) AS recent_order,
       {", ".join(_float_sql())}
FROM shops s{_FIGURES_JOINS}
WHERE {scope}
"""


def cells_sql(*, county_scoped: bool) -> str:
    """The (county, market type) cells of the scope's evaluated shops."""
    return (
        "SELECT DISTINCT s.county, s.market_type FROM shops s"
        f" WHERE {eligible_sql(county_scoped=county_scoped)}"
    )


def population_copy_sql(*, county_scoped: bool) -> str:
    """The population query with every column fixed-width, for `COPY … TO STDOUT (FORMAT
    binary)`: customer_id, cell code (1-based index into :cell_counties / :cell_markets, 0 if
    missing), violation, recent_order, then FLOAT_COLUMNS with NULL as NaN (COPY_ROW)."""
    floats = ", ".join(f"COALESCE({expression}, 'NaN'::float8)" for expression in _float_sql())
    figures = _figures_sql(_in_scope(single_shop=False, county_scoped=county_scoped))
    # County and market type travel as one small integer: text would make rows variable-width.
    return f"""{figures}
SELECT s.customer_id, COALESCE(cell.code, 0)::int4,
       violated.customer_id IS NOT NULL, COALESCE(f.recent, false),
       {floats}
FROM shops s
LEFT JOIN unnest(CAST(:cell_counties AS text[]), CAST(:cell_markets AS text[]))
     WITH ORDINALITY AS cell(county, market_type, code)
     ON cell.county = s.county AND cell.market_type = s.market_type{_FIGURES_JOINS}
WHERE {eligible_sql(county_scoped=county_scoped)}
"""


def excluded_sql() -> str:
    """Shops of the scope that are not evaluated, with the reason."""
    return (
        f"SELECT s.customer_id::text, {eligibility_sql()} AS reason FROM shops s"
        " WHERE (CAST(:county AS text) IS NULL OR s.county = :county)"
        f" AND {eligibility_sql()} IS NOT NULL ORDER BY s.customer_id"
    )


class _TextsOnDemand(Sequence[str]):
    """A read-only sequence of strings made from array rows when asked for."""

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        return self._texts(index) if isinstance(index, slice) else self._text(index)

    def _text(self, index: int) -> str:
        raise NotImplementedError

    def _texts(self, index: slice) -> list[str]:
        raise NotImplementedError


class UuidTexts(_TextsOnDemand):
    """Canonical texts of raw (n, 16) UUID bytes, made one at a time on demand (a run never
    holds a million id strings)."""

    def __init__(self, raw: npt.NDArray[np.uint8]) -> None:
        self.raw = raw

    def __len__(self) -> int:
        return int(self.raw.shape[0])

    def _text(self, index: int) -> str:
        return str(uuid_text(self.raw[index : index + 1 or None])[0].decode())

    def _texts(self, index: slice) -> list[str]:
        return [text.decode() for text in uuid_text(self.raw[index]).tolist()]

    def __iter__(self) -> Iterator[str]:
        for start in range(0, len(self), 65_536):
            yield from self[start : start + 65_536]


class CellLabels(_TextsOnDemand):
    """One label of each row's (county, market type) cell: part 0 the county, 1 the market."""

    def __init__(self, cells: Ints, labels: list[tuple[str, str]], part: int) -> None:
        self.cells = cells
        self.labels = labels
        self.part = part

    def __len__(self) -> int:
        return int(self.cells.shape[0])

    def _text(self, index: int) -> str:
        return self.labels[int(self.cells[index])][self.part]

    def _texts(self, index: slice) -> list[str]:
        return [self.labels[cell][self.part] for cell in self.cells[index].tolist()]


@dataclass
class LoadedPopulation:
    """The population arrays plus the labels results are stored with.

    `customer_ids`, `counties` and `market_types` are sequences per row: lists, or (from the
    loader) views over `id_bytes` and the cells, which the writers use directly."""

    population: Population
    customer_ids: Sequence[str]
    counties: Sequence[str]
    market_types: Sequence[str]
    group_labels: list[tuple[str, str]]

    @cached_property
    def id_bytes(self) -> npt.NDArray[np.uint8]:
        """(n, 16) raw bytes of the customer ids."""
        ids = self.customer_ids
        return ids.raw if isinstance(ids, UuidTexts) else uuid_bytes(list(ids))

    @cached_property
    def cells(self) -> tuple[Ints, list[tuple[str, str]]]:
        """Each row's (county, market type) cell id and the cells' labels in label order."""
        counties, markets = self.counties, self.market_types
        if (
            isinstance(counties, CellLabels)
            and isinstance(markets, CellLabels)
            and counties.cells is markets.cells
        ):
            return counties.cells, counties.labels
        pairs = list(zip(counties, markets, strict=True))
        labels = sorted(set(pairs))
        index = {label: number for number, label in enumerate(labels)}
        cells = np.fromiter((index[pair] for pair in pairs), dtype=np.int64, count=len(pairs))
        return cells, labels


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


def from_rows(rows: Sequence[Any], group_by: str) -> LoadedPopulation:
    """A population from fetched rows (columns in population_sql order; NULL floats as NaN)."""
    counties = [row[1] for row in rows]
    market_types = [row[2] for row in rows]
    group, labels = ranking_groups(counties, market_types, group_by)
    columns = {
        name: np.array(
            [np.nan if (value := row[FIRST_FLOAT + i]) is None else value for row in rows],
            dtype=np.float64,
        )
        for i, name in enumerate(FLOAT_COLUMNS)
    }
    return LoadedPopulation(
        population=Population(
            group=group,
            market_rural=np.array([market == "rural" for market in market_types], dtype=np.bool_),
            columns=columns,
            violation=np.array([bool(row[3]) for row in rows], dtype=np.bool_),
            recent_order=np.array([bool(row[4]) for row in rows], dtype=np.bool_),
        ),
        customer_ids=[row[0] for row in rows],
        counties=counties,
        market_types=market_types,
        group_labels=labels,
    )


def groups_of_cells(
    cells: Ints, labels: list[tuple[str, str]], group_by: str
) -> tuple[Ints, list[tuple[str, str]]]:
    """ranking_groups from cell ids (labels in label order), without a per-row Python step."""
    keys = [(county, "*") for county, _ in labels] if group_by == "county" else list(labels)
    present = np.unique(cells)
    group_labels = sorted({keys[cell] for cell in present.tolist()})
    index = {label: number for number, label in enumerate(group_labels)}
    cell_group = np.array([index.get(key, -1) for key in keys], dtype=np.int64)
    return cell_group[cells] if len(keys) else np.zeros(0, dtype=np.int64), group_labels


# The population COPY's fields (population_copy_sql): every value fixed-width.
COPY_FIELDS: list[tuple[str, str]] = [
    ("customer_id", "V16"),
    ("cell", ">i4"),
    ("violation", "u1"),
    ("recent_order", "u1"),
    *((name, ">f8") for name in FLOAT_COLUMNS),
]


def population_decoder() -> FixedRowsDecoder:
    """A decoder of the population's binary COPY stream."""
    return FixedRowsDecoder(COPY_FIELDS)


def decoded_population(
    rows: npt.NDArray[Any], cell_labels: list[tuple[str, str]], group_by: str
) -> LoadedPopulation:
    """The population from decoded COPY rows (cell codes index `cell_labels` from 1)."""
    codes = rows["cell"].astype(np.int64)
    if ((codes < 1) | (codes > len(cell_labels))).any():
        raise ValueError("a shop's (county, market type) is not among the run's cells")
    cells = codes - 1
    group, group_labels = groups_of_cells(cells, cell_labels, group_by)
    rural_cell = np.array([market == "rural" for _, market in cell_labels], dtype=np.bool_)
    return LoadedPopulation(
        population=Population(
            group=group,
            market_rural=rural_cell[cells] if len(cell_labels) else np.zeros(0, np.bool_),
            columns={name: rows[name].astype(np.float64) for name in FLOAT_COLUMNS},
            violation=rows["violation"].astype(np.bool_),
            recent_order=rows["recent_order"].astype(np.bool_),
        ),
        customer_ids=UuidTexts(
            np.ascontiguousarray(rows["customer_id"]).view(np.uint8).reshape(-1, 16)
        ),
        counties=CellLabels(cells, cell_labels, 0),
        market_types=CellLabels(cells, cell_labels, 1),
        group_labels=group_labels,
    )
