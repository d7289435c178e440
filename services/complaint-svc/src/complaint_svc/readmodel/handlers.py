"""Consumed events: customer and valuation events → shop read model; callbacks and erasures →
complaints."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import case, func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from complaint_svc.complaints import repository, service
from complaint_svc.complaints.models import Complaint
from complaint_svc.context import session_context
from complaint_svc.readmodel.models import PLACEHOLDER_STATUS, PLACEHOLDER_VERSION, Shop
from retailcare_shared.events import (
    CustomerManagerAssigned,
    CustomerPersonalDataErased,
    CustomerSnapshot,
    CustomerStatusChanged,
    Envelope,
    SurveyCallbackCompleted,
    ValuationCustomerClassified,
)


def _customer_id(envelope: Envelope, payload_id: uuid.UUID | None) -> uuid.UUID | None:
    if payload_id is not None:
        return payload_id
    try:
        return uuid.UUID(envelope.subject)
    except ValueError:
        return None


async def on_customer_snapshot(session: AsyncSession, envelope: Envelope, payload: Any) -> None:
    """customer.registered / customer.updated: upsert the shop (older versions never win)."""
    snapshot: CustomerSnapshot = payload
    version = int(getattr(payload, "version", 0))
    active = snapshot.status == "active"
    since = snapshot.licensed_on or envelope.time.date()
    values = {
        "customer_id": snapshot.customer_id,
        "county": snapshot.county,
        "district": snapshot.district,
        "market_type": snapshot.market_type,
        "trading_area": snapshot.trading_area,
        "business_format": snapshot.business_format,
        "scale": snapshot.scale,
        "order_method": snapshot.order_method,
        "manager_id": snapshot.manager_id,
        "status": snapshot.status,
        "active_since": since,
        "inactive_since": None if active else envelope.time.date(),
        "snapshot_version": version,
    }
    statement = insert(Shop).values(**values)
    refresh: dict[str, Any] = {
        key: statement.excluded[key]
        for key in values
        if key not in {"customer_id", "active_since", "inactive_since"}
    }
    # A placeholder (classified before registered) takes the real activity start.
    refresh["active_since"] = case(
        (Shop.snapshot_version < 0, statement.excluded.active_since), else_=Shop.active_since
    )
    # An inactive span starts when the snapshot first shows the shop inactive and ends with it.
    refresh["inactive_since"] = case(
        (statement.excluded.status == "active", None),
        else_=func.coalesce(Shop.inactive_since, statement.excluded.inactive_since),
    )
    upsert = statement.on_conflict_do_update(
        index_elements=[Shop.customer_id],
        set_=refresh,
        where=Shop.snapshot_version <= statement.excluded.snapshot_version,
    ).returning(Shop)
    # Held to the commit: an intake that read the read model before this snapshot inserts its
    # complaint after it, and its trigger then finds the shop (migration 0004).
    await repository.lock_shop_snapshot(session, snapshot.customer_id)
    shop = await session.scalar(upsert)
    if shop is not None:
        await repository.mark_verified(session, shop)


async def on_status_changed(session: AsyncSession, envelope: Envelope, payload: Any) -> None:
    """customer.status_changed: keep the activity span for rate denominators."""
    event: CustomerStatusChanged = payload
    customer_id = _customer_id(envelope, event.customer_id)
    if customer_id is None:
        return
    effective: date = event.effective_date
    if event.status == "active":
        values: dict[str, Any] = {"status": "active", "inactive_since": None}
    else:
        values = {"status": event.status, "inactive_since": effective}
    # Unknown shops are tolerated: the registration event will bring the full snapshot.
    await session.execute(update(Shop).where(Shop.customer_id == customer_id).values(**values))


async def on_manager_assigned(session: AsyncSession, envelope: Envelope, payload: Any) -> None:
    """customer.manager_assigned: managers see the complaints of their current shops."""
    event: CustomerManagerAssigned = payload
    customer_id = _customer_id(envelope, event.customer_id)
    if customer_id is None:
        return
    await session.execute(
        update(Shop).where(Shop.customer_id == customer_id).values(manager_id=event.manager_id)
    )


async def on_personal_data_erased(session: AsyncSession, envelope: Envelope, payload: Any) -> None:
    """customer.personal_data_erased: blank the shop's complainant contacts (PIPL erasure).

    Only retailer complaints: their complainant is the shop's owner or staff, whose data the
    erasure covers; a consumer complaining about the shop is another person, still called back.
    Idempotent: a second delivery finds nothing left to blank.
    """
    event: CustomerPersonalDataErased = payload
    await session.execute(
        update(Complaint)
        .where(
            Complaint.customer_id == event.customer_id,
            Complaint.complainant_type == "retailer",
            (Complaint.complainant_name.is_not(None)) | (Complaint.complainant_phone.is_not(None)),
        )
        .values(complainant_name=None, complainant_phone=None, version=Complaint.version + 1)
    )


async def on_classified(session: AsyncSession, envelope: Envelope, payload: Any) -> None:
    """valuation.customer_classified: the value class dimension of analytics."""
    event: ValuationCustomerClassified = payload
    # Valuation events travel on another topic and may overtake the registration: keep the
    # class on a placeholder that never counts as active until the snapshot arrives.
    statement = insert(Shop).values(
        customer_id=event.customer_id,
        value_class=event.value_class,
        status=PLACEHOLDER_STATUS,
        active_since=date.max,
        snapshot_version=PLACEHOLDER_VERSION,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Shop.customer_id], set_={"value_class": event.value_class}
        )
    )


async def on_callback_completed(session: AsyncSession, envelope: Envelope, payload: Any) -> None:
    """survey.callback_completed: close when satisfied, else reopen with a repeat complaint."""
    event: SurveyCallbackCompleted = payload
    await service.on_callback(
        session,
        session_context(session),
        event.complaint_id,
        satisfied=event.satisfied,
        comment=event.comment,
    )
