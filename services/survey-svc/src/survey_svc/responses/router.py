"""Response endpoints: the public web link (token only) and staff entry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy import Select, select

from retailcare_shared.auth import Principal
from retailcare_shared.db import DbSession
from retailcare_shared.http import Page, PageParams, keyset_page, make_page, page_params
from retailcare_shared.idempotency import Idempotency
from retailcare_shared.problems import Conflict, Gone, NotFound
from survey_svc.access import InvitationReader, ResponseWriter, county_visible, own_shops_only
from survey_svc.questionnaires import service as questionnaires
from survey_svc.readmodel.models import CustomerView
from survey_svc.responses import service
from survey_svc.responses.models import SurveyResponse
from survey_svc.responses.schemas import (
    InvitationView,
    PublicResponseIn,
    ResponseOut,
    StaffResponseIn,
)

# No bearer token here: the invitation token is the credential. Rate limits per token and per
# address are applied by the gateway in front of these paths (gateway.md).
public = APIRouter(prefix="/api/v1/survey-invitations", tags=["survey link"])
staff = APIRouter(prefix="/api/v1/survey-responses", tags=["responses"])

Token = Annotated[str, Path(min_length=16, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]


@public.get("/{token}", response_model=InvitationView)
async def render_invitation(token: Token, session: DbSession) -> InvitationView:
    """The questionnaire to render for an invitation link."""
    invitation, campaign = await service.invitation_by_token(session, token)
    if service.is_expired(invitation, campaign, datetime.now(UTC)):
        raise Gone("the invitation has expired")
    questionnaire = await questionnaires.load(session, campaign.questionnaire_id)
    return InvitationView(
        status=invitation.status,
        channel=invitation.channel,
        campaign_name=campaign.name,
        closes_at=campaign.closes_at,
        questionnaire_id=questionnaire.id,
        title=questionnaire.title,
        items=questionnaire.items,
    )


@public.post("/{token}/response", status_code=201, response_model=ResponseOut)
async def answer_invitation(
    token: Token, body: PublicResponseIn, request: Request, session: DbSession
) -> ResponseOut:
    """Store the answers sent through the web link."""
    invitation, campaign = await service.invitation_by_token(session, token, lock=True)
    response = await service.record_for_invitation(
        session,
        request.app.state.events,
        invitation,
        campaign,
        body.answers,
        channel="web",
        collected_by=None,
        recorded_by=None,
    )
    return ResponseOut.model_validate(response)


@public.post("/{token}/decline", status_code=204)
async def decline_invitation(token: Token, session: DbSession) -> Response:
    """The shop declines to take part."""
    invitation, campaign = await service.invitation_by_token(session, token, lock=True)
    if invitation.status != "pending":
        raise Conflict(f"the invitation is {invitation.status}")
    if service.is_expired(invitation, campaign, datetime.now(UTC)):
        raise Gone("the invitation has expired")
    invitation.status = "declined"
    return Response(status_code=204)


@staff.post("", status_code=201, response_model=ResponseOut)
async def enter_response(
    body: StaffResponseIn,
    request: Request,
    session: DbSession,
    idempotency: Idempotency,
    user: ResponseWriter,
) -> Response:
    """Answers collected by staff; a customer manager only for their own shops."""
    found = await service.invitation_by_id(session, body.invitation_id, lock=True)
    missing = NotFound(f"invitation {body.invitation_id} does not exist")
    if found is None or not county_visible(user, found[1].county):
        raise missing
    invitation, campaign = found
    manager_id = own_shops_only(user)
    if manager_id is not None:
        current = await session.scalar(
            select(CustomerView.manager_id).where(
                CustomerView.customer_id == invitation.customer_id
            )
        )
        if current != manager_id:
            raise missing
    response = await service.record_for_invitation(
        session,
        request.app.state.events,
        invitation,
        campaign,
        body.answers,
        channel=campaign.method,
        collected_by=body.collected_by,
        recorded_by=user.sub,
    )
    out = ResponseOut.model_validate(response)
    return await idempotency.remember(
        out, status_code=201, headers={"Location": f"/api/v1/survey-responses/{out.id}"}
    )


def _visible_responses(user: Principal) -> Select[Any]:
    """Responses the caller may read: their county's shops, a manager only their own."""
    statement = select(SurveyResponse)
    manager_id = own_shops_only(user)
    if manager_id is None and (user.county is None or user.is_admin):
        return statement
    statement = statement.join(CustomerView, CustomerView.customer_id == SurveyResponse.customer_id)
    if manager_id is not None:
        statement = statement.where(CustomerView.manager_id == manager_id)
    if user.county is not None and not user.is_admin:
        statement = statement.where(CustomerView.county == user.county)
    return statement


@staff.get("", response_model=Page[ResponseOut])
async def list_responses(
    session: DbSession,
    user: InvitationReader,
    params: Annotated[PageParams, Depends(page_params)],
    customer_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Page[Any]:
    """Recorded responses, newest first (e.g. a shop's last survey result)."""
    statement = _visible_responses(user)
    if customer_id is not None:
        statement = statement.where(SurveyResponse.customer_id == customer_id)
    page = keyset_page(
        statement, [SurveyResponse.created_at, SurveyResponse.id], params, descending=True
    )
    rows = (await session.scalars(page)).all()
    return make_page(
        rows, params, lambda row: (row.created_at, row.id), shape=ResponseOut.model_validate
    )


@staff.get("/{response_id}", response_model=ResponseOut)
async def get_response(
    response_id: uuid.UUID, session: DbSession, user: InvitationReader
) -> ResponseOut:
    """One recorded response (404 outside the caller's scope)."""
    found = await session.scalar(_visible_responses(user).where(SurveyResponse.id == response_id))
    if found is None:
        raise NotFound(f"response {response_id} does not exist")
    return ResponseOut.model_validate(found)
