"""Recovery: reserved calls whose dial task never ran go back to waiting (the dispatcher's tick), and calls
whose dial's outcome was lost are asked about at their provider (the reconcile task), or left for
review."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaigns.models import CampaignCall
from campaigns.store import Call, _guarded
from providers.adapters.base import CallLookup, ProviderError, ProviderUnavailable
from providers.services import connection_adapter
from tenants.audit import audit
from tenants.scope import all_workspaces


def calls_recover() -> int:
    """Reserved calls whose dial task never ran (a dead worker, a lost queue) go back to waiting. The
    dispatcher's tick runs this: one UPDATE, nothing asked of a provider."""
    now = timezone.now()
    return CampaignCall.unscoped.filter(
        state=Call.RESERVED, reserved_at__lt=now - timedelta(seconds=settings.CAMPAIGN_RESERVED_TIMEOUT_S)
    ).update(state=Call.PENDING, not_before=now, updated_at=now, error="")


def calls_reconcile(*, most: int = 200) -> int:
    """Calls being checked (a lost answer) or left dialing (a dead worker), each asked about at its
    provider: the reconcile task's work, on the worker queue, so a slow or unreachable provider never
    holds up the dispatcher. Each call is taken by a guarded move first, so two runs at once never ask
    about the same call."""
    asked = 0
    with all_workspaces():
        while asked < most and (call := _reconcile_take()) is not None:
            call_reconcile(call)
            asked += 1
    return asked


# Beat runs the reconcile task every CAMPAIGN_RECONCILE_EVERY_S: a call due a moment after a run starts
# is asked then, not a whole period late.
_RECONCILE_EARLY = timedelta(seconds=1)


def _reconcile_take() -> CampaignCall | None:
    """The next call due to be asked about, moved to checking (a call left dialing by a dead worker) and
    its next question put off by CAMPAIGN_RECONCILE_EVERY_S in the same short transaction (SKIP LOCKED:
    another run takes another call). Answers are guarded moves, so a run that dies mid-question leaves
    the call to be asked again then."""
    now = timezone.now()
    with transaction.atomic():
        call = (
            CampaignCall.unscoped.filter(
                state__in=(Call.DIALING, Call.CHECKING),
                dialing_at__lt=now - timedelta(seconds=settings.CAMPAIGN_DIALING_TIMEOUT_S),
                not_before__lte=now + _RECONCILE_EARLY,  # a dialing call's not_before: when to ask again
            )
            .order_by("not_before", "id")
            .select_for_update(skip_locked=True)
            .first()
        )
        if call is None:
            return None
        later = now + timedelta(seconds=settings.CAMPAIGN_RECONCILE_EVERY_S)
        CampaignCall.unscoped.filter(pk=call.pk).update(state=Call.CHECKING, not_before=later)
    return CampaignCall.unscoped.select_related("number__connection", "campaign").get(pk=call.pk)


def call_reconcile(call: CampaignCall) -> str:
    """A call being checked: ask the provider whether the dial reached it (find_call). Placed is recorded,
    a proven absence goes back to waiting (a fresh claim, so it is paced again), and anything the
    provider can't tell is asked again later, for a while, then left for a person to review. Nothing
    here ever dials."""
    now = timezone.now()
    if call.number is None:
        return _needs_review(call, now, "The caller ID was deleted, so its provider can't be asked.")
    adapter = connection_adapter(call.number.connection)
    try:
        found = adapter.find_call(
            reference=call.reference,
            from_e164=call.from_e164,
            to_e164=call.to_e164,
            attempted_at=call.dialing_at,
        )
    except (ProviderError, ProviderUnavailable) as exc:
        found = CallLookup.cannot_tell(f"{adapter.name} could not be asked: {exc.message}", ask_again=True)
    if found.outcome == "placed":
        _guarded(call.pk, call.attempt_id, Call.CHECKING, state=Call.PLACED, provider_call_id=found.call_id[:80],
                 finished_at=now, error="")  # fmt: skip
        return "placed"
    if found.outcome == "not_placed":
        if _guarded(call.pk, call.attempt_id, Call.CHECKING, state=Call.PENDING, not_before=now, error=""):
            audit(actor=None, action="campaign.call_requeued", target=call.campaign, destination=call.to_e164,
                  reason="the provider shows the dial never happened")  # fmt: skip
        return "requeued"
    give_up_at = call.dialing_at + timedelta(seconds=settings.CAMPAIGN_RECONCILE_FOR_S)
    if found.ask_again and now < give_up_at:
        _guarded(call.pk, call.attempt_id, Call.CHECKING, error=f"Outcome unknown, asking again: {found.why}"[:300],
                 not_before=now + timedelta(seconds=settings.CAMPAIGN_RECONCILE_EVERY_S))  # fmt: skip
        return "later"
    return _needs_review(call, now, found.why)


def _needs_review(call: CampaignCall, now: datetime, why: str) -> str:
    error = f"Dialtone never heard whether this dial went through. {why}"
    if _guarded(
        call.pk, call.attempt_id, Call.CHECKING, state=Call.UNKNOWN, finished_at=now, error=error[:300]
    ):
        audit(actor=None, action="campaign.call_unknown", target=call.campaign, destination=call.to_e164)
    return "unknown"
