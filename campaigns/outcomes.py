"""How placed campaign calls went: answered or not, for how long, and how they ended.

Providers report a call's progress to its status callback (voice/views.py: status): initiated, ringing,
answered, then one final status (completed, busy, no-answer, failed, canceled). Each report goes through
outcome_record, which records it only if it ranks above what the call has heard (STATUS_RANKS), so the
same report twice, or a "ringing" arriving after "completed", changes nothing. A placed call whose outcome
never came is asked about at its provider (outcomes_reconcile, on the reconcile task), or, where the
provider can't be asked, left "placed, outcome unknown".

call_settled is the one place where a call's outcome becomes known, once per call and outcome.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from campaigns.models import CallAttempt, CampaignCall, Outcome
from campaigns.retries import call_outcome_retry
from campaigns.store import SETTLED_RANK, Heard, store
from events.services import event_publish, listeners
from providers.adapters.base import CallStatus, ProviderError, ProviderUnavailable
from providers.services import connection_adapter
from tenants.scope import all_workspaces

log = logging.getLogger(__name__)


def outcome_record(
    *,
    call_id: int,
    attempt_id: int,
    status: CallStatus,
    now: datetime | None = None,
    heard: tuple[int, bool] | None = None,
) -> bool:
    """Record a provider's report about the call under this claim (its reference's attempt). Idempotent:
    whether it changed anything. A newly known final status (or the first "unknown") is handed to
    call_settled, exactly once. `heard`: what the caller read of the call under this claim (its progress,
    whether its answer time is known); a report that ranks no higher and brings no answer time is not
    written at all, as the store would change nothing: under one claim, progress only rises (a retry
    resets it only with the call out of the states a report may place, and the next claim is another)."""
    if heard is not None and status.rank <= heard[0] and (status.answered_at is None or heard[1]):
        return False  # a duplicate, or a lower status arriving late
    now = now or timezone.now()
    report = Heard(
        provider_call_id=status.call_id,
        rank=status.rank,
        outcome=status.status if status.final else "",
        answered=status.answered,
        answered_at=status.answered_at,
        duration_s=status.duration_s,
        cause=status.cause,
    )
    return _recorded(call_id, attempt_id, report, now)


def outcome_unknown(*, call_id: int, attempt_id: int, why: str, now: datetime | None = None) -> bool:
    """The provider never said how the call went, and can't (or no longer can) be asked: "placed, outcome
    unknown". A final status that still comes later replaces it."""
    heard = Heard("", SETTLED_RANK, Outcome.UNKNOWN, None, None, None, why[:200])
    return _recorded(call_id, attempt_id, heard, now or timezone.now())


def _recorded(call_id: int, attempt_id: int, heard: Heard, now: datetime) -> bool:
    before = store().outcome_record(call_id, attempt_id, heard, now)  # the attempt's outcome with it
    if before is None:
        return False
    if heard.rank >= SETTLED_RANK and before.progress < heard.rank:
        calls_completed({attempt_id: heard}, now)
        call_settled(call_id=call_id, attempt_id=attempt_id, outcome=heard.outcome, at=now)
    return True


def attempts_settled_at_dial(heard: dict[int, Heard], now: datetime) -> None:
    """Attempts (id -> what was heard) whose outcome the provider knew as it placed them, written on their
    calls with the dial's answer (campaigns/dial.py): kept on each attempt as outcome_record keeps it,
    one statement per distinct outcome (a sandbox chunk's: one)."""
    groups: dict[tuple, list[int]] = {}
    for attempt_id, h in heard.items():
        groups.setdefault((h.outcome, h.answered, h.duration_s), []).append(attempt_id)
    for (outcome, answered, duration_s), ids in groups.items():
        CallAttempt.unscoped.filter(pk__in=ids).update(
            outcome=outcome, answered=answered, duration_s=duration_s, settled_at=now
        )
    calls_completed(heard, now)


def calls_completed(heard: dict[int, Heard], now: datetime) -> None:
    """Publish call.completed for settled attempts (id -> what was heard) of workspaces that listen; one
    cached read when none does (events/services.py: listeners). "Outcome unknown" is not an ending."""
    listening = listeners("call.completed")
    ended = [pk for pk, h in heard.items() if h.outcome and h.outcome != Outcome.UNKNOWN]
    if not listening or not ended:
        return
    rows = CallAttempt.unscoped.filter(pk__in=ended, workspace_id__in=listening).values(
        "pk", "workspace_id", "call_id", "campaign_id", "e164", "to_e164"
    )
    for row in rows:
        h = heard[row["pk"]]
        event_publish(
            workspace_id=row["workspace_id"], type="call.completed", at=now,
            data={"call_id": row["call_id"], "attempt_id": row["pk"], "campaign_id": row["campaign_id"],
                  "from": row["e164"], "to": row["to_e164"], "outcome": h.outcome, "answered": h.answered,
                  "duration_s": h.duration_s, "provider_call_id": h.provider_call_id or None},
        )  # fmt: skip


def call_settled(*, call_id: int, attempt_id: int, outcome: str, at: datetime) -> None:
    """A call's outcome is known: one of Outcome's values (completed, busy, no-answer, failed, canceled;
    unknown, which a late final status may still follow). Called once per call and outcome, after the
    store recorded it: no-answer and busy follow the campaign's retry schedule (campaigns/retries.py)."""
    retry = call_outcome_retry(call_id=call_id, attempt_id=attempt_id, status=outcome, at=at)
    log.debug("call %s settled: %s (%s)", call_id, outcome, retry)


# ---- Outcomes that never came -----------------------------------------------------------------------

# Beat runs the reconcile task every CAMPAIGN_RECONCILE_EVERY_S: a call due a moment after a run starts is
# asked then, not a whole period late.
_EARLY = timedelta(seconds=1)


def outcomes_reconcile(*, most: int = 200) -> int:
    """Placed calls that heard no final status CAMPAIGN_OUTCOME_WAIT_S after their dial, each asked about at
    its provider (at most every CAMPAIGN_RECONCILE_EVERY_S), for CAMPAIGN_OUTCOME_FOR_S; then, or at once
    where the provider can't be asked, left "placed, outcome unknown". The reconcile task's work."""
    asked = 0
    with all_workspaces():
        while asked < most:
            now = timezone.now()
            call = store().outcome_take(
                placed_before=now - timedelta(seconds=settings.CAMPAIGN_OUTCOME_WAIT_S),
                asked_before=now - timedelta(seconds=settings.CAMPAIGN_RECONCILE_EVERY_S) + _EARLY,
                now=now,
            )
            if call is None:
                break
            outcome_ask(call, now)
            asked += 1
    return asked


def outcome_ask(call: CampaignCall, now: datetime) -> bool:
    """Ask the call's provider how it went and record what it says; a provider that can't be asked, or
    still can't tell after CAMPAIGN_OUTCOME_FOR_S, leaves it unknown. Whether anything changed."""
    ids = {"call_id": call.pk, "attempt_id": call.attempt_id, "now": now}
    if call.number is None:
        return outcome_unknown(**ids, why="Its caller ID was deleted, so its provider can't be asked.")
    if not call.provider_call_id:
        return outcome_unknown(**ids, why="The provider never gave the call's id, so it can't be asked.")
    adapter = connection_adapter(call.number.connection)
    if not adapter.tells_call_status:
        return outcome_unknown(**ids, why=f"{adapter.name} sent no outcome, and can't be asked for one.")
    try:
        found = adapter.call_status(call.provider_call_id)
        why = f"{adapter.name} still had no outcome for it."
    except (ProviderError, ProviderUnavailable) as exc:
        found, why = None, f"{adapter.name} could not be asked: {exc.message}"
    changed = (
        found is not None and found.call_id == call.provider_call_id and outcome_record(**ids, status=found)
    )
    if found is not None and found.final:
        return changed
    if now >= call.finished_at + timedelta(seconds=settings.CAMPAIGN_OUTCOME_FOR_S):
        return outcome_unknown(**ids, why=why) or changed
    return changed  # asked again on a later run
