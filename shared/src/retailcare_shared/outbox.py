"""Transactional outbox: events are rows written in the caller's transaction."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import CTE

from retailcare_shared.db import OUTBOX_WRITTEN
from retailcare_shared.events import Envelope, Payload, build_envelope, encode
from retailcare_shared.logging import correlation_id_var, request_id_var
from retailcare_shared.platform_tables import OUTBOX_CHANNEL, OutboxMessage

_OUTBOX = cast(Table, OutboxMessage.__table__)
_INSERT_OUTBOX = insert(_OUTBOX)
_ROW_COLUMNS = ("event_id", "topic", "key", "event_type", "value")


def outbox_row(envelope: Envelope) -> dict[str, Any]:
    """The outbox row of an envelope."""
    return {
        "event_id": envelope.id,
        "topic": envelope.topic,
        "key": envelope.subject,
        "event_type": envelope.type,
        "value": encode(envelope),
    }


def recorded_after(source: CTE) -> CTE:
    """A CTE writing one outbox row (parameters from `outbox_parameters`) per row of `source`.

    For single-statement writes (DriverStatement): the event is recorded exactly when the
    statement's own insert happened. The caller then calls `Database.outbox_committed()`.
    """
    row = select(
        *(bindparam(f"outbox_{name}", type_=_OUTBOX.c[name].type) for name in _ROW_COLUMNS)
    ).select_from(source)
    return insert(_OUTBOX).from_select(list(_ROW_COLUMNS), row).cte("recorded")


def outbox_parameters(envelope: Envelope) -> dict[str, Any]:
    """The values of `recorded_after` for one envelope."""
    return {f"outbox_{name}": value for name, value in outbox_row(envelope).items()}


async def record_events(session: AsyncSession, envelopes: list[Envelope]) -> None:
    """Write envelopes to the outbox in one multi-row insert, inside the caller's transaction."""
    if not envelopes:
        return
    rows = [outbox_row(envelope) for envelope in envelopes]
    # A Core insert into the table (not the ORM entity): the ORM's bulk-insert machinery cost
    # more CPU than the statement; one row is one execute, several one executemany.
    await session.execute(_INSERT_OUTBOX, rows[0] if len(rows) == 1 else rows)
    # No NOTIFY here: at commit PostgreSQL serialises every notifying transaction on one global
    # lock, which capped concurrent requests. This process's relay is woken after the commit
    # (Database.transaction); other replicas' relays find the rows within OUTBOX_POLL_SECONDS.
    session.info[OUTBOX_WRITTEN] = True


async def notify_relays(session: AsyncSession) -> None:
    """Wake idle relays when this transaction commits (for bulk writers, once per batch)."""
    # Delivered on commit only, so relays wake for committed rows and never earlier.
    session.info[OUTBOX_WRITTEN] = True
    await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": OUTBOX_CHANNEL})


class EventRecorder:
    """Builds envelopes for one service and records them in the outbox."""

    def __init__(self, source: str) -> None:
        self.source = source

    def envelope(self, payload: Payload, *, subject: str) -> Envelope:
        """An envelope from this service carrying the current request's correlation id."""
        return build_envelope(
            payload,
            source=self.source,
            subject=subject,
            correlation_id=correlation_id_var.get() or request_id_var.get(),
        )

    async def record(self, session: AsyncSession, payload: Payload, *, subject: str) -> Envelope:
        """Record one event in the caller's transaction and return its envelope."""
        envelope = self.envelope(payload, subject=subject)
        await record_events(session, [envelope])
        return envelope
