"""Recording responses: state checks, validation, answers and the event in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from retailcare_shared.events import SurveyResponseRecorded
from retailcare_shared.outbox import EventRecorder
from retailcare_shared.problems import Conflict, Gone, NotFound
from survey_svc.campaigns.models import Campaign, CampaignCell, Invitation
from survey_svc.errors import AnswersInvalid
from survey_svc.questionnaires.repository import items_of
from survey_svc.responses.answers import (
    CleanAnswer,
    ItemSpec,
    RawAnswer,
    score_response,
    validate_answers,
)
from survey_svc.responses.models import SUM_COLUMNS, ResultCell, SurveyAnswer, SurveyResponse
from survey_svc.responses.schemas import AnswerIn


async def invitation_by_token(
    session: AsyncSession, token: str, *, lock: bool = False
) -> tuple[Invitation, Campaign]:
    """The invitation a token names and its campaign, or 404."""
    statement = (
        select(Invitation, Campaign)
        .join(Campaign, Campaign.id == Invitation.campaign_id)
        .where(Invitation.token == token)
    )
    if lock:
        statement = statement.with_for_update(of=Invitation)
    row = (await session.execute(statement)).first()
    if row is None:
        raise NotFound("no invitation has this token")
    return row[0], row[1]


async def invitation_by_id(
    session: AsyncSession, invitation_id: uuid.UUID, *, lock: bool = False
) -> tuple[Invitation, Campaign] | None:
    """An invitation and its campaign by id."""
    statement = (
        select(Invitation, Campaign)
        .join(Campaign, Campaign.id == Invitation.campaign_id)
        .where(Invitation.id == invitation_id)
    )
    if lock:
        statement = statement.with_for_update(of=Invitation)
    row = (await session.execute(statement)).first()
    return None if row is None else (row[0], row[1])


def is_expired(invitation: Invitation, campaign: Campaign, now: datetime) -> bool:
    """An invitation expires when its campaign's closing time has passed."""
    return invitation.status == "expired" or now > campaign.closes_at


def check_accepting(invitation: Invitation, campaign: Campaign, now: datetime) -> None:
    """409 for a second response or a closed campaign, 410 for an expired invitation."""
    if invitation.status == "completed":
        raise Conflict("this invitation has already been answered")
    if campaign.status == "closed":
        raise Conflict("the campaign is closed")
    if is_expired(invitation, campaign, now):
        raise Gone("the invitation has expired")
    if invitation.status == "declined":
        raise Conflict("the shop declined this invitation")
    if campaign.status != "open":
        raise Conflict(f"the campaign is not open (it is {campaign.status})")


async def validated(
    session: AsyncSession, questionnaire_id: uuid.UUID, answers: Sequence[AnswerIn]
) -> list[CleanAnswer]:
    """Answers checked against the questionnaire (422 naming each item otherwise)."""
    items = (await items_of(session, [questionnaire_id]))[questionnaire_id]
    specs = [ItemSpec(i.code, i.format, i.required, i.dimension) for i in items]
    raw = [RawAnswer(a.item_code, a.expectation, a.perception, a.score, a.value) for a in answers]
    clean, problems = validate_answers(specs, raw)
    if problems:
        raise AnswersInvalid(problems)
    return clean


async def store(
    session: AsyncSession,
    clean: Sequence[CleanAnswer],
    *,
    questionnaire_id: uuid.UUID,
    customer_id: uuid.UUID | None,
    channel: str,
    collected_by: str | None,
    recorded_by: str | None,
    invitation: Invitation | None = None,
    callback_id: uuid.UUID | None = None,
) -> SurveyResponse:
    """Write the response and its answers (one multi-row insert)."""
    score = score_response(clean)
    response = SurveyResponse(
        id=uuid.uuid4(),
        invitation_id=invitation.id if invitation else None,
        callback_id=callback_id,
        campaign_id=invitation.campaign_id if invitation else None,
        customer_id=customer_id,
        questionnaire_id=questionnaire_id,
        channel=channel,
        collected_by=collected_by,
        recorded_by=recorded_by,
        overall_gap=score.overall_gap,
        satisfaction_index=score.satisfaction_index,
    )
    session.add(response)
    await session.flush()
    if clean:
        await session.execute(
            insert(SurveyAnswer),
            [
                {
                    "response_id": response.id,
                    "item_code": answer.item_code,
                    "campaign_id": response.campaign_id,
                    "cell_no": invitation.cell_no if invitation else None,
                    "expectation": answer.expectation,
                    "perception": answer.perception,
                    "score": answer.score,
                    "flag": answer.flag,
                    "text": answer.text,
                }
                for answer in clean
            ],
        )
    if invitation is not None:
        await add_to_result_cells(session, invitation, clean)
    await session.refresh(response)
    return response


async def add_to_result_cells(
    session: AsyncSession, invitation: Invitation, clean: Sequence[CleanAnswer]
) -> None:
    """Add one response to its cell's sums (results never rescan the answers)."""
    rows = [
        {
            "campaign_id": invitation.campaign_id,
            "cell_no": invitation.cell_no,
            "item_code": answer.item_code,
            "n": 1 if answer.expectation is not None else 0,
            "sum_e": answer.expectation or 0,
            "sum_p": answer.perception or 0,
            "sum_g": gap,
            "sum_g2": gap * gap,
            **{f"score_{s}": int(answer.score == s) for s in range(1, 6)},
        }
        for answer in sorted(clean, key=lambda answer: answer.item_code)
        if answer.expectation is not None or answer.score is not None
        for gap in [(answer.perception or 0) - (answer.expectation or 0)]
    ]
    if rows:
        # One statement, rows in item order: concurrent responses lock cells in the same order.
        statement = pg_insert(ResultCell).values(rows)
        added = statement.excluded
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[ResultCell.campaign_id, ResultCell.cell_no, ResultCell.item_code],
                set_={
                    name: getattr(ResultCell, name) + getattr(added, name) for name in SUM_COLUMNS
                },
            )
        )
    await session.execute(
        update(CampaignCell)
        .where(
            CampaignCell.campaign_id == invitation.campaign_id,
            CampaignCell.cell_no == invitation.cell_no,
        )
        .values(responded=CampaignCell.responded + 1)
    )


async def record_for_invitation(
    session: AsyncSession,
    events: EventRecorder,
    invitation: Invitation,
    campaign: Campaign,
    answers: Sequence[AnswerIn],
    *,
    channel: str,
    collected_by: str | None,
    recorded_by: str | None,
) -> SurveyResponse:
    """Record a campaign response and emit survey.response_recorded in the same transaction."""
    now = datetime.now(UTC)
    check_accepting(invitation, campaign, now)
    clean = await validated(session, campaign.questionnaire_id, answers)
    response = await store(
        session,
        clean,
        questionnaire_id=campaign.questionnaire_id,
        customer_id=invitation.customer_id,
        channel=channel,
        collected_by=collected_by,
        recorded_by=recorded_by,
        invitation=invitation,
    )
    invitation.status = "completed"
    invitation.completed_at = now
    await events.record(
        session,
        SurveyResponseRecorded(
            campaign_id=campaign.id,
            response_id=response.id,
            customer_id=invitation.customer_id,
            overall_gap=response.overall_gap,
            satisfaction_index=response.satisfaction_index,
        ),
        subject=str(invitation.customer_id),
    )
    await session.flush()
    return response
