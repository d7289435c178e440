"""Questionnaire endpoints."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from retailcare_shared.db import DbSession
from retailcare_shared.http import Page, PageParams, keyset_page, make_page, page_params
from retailcare_shared.idempotency import Idempotency
from survey_svc.access import QuestionnaireAdmin, QuestionnaireReader
from survey_svc.questionnaires import repository, service
from survey_svc.questionnaires.models import Questionnaire
from survey_svc.questionnaires.schemas import QuestionnaireIn, QuestionnaireOut

router = APIRouter(prefix="/api/v1/questionnaires", tags=["questionnaires"])


@router.post("", status_code=201, response_model=QuestionnaireOut)
async def publish_questionnaire(
    body: QuestionnaireIn, session: DbSession, idempotency: Idempotency, user: QuestionnaireAdmin
) -> Response:
    """Publish a questionnaire (a new version when the code exists); admin only."""
    out = await service.publish(session, body, user.sub)
    return await idempotency.remember(
        out, status_code=201, headers={"Location": f"/api/v1/questionnaires/{out.id}"}
    )


@router.get("", response_model=Page[QuestionnaireOut])
async def list_questionnaires(
    session: DbSession,
    user: QuestionnaireReader,
    params: Annotated[PageParams, Depends(page_params)],
    code: Annotated[str | None, Query(max_length=100, pattern=r"^[a-z][a-z0-9_-]{1,99}$")] = None,
) -> Page[Any]:
    """Questionnaire versions by code, then version."""
    statement = keyset_page(
        repository.listing(code), [Questionnaire.code, Questionnaire.version], params
    )
    rows = list((await session.scalars(statement)).all())
    page = make_page(rows, params, lambda row: (row.code, row.version))
    items = await repository.items_of(session, [row.id for row in page.items])
    return Page(
        items=[service.shape(row, items[row.id]) for row in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/{questionnaire_id}", response_model=QuestionnaireOut)
async def get_questionnaire(
    questionnaire_id: uuid.UUID, session: DbSession, user: QuestionnaireReader
) -> QuestionnaireOut:
    """One questionnaire version with its items."""
    return await service.load(session, questionnaire_id)
