"""Rules that touch manager state: create, update, retire, reassign in bulk. Never commits."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from customer_svc.common.clock import utc_now
from customer_svc.imports import repository as imports_repository
from customer_svc.managers import repository
from customer_svc.managers.models import Manager
from customer_svc.managers.schemas import (
    AssignmentBatchIn,
    AssignmentBatchOut,
    AssignmentItem,
    AssignmentResult,
    ManagerIn,
    ManagerPatch,
    RetireIn,
)
from retailcare_shared.auth import Principal
from retailcare_shared.http import check_if_match
from retailcare_shared.logging import correlation_id_var, request_id_var
from retailcare_shared.outbox import EventRecorder
from retailcare_shared.problems import Conflict, InvalidInput, NotFound


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
        version=1,
    )
    session.add(manager)
    await session.flush()
    return manager


def _in_scope(principal: Principal, county: str) -> bool:
    return principal.is_admin or principal.county is None or principal.county == county


async def visible(session: AsyncSession, principal: Principal, manager_id: uuid.UUID) -> Manager:
    """A manager the caller may administer (county tokens: their county); else 404."""
    manager = await repository.get(session, manager_id, lock=True)
    if manager is None or not _in_scope(principal, manager.county):
        raise NotFound(f"manager {manager_id} does not exist")
    return manager


async def update_manager(
    session: AsyncSession,
    principal: Principal,
    manager: Manager,
    body: ManagerPatch,
    if_match: str | None,
) -> Manager:
    """Rename a manager or change their territories; If-Match required."""
    check_if_match(if_match, manager.version)
    fields = body.model_dump(exclude_unset=True)
    if "name" in fields and fields["name"] is None:
        raise InvalidInput("name", "required", "a manager keeps a name")
    if fields.get("districts") is None and "districts" in fields:
        fields["districts"] = []
    if "districts" in fields:
        fields["districts"] = sorted(set(fields["districts"]))
    changed = {k: v for k, v in fields.items() if getattr(manager, k) != v}
    if not changed:
        return manager
    for name, value in changed.items():
        setattr(manager, name, value)
    manager.version += 1
    manager.updated_at = utc_now()
    return manager


async def retire(
    session: AsyncSession,
    events: EventRecorder,
    principal: Principal,
    manager: Manager,
    body: RetireIn,
    if_match: str | None,
    timeout: float,
) -> int:
    """Retire a manager; their open shops move to `reassign_to` (409 while they have shops)."""
    if if_match is not None:
        check_if_match(if_match, manager.version)
    if manager.retired_at is not None:
        raise Conflict(f"manager {manager.employee_no} is already retired")
    shops = await repository.open_shop_count(session, manager.id)
    moved = 0
    if body.reassign_to is not None:
        successor = await repository.get(session, body.reassign_to)
        problem = successor_problem(manager, successor)
        if problem is not None:
            raise InvalidInput("reassign_to", *problem)
        if shops:
            now = utc_now()
            moved = len(
                await imports_repository.merge_assignments(
                    session,
                    imports_repository.MANAGER_SHOPS,
                    now,
                    manager.id,
                    body.reassign_to,
                    timeout=timeout,
                )
            )
            await imports_repository.write_history_and_events(
                session,
                principal.sub,
                correlation_id_var.get() or request_id_var.get(),
                body.effective_date,
                body.reason,
                timeout,
            )
    elif shops:
        raise Conflict(
            f"manager {manager.employee_no} still has {shops} shops: give reassign_to",
            shops=shops,
        )
    now = utc_now()
    manager.retired_at, manager.retired_by = now, principal.sub
    manager.version += 1
    manager.updated_at = now
    return moved


def successor_problem(manager: Manager, successor: Manager | None) -> tuple[str, str] | None:
    """Why a manager cannot take over another's shops, as (rule, message), or None."""
    if successor is None:
        return "not_found", "no such customer manager"
    if successor.id == manager.id:
        return "same_manager", "a manager cannot take over their own shops"
    if successor.retired_at is not None:
        return "retired", "the manager is retired"
    if successor.county != manager.county:
        return "county_mismatch", "the manager works in another county"
    return None


async def assign_batch(
    session: AsyncSession,
    principal: Principal,
    body: AssignmentBatchIn,
    timeout: float,
) -> AssignmentBatchOut:
    """Move many shops at once: checked per item, written set-based, events through the outbox."""
    items = body.assignments
    shops = await repository.shops_named(
        session,
        [item.customer_id for item in items if item.customer_id is not None],
        [item.license_no for item in items if item.license_no is not None],
    )
    by_id = {shop.id: shop for shop in shops}
    by_license = {shop.license_no: shop for shop in shops}
    managers = await repository.managers_by_id(
        session, [item.manager_id for item in items if item.manager_id is not None]
    )
    results: list[AssignmentResult] = []
    seen: set[uuid.UUID] = set()
    moves: list[tuple[uuid.UUID, uuid.UUID | None]] = []
    for index, item in enumerate(items):
        shop = (
            by_id.get(item.customer_id)
            if item.customer_id
            else by_license.get(item.license_no or "")
        )
        errors = assignment_errors(principal, item, shop, managers, seen)
        if errors:
            results.append(
                AssignmentResult(index=index, customer_id=None, status="rejected", errors=errors)
            )
            continue
        assert shop is not None  # assignment_errors refused items without a shop
        seen.add(shop.id)
        moves.append((shop.id, item.manager_id))
        results.append(AssignmentResult(index=index, customer_id=shop.id, status="unchanged"))
    moved: set[uuid.UUID] = set()
    if moves:
        moved = set(
            await imports_repository.merge_assignments(
                session,
                imports_repository.LISTED_ASSIGNMENTS,
                utc_now(),
                [customer for customer, _ in moves],
                [manager for _, manager in moves],
                timeout=timeout,
            )
        )
        if moved:
            await imports_repository.write_history_and_events(
                session,
                principal.sub,
                correlation_id_var.get() or request_id_var.get(),
                body.effective_date,
                body.reason,
                timeout,
            )
    for result in results:
        if result.customer_id in moved:
            result.status = "assigned"
    return AssignmentBatchOut(
        assigned=sum(r.status == "assigned" for r in results),
        unchanged=sum(r.status == "unchanged" for r in results),
        rejected=sum(r.status == "rejected" for r in results),
        results=results,
    )


def assignment_errors(
    principal: Principal,
    item: AssignmentItem,
    shop: Any,
    managers: dict[uuid.UUID, Manager],
    seen: set[uuid.UUID],
) -> list[dict[str, str]]:
    """Why one batch item cannot be applied (empty when it can)."""
    if item.customer_id is None and item.license_no is None:
        return [
            {
                "field": "customer_id",
                "rule": "required",
                "message": "give customer_id or license_no",
            }
        ]
    field_name = "customer_id" if item.customer_id is not None else "license_no"
    if shop is None or not _in_scope(principal, shop.county):
        return [{"field": field_name, "rule": "not_found", "message": "no such shop"}]
    if item.customer_id and item.license_no and shop.license_no != item.license_no:
        return [
            {
                "field": "license_no",
                "rule": "mismatch",
                "message": "license_no is not the licence of customer_id",
            }
        ]
    if shop.id in seen:
        return [
            {
                "field": field_name,
                "rule": "duplicate_in_batch",
                "message": "the shop is already in this batch",
            }
        ]
    if item.manager_id is not None:
        manager = managers.get(item.manager_id)
        if manager is None:
            return [
                {"field": "manager_id", "rule": "not_found", "message": "no such customer manager"}
            ]
        if manager.retired_at is not None:
            return [{"field": "manager_id", "rule": "retired", "message": "the manager is retired"}]
        if manager.county != shop.county:
            return [
                {
                    "field": "manager_id",
                    "rule": "county_mismatch",
                    "message": "the manager works in another county",
                }
            ]
    return []
