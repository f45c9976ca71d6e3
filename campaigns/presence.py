"""Local presence: a campaign that has it on calls each destination from a number near it, and keeps that
number for its retries (sticky), all chosen in the pacer's one atomic claim (pacing/lua/presence.lua).

The ladder: a number with the callee's area code, else one in the same state or province (NANP) or
country (elsewhere), else one in the same time zone, else any number of the pool (pacing/places.py). Among
the numbers of a rung free now: the best health, then the fewest calls today, then the least recently used.
A call that had a caller ID before (a retry, or a call given back unsent) claims that number again and
waits for it while it is paced, unless it left the pool: then it climbs the ladder like a first call.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime

from campaigns.models import Campaign, CampaignCall
from campaigns.pools import campaign_pool
from campaigns.store import store
from pacing.pacer import ClaimResult, LocalCall, Policy
from pacing.services import pacer

# A number's health state -> its rank for the choice among free numbers (0 best). Numbers resting or
# retired leave the pools; the rank orders those left.
HEALTH_RANKS = {"healthy": 0, "watch": 1, "at_risk": 2, "resting": 3, "retired": 4}


def presence_claim(
    campaign: Campaign,
    policy: Policy,
    due: list[int],
    rates: dict | None,
    zones: frozenset,
    *,
    classes: dict | None = None,
) -> tuple[ClaimResult, Callable[[list[int]], datetime | None]]:
    """Claim caller IDs for the due calls, each near its destination or its sticky number. Returns the
    result and how to hold back the calls left waiting: each until its own number frees up (sticky) or
    the pool's next number does; it returns when the pool's does, None if no call waits for the pool.
    classes: the pool's policy classes (pool_classes), each number held by its own."""
    rows = CampaignCall.unscoped.filter(pk__in=due).values_list("pk", "to_e164", "from_e164")
    found = {pk: (to, sticky) for pk, to, sticky in rows}
    calls = [LocalCall(str(pk), found[pk][0], found[pk][1] or None) for pk in due if pk in found]
    result = pacer().claim_local(
        workspace_id=campaign.workspace_id, pool_id=campaign.pool_id, policy=policy, calls=calls,
        rates=rates, zones=zones, classes=classes,
    )  # fmt: skip
    sticky = {int(c.call_id) for c in calls if c.sticky}

    def hold(waiting: list[int]) -> datetime | None:
        until: dict[datetime, list[int]] = defaultdict(list)
        pool_until = None
        for pk in waiting:
            at = _ms_to_dt(result.now_ms + (result.waits or {}).get(str(pk), result.retry_in_ms or 0))
            until[at].append(pk)
            if pk not in sticky:
                pool_until = at
        for at, pks in until.items():  # a few times a batch: retries are few, and the pool's is one
            store().hold_back(pks, at)
        return pool_until

    return result, hold


def pool_health(campaign: Campaign) -> None:
    """The campaign's caller IDs' health ranks (PhoneNumber.health, health/), for the claim's choice among
    free numbers."""
    states = campaign_pool(campaign).values_list("e164", "health")
    pacer().health_set(
        workspace_id=campaign.workspace_id, ranks={n: HEALTH_RANKS.get(s, 0) for n, s in states}
    )


def _ms_to_dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
