"""Shop endpoints: thin — parse, authorize, call the service, shape the response."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from customer_svc.common.clock import end_of_business_day
from customer_svc.customers import repository, service
from customer_svc.customers.access import can_see, may_search_owner, scoped, sees_personal
from customer_svc.customers.dependencies import ReadableCustomer, WritableCustomer, not_found
from customer_svc.customers.models import Customer, CustomerVersion, ViolationRecord
from customer_svc.customers.rules import mask_changes, mask_personal
from customer_svc.customers.schemas import (
    PRINTABLE,
    AssignmentOut,
    BusinessFormat,
    Code,
    CustomerCreate,
    CustomerOut,
    CustomerPatch,
    DistrictCode,
    ErasureIn,
    HistoryEntry,
    LicenseNo,
    ManagerAssignmentIn,
    MarketType,
    StatusChange,
    ValueClassFilter,
    ViolationIn,
    ViolationOut,
)
from customer_svc.managers.models import ManagerAssignment
from retailcare_shared.auth import CurrentUser, Principal, require_roles
from retailcare_shared.db import DbSession
from retailcare_shared.events import CustomerStatus
from retailcare_shared.http import Page, PageParams, etag, keyset_page, make_page, page_params
from retailcare_shared.problems import InvalidInput

router = APIRouter(prefix="/api/v1/customers", tags=["customers"])

Registrar = Annotated[Principal, Depends(require_roles("supervisor", "customer_manager"))]
Editor = Annotated[Principal, Depends(require_roles("supervisor", "customer_manager"))]
Supervisor = Annotated[Principal, Depends(require_roles("supervisor"))]
Admin = Annotated[Principal, Depends(require_roles())]
# Violations make a problem customer whatever its score: market supervision's finding, so not
# recorded by the shop's own manager (403, like any role that may never do it).
ViolationRecorder = Annotated[Principal, Depends(require_roles("supervisor"))]
Paging = Annotated[PageParams, Depends(page_params)]
IfMatch = Annotated[str | None, Header(description="the ETag of the version you read")]


def shape(customer: Customer, principal: Principal) -> CustomerOut:
    """The API form of a shop, masked for callers without a need for personal data."""
    values: dict[str, Any] = {
        field: getattr(customer, field)
        for field in CustomerOut.model_fields
        if hasattr(customer, field)
    }
    if not sees_personal(principal, customer.manager_id):
        values = mask_personal(values)
    return CustomerOut.model_validate(values)


def respond(customer: Customer, principal: Principal, response: Response) -> CustomerOut:
    """Shape the shop and set its ETag."""
    response.headers["ETag"] = etag(customer.version)
    return shape(customer, principal)


def parse_as_of(raw: str) -> tuple[datetime, bool]:
    """`as_of` is a date (the end of that business day) or an ISO instant (inclusive)."""
    try:
        if len(raw) == 10:
            return end_of_business_day(date.fromisoformat(raw)), False
        instant = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput("as_of", "format", "a date YYYY-MM-DD or an ISO-8601 instant") from None
    if instant.tzinfo is None:
        raise InvalidInput("as_of", "format", "an instant needs a UTC offset")
    return instant, True


@router.post("", status_code=201, response_model=CustomerOut)
async def register_customer(
    body: CustomerCreate, request: Request, response: Response, session: DbSession, user: Registrar
) -> CustomerOut:
    """Register a shop (入网); 409 if the licence number is already registered."""
    customer = await service.register(session, request.app.state.events, user, body)
    response.headers["Location"] = f"/api/v1/customers/{customer.id}"
    return respond(customer, user, response)


@router.get("", response_model=Page[CustomerOut])
async def search_customers(
    session: DbSession,
    user: CurrentUser,
    params: Paging,
    q: Annotated[str | None, Query(min_length=1, max_length=100, pattern=PRINTABLE)] = None,
    license_no: Annotated[LicenseNo | None, Query()] = None,
    phone: Annotated[str | None, Query(pattern=r"^\+?[0-9][0-9 \-]{4,28}[0-9]$")] = None,
    county: Annotated[Code | None, Query()] = None,
    district: Annotated[DistrictCode | None, Query()] = None,
    manager_id: uuid.UUID | None = None,
    status: CustomerStatus | None = None,
    value_class: ValueClassFilter | None = None,
    business_format: BusinessFormat | None = None,
    market_type: MarketType | None = None,
) -> Page[CustomerOut]:
    """Search and filter shops the caller may see; `phone` is the call centre's caller lookup;
    `q` (name, address or owner-name fragment, pinyin or initials) is ranked by relevance."""
    if phone is not None and not sees_personal(user, None):
        raise InvalidInput("phone", "forbidden_for_role", "your role may not search by phone")
    filters = {
        "license_no": license_no,
        "phone": service.normalize_phone(phone) if phone else None,
        "county": county,
        "district": district,
        "manager_id": manager_id,
        "status": status,
        "value_class": value_class,
        "business_format": business_format,
        "market_type": market_type,
    }
    statement = scoped(repository.search(filters), user)
    if q:  # ranked by relevance; each row is (shop, relevance, name length)
        ranked_search = repository.text_search(
            statement, q, params, owner_names=may_search_owner(user)
        )
        ranked = (await session.execute(ranked_search)).all()
        return make_page(
            ranked,
            params,
            lambda row: (row.relevance, row.name_length, row[0].license_no),
            shape=lambda row: shape(row[0], user),
        )
    rows = (await session.scalars(keyset_page(statement, [Customer.license_no], params))).all()
    return make_page(
        rows, params, lambda row: (row.license_no,), shape=lambda row: shape(row, user)
    )


@router.get("/by-license/{license_no}", response_model=CustomerOut)
async def get_by_license(
    license_no: Annotated[LicenseNo, Path()],
    session: DbSession,
    user: CurrentUser,
    response: Response,
) -> CustomerOut:
    """The shop holding a licence number."""
    customer = await repository.get_by_license(session, license_no)
    if customer is None or not can_see(user, customer.county, customer.manager_id):
        raise not_found(license_no)
    return respond(customer, user, response)


@router.get("/{customer_id}", response_model=CustomerOut)
async def get_customer(
    customer: ReadableCustomer,
    session: DbSession,
    user: CurrentUser,
    response: Response,
    as_of: Annotated[str | None, Query(max_length=40, description="YYYY-MM-DD or instant")] = None,
) -> CustomerOut:
    """The shop now, or as it stood at `as_of`."""
    if as_of is None:
        return respond(customer, user, response)
    instant, inclusive = parse_as_of(as_of)
    version = await repository.version_at(session, customer.id, instant, inclusive=inclusive)
    if version is None:
        raise not_found(f"{customer.id} at {as_of}")
    classification = await repository.classification_at(session, customer.id, instant)
    values = {
        **version.snapshot,
        "id": customer.id,
        "version": version.version,
        "valid_from": version.valid_from,
        "valid_to": version.valid_to,
        "as_of": instant,
        "value_class": classification.value_class if classification else None,
        "value_quadrant": classification.quadrant if classification else None,
        "value_period": classification.period if classification else None,
    }
    if not sees_personal(user, customer.manager_id):
        values = mask_personal(values)
    return CustomerOut.model_validate(values)


@router.get("/{customer_id}/history", response_model=Page[HistoryEntry])
async def customer_history(
    customer: ReadableCustomer, session: DbSession, user: CurrentUser, params: Paging
) -> Page[HistoryEntry]:
    """Versions, newest first, each with its changed fields and old → new values."""
    statement = keyset_page(
        repository.history(customer.id), [CustomerVersion.version], params, descending=True
    )
    rows = (await session.scalars(statement)).all()
    personal = sees_personal(user, customer.manager_id)

    def entry(row: CustomerVersion) -> HistoryEntry:
        changes = row.changes if personal else mask_changes(row.changes)
        return HistoryEntry.model_validate(
            {
                **{
                    name: getattr(row, name)
                    for name in HistoryEntry.model_fields
                    if name != "changes"
                },
                "changes": changes,
            }
        )

    return make_page(rows, params, lambda row: (row.version,), shape=entry)


@router.patch("/{customer_id}", response_model=CustomerOut)
async def patch_customer(
    body: CustomerPatch,
    customer: WritableCustomer,
    request: Request,
    response: Response,
    session: DbSession,
    user: Editor,
    if_match: IfMatch = None,
) -> CustomerOut:
    """Partial update with If-Match; history kept; emits `customer.updated`."""
    updated = await service.update(
        session, request.app.state.events, user, customer, body, if_match
    )
    return respond(updated, user, response)


@router.post("/{customer_id}/status", response_model=CustomerOut)
async def change_status(
    body: StatusChange,
    customer: WritableCustomer,
    request: Request,
    response: Response,
    session: DbSession,
    user: Supervisor,
    if_match: IfMatch = None,
) -> CustomerOut:
    """Suspend, exit (退网) or reactivate; emits `customer.status_changed`."""
    updated = await service.change_status(
        session, request.app.state.events, user, customer, body, if_match
    )
    return respond(updated, user, response)


@router.put("/{customer_id}/manager", response_model=CustomerOut)
async def assign_manager(
    body: ManagerAssignmentIn,
    customer: WritableCustomer,
    request: Request,
    response: Response,
    session: DbSession,
    user: Supervisor,
    if_match: IfMatch = None,
) -> CustomerOut:
    """Assign the shop to a customer manager (history kept); emits `customer.manager_assigned`.

    If-Match is optional; a stale one is 412."""
    updated = await service.assign_manager(
        session, request.app.state.events, user, customer, body, if_match
    )
    return respond(updated, user, response)


@router.get("/{customer_id}/manager-assignments", response_model=Page[AssignmentOut])
async def manager_assignments(
    customer: ReadableCustomer, session: DbSession, user: CurrentUser, params: Paging
) -> Page[Any]:
    """Every assignment of the shop, newest first."""
    statement = keyset_page(
        repository.assignments(customer.id), [ManagerAssignment.id], params, descending=True
    )
    rows = (await session.scalars(statement)).all()
    return make_page(rows, params, lambda row: (row.id,))


@router.post("/{customer_id}/erase-personal-data", response_model=CustomerOut)
async def erase_personal_data(
    customer: WritableCustomer,
    request: Request,
    response: Response,
    session: DbSession,
    user: Admin,
    body: ErasureIn | None = None,
) -> CustomerOut:
    """Blank owner name, phones, birthday and hobbies in every version (PIPL erasure); emits
    `customer.personal_data_erased` so complaint-svc blanks the shop's complainant contacts."""
    updated = await service.erase_personal_data(
        session, request.app.state.events, user, customer, body.reason if body else None
    )
    return respond(updated, user, response)


@router.post("/{customer_id}/violations", status_code=201, response_model=ViolationOut)
async def record_violation(
    body: ViolationIn,
    customer: WritableCustomer,
    request: Request,
    session: DbSession,
    user: ViolationRecorder,
) -> ViolationRecord:
    """Record a violation; emits `customer.violation_recorded`."""
    return await service.record_violation(session, request.app.state.events, user, customer, body)


@router.get("/{customer_id}/violations", response_model=Page[ViolationOut])
async def list_violations(
    customer: ReadableCustomer, session: DbSession, user: CurrentUser, params: Paging
) -> Page[Any]:
    """The shop's violations, newest first."""
    statement = keyset_page(
        repository.violations(customer.id),
        [ViolationRecord.occurred_on, ViolationRecord.id],
        params,
        descending=True,
    )
    rows = (await session.scalars(statement)).all()
    return make_page(rows, params, lambda row: (row.occurred_on, row.id))
