"""Registering a campaign: the one flow of ``POST /api/campaigns`` and ``campaign add``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from service import store
from service.models import Campaign
from service.schemas import CampaignCreate


def create_campaign(session: Session, body: CampaignCreate) -> Campaign:
    """Record the campaign ``body`` describes (its layout and units checked by the store)."""
    return store.create_campaign(
        session,
        name=body.name,
        layout_id=body.layout_id,
        year=body.year,
        deadline=body.deadline,
        expected_unit_codes=body.expected_unit_codes,
    )
