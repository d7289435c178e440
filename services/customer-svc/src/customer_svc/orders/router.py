"""Order endpoints for the ordering platform: single, batch, cancel, reads."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from customer_svc.customers import repository as customers
from customer_svc.customers.access import can_see
from customer_svc.customers.dependencies import ReadableCustomer
from customer_svc.orders import repository, service
from customer_svc.orders.models import Order
from customer_svc.orders.schemas import (
    BatchOut,
    CancelIn,
    OrderIn,
    OrderLineOut,
    OrderOut,
    OrdersBatchIn,
)
from retailcare_shared.auth import CurrentUser, Principal, require_roles
from retailcare_shared.db import DbSession
from retailcare_shared.http import Page, PageParams, keyset_page, make_page, page_params
from retailcare_shared.idempotency import Idempotency
from retailcare_shared.problems import Conflict, NotFound, ProblemError

router = APIRouter(prefix="/api/v1", tags=["orders"])

Platform = Annotated[Principal, Depends(require_roles("order_platform"))]
Paging = Annotated[PageParams, Depends(page_params)]


class OrderRejected(ProblemError):
    """A single order that breaks a rule: 422 listing every broken rule."""

    status, type_slug = 422, "validation-failed"


async def visible_order(
    session: DbSession, principal: CurrentUser, order_id: uuid.UUID, *, lock: bool = False
) -> Order:
    """The order if it exists and the caller may see its shop, else 404."""
    order = await repository.get(session, order_id, lock=lock)
    shop = await customers.get(session, order.customer_id) if order else None
    if order is None or shop is None or not can_see(principal, shop.county, shop.manager_id):
        raise NotFound(f"order {order_id} does not exist")
    return order


async def with_lines(session: DbSession, order: Order) -> OrderOut:
    """The order with its lines."""
    lines = [
        OrderLineOut.model_validate(line) for line in await repository.lines_of(session, order.id)
    ]
    return OrderOut.model_validate(order).model_copy(update={"lines": lines})


@router.post("/orders", status_code=201, response_model=OrderOut)
async def place_order(
    body: OrderIn,
    request: Request,
    session: DbSession,
    user: Platform,
    idempotency: Idempotency,
) -> Any:
    """One order (Idempotency-Key honoured; a stored order_no is a 409 naming the stored order)."""
    raw = body.model_dump(mode="json", exclude_unset=True)
    [outcome] = await service.place_orders(session, request.app.state.events, user, [raw])
    if outcome.status == "rejected":
        names = ", ".join(sorted({error["field"] for error in outcome.errors}))
        raise OrderRejected(f"invalid order: {names}", errors=outcome.errors)
    if outcome.status == "duplicate":
        raise Conflict(
            f"order {body.order_no} is already stored",
            order_id=str(outcome.order_id) if outcome.order_id else None,
        )
    assert outcome.order_id is not None
    order = await repository.get(session, outcome.order_id)
    assert order is not None
    out = await with_lines(session, order)
    return await idempotency.remember(
        out, status_code=201, headers={"Location": f"/api/v1/orders/{order.id}"}
    )


@router.post("/orders/batch", response_model=BatchOut)
async def place_batch(
    body: OrdersBatchIn, request: Request, session: DbSession, user: Platform
) -> JSONResponse:
    """Up to 1,000 orders: each accepted, duplicate (order_no stored) or rejected, in order."""
    outcomes = await service.place_orders(session, request.app.state.events, user, body.orders)
    # Built as plain JSON (the schema above documents it): a thousand pydantic results plus the
    # response-model re-validation cost more than the rest of the request.
    results = [
        {
            "order_no": outcome.order_no,
            "status": outcome.status,
            "order_id": str(outcome.order_id) if outcome.order_id else None,
            "errors": outcome.errors,
        }
        for outcome in outcomes
    ]
    return JSONResponse(
        {
            "accepted": sum(outcome.status == "accepted" for outcome in outcomes),
            "duplicates": sum(outcome.status == "duplicate" for outcome in outcomes),
            "rejected": sum(outcome.status == "rejected" for outcome in outcomes),
            "results": results,
        }
    )


@router.post("/orders/{order_id}/cancel", response_model=OrderOut)
async def cancel_order(
    order_id: uuid.UUID, body: CancelIn, request: Request, session: DbSession, user: Platform
) -> Order:
    """Cancel an order; emits `order.cancelled`."""
    order = await visible_order(session, user, order_id, lock=True)
    return await service.cancel(session, request.app.state.events, user, order, body.reason)


@router.get("/orders/{order_id}", response_model=OrderOut)
async def get_order(order_id: uuid.UUID, session: DbSession, user: CurrentUser) -> OrderOut:
    """An order with its lines."""
    return await with_lines(session, await visible_order(session, user, order_id))


@router.get("/customers/{customer_id}/orders", response_model=Page[OrderOut])
async def customer_orders(
    customer: ReadableCustomer,
    session: DbSession,
    params: Paging,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> Page[Any]:
    """A shop's orders between `from` and `to` (inclusive), newest first, without lines."""
    statement = keyset_page(
        repository.for_customer(customer.id, start, end),
        [Order.order_date, Order.order_no],
        params,
        descending=True,
    )
    rows = (await session.scalars(statement)).all()
    return make_page(rows, params, lambda row: (row.order_date, row.order_no))
