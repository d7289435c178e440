"""Campaign results: SQL sums per cell, then numpy/scipy over the cells."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from survey_svc.campaigns.models import Campaign
from survey_svc.questionnaires.models import QuestionnaireItem
from survey_svc.questionnaires.repository import items_of
from survey_svc.responses.answers import satisfaction_index
from survey_svc.responses.models import SUM_COLUMNS
from survey_svc.results import repository
from survey_svc.results.schemas import (
    CampaignResults,
    Figures,
    GroupBy,
    GroupResult,
    ItemResult,
    RatingResult,
    WeakItem,
)
from survey_svc.results.statistics import (
    PairSums,
    dimension_gaps,
    item_gaps_by_column,
    pooled_mean_perception_by_column,
    pooled_mean_rating_by_column,
    rating_figures_by_column,
    servqual_score,
)

Cell = tuple[int, Any]  # (stratum, group key)


class _Tables:
    """Per item and cell arrays built from the aggregate rows (vectorised, no per-answer work)."""

    def __init__(
        self,
        pair_items: Sequence[QuestionnaireItem],
        rating_items: Sequence[QuestionnaireItem],
        cells: list[Cell],
        rows: Sequence[Any],
    ) -> None:
        cell_index = {cell: index for index, cell in enumerate(cells)}
        pair_index = {item.code: index for index, item in enumerate(pair_items)}
        rating_index = {item.code: index for index, item in enumerate(rating_items)}
        values = np.array([row[3:] for row in rows], dtype=np.float64).reshape(
            len(rows), len(SUM_COLUMNS)
        )
        where = np.array([cell_index[(row.stratum_no, row.grp)] for row in rows], dtype=np.intp)
        pair_rows = np.array([row.item_code in pair_index for row in rows], dtype=bool)
        rating_rows = np.array([row.item_code in rating_index for row in rows], dtype=bool)
        pair_item = np.array([pair_index.get(row.item_code, -1) for row in rows], dtype=np.intp)
        rating_item = np.array([rating_index.get(row.item_code, -1) for row in rows], dtype=np.intp)
        # Columns of `values`: n, Σe, Σp, Σg, Σg², score counts 1..5 (SUM_COLUMNS).
        self.sums = np.zeros((5, len(pair_items), len(cells)))
        if pair_rows.any():
            self.sums[:, pair_item[pair_rows], where[pair_rows]] = values[pair_rows, :5].T
        self.counts = np.zeros((len(rating_items), len(cells), 5))
        if rating_rows.any():
            self.counts[rating_item[rating_rows], where[rating_rows]] = values[rating_rows, 5:]

    def pairs(self) -> PairSums:
        """The SERVQUAL sums."""
        return PairSums(*self.sums)


def _figures_by_column(
    tables: _Tables,
    weights: np.ndarray[Any, np.dtype[np.float64]],
    members: np.ndarray[Any, np.dtype[np.float64]],
    invited: np.ndarray[Any, np.dtype[np.float64]],
    responded: np.ndarray[Any, np.dtype[np.float64]],
    pair_items: Sequence[QuestionnaireItem],
    rating_items: Sequence[QuestionnaireItem],
) -> list[Figures]:
    """Figures for each column of weights [cells, K] (members: which cells a column covers)."""
    pairs = tables.pairs()
    gaps_by_column = item_gaps_by_column(pairs, weights)
    perception_by_column = pooled_mean_perception_by_column(pairs, weights)
    rating_mean_by_column = pooled_mean_rating_by_column(tables.counts, weights)
    ratings_by_column = rating_figures_by_column(tables.counts, weights)
    invited_by_column = (invited @ members).tolist()
    responded_by_column = (responded @ members).tolist()
    dimensions_of = [item.dimension for item in pair_items]
    figures = []
    for column, gaps in enumerate(gaps_by_column):
        dimensions = dimension_gaps(gaps, dimensions_of)
        mean_perception = perception_by_column[column]
        if mean_perception is None:
            mean_perception = rating_mean_by_column[column]
        column_invited = int(invited_by_column[column])
        column_responded = int(responded_by_column[column])
        figures.append(
            Figures(
                invited=column_invited,
                responded=column_responded,
                response_rate=column_responded / column_invited if column_invited else None,
                servqual_score=servqual_score(dimensions),
                satisfaction_index=(
                    None if mean_perception is None else satisfaction_index(mean_perception)
                ),
                dimensions=dimensions,
                items=[
                    ItemResult(item_code=item.code, dimension=item.dimension, **vars(gap))
                    for item, gap in zip(pair_items, gaps, strict=True)
                ],
                ratings=[
                    RatingResult(item_code=item.code, **vars(rating))
                    for item, rating in zip(rating_items, ratings_by_column[column], strict=True)
                ],
            )
        )
    return figures


async def campaign_results(
    session: AsyncSession, campaign: Campaign, by: GroupBy | None, weakest: int
) -> CampaignResults:
    """Design-weighted totals (weight N_h / responses_h) and unweighted per-group figures."""
    items = (await items_of(session, [campaign.questionnaire_id]))[campaign.questionnaire_id]
    pair_items = [item for item in items if item.format == "servqual_pair"]
    rating_items = [item for item in items if item.format == "rating"]
    counts = await repository.cell_counts(session, campaign.id, by)
    rows = await repository.cell_sums(session, campaign.id, by)
    population = await repository.populations(session, campaign.id)
    cells: list[Cell] = [(row.stratum_no, row.grp) for row in counts]
    invited = np.array([row.invited for row in counts], dtype=np.float64)
    responded = np.array([row.responded for row in counts], dtype=np.float64)
    responded_by_stratum: dict[int, float] = {}
    for (stratum, _), value in zip(cells, responded.tolist(), strict=True):
        responded_by_stratum[stratum] = responded_by_stratum.get(stratum, 0.0) + value
    # Design weight N_h / responses_h, the same for every cell of a stratum.
    weights = np.array(
        [
            population.get(stratum, 0) / responded_by_stratum[stratum]
            if responded_by_stratum[stratum] > 0
            else 0.0
            for stratum, _ in cells
        ],
        dtype=np.float64,
    )
    tables = _Tables(pair_items, rating_items, cells, rows)
    # Column 0: the design-weighted total; then one unweighted (0/1) column per group.
    keys: list[Any] = []
    if by is not None:
        keys = sorted({cell[1] for cell in cells}, key=lambda key: (key is not None, str(key)))
    members = np.column_stack(
        [np.ones(len(cells))]
        + [np.array([cell[1] == key for cell in cells], dtype=np.float64) for key in keys]
    ).reshape(len(cells), 1 + len(keys))
    column_weights = members.copy()
    column_weights[:, 0] = weights
    total, *per_group = _figures_by_column(
        tables, column_weights, members, invited, responded, pair_items, rating_items
    )
    groups = [
        GroupResult(key=None if key is None else str(key), **figures.model_dump())
        for key, figures in zip(keys, per_group, strict=True)
    ]
    text_of = {item.code: item.text for item in pair_items}
    weak = sorted(
        (item for item in total.items if item.mean_gap is not None),
        key=lambda item: (item.mean_gap, item.item_code),
    )[:weakest]
    return CampaignResults(
        campaign_id=campaign.id,
        **total.model_dump(),
        weakest_items=[
            WeakItem(
                item_code=item.item_code,
                dimension=item.dimension,
                text=text_of[item.item_code],
                mean_gap=float(item.mean_gap or 0.0),
            )
            for item in weak
        ],
        by=by,
        groups=groups,
    )
