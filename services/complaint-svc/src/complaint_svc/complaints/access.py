"""Who may see which complaint, and whose contact data is masked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, false, select

from complaint_svc.complaints.models import Complaint
from complaint_svc.complaints.schemas import ComplaintOut
from complaint_svc.readmodel.models import Shop
from retailcare_shared.auth import PERSONAL_DATA_ROLES, Principal
from retailcare_shared.exports import Row
from retailcare_shared.privacy import mask_name, mask_phone

READERS = ("call_center", "supervisor", "customer_manager", "analyst")
HANDLERS = ("call_center", "supervisor")
ANALYSTS = ("analyst", "supervisor")


def scoped(statement: Select[Any], principal: Principal) -> Select[Any]:
    """Restrict a complaint query to what the caller may see (managers: own shops; county)."""
    if principal.is_admin:
        return statement
    if principal.county is not None:
        statement = statement.where(Complaint.county == principal.county)
    if principal.has("call_center", "supervisor", "analyst"):
        return statement
    if principal.has("customer_manager") and principal.manager_id is not None:
        own_shops = select(Shop.customer_id).where(Shop.manager_id == principal.manager_id)
        return statement.where(Complaint.customer_id.in_(own_shops))
    return statement.where(false())


def sees_personal_data(principal: Principal) -> bool:
    """Contact data for roles with need; a manager only ever sees own shops' complaints."""
    return principal.has(*PERSONAL_DATA_ROLES, "customer_manager")


def shape(complaint: Complaint, principal: Principal) -> dict[str, Any]:
    """The complaint's fields for this caller (JSON-ready), contact masked where needed."""
    data = ComplaintOut.model_validate(complaint).model_dump(mode="json")
    if not sees_personal_data(principal):
        data["complainant_name"] = mask_name(complaint.complainant_name)
        data["complainant_phone"] = mask_phone(complaint.complainant_phone)
    return data


# The columns of `GET /complaints/export`: the API's field names, so a download and the JSON agree.
EXPORT_COLUMNS = (
    "ref",
    "status",
    "filed_at",
    "channel",
    "complainant_type",
    "complainant_name",
    "complainant_phone",
    "customer_id",
    "customer_verified",
    "county",
    "district",
    "category",
    "service_item",
    "priority",
    "company_responsible",
    "description",
    "received_by",
    "assignee",
    "acknowledge_due_at",
    "resolve_due_at",
    "overdue",
    "is_repeat",
    "repeat_of",
    "reopen_count",
    "resolution",
    "root_cause",
    "callback_satisfied",
    "id",
)


EXPORT_SELECT = [getattr(Complaint, column) for column in EXPORT_COLUMNS]
_NAME, _PHONE = EXPORT_COLUMNS.index("complainant_name"), EXPORT_COLUMNS.index("complainant_phone")


def export_row(values: Sequence[Any], masked: bool) -> Row:
    """A row of EXPORT_SELECT as exported, contact masked when `masked`."""
    if not masked:
        return values
    row = list(values)
    row[_NAME], row[_PHONE] = mask_name(row[_NAME]), mask_phone(row[_PHONE])
    return row
