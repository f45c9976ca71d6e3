"""Calling hours in the dispatcher: before a batch asks the pacer for caller IDs, the campaign's due calls
whose destinations' time zones are outside their calling hours wait for the next allowed moment (their
not_before moves there), so no caller ID is ever claimed for them. Pure time arithmetic is pacing/hours.py.

The zone sets were computed when the list was read (campaign.zones; each call holds its set's index), and
each set's open-or-closed answer is cached until it changes: a batch during calling hours costs no
statement and a few microseconds; one while a set is closed costs one UPDATE (store().hours_wait)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from campaigns.models import Campaign
from campaigns.store import store
from pacing.hours import DEFAULT_HOURS, Hours, outlook, outlook_cached
from pacing.models import PacingPolicy

# A zone set with no common calling hours this week is looked at again after this long.
NO_COMMON_HOURS_RETRY = timedelta(hours=1)


def campaign_hours(campaign: Campaign) -> Hours:
    """The campaign's calling hours: its environment's, narrowed by its own. The dispatcher loads the
    policy with the campaign (select_related("environment__pacing_policy")): no statement here."""
    try:
        policy = campaign.environment.pacing_policy
    except PacingPolicy.DoesNotExist:
        policy = None
    return (policy.hours if policy is not None else DEFAULT_HOURS).narrowed(campaign.own_hours)


def calls_wait_for_hours(campaign: Campaign, now: datetime) -> int:
    """In the batch's transaction, before its due calls are read: calls in a closed zone set wait for its
    next opening. Returns how many moved."""
    hours = campaign_hours(campaign)
    opens = {}
    for index, zones in enumerate(campaign.zones):
        seen = outlook_cached(hours, tuple(zones), now)
        if not seen.open:
            opens[index] = seen.until or now + NO_COMMON_HOURS_RETRY
    return store().hours_wait(campaign.pk, now, opens) if opens else 0


@dataclass(frozen=True)
class Waiting:
    """A zone set of the campaign outside its calling hours, for the campaign page."""

    zones: tuple[str, ...]
    opens: datetime | None  # None: its zones share no calling hours this week


def zones_waiting(campaign: Campaign, zone_indexes, now: datetime) -> list[Waiting]:
    """The campaign's zone sets (of `zone_indexes`: those with calls waiting) that are closed now, the
    soonest to open first."""
    hours = campaign_hours(campaign)
    found = []
    for index in zone_indexes:
        if 0 <= index < len(campaign.zones):
            zones = tuple(campaign.zones[index])
            seen = outlook(hours, zones, now)
            if not seen.open:
                found.append(Waiting(zones, seen.until))
    return sorted(found, key=lambda w: (w.opens is None, w.opens or now))
