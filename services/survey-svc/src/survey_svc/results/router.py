"""Results endpoint."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from retailcare_shared.db import DbSession
from survey_svc.access import ResultsReader
from survey_svc.campaigns import service as campaigns
from survey_svc.results import service
from survey_svc.results.schemas import CampaignResults, GroupBy

router = APIRouter(prefix="/api/v1/survey-campaigns", tags=["results"])


@router.get("/{campaign_id}/results", response_model=CampaignResults)
async def campaign_results(
    campaign_id: uuid.UUID,
    session: DbSession,
    user: ResultsReader,
    by: Annotated[GroupBy | None, Query()] = None,
    weakest: Annotated[int, Query(ge=1, le=200)] = 5,
) -> CampaignResults:
    """Gaps, SERVQUAL score, satisfaction index, ratings, weakest items, per-group figures."""
    campaign = await campaigns.load(session, campaign_id, user)
    return await service.campaign_results(session, campaign, by, weakest)
