"""The deadline sweeper: escalates each breach exactly once, safe with several replicas."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from complaint_svc.complaints import repository
from complaint_svc.complaints.service import now_utc
from complaint_svc.context import ComplaintContext, context_of
from retailcare_shared.events import ComplaintEscalated
from retailcare_shared.logging import get_logger
from retailcare_shared.outbox import record_events

log = get_logger(__name__)

# One conditional UPDATE per breach kind: rows another replica holds are skipped (SKIP LOCKED)
# and rows it already escalated no longer match `*_escalated_at IS NULL`, so no double escalation.
_ESCALATE = {
    "acknowledge_overdue": """
        UPDATE complaints AS c
           SET acknowledge_escalated_at = :now, overdue = true, version = c.version + 1
         WHERE c.id IN (
                 SELECT id FROM complaints
                  WHERE status = 'received' AND acknowledge_escalated_at IS NULL
                    AND acknowledge_due_at < :now
                  ORDER BY acknowledge_due_at
                  LIMIT :batch
                  FOR UPDATE SKIP LOCKED)
           AND c.acknowledge_escalated_at IS NULL AND c.status = 'received'
        RETURNING c.id, c.customer_id, c.status
    """,
    "resolve_overdue": """
        UPDATE complaints AS c
           SET resolve_escalated_at = :now, overdue = true, version = c.version + 1
         WHERE c.id IN (
                 SELECT id FROM complaints
                  WHERE status IN ('received', 'assigned', 'in_progress')
                    AND resolve_escalated_at IS NULL AND resolve_due_at < :now
                  ORDER BY resolve_due_at
                  LIMIT :batch
                  FOR UPDATE SKIP LOCKED)
           AND c.resolve_escalated_at IS NULL
           AND c.status IN ('received', 'assigned', 'in_progress')
        RETURNING c.id, c.customer_id, c.status
    """,
}


@dataclass(frozen=True)
class Escalation:
    """One breach escalated by a sweep."""

    complaint_id: uuid.UUID
    reason: str


async def sweep(
    session: AsyncSession, context: ComplaintContext, now: datetime, *, batch: int = 500
) -> list[Escalation]:
    """Escalate breaches found at `now`: mark overdue, write the timeline, record events."""
    escalations: list[Escalation] = []
    timeline: list[dict[str, object]] = []
    envelopes = []
    for reason, statement in _ESCALATE.items():
        rows = (await session.execute(text(statement), {"now": now, "batch": batch})).all()
        for complaint_id, customer_id, status in rows:
            escalations.append(Escalation(complaint_id, reason))
            timeline.append(
                {
                    "complaint_id": complaint_id,
                    "at": now,
                    "actor": "deadline-sweeper",
                    "action": "escalate",
                    "from_status": status,
                    "to_status": status,
                    "note": reason,
                    "details": {"escalated_to": context.escalation_target},
                }
            )
            envelopes.append(
                context.recorder.envelope(
                    ComplaintEscalated(
                        complaint_id=complaint_id,
                        reason=reason,
                        escalated_to=context.escalation_target,
                    ),
                    subject=str(customer_id or complaint_id),
                )
            )
    await repository.add_timeline(session, timeline)
    await record_events(session, envelopes)
    return escalations


async def deadline_sweeper(app: FastAPI) -> None:
    """Background job: sweep every interval until shutdown."""
    settings = app.state.settings
    context = context_of(app)
    while settings.sweeper_enabled and not app.state.stop_jobs.is_set():
        try:
            async with app.state.database.transaction() as session:
                found = await sweep(session, context, now_utc(), batch=settings.sweeper_batch_size)
            if found:
                log.info("complaints_escalated", count=len(found))
        except Exception as error:  # the database may be down; try again next round
            log.warning("sweep_failed", error=type(error).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                app.state.stop_jobs.wait(), timeout=settings.sweeper_interval_seconds
            )
