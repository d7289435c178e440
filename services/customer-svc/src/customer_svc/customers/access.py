"""Who may see which shop and its personal data (gateway.md object- and field-level rules)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, false

from customer_svc.customers.models import Customer
from retailcare_shared.auth import PERSONAL_DATA_ROLES, Principal

# Roles that read every shop (of their county, when the token is county-scoped).
BROAD_READERS = frozenset({"admin", "supervisor", "call_center", "order_platform", "analyst"})


def can_see(principal: Principal, county: str, manager_id: uuid.UUID | None) -> bool:
    """Whether the caller may see a shop of this county and manager at all."""
    if principal.is_admin:
        return True
    if principal.county is not None and county != principal.county:
        return False
    if principal.has(*BROAD_READERS):
        return True
    return (
        principal.has("customer_manager")
        and principal.manager_id is not None
        and manager_id == principal.manager_id
    )


def sees_personal(principal: Principal, manager_id: uuid.UUID | None) -> bool:
    """Personal data only for roles that need it, or the shop's own manager."""
    if principal.has(*PERSONAL_DATA_ROLES):
        return True
    return principal.has("customer_manager") and manager_id == principal.manager_id


def may_search_owner(principal: Principal) -> bool:
    """Whether `q` may match owner names: only roles that see owners' names (a manager only
    ever searches their own shops, whose owners they see); an analyst's `q` skips them."""
    return principal.has(*PERSONAL_DATA_ROLES) or (
        principal.has("customer_manager") and principal.manager_id is not None
    )


def scoped(statement: Select[Any], principal: Principal) -> Select[Any]:
    """Restrict a query over customers to the shops the caller may see."""
    if principal.is_admin:
        return statement
    if principal.county is not None:
        statement = statement.where(Customer.county == principal.county)
    if principal.has(*BROAD_READERS):
        return statement
    if principal.has("customer_manager") and principal.manager_id is not None:
        return statement.where(Customer.manager_id == principal.manager_id)
    return statement.where(false())
