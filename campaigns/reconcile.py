"""Recovery: reserved calls whose dial task never ran go back to waiting (the dispatcher's tick), and calls
whose dial's outcome was lost are asked about at their provider (the reconcile task), or left for
review."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.utils import timezone

from campaigns.models import CampaignCall
from campaigns.store import Call, store
from providers.adapters.base import CallLookup, ProviderError, ProviderUnavailable
from providers.services import connection_adapter
from tenants.audit import audit
from tenants.scope import all_workspaces


class Reconciled(StrEnum):
    """What asking the provider about a call did (call_reconcile's answer)."""

    PLACED = "placed"  # the provider placed it
    REQUEUED = "requeued"  # the provider proves it never did: back to waiting for a fresh claim
    LATER = "later"  # the provider can't tell yet: asked again later
    UNKNOWN = "unknown"  # nobody can tell: left for a person to review


def calls_recover() -> int:
    """Reserved calls whose dial task never ran (a dead worker, a lost queue) go back to waiting. The
    dispatcher's tick runs this: one UPDATE, nothing asked of a provider."""
    now = timezone.now()
    return store().recover(now - timedelta(seconds=settings.CAMPAIGN_RESERVED_TIMEOUT_S), now)


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
    call_id = store().reconcile_take(
        dialing_before=now - timedelta(seconds=settings.CAMPAIGN_DIALING_TIMEOUT_S),
        due_by=now + _RECONCILE_EARLY,  # a dialing call's not_before: when to ask again
        ask_again_at=now + timedelta(seconds=settings.CAMPAIGN_RECONCILE_EVERY_S),
    )
    return None if call_id is None else store().checking_call(call_id)


def call_reconcile(call: CampaignCall) -> Reconciled:
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
        store().move(call.pk, call.attempt_id, Call.CHECKING, state=Call.PLACED, provider_call_id=found.call_id[:80],
                 finished_at=now, error="")  # fmt: skip
        return Reconciled.PLACED
    if found.outcome == "not_placed":
        if store().move(
            call.pk, call.attempt_id, Call.CHECKING, state=Call.PENDING, not_before=now, error=""
        ):
            audit(actor=None, action="campaign.call_requeued", target=call.campaign, destination=call.to_e164,
                  reason="the provider shows the dial never happened")  # fmt: skip
        return Reconciled.REQUEUED
    give_up_at = call.dialing_at + timedelta(seconds=settings.CAMPAIGN_RECONCILE_FOR_S)
    if found.ask_again and now < give_up_at:
        store().move(call.pk, call.attempt_id, Call.CHECKING, error=f"Outcome unknown, asking again: {found.why}"[:300],
                 not_before=now + timedelta(seconds=settings.CAMPAIGN_RECONCILE_EVERY_S))  # fmt: skip
        return Reconciled.LATER
    return _needs_review(call, now, found.why)


def _needs_review(call: CampaignCall, now: datetime, why: str) -> Reconciled:
    error = f"Dialtone never heard whether this dial went through. {why}"
    if store().move(
        call.pk, call.attempt_id, Call.CHECKING, state=Call.UNKNOWN, finished_at=now, error=error[:300]
    ):
        audit(actor=None, action="campaign.call_unknown", target=call.campaign, destination=call.to_e164)
    return Reconciled.UNKNOWN
