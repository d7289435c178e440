"""Visit endpoints and the coverage analytics."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from customer_svc.common.clock import business_today, end_of_business_day, start_of_business_day
from customer_svc.customers.dependencies import visible_customer
from customer_svc.customers.rules import SHOP_ADMIN_ROLES
from customer_svc.customers.schemas import Code
from customer_svc.managers.workload import average, share
from customer_svc.visits import repository, service
from customer_svc.visits.models import Visit
from customer_svc.visits.schemas import CoverageReport, CoverageRow, VisitIn, VisitOut
from retailcare_shared.auth import Principal, require_roles
from retailcare_shared.db import DbSession
from retailcare_shared.http import Page, PageParams, keyset_page, make_page, page_params
from retailcare_shared.idempotency import Idempotency
from retailcare_shared.problems import InvalidInput, NotFound

router = APIRouter(prefix="/api/v1", tags=["visits"])

Recorder = Annotated[Principal, Depends(require_roles("customer_manager", "supervisor"))]
Reader = Annotated[Principal, Depends(require_roles("customer_manager", "supervisor", "analyst"))]
Analyst = Annotated[Principal, Depends(require_roles("supervisor", "analyst"))]
Paging = Annotated[PageParams, Depends(page_params)]
DEFAULT_DAYS = 30


def _period(start: date | None, end: date | None) -> tuple[date, date]:
    end = end or business_today()
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise InvalidInput("from", "not_after_to", "`from` must not be after `to`")
    return start, end


@router.post("/visits", status_code=201, response_model=VisitOut)
async def record_visit(
    body: VisitIn, session: DbSession, user: Recorder, idempotency: Idempotency
) -> Any:
    """Record a visit (Idempotency-Key honoured) with its checklist and findings."""
    customer = await visible_customer(session, user, body.customer_id)
    visit = await service.record_visit(session, user, customer, body)
    return await idempotency.remember(
        VisitOut.model_validate(visit),
        status_code=201,
        headers={"Location": f"/api/v1/visits/{visit.id}"},
    )


@router.get("/visits", response_model=Page[VisitOut])
async def list_visits(
    session: DbSession,
    user: Reader,
    params: Paging,
    manager_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> Page[Any]:
    """Visits, newest first; a customer manager sees only their own."""
    if not user.is_admin and not user.has(*SHOP_ADMIN_ROLES, "analyst"):
        manager_id = user.manager_id
    county = user.county if user.county and not user.is_admin else None
    statement = keyset_page(
        repository.search(
            manager_id,
            customer_id,
            start_of_business_day(start) if start else None,
            end_of_business_day(end) if end else None,
            county,
        ),
        [Visit.started_at, Visit.id],
        params,
        descending=True,
    )
    rows = (await session.scalars(statement)).all()
    return make_page(rows, params, lambda row: (row.started_at.isoformat(), row.id))


@router.get("/visits/{visit_id}", response_model=VisitOut)
async def get_visit(visit_id: uuid.UUID, session: DbSession, user: Reader) -> Any:
    """One visit; a customer manager sees only their own (another's is 404, like the list)."""
    found = await repository.get(session, visit_id)
    if found is None:
        raise NotFound(f"visit {visit_id} not found")
    visit, county = found
    broad = user.is_admin or user.has(*SHOP_ADMIN_ROLES, "analyst")
    if not broad and visit.manager_id != user.manager_id:
        raise NotFound(f"visit {visit_id} not found")
    if user.county and not user.is_admin and county != user.county:
        raise NotFound(f"visit {visit_id} not found")
    return VisitOut.model_validate(visit)


@router.get("/visit-analytics/coverage", response_model=CoverageReport)
async def coverage(
    session: DbSession,
    user: Analyst,
    county: Annotated[Code | None, Query()] = None,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> CoverageReport:
    """Per manager: assigned and visited shops, coverage, visits, minutes, perfunctory share."""
    first, last = _period(start, end)
    scope = user.county if user.county and not user.is_admin else county
    rows = await repository.coverage(
        session, scope, start_of_business_day(first), end_of_business_day(last)
    )
    items = [
        CoverageRow(
            manager_id=row.id,
            employee_no=row.employee_no,
            name=row.name,
            assigned_shops=row.assigned,
            shops_visited=row.visited,
            coverage=share(row.visited, row.assigned),
            visits=row.visits,
            average_minutes=average(float(row.minutes), row.visits),
            perfunctory_visits=row.perfunctory,
            perfunctory_share=share(row.perfunctory, row.visits),
            small_shops=row.small,
            small_shops_visited=row.small_visited,
            small_shop_coverage=share(row.small_visited, row.small),
        )
        for row in rows
    ]
    return CoverageReport(county=scope, start=first.isoformat(), end=last.isoformat(), items=items)
