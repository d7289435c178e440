"""Callback rules: unanswered attempts, and the answer that tells complaint-svc what to do."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from retailcare_shared.auth import Principal
from retailcare_shared.events import SurveyCallbackCompleted
from retailcare_shared.outbox import EventRecorder
from retailcare_shared.problems import Conflict, NotFound
from survey_svc.callbacks.models import Callback, CallbackAttempt
from survey_svc.callbacks.rules import COMPLETED, PENDING, after_unanswered_attempt
from survey_svc.readmodel.models import CustomerView
from survey_svc.responses import service as responses
from survey_svc.responses.answers import callback_comment, callback_satisfied
from survey_svc.responses.schemas import AnswerIn


def scoped(statement: Select[Any], user: Principal) -> Select[Any]:
    """A county-scoped caller sees callbacks of their county's shops only."""
    if user.county is None or user.is_admin:
        return statement
    return statement.join(CustomerView, CustomerView.customer_id == Callback.customer_id).where(
        CustomerView.county == user.county
    )


async def load(
    session: AsyncSession, callback_id: uuid.UUID, user: Principal, *, lock: bool = False
) -> Callback:
    """A callback the caller may see, or 404."""
    statement = scoped(select(Callback).where(Callback.id == callback_id), user)
    if lock:
        statement = statement.with_for_update(of=Callback)
    callback: Callback | None = await session.scalar(statement)
    if callback is None:
        raise NotFound(f"callback {callback_id} does not exist")
    return callback


async def record_attempt(
    session: AsyncSession, callback: Callback, actor: str, note: str | None, max_attempts: int
) -> None:
    """One more unanswered call; the last allowed one makes the callback unreachable."""
    if callback.status != PENDING:
        raise Conflict(f"the callback is {callback.status}")
    callback.attempts, callback.status = after_unanswered_attempt(callback.attempts, max_attempts)
    session.add(CallbackAttempt(callback_id=callback.id, attempted_by=actor, note=note))
    await session.flush()


async def answer(
    session: AsyncSession,
    events: EventRecorder,
    callback: Callback,
    answers: Sequence[AnswerIn],
    *,
    collected_by: str,
    recorded_by: str,
) -> Callback:
    """Store the callback answers and emit survey.callback_completed with `satisfied`."""
    if callback.status == COMPLETED:
        raise Conflict("this callback has already been answered")
    clean = await responses.validated(session, callback.questionnaire_id, answers)
    response = await responses.store(
        session,
        clean,
        questionnaire_id=callback.questionnaire_id,
        customer_id=callback.customer_id,
        channel="phone",
        collected_by=collected_by,
        recorded_by=recorded_by,
        callback_id=callback.id,
    )
    satisfied = callback_satisfied(clean)
    callback.status = COMPLETED
    callback.satisfied = satisfied
    callback.response_id = response.id
    callback.completed_at = datetime.now(UTC)
    await events.record(
        session,
        SurveyCallbackCompleted(
            complaint_id=callback.complaint_id,
            customer_id=callback.customer_id,
            response_id=response.id,
            satisfied=satisfied,
            comment=callback_comment(clean),
        ),
        subject=str(callback.customer_id or callback.complaint_id),
    )
    await session.flush()
    return callback


def queue(status: str | None, user: Principal, customer_id: uuid.UUID | None = None) -> Select[Any]:
    """Callbacks by status (the work queue) and optionally of one shop, in the caller's scope."""
    statement = select(Callback)
    if status is not None:
        statement = statement.where(Callback.status == status)
    if customer_id is not None:
        statement = statement.where(Callback.customer_id == customer_id)
    return scoped(statement, user)
