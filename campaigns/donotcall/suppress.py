"""The dispatcher's one call into the do-not-call list (campaigns/dispatch.py): due calls whose destination
is listed move pending -> suppressed, with the reason, before the pacer is asked for any caller ID."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, OuterRef, Subquery

from campaigns.donotcall.services import suppression_reason
from campaigns.models import Campaign, CampaignCall, DoNotCall
from campaigns.store import store
from tenants.audit import audit


def calls_suppress(campaign: Campaign, due: list[int], now: datetime) -> list[int]:
    """The due calls (locked by the batch) less those suppressed here. One indexed query when none is
    listed (the unique (workspace, number) index, one probe per call)."""
    if not due:
        return due
    entry = DoNotCall.unscoped.filter(workspace_id=campaign.workspace_id, e164=OuterRef("to_e164"))
    listed = (
        CampaignCall.unscoped.filter(pk__in=due)
        .filter(Exists(entry))
        .annotate(
            since=Subquery(entry.values("added_at")[:1]), by=Subquery(entry.values("added_by_label")[:1])
        )
        .values_list("pk", "since", "by")
    )
    reasons = {pk: suppression_reason(since, by) for pk, since, by in listed}
    if not reasons:
        return due
    moved = store().suppress(reasons, now)
    if moved:
        audit(actor=None, action="campaign.calls_suppressed", target=campaign, count=len(moved))
    return [pk for pk in due if pk not in reasons]
