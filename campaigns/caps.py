"""Per-destination attempt caps in the dispatcher: before the pacer is asked for caller IDs, each due call is
counted against its campaign's caps in one statement (store().tally; PostgreSQL locks the destinations in one
before it), after the do-not-call check.

- campaign cap: dials to the destination in this campaign (the call and its retries). At the cap the call
  ends "held" with the reason: never dialed again.
- day cap: dials to the destination since midnight in its time zone, across the workspace's campaigns (and
  claims of it in flight). At the cap the call waits for the next local midnight, the reason shown.

A dial counts once a dial task took its claim (reserved -> dialing); a claim given back before that
(paused, a lost task, the broker down) never does. A destination whose number spans several time zones
counts from the earliest of their midnights and waits for the latest: the stricter reading both ways."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from campaigns.models import Campaign
from campaigns.store import store
from tenants.audit import audit


def campaign_cap_reason(attempts: int, cap: int) -> str:
    return f"{attempts} attempt{'s' if attempts != 1 else ''} this campaign (cap {cap})"


def day_cap_reason(calls: int, cap: int, until_zone: str) -> str:
    return (
        f"{calls} call{'s' if calls != 1 else ''} today to this number (cap {cap}), next 00:00 {until_zone}"
    )


def _midnights(zones, now: datetime) -> tuple[datetime, datetime, str]:
    """Of a zone set: the earliest of today's local midnights, the latest of the next ones, and its zone."""
    starts, nexts = [], []
    for name in zones or ("UTC",):
        zone = ZoneInfo(name)
        today = now.astimezone(zone).date()
        starts.append(datetime.combine(today, time(0), tzinfo=zone).astimezone(UTC))
        following = datetime.combine(today + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
        nexts.append((following, name))
    until, name = max(nexts)
    return min(starts), until, name


def calls_within_caps(campaign: Campaign, due: list[int], now: datetime) -> list[int]:
    """The due calls (locked by the batch) less those at a cap: held (campaign cap) or moved to their next
    local midnight (day cap), each with its reason; also less those whose destination another batch is
    counting at the moment (they stay due for the next batch)."""
    if not due:
        return due
    days = [_midnights(zones, now) for zones in campaign.zones] or [_midnights((), now)]
    tallies = store().tally(campaign.workspace_id, due, [start for start, _, _ in days])
    held, waits = {}, {}
    for pk, tally in tallies.items():
        if tally.campaign >= campaign.cap_campaign:
            held[pk] = campaign_cap_reason(tally.campaign, campaign.cap_campaign)
        elif tally.day >= campaign.cap_day:
            _, until, zone = days[tally.zone]
            waits[pk] = (until, day_cap_reason(tally.day, campaign.cap_day, zone))
    if held:
        moved = store().hold(held, now)
        if moved:
            audit(actor=None, action="campaign.calls_held", target=campaign, count=len(moved))
    if waits:
        store().day_wait(waits)
    return [pk for pk in due if pk in tallies and pk not in held and pk not in waits]
