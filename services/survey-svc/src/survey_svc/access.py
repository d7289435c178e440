"""Who may see what: county scope and the customer manager's own shops (gateway.md)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from retailcare_shared.auth import Principal, require_roles

# Roles whose view is not narrowed to a manager's own shops.
_BROAD_ROLES = ("admin", "supervisor", "call_center", "analyst")

CampaignAdmin = Annotated[Principal, Depends(require_roles("supervisor"))]
ResultsReader = Annotated[Principal, Depends(require_roles("supervisor", "analyst"))]
InvitationReader = Annotated[
    Principal, Depends(require_roles("supervisor", "customer_manager", "call_center"))
]
ResponseWriter = Annotated[
    Principal, Depends(require_roles("supervisor", "customer_manager", "call_center"))
]
CallbackWorker = Annotated[Principal, Depends(require_roles("call_center", "supervisor"))]
QuestionnaireAdmin = Annotated[Principal, Depends(require_roles())]
QuestionnaireReader = Annotated[
    Principal,
    Depends(require_roles("call_center", "customer_manager", "supervisor", "analyst")),
]


def county_visible(principal: Principal, county: str | None) -> bool:
    """County-scoped tokens see only their county (a company-wide object is outside it)."""
    return principal.is_admin or principal.county is None or principal.county == county


def own_shops_only(principal: Principal) -> uuid.UUID | None:
    """The manager id a caller is narrowed to, or None when they see every shop in scope."""
    if principal.has(*_BROAD_ROLES):
        return None
    return principal.manager_id
