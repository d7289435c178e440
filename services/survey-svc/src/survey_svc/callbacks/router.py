"""Callback endpoints: the call centre's work queue, attempts and answers."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from retailcare_shared.db import DbSession
from retailcare_shared.http import Page, PageParams, keyset_page, make_page, page_params
from retailcare_shared.idempotency import Idempotency
from survey_svc.access import CallbackWorker
from survey_svc.callbacks import service
from survey_svc.callbacks.models import Callback
from survey_svc.callbacks.schemas import AttemptIn, CallbackOut, CallbackResponseIn, CallbackStatus

router = APIRouter(prefix="/api/v1/callbacks", tags=["callbacks"])


@router.get("", response_model=Page[CallbackOut])
async def work_queue(
    session: DbSession,
    user: CallbackWorker,
    params: Annotated[PageParams, Depends(page_params)],
    status: Annotated[CallbackStatus | None, Query()] = None,
    customer_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Page[Any]:
    """Callbacks, oldest due first (`status=pending` is the work queue)."""
    statement = keyset_page(
        service.queue(status, user, customer_id), [Callback.due_at, Callback.id], params
    )
    rows = (await session.scalars(statement)).all()
    return make_page(
        rows, params, lambda row: (row.due_at.isoformat(), row.id), shape=CallbackOut.model_validate
    )


@router.get("/{callback_id}", response_model=CallbackOut)
async def get_callback(
    callback_id: uuid.UUID, session: DbSession, user: CallbackWorker
) -> CallbackOut:
    """One callback."""
    return CallbackOut.model_validate(await service.load(session, callback_id, user))


@router.post("/{callback_id}/attempts", response_model=CallbackOut)
async def record_attempt(
    callback_id: uuid.UUID,
    body: AttemptIn,
    request: Request,
    session: DbSession,
    user: CallbackWorker,
) -> CallbackOut:
    """Record an unanswered call; after the last allowed one the callback is unreachable."""
    callback = await service.load(session, callback_id, user, lock=True)
    await service.record_attempt(
        session, callback, user.sub, body.note, request.app.state.settings.callback_max_attempts
    )
    return CallbackOut.model_validate(callback)


@router.post("/{callback_id}/response", response_model=CallbackOut)
async def answer_callback(
    callback_id: uuid.UUID,
    body: CallbackResponseIn,
    request: Request,
    session: DbSession,
    idempotency: Idempotency,
    user: CallbackWorker,
) -> Response:
    """Store the callback answers; emits survey.callback_completed."""
    callback = await service.load(session, callback_id, user, lock=True)
    await service.answer(
        session,
        request.app.state.events,
        callback,
        body.answers,
        collected_by=body.collected_by,
        recorded_by=user.sub,
    )
    return await idempotency.remember(CallbackOut.model_validate(callback), status_code=200)
