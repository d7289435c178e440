"""Managers and territories: create, read, update, retire, list, shops, workload, batch moves."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from sqlalchemy import select

from customer_svc.common.clock import utc_now
from customer_svc.customers.access import scoped
from customer_svc.customers.models import Customer
from customer_svc.customers.router import shape
from customer_svc.customers.schemas import Code, CustomerOut
from customer_svc.managers import repository, service
from customer_svc.managers.models import Manager
from customer_svc.managers.schemas import (
    AssignmentBatchIn,
    AssignmentBatchOut,
    ManagerIn,
    ManagerOut,
    ManagerPatch,
    RetireIn,
    RetireOut,
    WorkloadReport,
    WorkloadRow,
)
from customer_svc.managers.workload import average, share
from retailcare_shared.auth import CurrentUser, Principal, require_roles
from retailcare_shared.db import DbSession
from retailcare_shared.http import Page, PageParams, etag, keyset_page, make_page, page_params
from retailcare_shared.problems import NotFound

router = APIRouter(prefix="/api/v1/managers", tags=["managers"])

Supervisor = Annotated[Principal, Depends(require_roles("supervisor"))]
Directory = Annotated[Principal, Depends(require_roles("supervisor", "analyst", "call_center"))]
Reporter = Annotated[Principal, Depends(require_roles("supervisor", "analyst"))]
Paging = Annotated[PageParams, Depends(page_params)]
WORKLOAD_DAYS = 30
IfMatch = Annotated[str | None, Header(description="the ETag of the version you read")]


def _county_scope(principal: Principal, requested: str | None) -> str | None:
    """County-scoped tokens always see their own county, whatever they ask for."""
    if principal.county and not principal.is_admin:
        return principal.county
    return requested


@router.post("", status_code=201, response_model=ManagerOut)
async def create_manager(body: ManagerIn, session: DbSession, user: Supervisor) -> Manager:
    """Create a customer manager with their territories."""
    return await service.create_manager(session, user, body)


@router.get("", response_model=Page[ManagerOut])
async def list_managers(
    session: DbSession,
    user: Directory,
    params: Paging,
    county: Annotated[Code | None, Query()] = None,
) -> Page[Any]:
    """Managers, by employee number."""
    statement = select(Manager)
    scope = _county_scope(user, county)
    if scope is not None:
        statement = statement.where(Manager.county == scope)
    rows = (await session.scalars(keyset_page(statement, [Manager.employee_no], params))).all()
    return make_page(rows, params, lambda row: (row.employee_no,))


@router.get("/workload", response_model=WorkloadReport)
async def workload(
    session: DbSession, user: Reporter, county: Annotated[Code | None, Query()] = None
) -> WorkloadReport:
    """Per manager: shops, small-shop share, rural shops, visits and minutes over 30 days."""
    scope = _county_scope(user, county)
    rows = await repository.workload(session, scope, utc_now() - timedelta(days=WORKLOAD_DAYS))
    items = [
        WorkloadRow(
            manager_id=row.Manager.id,
            employee_no=row.Manager.employee_no,
            name=row.Manager.name,
            county=row.Manager.county,
            districts=len(row.Manager.districts),
            shops=row.shops,
            small_shops=row.small_shops,
            small_share=share(row.small_shops, row.shops),
            rural_shops=row.rural_shops,
            rural_share=share(row.rural_shops, row.shops),
            shops_per_district=average(row.shops, len(row.Manager.districts)),
            visits_30d=row.visits,
            average_visit_minutes=average(row.minutes, row.visits),
        )
        for row in rows
    ]
    return WorkloadReport(county=scope, items=items)


@router.get("/{manager_id}/customers", response_model=Page[CustomerOut])
async def manager_customers(
    manager_id: uuid.UUID, session: DbSession, user: CurrentUser, params: Paging
) -> Page[CustomerOut]:
    """The shops currently assigned to a manager (a manager sees only their own list)."""
    manager = await repository.get(session, manager_id)
    own = user.has("customer_manager") and user.manager_id == manager_id
    allowed = user.is_admin or own or user.has("supervisor", "analyst", "call_center")
    if (
        manager is None
        or not allowed
        or (user.county and not user.is_admin and manager.county != user.county)
    ):
        raise NotFound(f"manager {manager_id} does not exist")
    statement = scoped(select(Customer).where(Customer.manager_id == manager_id), user)
    rows = (await session.scalars(keyset_page(statement, [Customer.license_no], params))).all()
    return make_page(
        rows, params, lambda row: (row.license_no,), shape=lambda row: shape(row, user)
    )


def _tagged(manager: Manager, response: Response) -> Manager:
    response.headers["ETag"] = etag(manager.version)
    return manager


@router.get("/{manager_id}", response_model=ManagerOut)
async def get_manager(
    manager_id: uuid.UUID, session: DbSession, user: Directory, response: Response
) -> Manager:
    """One manager; `ETag` = version (for PATCH and retire)."""
    manager = await repository.get(session, manager_id)
    if manager is None or (user.county and not user.is_admin and manager.county != user.county):
        raise NotFound(f"manager {manager_id} does not exist")
    return _tagged(manager, response)


@router.patch("/{manager_id}", response_model=ManagerOut)
async def update_manager(
    manager_id: uuid.UUID,
    body: ManagerPatch,
    session: DbSession,
    user: Supervisor,
    response: Response,
    if_match: IfMatch = None,
) -> Manager:
    """Rename a manager or change their territories (`If-Match` required)."""
    manager = await service.visible(session, user, manager_id)
    return _tagged(await service.update_manager(session, user, manager, body, if_match), response)


@router.post("/{manager_id}/retire", response_model=RetireOut)
async def retire_manager(
    manager_id: uuid.UUID,
    body: RetireIn,
    request: Request,
    session: DbSession,
    user: Supervisor,
    response: Response,
    if_match: IfMatch = None,
) -> RetireOut:
    """Retire a manager: 409 while they have shops, unless `reassign_to` takes them over."""
    manager = await service.visible(session, user, manager_id)
    settings = request.app.state.settings
    moved = await service.retire(
        session,
        request.app.state.events,
        user,
        manager,
        body,
        if_match,
        settings.import_statement_timeout_seconds,
    )
    _tagged(manager, response)
    return RetireOut(manager=ManagerOut.model_validate(manager), reassigned_shops=moved)


assignments_router = APIRouter(prefix="/api/v1/manager-assignments", tags=["managers"])


@assignments_router.post("/batch", response_model=AssignmentBatchOut)
async def assign_batch(
    body: AssignmentBatchIn, request: Request, session: DbSession, user: Supervisor
) -> AssignmentBatchOut:
    """Move up to 1,000 shops to their managers at once; a result per item, in request order."""
    settings = request.app.state.settings
    return await service.assign_batch(
        session, user, body, settings.import_statement_timeout_seconds
    )
