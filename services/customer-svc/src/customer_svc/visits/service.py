"""Recording visits. Never commits."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from customer_svc.common.clock import utc_now
from customer_svc.customers.models import Customer
from customer_svc.customers.rules import SHOP_ADMIN_ROLES
from customer_svc.managers.models import Manager
from customer_svc.visits.models import Visit
from customer_svc.visits.rules import duration_problem, is_perfunctory, minutes_between
from customer_svc.visits.schemas import VisitIn
from retailcare_shared.auth import Principal
from retailcare_shared.problems import InvalidInput


async def record_visit(
    session: AsyncSession, principal: Principal, customer: Customer, body: VisitIn
) -> Visit:
    """Store a visit, flagging the perfunctory ones (< 5 minutes, nothing found or followed up)."""
    if not principal.has(*SHOP_ADMIN_ROLES) and body.manager_id != principal.manager_id:
        raise InvalidInput("manager_id", "forbidden_for_role", "record only your own visits")
    manager = await session.get(Manager, body.manager_id)
    if manager is None:
        raise InvalidInput("manager_id", "not_found", "no such customer manager")
    if manager.county != customer.county:
        raise InvalidInput("manager_id", "county_mismatch", "the manager works in another county")
    now = utc_now()
    problem = duration_problem(body.started_at, body.ended_at, now)
    if problem is not None:
        raise InvalidInput(*problem)
    minutes = minutes_between(body.started_at, body.ended_at)
    visit = Visit(
        id=uuid.uuid4(),
        customer_id=customer.id,
        manager_id=body.manager_id,
        started_at=body.started_at,
        ended_at=body.ended_at,
        minutes=minutes,
        purpose=body.purpose,
        checklist=body.checklist.model_dump(),
        findings=body.findings,
        customer_requests=body.customer_requests,
        follow_ups=list(body.follow_ups),
        perfunctory=is_perfunctory(minutes, body.findings, body.customer_requests, body.follow_ups),
        recorded_by=principal.sub,
        created_at=now,
    )
    session.add(visit)
    await session.flush()
    return visit
