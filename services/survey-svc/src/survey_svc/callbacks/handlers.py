"""complaint.resolved → one callback for the complaint."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from retailcare_shared.events import ComplaintResolved, Envelope
from retailcare_shared.workdays import WorkCalendar
from survey_svc.callbacks.models import Callback
from survey_svc.callbacks.rules import PENDING, callback_due
from survey_svc.questionnaires.models import Questionnaire


@dataclass
class CallbackRules:
    """Settings the consumer needs; set from the app's settings when the service starts."""

    calendar: WorkCalendar
    due_working_days: int = 3


# Consumer handlers receive (session, envelope, payload) only; the app's settings reach them
# through this holder, filled by `configure_callback_rules` at start-up.
RULES = CallbackRules(WorkCalendar())


async def on_complaint_resolved(
    session: AsyncSession, envelope: Envelope, payload: ComplaintResolved
) -> None:
    """Create the complaint's callback; a second delivery (or a re-resolution) adds nothing."""
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
            due_at=callback_due(payload.resolved_at, RULES.calendar, RULES.due_working_days),
            attempts=0,
            resolved_at=payload.resolved_at,
        )
        .on_conflict_do_nothing(index_elements=[Callback.complaint_id])
    )
