"""HTTP: service plans, sales anomalies, manager workload (thin)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from retailcare_shared.auth import Principal, require_roles
from retailcare_shared.db import DbSession
from retailcare_shared.http import decode_cursor, encode_cursor
from retailcare_shared.problems import InvalidInput, NotFound
from retailcare_shared.workdays import business_today
from valuation_svc.access import county_scope, load_shop, manager_scope
from valuation_svc.plans import rules, service
from valuation_svc.plans.schemas import AnomalyPage, ServicePlanOut, WorkloadOut

router = APIRouter(prefix="/api/v1", tags=["service plans"])

PlanReader = Annotated[
    Principal,
    Depends(
        require_roles("supervisor", "analyst", "customer_manager", "call_center", "order_platform")
    ),
]
TeamReader = Annotated[
    Principal, Depends(require_roles("supervisor", "analyst", "customer_manager"))
]


@router.get("/customers/{customer_id}/service-plan", response_model=ServicePlanOut)
async def service_plan(
    customer_id: uuid.UUID, session: DbSession, user: PlanReader
) -> ServicePlanOut:
    """Class, quadrant strategy, delivery promise, visits and service items of a shop."""
    await load_shop(session, user, customer_id)
    return await service.service_plan(session, customer_id, business_today())


@router.get("/sales-anomalies", response_model=AnomalyPage)
async def sales_anomalies(
    session: DbSession,
    user: TeamReader,
    county: Annotated[str | None, Query(max_length=50)] = None,
    month: Annotated[str | None, Query(pattern=r"^(19|20)\d{2}-(0[1-9]|1[0-2])$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> AnomalyPage:
    """Shops whose month's cartons differ from the three months before by more than 30%."""
    first = (
        date(int(month[:4]), int(month[5:7]), 1)
        if month
        else rules.last_complete_month(business_today())
    )
    after = None
    if cursor is not None:
        try:
            after = uuid.UUID(decode_cursor(cursor, 1)[0])
        except ValueError:
            raise InvalidInput("cursor", "format", "not a cursor returned by this API") from None
    items, last = await service.anomalies_page(
        session,
        first,
        county=county_scope(user, county),
        manager_id=manager_scope(user),
        after=after,
        limit=limit,
    )
    return AnomalyPage(
        month=first, items=items, next_cursor=encode_cursor([last]) if last else None
    )


@router.get("/service-plans/workload", response_model=WorkloadOut)
async def manager_workload(
    request: Request,
    session: DbSession,
    user: TeamReader,
    manager_id: uuid.UUID | None = None,
) -> WorkloadOut:
    """A manager's monthly visits and hours per service item against the seeds' minimums."""
    own = manager_scope(user)
    target = manager_id or own
    if target is None:
        raise InvalidInput("manager_id", "required", "give the manager whose workload to sum")
    if own is not None and target != own:
        raise NotFound(f"manager {target} is not known")
    return await service.workload(session, target, business_today(), request.app.state.settings)
