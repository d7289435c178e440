"""Customer, valuation and complaint events → survey-svc's own read models (idempotent upserts)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import case, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from retailcare_shared.events import (
    ComplaintCustomerAttached,
    ComplaintFiled,
    CustomerManagerAssigned,
    CustomerSnapshot,
    CustomerStatusChanged,
    Envelope,
    ValuationCustomerClassified,
)
from survey_svc.readmodel.models import ComplaintView, CustomerView

# A shop known only from a classification, before its registration arrived (other topic).
UNKNOWN_STATUS = "unknown"


def _subject(envelope: Envelope, customer_id: uuid.UUID | None) -> uuid.UUID:
    return customer_id or uuid.UUID(envelope.subject)


async def on_customer_snapshot(
    session: AsyncSession, envelope: Envelope, payload: CustomerSnapshot
) -> None:
    """customer.registered / customer.updated: upsert, never going back to an older version."""
    version = int(getattr(payload, "version", 1))
    event_date = envelope.time.date()
    values: dict[str, Any] = {
        "customer_id": payload.customer_id,
        "county": payload.county,
        "district": payload.district,
        "market_type": payload.market_type,
        "manager_id": payload.manager_id,
        "status": payload.status,
        "status_since": None if payload.status == "active" else event_date,
        "licensed_on": payload.licensed_on,
        "version": version,
    }
    statement = insert(CustomerView).values(**values)
    excluded = statement.excluded
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[CustomerView.customer_id],
            set_={
                "county": excluded.county,
                "district": excluded.district,
                "market_type": excluded.market_type,
                "manager_id": excluded.manager_id,
                "licensed_on": excluded.licensed_on,
                "version": excluded.version,
                "status": excluded.status,
                "status_since": case(
                    (CustomerView.status == UNKNOWN_STATUS, excluded.status_since),
                    (CustomerView.status != excluded.status, event_date),
                    else_=CustomerView.status_since,
                ),
            },
            where=CustomerView.version <= excluded.version,
        )
    )


async def on_status_changed(
    session: AsyncSession, envelope: Envelope, payload: CustomerStatusChanged
) -> None:
    """customer.status_changed: status and since when (unknown shops are skipped)."""
    await session.execute(
        update(CustomerView)
        .where(CustomerView.customer_id == _subject(envelope, payload.customer_id))
        .values(status=payload.status, status_since=payload.effective_date)
    )


async def on_manager_assigned(
    session: AsyncSession, envelope: Envelope, payload: CustomerManagerAssigned
) -> None:
    """customer.manager_assigned: the shop's current manager."""
    await session.execute(
        update(CustomerView)
        .where(CustomerView.customer_id == _subject(envelope, payload.customer_id))
        .values(manager_id=payload.manager_id)
    )


async def on_classified(
    session: AsyncSession, envelope: Envelope, payload: ValuationCustomerClassified
) -> None:
    """valuation.customer_classified: the shop's value class (placeholder row if not yet known)."""
    statement = insert(CustomerView).values(
        customer_id=payload.customer_id,
        status=UNKNOWN_STATUS,
        value_class=payload.value_class,
        version=0,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[CustomerView.customer_id],
            set_={"value_class": statement.excluded.value_class},
        )
    )


async def on_complaint_filed(
    session: AsyncSession, envelope: Envelope, payload: ComplaintFiled
) -> None:
    """complaint.filed: what the complaint rate needs, once per complaint."""
    responsible = payload.company_responsible
    if responsible is None:
        # complaints.md: retailer complaints default to the company's fault, consumer ones not.
        responsible = payload.complainant_type == "retailer"
    await session.execute(
        insert(ComplaintView)
        .values(
            complaint_id=payload.complaint_id,
            customer_id=payload.customer_id,
            complainant_type=payload.complainant_type,
            company_responsible=responsible,
            filed_at=payload.filed_at,
        )
        .on_conflict_do_nothing(index_elements=[ComplaintView.complaint_id])
    )


async def on_complaint_customer_attached(
    session: AsyncSession, envelope: Envelope, payload: ComplaintCustomerAttached
) -> None:
    """complaint.customer_attached: a complaint filed without a shop now names one (counts for
    the shop's complaint rate). Keyed like its complaint.filed, so it arrives after it."""
    await session.execute(
        update(ComplaintView)
        .where(
            ComplaintView.complaint_id == payload.complaint_id,
            ComplaintView.customer_id.is_(None),
        )
        .values(customer_id=payload.customer_id)
    )
