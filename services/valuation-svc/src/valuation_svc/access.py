"""Object-level access: a manager sees only their shops, county tokens only their county."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from retailcare_shared.auth import Principal
from retailcare_shared.problems import NotFound
from valuation_svc.intake.models import Shop

# Roles that read every shop (within their county when the token is county-scoped).
BROAD_READERS = frozenset({"admin", "analyst", "supervisor", "call_center", "order_platform"})


def manager_scope(principal: Principal) -> uuid.UUID | None:
    """The manager whose shops alone this caller may see (None = not restricted to a manager)."""
    if principal.roles.isdisjoint(BROAD_READERS) and principal.has("customer_manager"):
        return principal.manager_id
    return None


def county_scope(principal: Principal, requested: str | None) -> str | None:
    """The county a list is limited to: a county-scoped token always gets its own."""
    return principal.county or requested


async def load_shop(session: AsyncSession, principal: Principal, customer_id: uuid.UUID) -> Shop:
    """The shop if this caller may see it, else 404 (ids cannot be probed)."""
    shop = await session.get(Shop, customer_id)
    if shop is None:
        raise NotFound(f"customer {customer_id} is not known to valuation")
    manager = manager_scope(principal)
    if manager is not None and shop.manager_id != manager:
        raise NotFound(f"customer {customer_id} is not known to valuation")
    if principal.county is not None and shop.county != principal.county:
        raise NotFound(f"customer {customer_id} is not known to valuation")
    return shop
