"""Per-application domain context built from the settings (calendar, deadlines, catalogue)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncSession

from complaint_svc.complaints.catalogue import build_catalogue
from complaint_svc.config import Settings
from complaint_svc.deadlines.calendar import Allowance, DeadlinePolicy
from retailcare_shared.consumer import app_of
from retailcare_shared.outbox import EventRecorder
from retailcare_shared.workdays import WorkCalendar


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
        calendar=settings.calendar(),
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


def context_of(app: FastAPI) -> ComplaintContext:
    """The app's context, created on first use."""
    context: ComplaintContext | None = getattr(app.state, "complaint_context", None)
    if context is None:
        context = build_context(app.state.settings, app.state.events)
        app.state.complaint_context = context
    return context


async def request_context(request: Request) -> ComplaintContext:
    """Dependency: the context of the app serving the request (async: no worker thread)."""
    return context_of(request.app)


def session_context(session: AsyncSession) -> ComplaintContext:
    """The context of the app whose consumer opened this session (for consumed events)."""
    return context_of(app_of(session))
