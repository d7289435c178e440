"""A stored valuation result as a download row: its figures, dimensions and indicator scores."""

from __future__ import annotations

from retailcare_shared.exports import Row
from valuation_svc.valuation import indicators as ind
from valuation_svc.valuation.engine import unpack
from valuation_svc.valuation.models import ValuationResult

_FIGURES = (
    "customer_id",
    "period",
    "run_id",
    "model_version",
    "county",
    "market_type",
    "value_class",
    "quadrant",
    "total_score",
    "current_value",
    "potential_value",
    "credit_score",
    "rank",
    "group_size",
    "position",
)
# Dimension scores by dimension name, indicator scores as `score_<indicator>` (the API's names).
EXPORT_COLUMNS = (
    *_FIGURES,
    *ind.DIMENSIONS,
    *(f"score_{name}" for name in ind.INDICATORS),
)


def export_row(result: ValuationResult) -> Row:
    """One result as a row of EXPORT_COLUMNS (an excluded indicator's score is empty)."""
    scores = [None if score != score else score for score in unpack(result.scores)]
    return [
        *(getattr(result, name) for name in _FIGURES),
        *unpack(result.dimensions),
        *scores,
    ]
