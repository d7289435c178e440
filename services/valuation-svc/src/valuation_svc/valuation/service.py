"""Valuation rules that touch state: runs, value models, result shaping, previews."""

from __future__ import annotations

import math
import uuid
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from retailcare_shared.auth import Principal
from retailcare_shared.problems import Conflict, InvalidInput, NotFound
from retailcare_shared.workdays import business_today
from valuation_svc.intake.models import Shop
from valuation_svc.valuation import indicators as ind
from valuation_svc.valuation import repository
from valuation_svc.valuation.classify import (
    CLASSES,
    QUADRANTS,
    GroupStats,
    combine,
    credit_demotion,
    indicator_scores,
    problem_flags,
    rank_class,
)
from valuation_svc.valuation.engine import pack, unpack
from valuation_svc.valuation.model_rules import validate_model
from valuation_svc.valuation.models import ValuationResult, ValuationRun, ValueModel
from valuation_svc.valuation.periods import default_as_of, parse_period
from valuation_svc.valuation.population import from_rows
from valuation_svc.valuation.reasons import classification_reasons
from valuation_svc.valuation.runner import window_params
from valuation_svc.valuation.schemas import (
    IndicatorOut,
    PreviewIn,
    ResultOut,
    RunIn,
    ValueModelIn,
)


async def create_run(session: AsyncSession, principal: Principal, body: RunIn) -> ValuationRun:
    """Queue a run of a period (409 while another of the same period and county is unfinished)."""
    period = parse_period(body.period)
    if period is None:  # the schema's pattern makes this unreachable
        raise InvalidInput("period", "format", "a half-year such as 2026H1")
    county = body.county
    if principal.county is not None and not principal.is_admin:
        if county is not None and county != principal.county:
            raise InvalidInput(
                "county", "forbidden_for_role", "your token is limited to one county"
            )
        county = principal.county
    as_of = body.as_of or default_as_of(period, business_today())
    if not period.start <= as_of <= period.end:
        raise InvalidInput("as_of", "within_period", f"as_of must lie within {period}")
    if await repository.unfinished_run(session, str(period), county) is not None:
        raise Conflict(f"a run of {period} for {county or 'all counties'} is already under way")
    run = ValuationRun(
        id=uuid.uuid4(),
        period=str(period),
        county=county,
        as_of=as_of,
        status="queued",
        stage="queued",
        progress=0.0,
        requested_by=principal.sub,
    )
    session.add(run)
    await session.flush()
    return run


async def load_run(session: AsyncSession, principal: Principal, run_id: uuid.UUID) -> ValuationRun:
    """A run, 404 if missing or outside the caller's county."""
    run = await session.get(ValuationRun, run_id)
    if run is None or (principal.county is not None and run.county not in (None, principal.county)):
        raise NotFound(f"valuation run {run_id} does not exist")
    return run


class ModelCache:
    """Value model definitions by version, loaded once per request."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.models: dict[int, dict[str, Any]] = {}

    async def get(self, version: int) -> dict[str, Any]:
        """The definition of a model version."""
        if version not in self.models:
            row = await repository.model_by_version(self.session, version)
            assert row is not None
            self.models[version] = row.definition
        return self.models[version]


def _clean(value: float) -> float | None:
    return None if value is None or math.isnan(value) else value


def shape_result(result: ValuationResult, model: dict[str, Any]) -> ResultOut:
    """A stored result with indicators, effective weights and reasons."""
    market = "rural" if result.market_type == "rural" else "urban"
    indicators = indicator_rows(unpack(result.scores), unpack(result.inputs), model, market)
    excluded = [row.name for row in indicators if row.excluded]
    return ResultOut(
        customer_id=result.customer_id,
        period=result.period,
        run_id=result.run_id,
        model_version=result.model_version,
        value_class=result.value_class,
        quadrant=result.quadrant,
        total_score=result.total_score,
        current_value=result.current_value,
        potential_value=result.potential_value,
        credit_score=result.credit_score,
        rank=result.rank,
        group_size=result.group_size,
        position=result.position,
        dimensions=dict(zip(ind.DIMENSIONS, unpack(result.dimensions), strict=True)),
        indicators=indicators,
        reasons=classification_reasons(
            rank=result.rank,
            group_size=result.group_size,
            rank_class=result.rank_class,
            value_class=result.value_class,
            credit=result.credit_score,
            flags=result.flags,
            thresholds=model["thresholds"],
            excluded=excluded,
            quadrant=result.quadrant,
        ),
    )


def indicator_rows(
    scores: list[float], inputs: list[float], model: dict[str, Any], market: str
) -> list[IndicatorOut]:
    """Indicators with their configured and effective (after exclusion) weights."""
    spec = model["weights"][market]
    rows: list[IndicatorOut] = []
    for dimension, names in ind.DIMENSIONS.items():
        configured = {name: float(spec[dimension]["indicators"].get(name, 0.0)) for name in names}
        index = {name: ind.INDICATORS.index(name) for name in names}
        known = sum(w for name, w in configured.items() if not math.isnan(scores[index[name]]))
        for name in names:
            score = scores[index[name]]
            raw_input = inputs[index[name]]
            excluded = math.isnan(score)
            shown: float | str | None
            if name in ind.CATEGORY_TABLES:
                shown = ind.decode_category(name, raw_input)
            else:
                shown = _clean(raw_input)
            rows.append(
                IndicatorOut(
                    name=name,
                    dimension=dimension,
                    input=shown,
                    score=None if excluded else round(score, 6),
                    weight=0.0 if excluded or known <= 0 else round(configured[name] / known, 6),
                    model_weight=configured[name],
                    excluded=excluded,
                )
            )
    return rows


async def create_model(
    session: AsyncSession, principal: Principal, body: ValueModelIn
) -> ValueModel:
    """Store a new (inactive) model version after validating it (422 naming the field)."""
    definition = body.model_dump(exclude={"note"})
    errors = validate_model(definition)
    if errors:
        first = errors[0]
        raise InvalidInput(first.field, first.rule, first.message)
    version = await repository.next_model_version(session)
    model = ValueModel(
        version=version,
        definition=definition,
        active=False,
        note=body.note,
        created_by=principal.sub,
    )
    session.add(model)
    await session.flush()
    await session.refresh(model)
    return model


async def activate(session: AsyncSession, version: int) -> ValueModel:
    """Make a version the active one."""
    model = await repository.model_by_version(session, version)
    if model is None:
        raise NotFound(f"value model version {version} does not exist")
    await repository.activate_model(session, version)
    await session.refresh(model)
    return model


async def preview(session: AsyncSession, shop: Shop, body: PreviewIn) -> ResultOut:
    """Score one shop (with changed inputs) against its group's latest run; nothing is stored."""
    run = await repository.latest_completed_run(session, body.period, shop.county)
    if run is None or run.model_version is None:
        raise Conflict(f"no completed run of {body.period} to compare with")
    group = await repository.run_group(session, run.id, shop.county, shop.market_type)
    if group is None:
        raise Conflict(f"the run of {body.period} has no ranking group for this shop")
    model = await ModelCache(session).get(run.model_version)
    period = parse_period(body.period)
    assert period is not None
    group_by = str(model.get("ranking_group", "county_market_type"))
    params = window_params(period, run.as_of, None, int(model["thresholds"]["no_order_days"]))
    row = await repository.shop_figures(session, shop.customer_id, params, group_by)
    assert row is not None
    population = from_rows([row], group_by).population
    columns = population.columns
    for name, value in body.inputs.model_dump(exclude_none=True).items():
        if isinstance(value, str):
            indicator = next(k for k, v in _CATEGORY_COLUMN.items() if v == name)
            columns[name] = ind.encode_category(indicator, [value])
        else:
            columns[name] = np.array([float(value)])
    stats = GroupStats(
        size=np.array([group.size]),
        log2max_volume=np.array([max(group.log2max_volume, _log2(columns["volume"][0]))]),
        log2max_amount=np.array([max(group.log2max_amount, _log2(columns["amount"][0]))]),
        log2max_profit=np.array([max(group.log2max_profit, _log2(columns["gross_profit"][0]))]),
        total_volume=np.array([group.total_volume]),
        total_amount=np.array([group.total_amount]),
    )
    promoted = columns["promoted_cartons"][0]
    promotion_rank = (
        1 if promoted >= group.promoted_20th else (21 if promoted >= group.promoted_100th else 101)
    )
    scores, inputs = indicator_scores(population, stats, np.array([promotion_rank]))
    scored = combine(scores, inputs, model, population.market_rural)
    total = float(scored.total[0])
    better = await repository.count_better(session, run.id, group, total, shop.customer_id)
    stored = await repository.customer_result(session, shop.customer_id, body.period)
    size = group.size if stored is not None and stored[1].id == run.id else group.size + 1
    rank = better + 1
    thresholds = model["thresholds"]
    by_rank = int(rank_class(np.array([rank]), np.array([size]), thresholds)[0])
    demoted = int(credit_demotion(np.array([by_rank]), scored.credit, thresholds)[0])
    flags = int(
        problem_flags(scored.credit, population.violation, population.recent_order, thresholds)[0]
    )
    value_class = "problem" if flags else CLASSES[demoted]
    high_current = scored.current[0] >= group.cutoff_current - 1e-9
    high_potential = scored.potential[0] >= group.cutoff_potential - 1e-9
    quadrant = QUADRANTS[
        (0 if high_potential else 1) if high_current else (2 if high_potential else 3)
    ]
    result = ValuationResult(
        run_id=run.id,
        customer_id=shop.customer_id,
        period=body.period,
        county=shop.county,
        market_type=shop.market_type,
        model_version=run.model_version,
        value_class=value_class,
        quadrant=quadrant,
        total_score=round(total, 6),
        current_value=round(float(scored.current[0]), 6),
        potential_value=round(float(scored.potential[0]), 6),
        credit_score=float(scored.credit[0]),
        rank=rank,
        group_size=size,
        position=rank / size,
        rank_class=CLASSES[by_rank],
        flags=flags,
        dimensions=pack(np.round(scored.dimensions[0], 6)),
        scores=pack(scored.scores[0]),
        inputs=pack(scored.inputs[0]),
    )
    out = shape_result(result, model)
    out.stored = False
    return out


def _log2(value: float) -> float:
    return math.log2(value) if value > 1 else 0.0


_CATEGORY_COLUMN = {
    "lawful_operation": "compliance_grade",
    "price_labeling": "price_labeling",
    "renown": "renown",
    "reputation": "reputation",
    "display_form": "display_form",
    "trading_area": "trading_area",
    "business_format": "business_format",
}
