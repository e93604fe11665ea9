"""Campaigns: a year's collection of one form from a set of units."""

from __future__ import annotations

from fastapi import APIRouter, Response

from service import campaigns, store
from service.deps import AdminDep, ScopeDep, SessionDep
from service.errors import problem_responses
from service.schemas import CampaignCreate, CampaignPublic

router = APIRouter(prefix="/api/campaigns", tags=["campaigns"])


@router.post("", status_code=201, responses=problem_responses(403, 422))
def create_campaign(
    body: CampaignCreate, _admin: AdminDep, session: SessionDep, response: Response
) -> CampaignPublic:
    """Register a campaign (admins); the same rules as ``formscan campaign add``."""
    campaign = campaigns.create_campaign(session, body)
    session.commit()
    response.headers["Location"] = f"/api/campaigns/{campaign.id}"
    return CampaignPublic.of(campaign)


@router.get("", responses=problem_responses())
def list_campaigns(session: SessionDep, scope: ScopeDep) -> list[CampaignPublic]:
    """Every campaign; ``expected_unit_codes`` lists only the units in the user's scope."""
    return [
        CampaignPublic.of(c, scope.units_in(c.expected_units))
        for c in store.list_campaigns(session)
    ]


@router.get("/{campaign_id}", responses=problem_responses(404, 422))
def get_campaign(campaign_id: int, session: SessionDep, scope: ScopeDep) -> CampaignPublic:
    """One campaign, with only the expected units the caller's scope covers."""
    campaign = store.get_campaign(session, campaign_id)
    return CampaignPublic.of(campaign, scope.units_in(campaign.expected_units))
