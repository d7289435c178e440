"""Questionnaire rules: versions are immutable; an edit is a new version."""

from __future__ import annotations

import uuid

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from retailcare_shared.problems import InvalidInput, NotFound
from survey_svc.questionnaires import repository
from survey_svc.questionnaires.models import Questionnaire, QuestionnaireItem
from survey_svc.questionnaires.schemas import ItemOut, QuestionnaireIn, QuestionnaireOut


def shape(questionnaire: Questionnaire, items: list[QuestionnaireItem]) -> QuestionnaireOut:
    """The API shape of a questionnaire with its items."""
    return QuestionnaireOut(
        id=questionnaire.id,
        code=questionnaire.code,
        version=questionnaire.version,
        title=questionnaire.title,
        created_at=questionnaire.created_at,
        items=[
            ItemOut(
                code=item.code,
                text=item.text,
                dimension=item.dimension,
                format=item.format,
                required=item.required,
            )
            for item in items
        ],
    )


async def publish(session: AsyncSession, body: QuestionnaireIn, actor: str) -> QuestionnaireOut:
    """Publish a new version of a questionnaire code."""
    seen: set[str] = set()
    for position, item in enumerate(body.items):
        if item.code in seen:
            raise InvalidInput(f"items.{position}.code", "unique", f"{item.code!r} appears twice")
        seen.add(item.code)
    # Serialise versions of one code (two publishers must not both take the same number).
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:code))"), {"code": body.code}
    )
    version = await repository.latest_version(session, body.code) + 1
    questionnaire = Questionnaire(
        id=uuid.uuid4(), code=body.code, version=version, title=body.title, created_by=actor
    )
    session.add(questionnaire)
    await session.flush()
    await session.execute(
        insert(QuestionnaireItem),
        [
            {
                "questionnaire_id": questionnaire.id,
                "code": item.code,
                "position": position,
                "text": item.text,
                "dimension": item.dimension,
                "format": item.format,
                "required": item.required,
            }
            for position, item in enumerate(body.items)
        ],
    )
    await session.refresh(questionnaire)
    items = (await repository.items_of(session, [questionnaire.id]))[questionnaire.id]
    return shape(questionnaire, items)


async def load(session: AsyncSession, questionnaire_id: uuid.UUID) -> QuestionnaireOut:
    """One questionnaire with its items, or 404."""
    questionnaire = await repository.get(session, questionnaire_id)
    if questionnaire is None:
        raise NotFound(f"questionnaire {questionnaire_id} does not exist")
    items = (await repository.items_of(session, [questionnaire.id]))[questionnaire.id]
    return shape(questionnaire, items)
