"""Per-application domain context built from the settings (calendar, deadlines, catalogue)."""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI, Request
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession

from complaint_svc.complaints.catalogue import build_catalogue
from complaint_svc.config import Settings
from complaint_svc.deadlines.calendar import Allowance, DeadlinePolicy
from retailcare_shared.outbox import EventRecorder
from retailcare_shared.workdays import WorkCalendar, parse_dates


@dataclass(frozen=True)
class ComplaintContext:
    """What the complaint rules need from the configuration."""

    calendar: WorkCalendar
    policy: DeadlinePolicy
    catalogue: dict[str, tuple[str, str]]
    repeat_window: timedelta
    repeat_alert_level: float
    escalation_target: str
    recorder: EventRecorder


def build_context(settings: Settings, recorder: EventRecorder) -> ComplaintContext:
    """The context for one set of settings."""
    return ComplaintContext(
        calendar=WorkCalendar(
            holidays=parse_dates(settings.holidays),
            makeup_workdays=parse_dates(settings.makeup_workdays),
        ),
        policy=DeadlinePolicy(
            normal_acknowledge=Allowance(working_days=settings.normal_acknowledge_working_days),
            normal_resolve=Allowance(working_days=settings.normal_resolve_working_days),
            urgent_acknowledge=Allowance(hours=settings.urgent_acknowledge_hours),
            urgent_resolve=Allowance(working_days=settings.urgent_resolve_working_days),
        ),
        catalogue=build_catalogue(settings.extra_categories),
        repeat_window=timedelta(days=settings.repeat_window_days),
        repeat_alert_level=settings.repeat_alert_level,
        escalation_target=settings.escalation_target,
        recorder=recorder,
    )


# Consumed-event handlers only receive a session: they find their app's context through the
# engine the session is bound to (one engine per app, so several apps in a process stay apart).
_BY_ENGINE: weakref.WeakKeyDictionary[Engine, ComplaintContext] = weakref.WeakKeyDictionary()


def context_of(app: FastAPI) -> ComplaintContext:
    """The app's context, created on first use and registered for its consumers."""
    context: ComplaintContext | None = getattr(app.state, "complaint_context", None)
    if context is None:
        context = build_context(app.state.settings, app.state.events)
        app.state.complaint_context = context
    database = getattr(app.state, "database", None)
    if database is not None:
        _BY_ENGINE[database.engine.sync_engine] = context
    return context


def request_context(request: Request) -> ComplaintContext:
    """Dependency: the context of the app serving the request."""
    return context_of(request.app)


def session_context(session: AsyncSession) -> ComplaintContext:
    """The context of the app whose engine this session uses (for consumers)."""
    bind = session.get_bind()
    context = _BY_ENGINE.get(bind) if isinstance(bind, Engine) else None
    if context is None:
        # The registering job has not run yet; the consumer runner retries.
        raise RuntimeError("complaint context not registered yet")
    return context


async def register_context(app: FastAPI) -> None:
    """Background job: register the context at start-up, keep it until shutdown."""
    context_of(app)
    await app.state.stop_jobs.wait()
    await asyncio.sleep(0)
