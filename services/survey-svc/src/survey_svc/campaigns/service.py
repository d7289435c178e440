"""Campaign rules: drafting, drawing the sample, opening and closing."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from retailcare_shared.auth import Principal
from retailcare_shared.problems import Conflict, InvalidInput, NotFound
from survey_svc.access import county_visible
from survey_svc.campaigns import repository
from survey_svc.campaigns.models import (
    Campaign,
    CampaignCell,
    CampaignFrameUnit,
    CampaignStratum,
    Invitation,
)
from survey_svc.campaigns.sampling import FrameUnit, draw_stratified_sample
from survey_svc.campaigns.schemas import CampaignIn, CampaignOut, StratumOut
from survey_svc.questionnaires import repository as questionnaires

DRAFT, SAMPLED, OPEN, CLOSED = "draft", "sampled", "open", "closed"


def shape(campaign: Campaign, strata: list[CampaignStratum] | None = None) -> CampaignOut:
    """The API shape of a campaign."""
    out = CampaignOut.model_validate(campaign)
    if strata:
        out.strata = [StratumOut.model_validate(stratum) for stratum in strata]
    return out


async def create(session: AsyncSession, body: CampaignIn, user: Principal) -> Campaign:
    """Create a draft campaign; a county-scoped caller creates only for their county."""
    county = body.county
    if user.county is not None and not user.is_admin:
        if county is not None and county != user.county:
            raise InvalidInput("county", "forbidden_for_role", "you may only survey your county")
        county = user.county
    if body.closes_at <= body.opens_at:
        raise InvalidInput("closes_at", "after_opens_at", "must be after opens_at")
    if len(set(body.sampling.strata)) != len(body.sampling.strata):
        raise InvalidInput("sampling.strata", "unique", "each attribute may appear once")
    if await questionnaires.get(session, body.questionnaire_id) is None:
        raise InvalidInput("questionnaire_id", "exists", "no such questionnaire")
    sampling = body.sampling.model_dump()
    if sampling["seed"] is None:
        # Drawn now and stored, so the sample can be redrawn identically for an audit.
        sampling["seed"] = secrets.randbits(63)
    campaign = Campaign(
        id=uuid.uuid4(),
        name=body.name,
        questionnaire_id=body.questionnaire_id,
        kind=body.kind,
        method=body.method,
        county=county,
        opens_at=body.opens_at,
        closes_at=body.closes_at,
        sampling=sampling,
        status=DRAFT,
        created_by=user.sub,
        version=1,
    )
    session.add(campaign)
    await session.flush()
    await session.refresh(campaign)
    return campaign


async def load(
    session: AsyncSession, campaign_id: uuid.UUID, user: Principal, *, lock: bool = False
) -> Campaign:
    """A campaign the caller may see, or 404."""
    campaign = await repository.get(session, campaign_id, lock=lock)
    if campaign is None or not county_visible(user, campaign.county):
        raise NotFound(f"campaign {campaign_id} does not exist")
    return campaign


async def draw(
    session: AsyncSession, campaign: Campaign, *, token_bytes: int = 24
) -> list[CampaignStratum]:
    """Draw the campaign's sample from the current frame and issue the invitations."""
    if campaign.status != DRAFT:
        raise Conflict(f"campaign is {campaign.status}: the sample is drawn once, from a draft")
    sampling = campaign.sampling
    attributes: list[str] = list(sampling["strata"])
    now = datetime.now(UTC)
    rows = await repository.frame(session, campaign.county)
    if not rows:
        raise Conflict("the sampling frame is empty: no active shops in scope")
    recent = await repository.recently_invited(
        session, now - timedelta(days=int(sampling["exclude_surveyed_within_days"])), campaign.id
    )
    attributes_of = {row.customer_id: row for row in rows}
    units = [
        FrameUnit(
            customer_id=str(row.customer_id),
            stratum=tuple(_text(getattr(row, name)) for name in attributes),
            recently_surveyed=row.customer_id in recent,
        )
        for row in rows
    ]
    # Sorting and drawing a large frame is CPU work: keep it off the event loop.
    result = await asyncio.to_thread(
        draw_stratified_sample,
        units,
        rate=float(sampling["rate"]),
        min_per_stratum=int(sampling["min_per_stratum"]),
        seed=int(sampling["seed"]),
    )
    strata = [
        CampaignStratum(
            campaign_id=campaign.id,
            stratum_no=index,
            key=dict(zip(attributes, plan.key, strict=True)),
            population=plan.population,
            sample_size=plan.sample_size,
            fresh_available=plan.fresh_available,
            drawn_from_recent=plan.drawn_from_recent,
        )
        for index, plan in enumerate(result.strata)
    ]
    session.add_all(strata)
    await session.flush()
    selected = set(result.selected)
    await repository.insert_rows(
        session,
        CampaignFrameUnit,
        [
            {
                "campaign_id": campaign.id,
                "customer_id": uuid.UUID(unit.customer_id),
                "stratum_no": result.stratum_of[unit.customer_id],
                "recently_surveyed": unit.recently_surveyed,
                "selected": unit.customer_id in selected,
            }
            for unit in units
        ],
    )
    invitations = []
    cells: dict[tuple[Any, ...], dict[str, Any]] = {}
    for customer_id in result.selected:
        row = attributes_of[uuid.UUID(customer_id)]
        stratum_no = result.stratum_of[customer_id]
        cell_key = (stratum_no, row.district, row.value_class, row.manager_id, row.market_type)
        cell = cells.get(cell_key)
        if cell is None:
            cell = cells[cell_key] = {
                "campaign_id": campaign.id,
                "cell_no": len(cells),
                "stratum_no": stratum_no,
                "district": row.district,
                "value_class": row.value_class,
                "manager_id": row.manager_id,
                "market_type": row.market_type,
                "invited": 0,
                "responded": 0,
            }
        cell["invited"] += 1
        invitations.append(
            {
                "id": uuid.uuid4(),
                "campaign_id": campaign.id,
                "customer_id": row.customer_id,
                "token": secrets.token_urlsafe(token_bytes),
                "status": "pending",
                "channel": campaign.method,
                "stratum_no": stratum_no,
                "cell_no": cell["cell_no"],
                "district": row.district,
                "value_class": row.value_class,
                "manager_id": row.manager_id,
                "market_type": row.market_type,
            }
        )
    await repository.insert_rows(session, CampaignCell, list(cells.values()))
    await repository.insert_rows(session, Invitation, invitations)
    campaign.status = SAMPLED
    campaign.frame_size = len(units)
    campaign.sample_size = len(result.selected)
    campaign.sampled_at = now
    campaign.version += 1
    await session.flush()
    return strata


async def transition(session: AsyncSession, campaign: Campaign, target: str) -> None:
    """Open a drawn campaign, or close an open one (closing expires unanswered invitations)."""
    allowed = {OPEN: (SAMPLED,), CLOSED: (OPEN,)}[target]
    if campaign.status not in allowed:
        raise Conflict(f"a {campaign.status} campaign cannot become {target}")
    campaign.status = target
    campaign.version += 1
    if target == CLOSED:
        await repository.expire_pending(session, campaign.id)
    await session.flush()


def _text(value: object) -> str | None:
    return None if value is None else str(value)
