"""Complaint rules that touch state: intake, lifecycle actions, callbacks. Never commits."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from complaint_svc.complaints import repository
from complaint_svc.complaints.catalogue import default_company_responsible
from complaint_svc.complaints.exceptions import CustomerAlreadyAttached, TransitionConflict
from complaint_svc.complaints.lifecycle import (
    Action,
    TransitionNotAllowed,
    check_escalatable,
    is_handover,
    next_status,
)
from complaint_svc.complaints.models import CaseAnalysis, Complaint
from complaint_svc.complaints.repeats import chain_root, find_repeat_root
from complaint_svc.complaints.schemas import CaseAnalysisIn, ComplaintIn
from complaint_svc.context import ComplaintContext
from complaint_svc.deadlines.calendar import due_times
from complaint_svc.readmodel.models import Shop
from retailcare_shared.events import (
    ComplaintAssigned,
    ComplaintClosed,
    ComplaintCustomerAttached,
    ComplaintEscalated,
    ComplaintFiled,
    ComplaintReopened,
    ComplaintResolved,
    Envelope,
    Payload,
)
from retailcare_shared.idempotency import Answer, RequestKey, answer_parameters, replay_stored
from retailcare_shared.outbox import outbox_parameters, record_events
from retailcare_shared.problems import InvalidInput
from retailcare_shared.workdays import COMPANY_TIME_ZONE


def now_utc() -> datetime:
    """The current moment (UTC)."""
    return datetime.now(UTC)


def subject_of(complaint: Complaint) -> str:
    """Message key: the shop (keeps a shop's events in order), else the complaint itself."""
    return str(complaint.customer_id or complaint.id)


def timeline_entry(
    complaint: Complaint,
    *,
    actor: str,
    action: str,
    at: datetime,
    from_status: str | None,
    note: str | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A timeline row for an action on the complaint."""
    return {
        "complaint_id": complaint.id,
        "at": at,
        "actor": actor,
        "action": action,
        "from_status": from_status,
        "to_status": complaint.status,
        "note": note,
        "details": details,
    }


async def _log(
    session: AsyncSession,
    complaint: Complaint,
    *,
    actor: str,
    action: str,
    at: datetime,
    from_status: str | None,
    note: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one timeline entry for an action on the complaint (in the caller's transaction)."""
    entry = timeline_entry(
        complaint,
        actor=actor,
        action=action,
        at=at,
        from_status=from_status,
        note=note,
        details=details,
    )
    await repository.add_timeline(session, [entry])


def filed_event(complaint: Complaint, *, reopened_from: uuid.UUID | None = None) -> ComplaintFiled:
    """The complaint.filed payload of a new complaint (`reopened_from`: a reopen's repeat row)."""
    return ComplaintFiled(
        complaint_id=complaint.id,
        customer_id=complaint.customer_id,
        complainant_type=complaint.complainant_type,
        channel=complaint.channel,
        category=complaint.category,
        service_item=complaint.service_item,
        company_responsible=complaint.company_responsible,
        is_repeat=complaint.is_repeat,
        repeat_of=complaint.repeat_of,
        priority=complaint.priority,
        filed_at=complaint.filed_at,
        due_at=complaint.resolve_due_at,
        reopened_from=reopened_from,
    )


async def _record(
    session: AsyncSession, context: ComplaintContext, complaint: Complaint, *payloads: Payload
) -> None:
    envelopes: list[Envelope] = [
        context.recorder.envelope(payload, subject=subject_of(complaint)) for payload in payloads
    ]
    await record_events(session, envelopes)


def _numbered_complaint(
    context: ComplaintContext, *, seq: int, fields: dict[str, Any], now: datetime
) -> Complaint:
    """A new complaint object with its number, reference, filing month and deadlines."""
    deadlines = due_times(now, fields["priority"], context.policy, context.calendar)
    local_date = now.astimezone(COMPANY_TIME_ZONE).date()
    local_day = local_date.strftime("%Y%m%d")
    return Complaint(
        id=uuid.uuid4(),
        seq=seq,
        ref=f"TS-{local_day}-{seq:06d}",
        filed_at=now,
        filed_month=local_date.replace(day=1),
        acknowledge_due_at=deadlines.acknowledge_due_at,
        resolve_due_at=deadlines.resolve_due_at,
        overdue=False,
        reopen_count=0,
        reassignment_count=0,
        version=1,
        **fields,
    )


async def _new_complaint(
    session: AsyncSession,
    context: ComplaintContext,
    *,
    fields: dict[str, Any],
    now: datetime,
) -> Complaint:
    """Number, date and deadline a new complaint row (added to the session, not yet flushed)."""
    seq = await repository.next_sequence(session)
    complaint = _numbered_complaint(context, seq=seq, fields=fields, now=now)
    session.add(complaint)
    return complaint


async def file_complaint(
    connection: asyncpg.Connection,
    context: ComplaintContext,
    body: ComplaintIn,
    actor: str,
    key: RequestKey,
    answer_for: Callable[[Complaint], Answer],
    *,
    filer_county: str | None = None,
) -> Answer:
    """Intake: validate the category, detect a repeat, set deadlines, record complaint.filed.

    Two round trips in autocommit: one lookup (number, shop, the shop's recent complaints; a
    `repeat_of` reads the named complaint first), then one statement writing the idempotency key
    with `answer_for`'s answer, the row, its timeline entry and the outbox event — atomic, so it
    is the request's whole transaction. A key another request already holds writes nothing: its
    stored answer is replayed (or 422 for another body). A complaint whose shop is not known takes
    the county of a county-scoped filer (`filer_county`), so that county's staff see it.
    """
    if body.category not in context.catalogue:
        raise InvalidInput("category", "catalogue", "not a code of the category catalogue")
    now = now_utc()
    root: uuid.UUID | None = None
    if body.repeat_of is not None:
        earlier = await repository.chain_link(connection, body.repeat_of)
        if earlier is None:
            raise InvalidInput("repeat_of", "not_found", "no complaint with this id")
        if body.customer_id is not None and earlier.customer_id not in (None, body.customer_id):
            raise InvalidInput("repeat_of", "other_shop", "the complaint concerns another shop")
        root = chain_root(earlier.id, earlier.repeat_of)
        seq, shop, _ = await repository.intake_lookup(connection, body.customer_id)
    else:
        seq, shop, candidates = await repository.intake_lookup(
            connection, body.customer_id, category=body.category, since=now - context.repeat_window
        )
        root = find_repeat_root(
            candidates, category=body.category, filed_at=now, window=context.repeat_window
        )
    if shop is not None and not shop.known:
        shop = None
    company_responsible = body.company_responsible
    if company_responsible is None:
        company_responsible = default_company_responsible(body.complainant_type)
    complaint = _numbered_complaint(
        context,
        seq=seq,
        now=now,
        fields={
            "customer_id": body.customer_id,
            "customer_verified": shop is not None,
            "county": shop.county if shop else filer_county,
            "district": shop.district if shop else None,
            "complainant_type": body.complainant_type,
            "complainant_name": body.complainant_name,
            "complainant_phone": body.complainant_phone,
            "channel": body.channel,
            "category": body.category,
            "service_item": body.service_item,
            "company_responsible": company_responsible,
            "description": body.description,
            "priority": body.priority,
            "received_by": body.received_by,
            "assignee": None,
            "status": "received",
            "is_repeat": root is not None,
            "repeat_of": root,
        },
    )
    answer = answer_for(complaint)
    event = context.recorder.envelope(filed_event(complaint), subject=subject_of(complaint))
    written = await repository.insert_filed(
        connection,
        complaint,
        timeline_entry(
            complaint,
            actor=actor,
            action="filed",
            at=now,
            from_status=None,
            details={"is_repeat": complaint.is_repeat, "repeat_of": str(root) if root else None},
        ),
        outbox_parameters(event),
        answer_parameters(key, answer) if key.key is not None else None,
    )
    if not written:
        await replay_stored(connection, key)
    return answer


def _transition(complaint: Complaint, action: Action) -> str:
    previous = complaint.status
    try:
        complaint.status = next_status(previous, action)
    except TransitionNotAllowed as error:
        raise TransitionConflict(error.action, error.status) from None
    complaint.version += 1
    return previous


async def assign(
    session: AsyncSession,
    context: ComplaintContext,
    complaint: Complaint,
    *,
    assignee: str,
    note: str | None,
    actor: str,
) -> None:
    """Assign, or hand over with a required note; the timeline keeps the chain of custody."""
    handover = is_handover(complaint.status, complaint.assignee)
    if handover and not note:
        raise InvalidInput("note", "required_on_handover", "a handover needs a note")
    previous_assignee = complaint.assignee
    previous = _transition(complaint, "assign")
    now = now_utc()
    complaint.assignee = assignee
    if complaint.acknowledged_at is None:
        complaint.acknowledged_at = now
    if handover:
        complaint.reassignment_count += 1
    await _log(
        session,
        complaint,
        actor=actor,
        action="reassign" if handover else "assign",
        at=now,
        from_status=previous,
        note=note,
        details={"from": previous_assignee, "to": assignee},
    )
    await _record(
        session,
        context,
        complaint,
        ComplaintAssigned(complaint_id=complaint.id, assignee=assignee, assigned_by=actor),
    )


async def start(
    session: AsyncSession, complaint: Complaint, *, note: str | None, actor: str
) -> None:
    """Start working on an assigned complaint (no event type exists for this step)."""
    previous = _transition(complaint, "start")
    await _log(
        session,
        complaint,
        actor=actor,
        action="start",
        at=now_utc(),
        from_status=previous,
        note=note,
    )


async def resolve(
    session: AsyncSession,
    context: ComplaintContext,
    complaint: Complaint,
    *,
    resolution: str,
    root_cause: str,
    actor: str,
) -> None:
    """Resolve: record resolution and root cause; complaint.resolved triggers the callback."""
    previous = _transition(complaint, "resolve")
    now = now_utc()
    complaint.resolution = resolution
    complaint.root_cause = root_cause
    complaint.resolved_at = now
    complaint.overdue = False
    await _log(
        session,
        complaint,
        actor=actor,
        action="resolve",
        at=now,
        from_status=previous,
        note=resolution,
        details={"root_cause": root_cause},
    )
    await _record(
        session,
        context,
        complaint,
        ComplaintResolved(
            complaint_id=complaint.id,
            customer_id=complaint.customer_id,
            resolved_at=now,
            resolution_summary=resolution[:500],
        ),
    )


async def close(
    session: AsyncSession,
    context: ComplaintContext,
    complaint: Complaint,
    *,
    callback_satisfied: bool,
    actor: str,
) -> None:
    """Close a resolved complaint with the callback's verdict."""
    previous = _transition(complaint, "close")
    now = now_utc()
    complaint.callback_satisfied = callback_satisfied
    complaint.closed_at = now
    complaint.overdue = False
    await _log(
        session,
        complaint,
        actor=actor,
        action="close",
        at=now,
        from_status=previous,
        details={"callback_satisfied": callback_satisfied},
    )
    await _record(
        session,
        context,
        complaint,
        ComplaintClosed(complaint_id=complaint.id, callback_satisfied=callback_satisfied),
    )


async def reopen(
    session: AsyncSession,
    context: ComplaintContext,
    complaint: Complaint,
    *,
    reason: str,
    actor: str,
    callback_satisfied: bool | None = None,
) -> Complaint:
    """Reopen: the original goes back to in_progress and a repeat complaint is recorded."""
    previous = _transition(complaint, "reopen")
    now = now_utc()
    complaint.reopen_count += 1
    # Handling starts over: fresh deadlines from now, and a breach of them escalates again (the
    # earlier breach stays on the timeline), so the sweeper does not escalate it at once.
    deadlines = due_times(now, complaint.priority, context.policy, context.calendar)
    complaint.acknowledge_due_at = deadlines.acknowledge_due_at
    complaint.resolve_due_at = deadlines.resolve_due_at
    complaint.resolve_escalated_at = None
    complaint.overdue = False
    if callback_satisfied is not None:
        complaint.callback_satisfied = callback_satisfied
    repeat = await _new_complaint(
        session,
        context,
        now=now,
        fields={
            "customer_id": complaint.customer_id,
            "customer_verified": complaint.customer_verified,
            "county": complaint.county,
            "district": complaint.district,
            "complainant_type": complaint.complainant_type,
            "complainant_name": complaint.complainant_name,
            "complainant_phone": complaint.complainant_phone,
            "channel": complaint.channel,
            "category": complaint.category,
            "service_item": complaint.service_item,
            "company_responsible": complaint.company_responsible,
            "description": f"Reopened {complaint.ref}: {reason}"[:4000],
            "priority": complaint.priority,
            "received_by": actor,
            # The handler of the original keeps the repeat: no push-around (首问负责制).
            "assignee": complaint.assignee,
            "status": "assigned" if complaint.assignee else "received",
            "acknowledged_at": now if complaint.assignee else None,
            "is_repeat": True,
            "repeat_of": chain_root(complaint.id, complaint.repeat_of),
        },
    )
    await session.flush()
    await repository.add_timeline(
        session,
        [
            timeline_entry(
                complaint,
                actor=actor,
                action="reopen",
                at=now,
                from_status=previous,
                note=reason,
                details={"repeat_complaint_id": str(repeat.id), "repeat_ref": repeat.ref},
            ),
            timeline_entry(
                repeat,
                actor=actor,
                action="filed",
                at=now,
                from_status=None,
                note=reason,
                details={"is_repeat": True, "reopened_from": str(complaint.id)},
            ),
        ],
    )
    await _record(
        session,
        context,
        complaint,
        ComplaintReopened(complaint_id=complaint.id, reason=reason, repeat_complaint_id=repeat.id),
        filed_event(repeat, reopened_from=complaint.id),
    )
    return repeat


async def attach_customer(
    session: AsyncSession,
    context: ComplaintContext,
    complaint: Complaint,
    *,
    customer_id: uuid.UUID,
    note: str | None,
    actor: str,
    scope_county: str | None,
) -> None:
    """Name the shop of a complaint filed without one; county and district follow the shop."""
    if complaint.customer_id is not None:
        raise CustomerAlreadyAttached(complaint.id)
    # Held to commit like the snapshot handler's: a snapshot of this shop cannot slip between
    # reading it and writing its county onto the complaint.
    await repository.lock_shop_snapshot(session, customer_id)
    shop = await session.get(Shop, customer_id)
    if shop is None or not shop.known or (scope_county and shop.county != scope_county):
        # Out of the caller's county reads the same as unknown: shop ids cannot be probed.
        raise InvalidInput("customer_id", "unknown_shop", "no such shop in the caller's scope")
    now = now_utc()
    complaint.customer_id = customer_id
    complaint.customer_verified = True
    complaint.county = shop.county
    complaint.district = shop.district
    complaint.version += 1
    await _log(
        session,
        complaint,
        actor=actor,
        action="attach_customer",
        at=now,
        from_status=complaint.status,
        note=note,
        details={"customer_id": str(customer_id)},
    )
    # Keyed by the complaint, like its complaint.filed was: consumers see the two in order.
    await record_events(
        session,
        [
            context.recorder.envelope(
                ComplaintCustomerAttached(
                    complaint_id=complaint.id, customer_id=customer_id, attached_by=actor
                ),
                subject=str(complaint.id),
            )
        ],
    )


async def escalate(
    session: AsyncSession,
    context: ComplaintContext,
    complaint: Complaint,
    *,
    escalated_to: str,
    note: str | None,
    actor: str,
) -> None:
    """A supervisor's manual escalation of an open complaint to a named person."""
    try:
        check_escalatable(complaint.status)
    except TransitionNotAllowed as error:
        raise TransitionConflict(error.action, error.status) from None
    complaint.version += 1
    await _log(
        session,
        complaint,
        actor=actor,
        action="escalate",
        at=now_utc(),
        from_status=complaint.status,
        note=note or "manual",
        details={"escalated_to": escalated_to, "reason": "manual"},
    )
    await _record(
        session,
        context,
        complaint,
        ComplaintEscalated(complaint_id=complaint.id, reason="manual", escalated_to=escalated_to),
    )


async def add_note(session: AsyncSession, complaint: Complaint, *, text: str, actor: str) -> None:
    """A note on the timeline (status unchanged)."""
    await _log(
        session,
        complaint,
        actor=actor,
        action="note",
        at=now_utc(),
        from_status=complaint.status,
        note=text,
    )


async def on_callback(
    session: AsyncSession,
    context: ComplaintContext,
    complaint_id: uuid.UUID,
    *,
    satisfied: bool,
    comment: str | None,
) -> None:
    """A callback answer: close when satisfied, else reopen (callback_dissatisfied)."""
    complaint = await session.get(Complaint, complaint_id, with_for_update=True)
    if complaint is None:
        return  # a callback for a complaint this service never had: nothing to change
    actor = "survey-svc"
    if satisfied:
        if complaint.status == "resolved":
            await close(session, context, complaint, callback_satisfied=True, actor=actor)
        return
    if complaint.status in {"resolved", "closed"}:
        reason = "callback_dissatisfied" + (f": {comment}" if comment else "")
        await reopen(
            session, context, complaint, reason=reason, actor=actor, callback_satisfied=False
        )


async def save_case_analysis(
    session: AsyncSession,
    complaint: Complaint,
    body: CaseAnalysisIn,
    *,
    existing: CaseAnalysis | None,
    actor: str,
) -> CaseAnalysis:
    """Create or replace the complaint's case analysis; noted on the timeline."""
    now = now_utc()
    values = body.model_dump(mode="json")
    if existing is None:
        existing = CaseAnalysis(complaint_id=complaint.id, version=1, author=actor, updated_at=now)
        session.add(existing)
    else:
        existing.version += 1
    for field, value in values.items():
        setattr(existing, field, value)
    existing.author = actor
    existing.updated_at = now
    await _log(
        session,
        complaint,
        actor=actor,
        action="case_analysis",
        at=now,
        from_status=complaint.status,
        details={"version": existing.version},
    )
    await session.flush()
    return existing
