"""The health sweep (beat: health.sweep every HEALTH_EVERY_S, on the maintenance queue), in five steps:

1. numbers due back from a rest return: watched, on a ramp of calls per day (HEALTH_RETURN_RAMP); a
   flagged one is at risk again, until a member clears it;
2. numbers with newly settled calls are judged from their figures against their pool's median;
3. a returning number that placed its day's ramp of calls rests until its next ramp day;
4. numbers at risk rest (out of every campaign pool) for HEALTH_REST_S, worst first, while at most
   HEALTH_REST_MAX_SHARE of each pool holding them rests (at least one may); a number at risk for the
   HEALTH_RETIRE_AFTER-th time in 30 days is retired instead, until a member returns it;
5. a running campaign whose every number rests pauses, saying why (in the transaction that rested them,
   before its pacer pool empties); one paused so resumes once a number is back.

Every move goes through phone_numbers.health.health_move: a HealthChange and an audit event each.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from campaigns.models import CallAttempt, Campaign
from campaigns.pools import campaign_pool
from campaigns.store import State, store
from health.figures import LOOKBACK, figures_compute, figures_store, pool_median
from health.models import NumberFigures, SweepMark
from health.rules import Thresholds, decide, thresholds, with_reputation
from pacing.services import warmup_hold
from phone_numbers.health import flag_reason, health_move
from phone_numbers.models import HEALTH_OUT_OF_POOLS, Health, HealthChange, NumberReputation, PhoneNumber
from phone_numbers.selectors import reputation_of
from tenants.audit import audit
from tenants.models import Environment
from tenants.scope import all_workspaces

log = logging.getLogger(__name__)

REST_PAUSE = "Paused by Dialtone: every number of its pool is resting"
NOT_RESTED = " Not rested:"  # the cap's addition to an at-risk number's reason
RETIRE_WINDOW = timedelta(days=30)
# Calls settled this long before the last sweep's mark are read again: one committed late is not lost.
_OVERLAP = timedelta(seconds=60)
DAY = timedelta(days=1)


@dataclass
class SweepResult:
    returned: int = 0
    judged: int = 0
    held: int = 0
    rested: int = 0
    ramps_held: int = 0  # numbers whose warm-up ramp waits a day (not healthy)
    paused: list[int] = field(default_factory=list)
    resumed: list[int] = field(default_factory=list)


def health_sweep(*, now: datetime | None = None) -> SweepResult:
    """One sweep over every workspace (the task's work). Idempotent: a second run at the same moment
    changes nothing."""
    now = now or timezone.now()
    result = SweepResult()
    with all_workspaces():
        result.returned = numbers_return(now)
        mark = SweepMark.objects.first()
        since = mark.settled_through - _OVERLAP if mark else now - LOOKBACK
        settled = CallAttempt.unscoped.filter(settled_at__gt=since, number__isnull=False)
        checked = NumberReputation.unscoped.filter(fetched_at__gt=since)  # a feed that spoke since
        due = set(settled.values_list("number_id", flat=True)) | set(
            checked.values_list("number_id", flat=True)
        )
        result.judged = numbers_judge(due, now)
        SweepMark.objects.update_or_create(pk=1, defaults={"settled_through": now})
        if mark and mark.settled_through.date() < now.date():  # the first sweep of a (UTC) day
            result.ramps_held = warmups_hold()
        result.held = numbers_ramp_hold(now)
        result.rested = numbers_rest(PhoneNumber.unscoped.filter(health=Health.AT_RISK), now)
        for workspace_id in _workspaces_with_paused_or_running():
            paused, resumed = campaigns_follow_rest(workspace_id, now)
            result.paused += paused
            result.resumed += resumed
    return result


def warmups_hold() -> int:
    """A new number's warm-up ramp (its pacing policy's daily caps rising day by day) goes on only while it
    is healthy: each day, every number that is not holds its ramp where it is for one more day."""
    held = 0
    unhealthy = PhoneNumber.unscoped.filter(state=PhoneNumber.State.ACTIVE).exclude(health=Health.HEALTHY)
    by_workspace: dict[int, set[str]] = defaultdict(set)
    for workspace_id, e164 in unhealthy.values_list("workspace_id", "e164"):
        by_workspace[workspace_id].add(e164)
    for workspace_id, numbers in by_workspace.items():
        held += warmup_hold(workspace_id=workspace_id, numbers=numbers)
    return held


# ---- 1. Back from rest ------------------------------------------------------------------------------


def numbers_return(now: datetime) -> int:
    """Resting numbers whose time is up rejoin their pools, watched. A real rest ends a return ramp's day 1;
    a ramp day's hold (returned_at kept) ends into the next ramp day."""
    due = PhoneNumber.unscoped.filter(
        health=Health.RESTING, resting_until__lte=now, state=PhoneNumber.State.ACTIVE
    ).select_related("environment", "flagged_by")
    moved = 0
    for number in due:
        ramp = thresholds(number.environment.kind).return_ramp
        if number.flagged:  # at risk until a member clears it: it rests again (within the cap)
            moved += health_move(
                number=number, to=Health.AT_RISK, reason=flag_reason(number), at=now, resting_until=None,
                returned_at=now,
            )  # fmt: skip
            continue
        if number.returned_at is None:
            returned = now
            reason = "Back from rest" + (
                f": up to {_ramp_words(ramp)} calls a day at first; watched until its new calls tell."
                if ramp else "; watched until its new calls tell."
            )  # fmt: skip
        else:
            returned = number.returned_at
            day = int((now - returned) / DAY)
            cap = ramp[day] if day < len(ramp) else None
            reason = f"Day {day + 1} back from rest: up to {cap} calls today." if cap else "Back from rest."
        moved += health_move(
            number=number, to=Health.WATCH, reason=reason, at=now, resting_until=None, returned_at=returned
        )
    return moved


def _ramp_words(ramp: tuple[int, ...]) -> str:
    return ", ".join(str(c) for c in ramp)


# ---- 2. Judge ---------------------------------------------------------------------------------------


def numbers_judge(number_ids: set[int], now: datetime) -> int:
    """Recompute the figures of these numbers (those with newly settled calls) and move each to the state
    they say. Resting and retired numbers only get their figures: the rest clock decides their state."""
    numbers = list(
        PhoneNumber.unscoped.filter(pk__in=number_ids, state=PhoneNumber.State.ACTIVE).select_related(
            "environment", "flagged_by"
        )
    )
    by_env: dict[int, list[PhoneNumber]] = defaultdict(list)
    for number in numbers:
        by_env[number.environment_id].append(number)
    moved = 0
    for environment_id, group in by_env.items():
        t = thresholds(group[0].environment.kind)
        figures = figures_compute([n.pk for n in group], last_calls=t.last_calls, now=now)
        figures_store(group, figures, now)
        median = pool_median(environment_id, min_calls=t.min_calls)
        reputations = reputation_of(group)
        for number in group:
            if number.health in HEALTH_OUT_OF_POOLS:
                continue
            if number.flagged:
                state, reason = Health.AT_RISK, flag_reason(number)
            else:
                if (
                    number.returned_at
                    and number.health == Health.WATCH
                    and figures[number.pk].calls < t.min_calls
                ):
                    continue  # back from rest, too few new calls to judge: its return's words stay
                verdict = decide(figures[number.pk], median, t, returned=number.returned_at is not None)
                verdict = with_reputation(verdict, reputations.get(number.pk))
                state, reason = verdict.state, verdict.reason
            if (
                number.health == Health.AT_RISK
                and state == Health.AT_RISK
                and NOT_RESTED in number.health_reason
            ):
                continue  # still at risk, still held by the cap: the rest step words it
            moved += health_move(number=number, to=state, reason=reason, at=now)
    return moved


# ---- 3. The return ramp -------------------------------------------------------------------------------


def numbers_ramp_hold(now: datetime) -> int:
    """A number back from rest places at most its ramp's calls on each day since its return (24-hour days
    from the return): at its day's cap it rests until its next day. Checked every sweep, so a number may
    pass its cap by what it places between two sweeps (its pacing bounds that)."""
    held = 0
    longest = max((len(thresholds(kind).return_ramp) for kind in Environment.Kind.values), default=0)
    returning = PhoneNumber.unscoped.filter(
        state=PhoneNumber.State.ACTIVE,
        returned_at__gte=now - longest * DAY,
        health__in=(Health.HEALTHY, Health.WATCH),
    ).select_related("environment")
    for number in returning:
        ramp = thresholds(number.environment.kind).return_ramp
        day = int((now - number.returned_at) / DAY)
        if day >= len(ramp):
            continue
        day_start = number.returned_at + day * DAY
        placed = CallAttempt.unscoped.filter(number=number, at__gte=day_start).count()
        if placed < ramp[day]:
            continue
        until = day_start + DAY
        reason = (
            f"Day {day + 1} back from rest: {placed} of {ramp[day]} calls placed; calls again {_when(until)}."
        )
        with transaction.atomic():
            held += health_move(number=number, to=Health.RESTING, reason=reason, at=now, resting_until=until)
            campaigns_follow_rest(number.workspace_id, now)
    return held


# ---- 4. Rest ------------------------------------------------------------------------------------------


def numbers_rest(candidates, now: datetime) -> int:
    """Rest these numbers (at risk) within each pool's cap, worst first; the rest stay at risk, saying
    why. Per workspace, one transaction: the rests, then the campaigns they leave without a number."""
    rested = 0
    by_workspace: dict[int, list[PhoneNumber]] = defaultdict(list)
    for number in candidates.filter(state=PhoneNumber.State.ACTIVE).select_related("environment"):
        by_workspace[number.workspace_id].append(number)
    for workspace_id, numbers in by_workspace.items():
        with transaction.atomic():
            rested += _rest_within_caps(workspace_id, numbers, now)
            campaigns_follow_rest(workspace_id, now)
    return rested


@dataclass
class _Pool:
    label: str
    size: int
    resting: int

    def room(self, share: float) -> bool:
        return self.resting < max(1, math.floor(share * self.size))


def _rest_within_caps(workspace_id: int, numbers: list[PhoneNumber], now: datetime) -> int:
    rates = dict(
        NumberFigures.unscoped.filter(number_id__in=[n.pk for n in numbers]).values_list("number_id", "answered")
    )  # fmt: skip
    calls = dict(
        NumberFigures.unscoped.filter(number_id__in=[n.pk for n in numbers]).values_list("number_id", "calls")
    )
    numbers.sort(key=lambda n: (not n.flagged, rates.get(n.pk, 0) / max(1, calls.get(n.pk, 0)), n.pk))
    pools = _pools_of(workspace_id, {n.environment_id for n in numbers})
    tags = _tag_ids_of([n.pk for n in numbers])
    rested = 0
    for number in numbers:
        t = thresholds(number.environment.kind)
        mine = [
            pool for key, pool in pools.items()
            if key == ("env", number.environment_id)
            or (key[0] == "campaign" and key[1] == number.environment_id and key[3] & tags[number.pk])
        ]  # fmt: skip
        base = number.health_reason.split(NOT_RESTED)[0]
        full = next((p for p in mine if not p.room(t.rest_max_share)), None)
        if full is not None:
            why = (
                f"{NOT_RESTED} {full.resting} of the {full.size} numbers of {full.label} already rest "
                f"(at most {round(t.rest_max_share * 100)} %)."
            )
            health_move(number=number, to=Health.AT_RISK, reason=base + why, at=now)
            continue
        rested += _rest(number, base, t, now)
        for pool in mine:
            pool.resting += 1
    return rested


def _rest(number: PhoneNumber, base: str, t: Thresholds, now: datetime) -> int:
    times = HealthChange.unscoped.filter(
        number=number,
        from_state=Health.AT_RISK,
        to_state__in=HEALTH_OUT_OF_POOLS,
        at__gte=now - RETIRE_WINDOW,
    ).count()
    if times + 1 >= t.retire_after:
        reason = f"Retired: at risk for the {_nth(times + 1)} time in 30 days. {base} Return it by hand."
        return health_move(
            number=number, to=Health.RETIRED, reason=reason, at=now, resting_until=None, returned_at=None
        )
    until = now + timedelta(seconds=t.rest_s)
    return health_move(
        number=number, to=Health.RESTING, reason=f"Resting until {_when(until)}. {base}", at=now,
        resting_until=until, returned_at=None,
    )  # fmt: skip


def _pools_of(workspace_id: int, environment_ids: set[int]) -> dict[tuple, _Pool]:
    """The pools the candidates may belong to, each with its size and how many of it rest: their
    environments' active numbers, and every open campaign's caller IDs (resting ones included)."""
    pools: dict[tuple, _Pool] = {}
    for environment in Environment.unscoped.filter(pk__in=environment_ids):
        active = PhoneNumber.unscoped.filter(
            workspace_id=workspace_id, environment=environment, state=PhoneNumber.State.ACTIVE
        )
        pools[("env", environment.pk)] = _Pool(
            f"{environment}", active.count(), active.filter(health__in=HEALTH_OUT_OF_POOLS).count()
        )
    campaigns = Campaign.unscoped.filter(
        workspace_id=workspace_id, state__in=(State.RUNNING, State.PAUSED), environment_id__in=environment_ids
    ).prefetch_related("tags")
    for campaign in campaigns:
        pool = campaign_pool(campaign, resting=True)
        tag_ids = frozenset(t.pk for t in campaign.tags.all())
        pools[("campaign", campaign.environment_id, campaign.pk, tag_ids)] = _Pool(
            f"“{campaign}”'s pool", pool.count(), pool.filter(health__in=HEALTH_OUT_OF_POOLS).count()
        )
    return pools


def _tag_ids_of(number_ids: list[int]) -> dict[int, set[int]]:
    found: dict[int, set[int]] = {pk: set() for pk in number_ids}
    links = PhoneNumber.tags.through.objects.filter(phonenumber_id__in=number_ids)
    for number_id, tag_id in links.values_list("phonenumber_id", "tag_id"):
        found[number_id].add(tag_id)
    return found


# ---- 5. Campaigns -------------------------------------------------------------------------------------


def campaigns_follow_rest(workspace_id: int, now: datetime) -> tuple[list[int], list[int]]:
    """Pause each running campaign of the workspace whose every caller ID rests (or is retired), saying
    why; resume those it paused once one of their numbers is back. The campaign ids paused and resumed."""
    paused, resumed = [], []
    campaigns = Campaign.unscoped.filter(workspace_id=workspace_id, state__in=(State.RUNNING, State.PAUSED))
    for campaign in campaigns:
        usable = campaign_pool(campaign).exists()
        if campaign.state == State.RUNNING and not usable:
            resting = campaign_pool(campaign, resting=True)
            if not resting.exists():
                continue  # no number carries its tags at all: the dispatcher's own pause says so
            back = resting.filter(health=Health.RESTING).aggregate(first=Min("resting_until"))["first"]
            reason = (
                f"{REST_PAUSE}; the first is back {_when(back)}, and the campaign resumes then."
                if back
                else f"{REST_PAUSE} or retired. Return a number on the Numbers page and it resumes."
            )
            if store().campaign_move(campaign.pk, State.RUNNING, State.PAUSED, stop_reason=reason[:300]):
                audit(actor=None, action="campaign.paused", target=campaign, reason="every number resting")
                paused.append(campaign.pk)
        elif campaign.state == State.PAUSED and usable and campaign.stop_reason.startswith(REST_PAUSE):
            resume = {"stop_reason": "", "pool_synced_at": None, "paced_until": None}
            if store().campaign_move(campaign.pk, State.PAUSED, State.RUNNING, **resume):
                audit(actor=None, action="campaign.resumed", target=campaign, reason="a number is back")
                resumed.append(campaign.pk)
    return paused, resumed


def _workspaces_with_paused_or_running() -> list[int]:
    return list(
        Campaign.unscoped.filter(state__in=(State.RUNNING, State.PAUSED))
        .values_list("workspace_id", flat=True)
        .distinct()
    )


def _when(at: datetime) -> str:
    at = at.astimezone(UTC)
    return f"{at:%b} {at.day}, {at:%H:%M} UTC"


def _nth(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")
