"""Campaign endpoints: create, draw, open, close, invitations."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from retailcare_shared.db import DbSession
from retailcare_shared.http import Page, PageParams, etag, keyset_page, make_page, page_params
from retailcare_shared.idempotency import Idempotency
from survey_svc.access import CampaignAdmin, InvitationReader, ResultsReader, own_shops_only
from survey_svc.campaigns import repository, service
from survey_svc.campaigns.models import Campaign, Invitation
from survey_svc.campaigns.schemas import CampaignIn, CampaignOut, InvitationOut, InvitationStatus

router = APIRouter(prefix="/api/v1/survey-campaigns", tags=["campaigns"])


@router.post("", status_code=201, response_model=CampaignOut)
async def create_campaign(
    body: CampaignIn, session: DbSession, idempotency: Idempotency, user: CampaignAdmin
) -> Response:
    """Create a draft campaign."""
    campaign = await service.create(session, body, user)
    return await idempotency.remember(
        service.shape(campaign),
        status_code=201,
        headers={
            "ETag": etag(campaign.version),
            "Location": f"/api/v1/survey-campaigns/{campaign.id}",
        },
    )


@router.get("", response_model=Page[CampaignOut])
async def list_campaigns(
    session: DbSession, user: ResultsReader, params: Annotated[PageParams, Depends(page_params)]
) -> Page[Any]:
    """Campaigns, newest first."""
    scoped = user.county is not None and not user.is_admin
    statement = keyset_page(
        repository.listing(user.county, scoped),
        [Campaign.created_at, Campaign.id],
        params,
        descending=True,
    )
    rows = (await session.scalars(statement)).all()
    return make_page(
        rows, params, lambda row: (row.created_at.isoformat(), row.id), shape=service.shape
    )


@router.get("/{campaign_id}", response_model=CampaignOut)
async def get_campaign(
    campaign_id: uuid.UUID, session: DbSession, response: Response, user: ResultsReader
) -> CampaignOut:
    """One campaign with its drawn strata."""
    campaign = await service.load(session, campaign_id, user)
    response.headers["ETag"] = etag(campaign.version)
    return service.shape(campaign, await repository.strata_of(session, campaign.id))


@router.post("/{campaign_id}/sample", response_model=CampaignOut)
async def draw_sample(
    campaign_id: uuid.UUID, request: Request, session: DbSession, user: CampaignAdmin
) -> CampaignOut:
    """Draw the stratified sample and issue the invitations (once, from a draft)."""
    campaign = await service.load(session, campaign_id, user, lock=True)
    strata = await service.draw(
        session, campaign, token_bytes=request.app.state.settings.token_bytes
    )
    return service.shape(campaign, strata)


@router.post("/{campaign_id}/open", response_model=CampaignOut)
async def open_campaign(
    campaign_id: uuid.UUID, session: DbSession, user: CampaignAdmin
) -> CampaignOut:
    """Start accepting responses."""
    campaign = await service.load(session, campaign_id, user, lock=True)
    await service.transition(session, campaign, service.OPEN)
    return service.shape(campaign)


@router.post("/{campaign_id}/close", response_model=CampaignOut)
async def close_campaign(
    campaign_id: uuid.UUID, session: DbSession, user: CampaignAdmin
) -> CampaignOut:
    """Stop accepting responses; unanswered invitations expire."""
    campaign = await service.load(session, campaign_id, user, lock=True)
    await service.transition(session, campaign, service.CLOSED)
    return service.shape(campaign)


@router.get("/{campaign_id}/invitations", response_model=Page[InvitationOut])
async def list_invitations(
    campaign_id: uuid.UUID,
    session: DbSession,
    user: InvitationReader,
    params: Annotated[PageParams, Depends(page_params)],
    status: Annotated[InvitationStatus | None, Query()] = None,
) -> Page[Any]:
    """A campaign's invitations; a customer manager sees only their own shops'."""
    campaign = await service.load(session, campaign_id, user)
    statement = keyset_page(
        repository.invitations(campaign.id, own_shops_only(user), status), [Invitation.id], params
    )
    rows = (await session.scalars(statement)).all()
    return make_page(rows, params, lambda row: (row.id,), shape=InvitationOut.model_validate)
