"""Campaigns, their strata and frame snapshot, and invitations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from survey_svc.database import Base


class Campaign(Base):
    """A survey campaign: draft → sampled → open → closed."""

    __tablename__ = "survey_campaigns"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    questionnaire_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("questionnaires.id")
    )
    kind: Mapped[str] = mapped_column(String(30))
    method: Mapped[str] = mapped_column(String(30))
    county: Mapped[str | None] = mapped_column(String(50))
    opens_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closes_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sampling: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(20))
    frame_size: Mapped[int | None] = mapped_column(Integer)
    sample_size: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sampled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)


class CampaignStratum(Base):
    """One stratum of a drawn campaign: N_h and n_h (kept for audit and weighting)."""

    __tablename__ = "campaign_strata"

    campaign_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("survey_campaigns.id"), primary_key=True
    )
    stratum_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[dict[str, Any]] = mapped_column(JSONB)
    population: Mapped[int] = mapped_column(Integer)
    sample_size: Mapped[int] = mapped_column(Integer)
    fresh_available: Mapped[int] = mapped_column(Integer)
    drawn_from_recent: Mapped[int] = mapped_column(Integer)


class CampaignFrameUnit(Base):
    """One shop of the frame a campaign was drawn from (the audit snapshot)."""

    __tablename__ = "campaign_frame"

    campaign_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("survey_campaigns.id"), primary_key=True
    )
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    stratum_no: Mapped[int] = mapped_column(Integer)
    recently_surveyed: Mapped[bool] = mapped_column(Boolean)
    selected: Mapped[bool] = mapped_column(Boolean)


class Invitation(Base):
    """A sampled shop's invitation; the token is its only credential on the web link."""

    __tablename__ = "survey_invitations"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("survey_campaigns.id")
    )
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    token: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(30))
    stratum_no: Mapped[int] = mapped_column(Integer)
    cell_no: Mapped[int] = mapped_column(Integer)
    # Snapshot of the group attributes at sampling time: results group by what the shop was.
    district: Mapped[str | None] = mapped_column(String(50))
    value_class: Mapped[str | None] = mapped_column(String(20))
    manager_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    market_type: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CampaignCell(Base):
    """Invitations sharing a stratum and every group attribute; invited and responded counts."""

    __tablename__ = "campaign_cells"

    campaign_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("survey_campaigns.id"), primary_key=True
    )
    cell_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    stratum_no: Mapped[int] = mapped_column(Integer)
    district: Mapped[str | None] = mapped_column(String(50))
    value_class: Mapped[str | None] = mapped_column(String(20))
    manager_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    market_type: Mapped[str | None] = mapped_column(String(20))
    invited: Mapped[int] = mapped_column(Integer)
    responded: Mapped[int] = mapped_column(Integer, default=0)
