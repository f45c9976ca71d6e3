"""The retry schedule for no-answer and busy: one entry point, called when a call's final provider status is
known (the outcome service's outcome_record calls it), that moves the call back to waiting after the
campaign's wait, counting its retries of that kind, within the destination's attempt caps (campaigns/caps.py).

Exactly once per attempt: the move is guarded by the call's state and the claim the outcome is about (a
call's attempt id changes with each claim), so a duplicate or late outcome finds the call moved on and does
nothing. The daily cap is the dispatcher's: a retry due on a day its destination is at the cap waits there
for the next local midnight, the reason shown.

A campaign finishes once nothing waits and nothing is in flight, without waiting for its last calls'
outcomes (a provider may never send one). A no-answer or busy that comes after reopens it: the retry is
dialed, and the campaign finishes again after it. A cancelled campaign stays cancelled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F
from django.utils import timezone

from campaigns.caps import campaign_cap_reason
from campaigns.models import CallAttempt, Campaign, CampaignCall
from campaigns.store import Call, store
from tenants.audit import audit

# The states a dialed call is in when its final status comes (placed: the provider took the dial; failed:
# it refused it, e.g. busy at once). The outcome service may record the status first; the claim guards.
FROM = (Call.PLACED, Call.FAILED)
NO_ANSWER, BUSY = "no-answer", "busy"
_KINDS = {"no-answer": NO_ANSWER, "no_answer": NO_ANSWER, "noanswer": NO_ANSWER, "busy": BUSY}


@dataclass(frozen=True)
class Retry:
    """What the outcome did to the call."""

    action: str  # "retry" (back to waiting), "held" (its campaign cap reached), "none" (final as it is)
    not_before: datetime | None = None
    reason: str = ""


NONE = Retry("none")


def call_outcome_retry(*, call_id: int, attempt_id: int, status: str, at: datetime | None = None) -> Retry:
    """A call's final provider status under its claim (`attempt_id`): no-answer or busy (any spelling the
    providers use: "no-answer", "no_answer", "busy") retried per the campaign's schedule; anything else, a
    stale claim or a call moved on: nothing. `at`: when the status was known (default now)."""
    kind = _KINDS.get(status.strip().lower())
    if kind is None:
        return NONE
    at = at or timezone.now()
    call = (
        CampaignCall.unscoped.select_related("campaign")
        .filter(pk=call_id, attempt_id=attempt_id, state__in=FROM)
        .first()
    )
    if call is None:
        return NONE  # a duplicate, a late status of an earlier claim, or never dialed
    campaign = call.campaign
    if kind == NO_ANSWER:
        times, after, used, field = (
            campaign.retry_no_answer_times, campaign.retry_no_answer_after_s, call.no_answer_retries,
            "no_answer_retries",
        )  # fmt: skip
    else:
        times, after, used, field = (
            campaign.retry_busy_times, campaign.retry_busy_after_s, call.busy_retries, "busy_retries",
        )  # fmt: skip
    if used >= times:
        return NONE  # its retries of this kind are spent: it ends as it is
    attempts = CallAttempt.unscoped.filter(call_id=call_id, dialed=True).count()
    if attempts >= campaign.cap_campaign:
        reason = f"{_said(kind)}; not retried: {campaign_cap_reason(attempts, campaign.cap_campaign)}."
        if store().outcome_move(
            call_id, attempt_id, FROM, state=Call.HELD, error=reason[:300], finished_at=at, updated_at=at
        ):
            audit(actor=None, action="campaign.calls_held", target=campaign, count=1)
            return Retry("held", reason=reason)
        return NONE
    not_before = at + timedelta(seconds=after)
    reason = f"{_said(kind)}: retry {used + 1} of {times}."
    if campaign.state == Campaign.State.FINISHED:
        _reopen(campaign, reason)
    moved = store().outcome_move(
        call_id, attempt_id, FROM,
        state=Call.PENDING, not_before=not_before, error=reason, finished_at=None, updated_at=at,
        **{field: F(field) + 1}, **_NOT_HEARD,
    )  # fmt: skip
    return Retry("retry", not_before, reason) if moved else NONE


# A retry starts a new claim: what the last one heard goes, so the next one's reports rank from nothing
# (campaigns/outcomes.py) and the log shows the wait, not the last outcome.
_NOT_HEARD = {
    "progress": 0, "outcome": "", "answered": None, "answered_at": None, "duration_s": None,
    "hangup_cause": "", "outcome_asked_at": None,
}  # fmt: skip


def _reopen(campaign: Campaign, reason: str) -> None:
    """Finished before this call's outcome came: running again for its retry, its pacer pool synced anew
    at its next dispatch (the finish dropped it)."""
    if store().campaign_move(
        campaign.pk, Campaign.State.FINISHED, Campaign.State.RUNNING,
        finished_at=None, pool_synced_at=None, paced_until=None,
    ):  # fmt: skip
        audit(actor=None, action="campaign.reopened", target=campaign, reason=reason)


def _said(kind: str) -> str:
    return "No answer" if kind == NO_ANSWER else "Busy"
