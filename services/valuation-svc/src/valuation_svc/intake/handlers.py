"""Consumed events → aggregates. The runner's inbox de-duplicates; every effect is keyed too."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from retailcare_shared.consumer import Subscription
from retailcare_shared.events import (
    COMPLAINT_EVENTS,
    CUSTOMER_EVENTS,
    ORDER_EVENTS,
    ComplaintCustomerAttached,
    ComplaintFiled,
    CustomerManagerAssigned,
    CustomerSnapshot,
    CustomerStatusChanged,
    CustomerViolationRecorded,
    Envelope,
    OrderCancelled,
)
from retailcare_shared.workdays import COMPANY_TIME_ZONE
from valuation_svc.intake import repository
from valuation_svc.intake.figures import order_columns, order_figures


def _subject_id(envelope: Envelope, explicit: uuid.UUID | None) -> uuid.UUID | None:
    if explicit is not None:
        return explicit
    try:
        return uuid.UUID(envelope.subject)
    except ValueError:
        return None


async def on_snapshot(session: AsyncSession, envelope: Envelope, payload: Any) -> None:
    """customer.registered / customer.updated: keep the attributes valuation needs."""
    snapshot: CustomerSnapshot = payload
    values = {name: getattr(snapshot, name) for name in repository.SNAPSHOT_FIELDS}
    await repository.upsert_shop(
        session, {"customer_id": snapshot.customer_id, **values, "updated_at": envelope.time}
    )


async def on_status_changed(session: AsyncSession, envelope: Envelope, payload: Any) -> None:
    """customer.status_changed."""
    event: CustomerStatusChanged = payload
    customer_id = _subject_id(envelope, event.customer_id)
    if customer_id is not None:
        await repository.update_shop(session, customer_id, status=event.status)


async def on_manager_assigned(session: AsyncSession, envelope: Envelope, payload: Any) -> None:
    """customer.manager_assigned: the manager whose shops these are (access checks)."""
    event: CustomerManagerAssigned = payload
    customer_id = _subject_id(envelope, event.customer_id)
    if customer_id is not None:
        await repository.update_shop(session, customer_id, manager_id=event.manager_id)


async def on_violation(session: AsyncSession, envelope: Envelope, payload: Any) -> None:
    """customer.violation_recorded."""
    event: CustomerViolationRecorded = payload
    customer_id = _subject_id(envelope, event.customer_id)
    if customer_id is not None:
        await repository.add_violation(
            session, event.violation_id, customer_id, event.kind, event.occurred_on
        )


async def on_order_placed(session: AsyncSession, envelope: Envelope, payload: Any) -> None:
    """order.placed: add the order to its shop-month once."""
    figures = order_figures(payload)
    if await repository.add_order(session, figures):
        await repository.apply_to_month(session, figures, 1)


async def on_orders_placed(session: AsyncSession, events: list[tuple[Envelope, Any]]) -> None:
    """order.placed, a run at a time: what on_order_placed does for each, in set-based SQL."""
    await repository.add_orders(session, order_columns(payload for _, payload in events))


async def on_order_cancelled(session: AsyncSession, envelope: Envelope, payload: Any) -> None:
    """order.cancelled: subtract exactly what the order added, once."""
    event: OrderCancelled = payload
    figures = await repository.cancel_order(
        session, event.order_id, _subject_id(envelope, event.customer_id)
    )
    if figures is not None and figures["month"] is not None:
        await repository.apply_to_month(session, figures, -1)


async def on_complaint_filed(session: AsyncSession, envelope: Envelope, payload: Any) -> None:
    """complaint.filed: consumer complaints lower credit; any open complaint adds issue handling.

    Dated by the company's calendar day (Asia/Shanghai): 2026-06-30T17:00Z is 1 July, in H2.
    A shop-less complaint is kept for its complaint.customer_attached; a reopen's repeat row is
    kept as open but marked, so the grievance lowers credit once.
    """
    event: ComplaintFiled = payload
    await repository.add_complaint(
        session,
        event.complaint_id,
        event.customer_id,
        event.complainant_type,
        event.filed_at.astimezone(COMPANY_TIME_ZONE).date(),
        event.reopened_from,
    )


async def on_complaint_customer_attached(
    session: AsyncSession, envelope: Envelope, payload: Any
) -> None:
    """complaint.customer_attached: the complaint now counts for the named shop."""
    event: ComplaintCustomerAttached = payload
    await repository.attach_complaint(session, event.complaint_id, event.customer_id)


async def on_complaint_finished(session: AsyncSession, envelope: Envelope, payload: Any) -> None:
    """complaint.resolved / complaint.closed: no longer open."""
    await repository.set_complaint_open(session, payload.complaint_id, False)


async def on_complaint_reopened(session: AsyncSession, envelope: Envelope, payload: Any) -> None:
    """complaint.reopened: open again."""
    await repository.set_complaint_open(session, payload.complaint_id, True)


SUBSCRIPTIONS = [
    Subscription(
        name="customers",
        topics=[CUSTOMER_EVENTS],
        handlers={
            "customer.registered": on_snapshot,
            "customer.updated": on_snapshot,
            "customer.status_changed": on_status_changed,
            "customer.manager_assigned": on_manager_assigned,
            "customer.violation_recorded": on_violation,
        },
    ),
    Subscription(
        name="orders",
        topics=[ORDER_EVENTS],
        handlers={"order.placed": on_order_placed, "order.cancelled": on_order_cancelled},
        batch_handlers={"order.placed": on_orders_placed},
    ),
    Subscription(
        name="complaints",
        topics=[COMPLAINT_EVENTS],
        handlers={
            "complaint.filed": on_complaint_filed,
            "complaint.customer_attached": on_complaint_customer_attached,
            "complaint.resolved": on_complaint_finished,
            "complaint.closed": on_complaint_finished,
            "complaint.reopened": on_complaint_reopened,
        },
    ),
]
