"""Questionnaire queries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from survey_svc.questionnaires.models import Questionnaire, QuestionnaireItem


async def items_of(
    session: AsyncSession, questionnaire_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[QuestionnaireItem]]:
    """Items of several questionnaires in one query, in position order."""
    if not questionnaire_ids:
        return {}
    rows = await session.scalars(
        select(QuestionnaireItem)
        .where(QuestionnaireItem.questionnaire_id.in_(questionnaire_ids))
        .order_by(QuestionnaireItem.questionnaire_id, QuestionnaireItem.position)
    )
    grouped: dict[uuid.UUID, list[QuestionnaireItem]] = {qid: [] for qid in questionnaire_ids}
    for item in rows:
        grouped[item.questionnaire_id].append(item)
    return grouped


async def get(session: AsyncSession, questionnaire_id: uuid.UUID) -> Questionnaire | None:
    """One questionnaire version."""
    return await session.get(Questionnaire, questionnaire_id)


async def latest_version(session: AsyncSession, code: str) -> int:
    """The highest version of a code (0 if none)."""
    value = await session.scalar(
        select(func.coalesce(func.max(Questionnaire.version), 0)).where(Questionnaire.code == code)
    )
    return int(value or 0)


def listing(code: str | None) -> Select[Any]:
    """Questionnaires, optionally of one code."""
    statement = select(Questionnaire)
    if code is not None:
        statement = statement.where(Questionnaire.code == code)
    return statement
