"""Results endpoint."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from retailcare_shared.db import DbSession
from retailcare_shared.exports import EXPORT_RESPONSES, ExportFormat, Table, batched, download
from survey_svc.access import ResultsReader
from survey_svc.campaigns import service as campaigns
from survey_svc.results import service
from survey_svc.results.schemas import CampaignResults, GroupBy
from survey_svc.results.tables import TABLES, ResultTable

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


@router.get(
    "/{campaign_id}/results/export",
    response_class=StreamingResponse,
    responses=EXPORT_RESPONSES,
)
async def export_campaign_results(
    campaign_id: uuid.UUID,
    session: DbSession,
    user: ResultsReader,
    table: ResultTable = "items",
    by: Annotated[GroupBy | None, Query()] = None,
    export_format: Annotated[ExportFormat, Query(alias="format")] = ExportFormat.csv,
) -> StreamingResponse:
    """The results per item, rating item or group (the total first, then each group of `by`)
    as a CSV or XLSX download."""
    campaign = await campaigns.load(session, campaign_id, user)
    headers, rows = TABLES[table](await service.campaign_results(session, campaign, by, 1))
    return download(Table(f"survey-{table}", headers, batched(rows)), export_format)
