"""A stored valuation result as a download row: its figures, dimensions and indicator scores."""

from __future__ import annotations

from retailcare_shared.exports import Row
from valuation_svc.valuation import indicators as ind
from valuation_svc.valuation.engine import RESULT_COLUMNS, unpack
from valuation_svc.valuation.models import ValuationResult

# A result's stored figures, less the internals of classification (rank class, flags) and the
# packed vectors, which follow unpacked.
_FIGURES = tuple(
    name
    for name in RESULT_COLUMNS
    if name not in ("rank_class", "flags", "dimensions", "scores", "inputs")
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
