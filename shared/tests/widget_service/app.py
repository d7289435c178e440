"""Widgets: the smallest service that uses every platform mechanism (test-only)."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Annotated, Any, ClassVar

from fastapi import APIRouter, Depends, FastAPI, Header, Request, Response
from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict
from sqlalchemy import Integer, String, select
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from retailcare_shared.app import ServiceDefinition, create_service_app
from retailcare_shared.auth import Principal, require_roles
from retailcare_shared.consumer import Subscription
from retailcare_shared.db import Base, DbSession
from retailcare_shared.events import CustomerViolationRecorded, Envelope
from retailcare_shared.http import (
    InputModel,
    Page,
    PageParams,
    check_if_match,
    etag,
    keyset_page,
    make_page,
    page_params,
)
from retailcare_shared.idempotency import Idempotency
from retailcare_shared.problems import NotFound, TooManyRequests
from retailcare_shared.settings import ServiceSettings

SERVICE_DIR = Path(__file__).resolve().parent


class WidgetSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WIDGET_SVC_", extra="ignore")
    service_name: ClassVar[str] = "widget-svc"


class Widget(Base):
    __tablename__ = "widgets"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)


class AppliedEvent(Base):
    __tablename__ = "applied_events"

    # Deliberately not unique: a double application would show as two rows.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    widget_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    kind: Mapped[str] = mapped_column(String(50))


class WidgetIn(InputModel):
    name: str = Field(min_length=1, max_length=100)
    size: int = Field(ge=1, le=10)


class WidgetPatch(InputModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    size: int | None = Field(default=None, ge=1, le=10)


class WidgetOut(BaseModel):
    id: uuid.UUID
    name: str
    size: int
    version: int


router = APIRouter(prefix="/api/v1/widgets")
Writer = Annotated[Principal, Depends(require_roles("call_center"))]


@router.post("", status_code=201, response_model=WidgetOut)
async def create_widget(
    body: WidgetIn, request: Request, session: DbSession, idempotency: Idempotency, user: Writer
) -> Response:
    widget = Widget(id=uuid.uuid4(), name=body.name, size=body.size, version=1)
    session.add(widget)
    await session.flush()
    await request.app.state.events.record(
        session,
        CustomerViolationRecorded(
            violation_id=widget.id, kind="other", occurred_on=date(2026, 1, 1)
        ),
        subject=str(widget.id),
    )
    out = WidgetOut(id=widget.id, name=widget.name, size=widget.size, version=widget.version)
    return await idempotency.remember(out, status_code=201, headers={"ETag": etag(widget.version)})


async def _load(session: AsyncSession, widget_id: uuid.UUID, *, lock: bool = False) -> Widget:
    statement = select(Widget).where(Widget.id == widget_id)
    if lock:
        statement = statement.with_for_update()
    widget = await session.scalar(statement)
    if widget is None:
        raise NotFound(f"widget {widget_id} does not exist")
    return widget


@router.post("/faults/{kind}", status_code=204)
async def fault(kind: str, session: DbSession, user: Writer) -> None:
    """Test-only: raise each kind of failure the problem handlers must turn into a problem."""
    if kind == "crash":
        raise RuntimeError("secret internals: password=hunter2 at /srv/app.py line 42")
    if kind == "conflict":
        duplicate = uuid.uuid4()
        session.add(Widget(id=duplicate, name="a", size=1, version=1))
        await session.flush()
        session.expunge_all()
        session.add(Widget(id=duplicate, name="b", size=1, version=1))
        await session.flush()
    if kind == "throttle":
        raise TooManyRequests("slow down", retry_after_seconds=3)


@router.get("/{widget_id}", response_model=WidgetOut)
async def get_widget(
    widget_id: uuid.UUID, session: DbSession, response: Response, user: Writer
) -> Widget:
    widget = await _load(session, widget_id)
    response.headers["ETag"] = etag(widget.version)
    return widget


@router.patch("/{widget_id}", response_model=WidgetOut)
async def patch_widget(
    widget_id: uuid.UUID,
    body: WidgetPatch,
    session: DbSession,
    response: Response,
    user: Writer,
    if_match: Annotated[str | None, Header()] = None,
) -> Widget:
    widget = await _load(session, widget_id, lock=True)
    check_if_match(if_match, widget.version)
    for field, value in body.model_dump(exclude_unset=True).items():
        setattr(widget, field, value)
    widget.version += 1
    response.headers["ETag"] = etag(widget.version)
    return widget


@router.get("", response_model=Page[WidgetOut])
async def list_widgets(
    session: DbSession, user: Writer, params: Annotated[PageParams, Depends(page_params)]
) -> Page[Any]:
    rows = (
        await session.scalars(keyset_page(select(Widget), [Widget.name, Widget.id], params))
    ).all()
    return make_page(rows, params, lambda widget: (widget.name, widget.id))


async def apply_violation(session: AsyncSession, envelope: Envelope, payload: Any) -> None:
    """Test handler: records the event; `kind=counterfeit` always fails (to exercise the DLQ)."""
    if payload.kind == "counterfeit":
        raise ValueError("counterfeit widgets are refused by this handler")
    session.add(
        AppliedEvent(event_id=envelope.id, widget_id=payload.violation_id, kind=payload.kind)
    )


def definition(topics: list[str] | None = None) -> ServiceDefinition:
    subscriptions = []
    if topics:
        subscriptions.append(
            Subscription(
                name="widgets",
                topics=topics,
                handlers={"customer.violation_recorded": apply_violation},
            )
        )
    return ServiceDefinition(
        name="widget-svc",
        settings_class=WidgetSettings,
        service_dir=SERVICE_DIR,
        routers=[router],
        subscriptions=subscriptions,
    )


def create_app(overrides: dict[str, Any], topics: list[str] | None = None) -> FastAPI:
    return create_service_app(definition(topics), WidgetSettings(**overrides))
