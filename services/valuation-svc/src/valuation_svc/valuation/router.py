"""HTTP: valuation runs, results, previews and value models (thin)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Select

from retailcare_shared.auth import Principal, require_roles
from retailcare_shared.db import DbSession, get_database
from retailcare_shared.events import Quadrant, ValueClass
from retailcare_shared.exports import (
    EXPORT_RESPONSES,
    ExportFormat,
    Table,
    batched,
    download,
    streamed,
)
from retailcare_shared.http import Page, PageParams, keyset_page, make_page, page_params
from retailcare_shared.problems import NotFound
from valuation_svc.access import county_scope, load_shop, manager_scope
from valuation_svc.valuation import repository, service
from valuation_svc.valuation.export import EXPORT_COLUMNS, export_row
from valuation_svc.valuation.models import ValuationResult, ValuationRun, ValueModel
from valuation_svc.valuation.schemas import (
    PERIOD_PATTERN,
    PreviewIn,
    ResultOut,
    RunAccepted,
    RunIn,
    RunOut,
    RunSummaryOut,
    ValueModelIn,
    ValueModelOut,
)

router = APIRouter(prefix="/api/v1", tags=["valuation"])

RunWriter = Annotated[Principal, Depends(require_roles("supervisor"))]
RunReader = Annotated[Principal, Depends(require_roles("supervisor", "analyst"))]
ResultReader = Annotated[
    Principal, Depends(require_roles("supervisor", "analyst", "customer_manager"))
]
ShopReader = Annotated[
    Principal,
    Depends(
        require_roles("supervisor", "analyst", "customer_manager", "call_center", "order_platform")
    ),
]
ModelReader = Annotated[Principal, Depends(require_roles("supervisor", "analyst"))]
ModelAdmin = Annotated[Principal, Depends(require_roles("admin"))]
PeriodQuery = Annotated[str | None, Query(pattern=PERIOD_PATTERN)]


@router.post("/valuation-runs", status_code=202, response_model=RunAccepted)
async def start_run(
    body: RunIn, request: Request, session: DbSession, user: RunWriter
) -> RunAccepted:
    """Queue a valuation run; a background worker executes it."""
    run = await service.create_run(session, user, body)
    # Wake this replica's worker once the request's transaction has committed.
    wake = getattr(request.app.state, "valuation_wake", None)
    if wake is not None:
        wake.set()
    return RunAccepted(run_id=run.id, status=run.status)


@router.get("/valuation-runs/{run_id}", response_model=RunOut)
async def get_run(run_id: uuid.UUID, session: DbSession, user: RunReader) -> Any:
    """A run's status and progress."""
    return RunOut.model_validate(
        await service.load_run(session, user, run_id), from_attributes=True
    )


@router.get("/valuation-runs/{run_id}/summary", response_model=RunSummaryOut)
async def get_run_summary(run_id: uuid.UUID, session: DbSession, user: RunReader) -> RunSummaryOut:
    """Counts per class x quadrant, per county, score deciles, shops not evaluated and why."""
    run = await service.load_run(session, user, run_id)
    return RunSummaryOut(run_id=run.id, status=run.status, summary=run.summary)


@dataclass(frozen=True)
class ResultFilters:
    """Which results the list and its export show (query parameters)."""

    period: PeriodQuery = None
    run_id: uuid.UUID | None = None
    county: Annotated[str | None, Query(max_length=50)] = None
    value_class: ValueClass | None = None
    quadrant: Quadrant | None = None


Filters = Annotated[ResultFilters, Depends()]


async def results_statement(
    session: DbSession, user: ResultReader, filters: Filters
) -> Select[Any] | None:
    """Results of a run, or a period's current results (default: the latest period): each
    county's from its latest completed run, whole-scope or the county's own. None: nothing yet."""
    scope = county_scope(user, filters.county)
    value_class, quadrant, manager_id = filters.value_class, filters.quadrant, manager_scope(user)
    if filters.run_id is not None:
        run = await service.load_run(session, user, filters.run_id)
        if run.status != "completed":
            # Results become readable with their run's completion (committed just before).
            return None
        return repository.results_query(
            run.id, county=scope, value_class=value_class, quadrant=quadrant, manager_id=manager_id
        )
    period = filters.period or await repository.latest_completed_period(session, scope)
    if period is None:
        return None
    return repository.current_results_query(
        period, county=scope, value_class=value_class, quadrant=quadrant, manager_id=manager_id
    )


Results = Annotated[Select[Any] | None, Depends(results_statement)]
# (shop, run): a shop that moved county may sit in two counties' current runs.
RESULT_KEYS = (ValuationResult.customer_id, ValuationResult.run_id)


@router.get("/valuations", response_model=Page[ResultOut])
async def list_valuations(
    session: DbSession,
    statement: Results,
    params: Annotated[PageParams, Depends(page_params)],
) -> Page[Any]:
    """Results of a run, or a period's current results (default: the latest period): each
    county's from its latest completed run, whole-scope or the county's own."""
    if statement is None:
        return Page(items=[], next_cursor=None)
    rows = (await session.scalars(keyset_page(statement, list(RESULT_KEYS), params))).all()
    models = service.ModelCache(session)
    shaped = [service.shape_result(row, await models.get(row.model_version)) for row in rows]
    return make_page(shaped, params, lambda result: (result.customer_id, result.run_id))


@router.get("/valuations/export", response_class=StreamingResponse, responses=EXPORT_RESPONSES)
async def export_valuations(
    request: Request,
    statement: Results,
    export_format: Annotated[ExportFormat, Query(alias="format")] = ExportFormat.csv,
) -> StreamingResponse:
    """The list's results (e.g. `run_id=` for a run's), every one, as a CSV or XLSX download."""
    if statement is None:
        rows = batched([])
    else:
        ordered = statement.order_by(*RESULT_KEYS)
        rows = streamed(get_database(request), ordered, lambda row: export_row(row[0]))
    return download(Table("valuations", EXPORT_COLUMNS, rows), export_format)


@router.get("/customers/{customer_id}/valuation", response_model=ResultOut)
async def customer_valuation(
    customer_id: uuid.UUID, session: DbSession, user: ShopReader, period: PeriodQuery = None
) -> ResultOut:
    """A shop's latest result (of the period, if given)."""
    await load_shop(session, user, customer_id)
    found = await repository.customer_result(session, customer_id, period)
    if found is None:
        raise NotFound(f"customer {customer_id} has no valuation result yet")
    result, _ = found
    return service.shape_result(result, await service.ModelCache(session).get(result.model_version))


@router.get("/customers/{customer_id}/valuation-history", response_model=Page[ResultOut])
async def customer_valuation_history(
    customer_id: uuid.UUID,
    session: DbSession,
    user: ShopReader,
    params: Annotated[PageParams, Depends(page_params)],
) -> Page[Any]:
    """Every completed result of a shop, newest first (by its run's completion)."""
    await load_shop(session, user, customer_id)
    statement = keyset_page(
        repository.customer_history(customer_id).add_columns(ValuationRun.completed_at),
        [ValuationRun.completed_at, ValuationResult.run_id],
        params,
        descending=True,
    )
    rows = (await session.execute(statement)).all()
    page = make_page(rows, params, lambda row: (row.completed_at.isoformat(), row[0].run_id))
    models = service.ModelCache(session)
    results = [row[0] for row in page.items]
    return Page(
        items=[service.shape_result(row, await models.get(row.model_version)) for row in results],
        next_cursor=page.next_cursor,
    )


@router.post("/valuations/preview", response_model=ResultOut)
async def preview_valuation(body: PreviewIn, session: DbSession, user: ResultReader) -> ResultOut:
    """What-if scoring of one shop against its group's last run; nothing is stored."""
    shop = await load_shop(session, user, body.customer_id)
    return await service.preview(session, shop, body)


@router.get("/value-models", response_model=Page[ValueModelOut])
async def list_value_models(
    session: DbSession, user: ModelReader, params: Annotated[PageParams, Depends(page_params)]
) -> Page[Any]:
    """Every value model version, newest first."""
    statement = keyset_page(
        repository.models_query(), [ValueModel.version], params, descending=True
    )
    rows = (await session.scalars(statement)).all()
    return make_page(
        rows,
        params,
        lambda row: (row.version,),
        shape=lambda row: ValueModelOut.model_validate(row, from_attributes=True),
    )


@router.get("/value-models/active", response_model=ValueModelOut)
async def active_value_model(session: DbSession, user: ModelReader) -> Any:
    """The active value model."""
    model = await repository.active_model(session)
    if model is None:
        raise NotFound("no active value model")
    return ValueModelOut.model_validate(model, from_attributes=True)


@router.post("/value-models", status_code=201, response_model=ValueModelOut)
async def create_value_model(body: ValueModelIn, session: DbSession, user: ModelAdmin) -> Any:
    """A new (inactive) model version; 422 naming the field when it is not valid."""
    model = await service.create_model(session, user, body)
    return ValueModelOut.model_validate(model, from_attributes=True)


@router.post("/value-models/{version}/activate", response_model=ValueModelOut)
async def activate_value_model(
    version: Annotated[int, Path(ge=1, le=2**31 - 1)], session: DbSession, user: ModelAdmin
) -> Any:
    """Make a version the active one (runs started afterwards use it)."""
    model = await service.activate(session, version)
    return ValueModelOut.model_validate(model, from_attributes=True)
