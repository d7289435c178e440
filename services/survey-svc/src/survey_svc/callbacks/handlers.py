"""complaint.resolved → one callback for each resolution of the complaint."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from retailcare_shared.consumer import app_of
from retailcare_shared.events import ComplaintResolved, Envelope
from retailcare_shared.workdays import WorkCalendar
from survey_svc.callbacks.models import Callback
from survey_svc.callbacks.rules import PENDING, callback_due
from survey_svc.config import Settings
from survey_svc.questionnaires.models import Questionnaire


@dataclass(frozen=True)
class CallbackRules:
    """What the consumer needs from the app's settings."""

    calendar: WorkCalendar
    due_working_days: int = 3


def callback_rules(app: FastAPI) -> CallbackRules:
    """The app's callback rules, built from its settings on first use."""
    rules: CallbackRules | None = getattr(app.state, "callback_rules", None)
    if rules is None:
        settings: Settings = app.state.settings
        rules = CallbackRules(settings.calendar(), settings.callback_due_working_days)
        app.state.callback_rules = rules
    return rules


async def prepare_callback_rules(app: FastAPI) -> None:
    """Start-up job: build the calendar once (and warn about uncovered years) before any event."""
    callback_rules(app)


async def on_complaint_resolved(
    session: AsyncSession, envelope: Envelope, payload: ComplaintResolved
) -> None:
    """Create the callback of this resolution; a second delivery of it adds nothing, a later
    resolution (after a reopen) adds its own callback."""
    rules = callback_rules(app_of(session))
    questionnaire_id = await session.scalar(
        select(Questionnaire.id)
        .where(Questionnaire.code == "callback")
        .order_by(Questionnaire.version.desc())
        .limit(1)
    )
    assert questionnaire_id is not None, "the callback questionnaire is seeded by migration 0002"
    await session.execute(
        insert(Callback)
        .values(
            id=uuid.uuid4(),
            complaint_id=payload.complaint_id,
            customer_id=payload.customer_id,
            questionnaire_id=questionnaire_id,
            status=PENDING,
            due_at=callback_due(payload.resolved_at, rules.calendar, rules.due_working_days),
            attempts=0,
            resolved_at=payload.resolved_at,
        )
        .on_conflict_do_nothing(index_elements=[Callback.complaint_id, Callback.resolved_at])
    )
