"""Load-or-404 dependencies that also apply the caller's scope, so no route can forget it."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path

from customer_svc.customers import repository
from customer_svc.customers.access import can_see
from customer_svc.customers.models import Customer
from retailcare_shared.auth import CurrentUser
from retailcare_shared.db import DbSession
from retailcare_shared.problems import NotFound


def not_found(customer_id: object) -> NotFound:
    """The same answer for a missing shop and one the caller may not see (ids cannot be probed)."""
    return NotFound(f"customer {customer_id} does not exist")


async def visible_customer(
    session: DbSession,
    principal: CurrentUser,
    customer_id: Annotated[uuid.UUID, Path()],
    *,
    lock: bool = False,
) -> Customer:
    """The shop if it exists and the caller may see it, else 404."""
    customer = await repository.get(session, customer_id, lock=lock)
    if customer is None or not can_see(principal, customer.county, customer.manager_id):
        raise not_found(customer_id)
    return customer


async def _readable(
    session: DbSession, principal: CurrentUser, customer_id: Annotated[uuid.UUID, Path()]
) -> Customer:
    return await visible_customer(session, principal, customer_id)


async def _writable(
    session: DbSession, principal: CurrentUser, customer_id: Annotated[uuid.UUID, Path()]
) -> Customer:
    return await visible_customer(session, principal, customer_id, lock=True)


ReadableCustomer = Annotated[Customer, Depends(_readable)]
WritableCustomer = Annotated[Customer, Depends(_writable)]
