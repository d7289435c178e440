"""`valuation.customer_classified` → the class and quadrant customer-svc shows for a shop."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from customer_svc.common.clock import utc_now
from customer_svc.customers.models import Classification, Customer
from retailcare_shared.consumer import Subscription
from retailcare_shared.events import VALUATION_EVENTS, Envelope, ValuationCustomerClassified


async def on_customer_classified(session: AsyncSession, envelope: Envelope, payload: Any) -> None:
    """Keep every classification; show the one of the latest period (older runs never win)."""
    assert isinstance(payload, ValuationCustomerClassified)
    now = utc_now()
    values = {
        "customer_id": payload.customer_id,
        "period": payload.period,
        "run_id": payload.run_id,
        "value_class": payload.value_class,
        "quadrant": payload.quadrant,
        "total_score": payload.total_score,
        "credit_score": payload.credit_score,
        "received_at": now,
    }
    statement = insert(Classification).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Classification.customer_id, Classification.period],
            set_={
                key: statement.excluded[key]
                for key in values
                if key not in {"customer_id", "period"}
            },
        )
    )
    # A shop not (yet) known here simply matches no row; the classification is kept above.
    await session.execute(
        update(Customer)
        .where(
            Customer.id == payload.customer_id,
            or_(Customer.value_period.is_(None), Customer.value_period <= payload.period),
        )
        .values(
            value_class=payload.value_class,
            value_quadrant=payload.quadrant,
            value_period=payload.period,
            classified_at=now,
        )
    )


subscription = Subscription(
    name="classification",
    topics=[VALUATION_EVENTS],
    handlers={"valuation.customer_classified": on_customer_classified},
)
