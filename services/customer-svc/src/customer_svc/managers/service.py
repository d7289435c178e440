"""Rules that touch manager state. Never commits."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from customer_svc.common.clock import utc_now
from customer_svc.managers import repository
from customer_svc.managers.models import Manager
from customer_svc.managers.schemas import ManagerIn
from retailcare_shared.auth import Principal
from retailcare_shared.problems import Conflict, InvalidInput


async def create_manager(session: AsyncSession, principal: Principal, body: ManagerIn) -> Manager:
    """Create a customer manager; 409 if the employee number exists."""
    if principal.county and not principal.is_admin and body.county != principal.county:
        raise InvalidInput("county", "forbidden_for_role", "outside your county")
    if await repository.employee_no_taken(session, body.employee_no):
        raise Conflict(f"employee number {body.employee_no} already belongs to a manager")
    manager = Manager(
        id=uuid.uuid4(),
        employee_no=body.employee_no,
        name=body.name,
        county=body.county,
        districts=sorted(set(body.districts)),
        created_by=principal.sub,
        created_at=utc_now(),
    )
    session.add(manager)
    await session.flush()
    return manager
