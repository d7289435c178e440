"""Rules that touch shop state: every change writes a version and an outbox event. Never commits."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from customer_svc.common.clock import utc_now
from customer_svc.customers import repository, rules
from customer_svc.customers.models import Customer, CustomerVersion, ViolationRecord
from customer_svc.customers.schemas import (
    CustomerCreate,
    CustomerPatch,
    ManagerAssignmentIn,
    StatusChange,
    ViolationIn,
)
from customer_svc.customers.search_terms import search_terms
from customer_svc.managers.models import Manager, ManagerAssignment
from retailcare_shared.auth import Principal
from retailcare_shared.events import (
    CustomerManagerAssigned,
    CustomerPersonalDataErased,
    CustomerRegistered,
    CustomerStatusChanged,
    CustomerUpdated,
    CustomerViolationRecorded,
)
from retailcare_shared.http import check_if_match
from retailcare_shared.outbox import EventRecorder
from retailcare_shared.problems import Conflict, InvalidInput

REQUIRED_FIELDS = ("license_no", "name", "county", "market_type")
SNAPSHOT_FIELDS = tuple(
    name for name in CustomerRegistered.model_fields if name not in {"customer_id"}
)


def to_json(value: Any) -> Any:
    """The JSON form of a stored value (dates as ISO strings, ids as strings)."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list):
        return [to_json(item) for item in value]
    return value


def state_of(customer: Customer) -> dict[str, Any]:
    """The versioned state of a shop, in JSON form."""
    return {field: to_json(getattr(customer, field)) for field in rules.VERSIONED_FIELDS}


def normalize_phone(phone: str) -> str:
    """Phones are stored without spaces or dashes so the call centre's lookup matches."""
    return phone.replace(" ", "").replace("-", "")


def refresh_search_terms(customer: Customer) -> None:
    """Rewrite the shop's search terms from its name, address and owner name."""
    customer.search_terms = search_terms(customer.name, customer.address, customer.owner_name)


def bus_snapshot(customer: Customer) -> dict[str, Any]:
    """The shop as published on the bus: no personal data."""
    return {
        "customer_id": customer.id,
        **{field: getattr(customer, field) for field in SNAPSHOT_FIELDS},
    }


def _raise(violation: rules.Violation | None) -> None:
    if violation is not None:
        raise InvalidInput(violation.field, violation.rule, violation.message)


def _check_role_fields(
    principal: Principal, fields: dict[str, Any], *, registering: bool = False
) -> None:
    forbidden = rules.forbidden_field(principal.roles, fields, registering=registering)
    if forbidden is not None:
        raise InvalidInput(forbidden, "forbidden_for_role", "your role may not set this field")
    county = fields.get("county")
    if (
        county is not None
        and principal.county
        and not principal.is_admin
        and county != principal.county
    ):
        raise InvalidInput("county", "forbidden_for_role", "outside your county")


async def _check_manager(
    session: AsyncSession, manager_id: uuid.UUID | None, county: str, field: str = "manager_id"
) -> None:
    if manager_id is None:
        return
    manager = await session.get(Manager, manager_id)
    if manager is None:
        raise InvalidInput(field, "not_found", "no such customer manager")
    if manager.retired_at is not None:
        raise InvalidInput(field, "retired", "the manager is retired")
    if manager.county != county:
        raise InvalidInput(field, "county_mismatch", "the manager works in another county")


async def _append_version(
    session: AsyncSession,
    customer: Customer,
    *,
    kind: str,
    actor: str,
    changes: dict[str, Any],
    at: datetime,
    reason: str | None = None,
    effective_date: date | None = None,
) -> None:
    await repository.close_open_version(session, customer.id, at)
    session.add(
        CustomerVersion(
            customer_id=customer.id,
            version=customer.version,
            valid_from=at,
            valid_to=None,
            change_kind=kind,
            changed_by=actor,
            changed_fields=sorted(changes),
            changes=changes,
            reason=reason,
            effective_date=effective_date,
            snapshot=state_of(customer),
        )
    )


async def register(
    session: AsyncSession, events: EventRecorder, principal: Principal, body: CustomerCreate
) -> Customer:
    """Register a shop (入网): version 1, `customer.registered`; 409 if the licence exists."""
    fields = body.model_dump(exclude_unset=True)
    _check_role_fields(principal, fields, registering=True)
    _raise(rules.consent_violation(bool(fields.get("personal_data_consent")), fields))
    if await repository.license_taken(session, body.license_no):
        raise Conflict(
            f"a shop with licence number {body.license_no} is already registered",
            license_no=body.license_no,
        )
    if principal.has("customer_manager") and not principal.has(*rules.SHOP_ADMIN_ROLES):
        fields["manager_id"] = principal.manager_id
    await _check_manager(session, fields.get("manager_id"), body.county)
    if "phones" in fields:
        fields["phones"] = [normalize_phone(phone) for phone in fields["phones"] or []]
    now = utc_now()
    customer = Customer(
        id=uuid.uuid4(),
        version=1,
        status="active",
        phones=[],
        self_operated=False,
        personal_data_consent=False,
        created_at=now,
        updated_at=now,
    )
    for field, value in fields.items():
        setattr(customer, field, value if value is not None or field != "phones" else [])
    for field in ("self_operated", "personal_data_consent"):
        if getattr(customer, field) is None:
            setattr(customer, field, False)
    refresh_search_terms(customer)
    session.add(customer)
    await session.flush()
    changes = rules.changes_between({}, state_of(customer))
    await _append_version(
        session, customer, kind="registered", actor=principal.sub, changes=changes, at=now
    )
    if customer.manager_id is not None:
        session.add(
            ManagerAssignment(
                customer_id=customer.id,
                manager_id=customer.manager_id,
                previous_manager_id=None,
                effective_date=customer.licensed_on or now.date(),
                assigned_by=principal.sub,
                assigned_at=now,
            )
        )
    await events.record(
        session, CustomerRegistered(**bus_snapshot(customer)), subject=str(customer.id)
    )
    return customer


async def update(
    session: AsyncSession,
    events: EventRecorder,
    principal: Principal,
    customer: Customer,
    body: CustomerPatch,
    if_match: str | None,
) -> Customer:
    """Partial update: a new version with old → new values and `customer.updated`."""
    check_if_match(if_match, customer.version)
    fields = body.model_dump(exclude_unset=True)
    reason = fields.pop("reason", None)
    _check_role_fields(principal, fields)
    for field in REQUIRED_FIELDS:
        if field in fields and fields[field] is None:
            raise InvalidInput(field, "required", "this field cannot be cleared")
    if fields.get("phones") is not None:
        fields["phones"] = [normalize_phone(phone) for phone in fields["phones"]]
    elif "phones" in fields:
        fields["phones"] = []
    for flag in ("self_operated", "personal_data_consent"):
        if flag in fields and fields[flag] is None:
            fields[flag] = False
    current = {field: getattr(customer, field) for field in rules.VERSIONED_FIELDS}
    proposed = rules.withdraw_consent({**current, **fields})
    _raise(rules.consent_violation(bool(proposed["personal_data_consent"]), fields))
    if "license_no" in fields and await repository.license_taken(
        session, fields["license_no"], other_than=customer.id
    ):
        raise Conflict(f"licence number {fields['license_no']} belongs to another shop")
    manager_changed = proposed["manager_id"] != customer.manager_id
    if manager_changed or "county" in fields:
        await _check_manager(session, proposed["manager_id"], proposed["county"])
    old_state = state_of(customer)
    previous_manager = customer.manager_id
    for field, value in proposed.items():
        setattr(customer, field, value)
    changes = rules.changes_between(old_state, state_of(customer))
    if not changes:
        return customer
    now = utc_now()
    customer.version += 1
    customer.updated_at = now
    if {"name", "address", "owner_name"} & changes.keys():
        refresh_search_terms(customer)
    await _append_version(
        session,
        customer,
        kind="updated",
        actor=principal.sub,
        changes=changes,
        at=now,
        reason=reason,
    )
    await events.record(
        session,
        CustomerUpdated(
            **bus_snapshot(customer), changed_fields=sorted(changes), version=customer.version
        ),
        subject=str(customer.id),
    )
    if manager_changed:
        await _record_assignment(
            session, events, principal, customer, previous_manager, now.date(), now
        )
    return customer


async def _record_assignment(
    session: AsyncSession,
    events: EventRecorder,
    principal: Principal,
    customer: Customer,
    previous_manager: uuid.UUID | None,
    effective_date: date,
    now: datetime,
) -> None:
    session.add(
        ManagerAssignment(
            customer_id=customer.id,
            manager_id=customer.manager_id,
            previous_manager_id=previous_manager,
            effective_date=effective_date,
            assigned_by=principal.sub,
            assigned_at=now,
        )
    )
    await events.record(
        session,
        CustomerManagerAssigned(
            customer_id=customer.id,
            manager_id=customer.manager_id,
            previous_manager_id=previous_manager,
            effective_date=effective_date,
        ),
        subject=str(customer.id),
    )


async def change_status(
    session: AsyncSession,
    events: EventRecorder,
    principal: Principal,
    customer: Customer,
    body: StatusChange,
    if_match: str | None,
) -> Customer:
    """Suspend, exit or reactivate: a new version and `customer.status_changed`."""
    if if_match is not None:
        check_if_match(if_match, customer.version)
    _raise(rules.status_violation(customer.status, body.status))
    now = utc_now()
    old_state = state_of(customer)
    customer.status = body.status
    customer.version += 1
    customer.updated_at = now
    await _append_version(
        session,
        customer,
        kind="status_changed",
        actor=principal.sub,
        changes=rules.changes_between(old_state, state_of(customer)),
        at=now,
        reason=body.reason,
        effective_date=body.effective_date,
    )
    await events.record(
        session,
        CustomerStatusChanged(
            customer_id=customer.id,
            status=body.status,
            reason=body.reason,
            effective_date=body.effective_date,
        ),
        subject=str(customer.id),
    )
    return customer


async def assign_manager(
    session: AsyncSession,
    events: EventRecorder,
    principal: Principal,
    customer: Customer,
    body: ManagerAssignmentIn,
    if_match: str | None,
) -> Customer:
    """Assign the shop to a manager (or none): assignment history, version, event."""
    # If-Match is optional here (customers.md): a reassignment states the whole new value.
    if if_match is not None:
        check_if_match(if_match, customer.version)
    await _check_manager(session, body.manager_id, customer.county)
    if body.manager_id == customer.manager_id:
        return customer
    now = utc_now()
    old_state = state_of(customer)
    previous = customer.manager_id
    customer.manager_id = body.manager_id
    customer.version += 1
    customer.updated_at = now
    await _append_version(
        session,
        customer,
        kind="manager_assigned",
        actor=principal.sub,
        changes=rules.changes_between(old_state, state_of(customer)),
        at=now,
        reason=body.reason,
        effective_date=body.effective_date,
    )
    await _record_assignment(
        session, events, principal, customer, previous, body.effective_date, now
    )
    return customer


async def erase_personal_data(
    session: AsyncSession,
    events: EventRecorder,
    principal: Principal,
    customer: Customer,
    reason: str | None,
) -> Customer:
    """Blank personal fields in the shop and in every version; record the erasure as a version.

    `customer.personal_data_erased` tells the services holding contacts of the shop (complaint-svc
    keeps complainants' names and phones) to blank theirs too.
    """
    now = utc_now()
    for version in await repository.all_versions(session, customer.id):
        version.snapshot = rules.erase_snapshot(version.snapshot)
        version.changes = rules.erase_changes(version.changes)
    erased_fields = [
        field
        for field in (*rules.PERSONAL_FIELDS, "personal_data_consent")
        if getattr(customer, field) not in (None, [], False)
    ]
    for field, blank in rules.ERASED_VALUES.items():
        setattr(customer, field, blank)
    customer.personal_data_consent = False
    customer.personal_data_erased_at = now
    refresh_search_terms(customer)  # the owner name's terms go with it
    customer.version += 1
    customer.updated_at = now
    await _append_version(
        session,
        customer,
        kind="personal_data_erased",
        actor=principal.sub,
        changes={field: {"old": None, "new": None, "erased": True} for field in erased_fields},
        at=now,
        reason=reason,
    )
    await events.record(
        session,
        CustomerUpdated(
            **bus_snapshot(customer), changed_fields=sorted(erased_fields), version=customer.version
        ),
        subject=str(customer.id),
    )
    await events.record(
        session,
        CustomerPersonalDataErased(customer_id=customer.id, erased_at=now),
        subject=str(customer.id),
    )
    return customer


async def record_violation(
    session: AsyncSession,
    events: EventRecorder,
    principal: Principal,
    customer: Customer,
    body: ViolationIn,
) -> ViolationRecord:
    """Record a violation and emit `customer.violation_recorded`."""
    violation = ViolationRecord(
        id=uuid.uuid4(),
        customer_id=customer.id,
        kind=body.kind,
        occurred_on=body.occurred_on,
        note=body.note,
        recorded_by=principal.sub,
        recorded_at=utc_now(),
    )
    session.add(violation)
    await events.record(
        session,
        CustomerViolationRecorded(
            customer_id=customer.id,
            violation_id=violation.id,
            kind=body.kind,
            occurred_on=body.occurred_on,
        ),
        subject=str(customer.id),
    )
    return violation
