"""Reads for the Campaigns pages: progress, expected finish, and each caller ID's pacing."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from math import ceil, exp
from zoneinfo import ZoneInfo

import redis
from django.conf import settings
from django.db.models import Count, ExpressionWrapper, F, FloatField, Min, Sum
from django.db.models.functions import Exp, TruncHour
from django.utils import timezone
from django.utils.safestring import SafeString

from campaigns.chart import chart_svg
from campaigns.hours import campaign_hours, zones_waiting
from campaigns.models import CallAttempt, Campaign, CampaignCall
from campaigns.pools import pool_numbers, pool_policy, pool_queryset
from pacing.hours import DEFAULT_HOURS, FALLBACK_ZONE, describe_zones, local_clock
from pacing.models import PacingPolicy
from pacing.pacer import Hold, PacerNotReady, Policy, number_zone
from pacing.selectors import number_classes, number_policies
from pacing.services import pacer
from phone_numbers.models import PhoneNumber
from phone_numbers.selectors import tags_in_use
from tenants.models import Environment

Call = CampaignCall.State
CHART_HOURS = 12


@dataclass(frozen=True)
class Progress:
    total: int
    placed: int
    failed: int
    unknown: int
    waiting: int
    suppressed: int  # on the do-not-call list: never dialed
    held: int  # at its destination's attempt cap for the campaign: never dialed again
    in_flight: int  # reserved, dialing or checking: each holds its caller ID
    expected_finish: datetime | None
    by_state: dict[str, int] = field(default_factory=dict)  # calls per CampaignCall.State
    # The latest it may finish, later than expected_finish under a random delay or a warm-up ramp
    finish_latest: datetime | None = None

    @property
    def checking(self) -> int:
        """Dials whose answer was lost: the provider is being asked whether they went through."""
        return self.by_state.get(Call.CHECKING, 0)

    @property
    def dialing(self) -> int:
        return self.in_flight - self.checking

    @property
    def done(self) -> int:
        return self.placed + self.failed + self.unknown + self.suppressed + self.held

    @property
    def unplaced(self) -> int:
        """Calls not placed (yet, or ever once the campaign is cancelled)."""
        return self.waiting + self.in_flight

    @property
    def finishes_today(self) -> bool:
        today = timezone.localdate()
        return self.expected_finish is not None and timezone.localdate(self.expected_finish) == today

    @property
    def finish_span(self) -> bool:
        """The finish is a span (a random delay or a warm-up) at least a minute wide."""
        if self.expected_finish is None or self.finish_latest is None:
            return False
        return self.finish_latest - self.expected_finish >= timedelta(minutes=1)

    @property
    def latest_today(self) -> bool:
        return (
            self.finish_latest is not None and timezone.localdate(self.finish_latest) == timezone.localdate()
        )


def campaign_progress(campaign: Campaign, *, pool_size: int | None = None) -> Progress:
    counts = dict(
        CampaignCall.objects.filter(campaign=campaign).values_list("state").annotate(n=Count("id")).order_by()
    )
    waiting = counts.get(Call.PENDING, 0)
    in_flight = sum(counts.get(s, 0) for s in CampaignCall.IN_FLIGHT)
    earliest, latest = _finish_bounds(campaign, waiting, in_flight, pool_size)
    return Progress(
        total=sum(counts.values()),
        placed=counts.get(Call.PLACED, 0),
        failed=counts.get(Call.FAILED, 0),
        unknown=counts.get(Call.UNKNOWN, 0),
        waiting=waiting,
        suppressed=counts.get(Call.SUPPRESSED, 0),
        held=counts.get(Call.HELD, 0),
        in_flight=in_flight,
        expected_finish=earliest,
        by_state=counts,
        finish_latest=latest,
    )


# The measured pace is a moving average of the campaign's attempts, each weighted e^(-age/tau): a
# dispatcher tick that claims nothing moves it by 1/tau per second (0.3 %), where a count of the last
# minute moved by 1/60 (1.7 %) and made the finish jump.
PACE_TAU_S = 300
# The measured pace sets the finish only when it is clearly slower than pacing allows (dial workers or
# the provider are the bottleneck); around the policy's pace it wobbles with each burst of claims.
CLEARLY_SLOWER = 2


def _expected_finish(
    campaign: Campaign, waiting: int, in_flight: int, pool_size: int | None, *, now: datetime | None = None
) -> datetime | None:
    """The earliest of _finish_bounds."""
    return _finish_bounds(campaign, waiting, in_flight, pool_size, now=now)[0]


def _finish_bounds(
    campaign: Campaign, waiting: int, in_flight: int, pool_size: int | None, *, now: datetime | None = None
) -> tuple[datetime | None, datetime | None]:
    """When the last call should be placed, steady from one poll to the next: the earliest and the latest.

    The policy gives the fastest the pool can place the waiting calls (each number under its own policy:
    pool_classes), from the moment the pacer frees a number if it holds them all; the measured pace takes
    over when nothing is paced or when it is clearly slower. In-flight calls already hold their caller ID:
    they go within seconds. A random delay (jitter) and a warm-up ramp make a span: the earliest with no
    delay and every number past its warm-up, the latest with every delay at its bound and every number on
    its first warm-up day; one moment without them.
    """
    if campaign.state != Campaign.State.RUNNING or not (waiting or in_flight):
        return None, None
    now = now or timezone.now()
    if not waiting:
        return now, now
    numbers = pool_numbers(campaign)
    if not numbers:
        return None, None
    classes, policies = number_classes(campaign.environment, numbers)
    pool = [(policies[key], n) for key, n in Counter(classes.values()).items()]
    paced = _pool_paced_seconds(pool, waiting)
    rate = _measured_rate(campaign, now, tau_s=max(PACE_TAU_S, *(p.gap_s for p, _ in pool)))
    measured_s = waiting / rate if rate else None

    def finish(paced_s: float | None) -> datetime | None:
        if paced_s is not None and campaign.paced_until and campaign.paced_until > now:
            return campaign.paced_until + timedelta(seconds=paced_s)  # the pacer sets the pace
        if paced_s is None:
            return now + timedelta(seconds=measured_s) if measured_s is not None else None
        if measured_s is not None and measured_s > CLEARLY_SLOWER * paced_s:
            return now + timedelta(seconds=measured_s)
        return now + timedelta(seconds=paced_s)

    earliest = finish(paced)
    if not any(p.jitter_s or p.ramp for p, _ in pool):
        return earliest, earliest
    latest = finish(_pool_paced_seconds(pool, waiting, latest=True))
    return earliest, max(earliest, latest) if earliest and latest else latest


def _pool_paced_seconds(pool: list[tuple[Policy, int]], calls: int, *, latest: bool = False) -> float | None:
    """The least time numbers under their policies ((policy, how many numbers) each) take for `calls`
    calls, the first of each number at once; None when no policy limits anything (the pool's pace is
    then the dial workers'). latest: every random delay at its bound, every number on its first warm-up
    day (_number_times)."""
    if len(pool) == 1:
        policy, numbers = pool[0]
        return _paced_seconds(policy, calls, numbers, latest=latest)
    if any(not _limits_of(p) for p, _ in pool):
        return None  # a class places calls as fast as the workers take them: the workers set the pace
    # Each number's j-th call time, per class; the finish is the least T by which the numbers' calls
    # before T number `calls`: a search over T, between 0 and the time the slowest class alone would take.
    times = {i: _number_times(p, ceil(calls / n), latest=latest) for i, (p, n) in enumerate(pool)}

    def placed_by(t: float) -> int:
        return sum(n * _calls_by(times[i], t) for i, (_, n) in enumerate(pool))

    low, high = 0.0, min(_time_of(times[i], ceil(calls / n) - 1) for i, (_, n) in enumerate(pool))
    for _ in range(60):  # to well under a second on any span this can take
        mid = (low + high) / 2
        low, high = (low, mid) if placed_by(mid) >= calls else (mid, high)
    return high


def _limits_of(policy: Policy) -> list[tuple[int, int]]:
    return [*policy.windows, *([(policy.daily_cap, DAY_S)] if policy.daily_cap else [])] or (
        [(1, policy.gap_s)] if policy.gap_s else []
    )


def _paced_seconds(policy, calls: int, numbers: int, *, latest: bool = False) -> float | None:
    """The least time the policy lets `numbers` fresh caller IDs take for `calls` calls, the first of
    each number at once; None when the policy limits nothing. The busiest number's calls, each as early
    as every limit allows (a daily cap read as a rolling day: an estimate), simulated for the first
    _SIMULATED and extrapolated from the second half of those. latest: see _number_times."""
    if not _limits_of(policy):
        return None
    last = ceil(calls / numbers) - 1  # the busiest number's last call (from 0)
    return _time_of(_number_times(policy, last, latest=latest), last)


def _number_times(policy, last: int, *, latest: bool = False) -> list[float]:
    """One number's call times (s, its first at 0) as early as every limit allows, up to its `last`-th
    call or _SIMULATED of them. latest: the random delay after each call at its bound, and the number on
    the first day of its warm-up (a day's cap its ramp's, days counted from its first call); else no
    delay, and the number past its warm-up."""
    limits = [*policy.windows, *([(policy.daily_cap, DAY_S)] if policy.daily_cap and not latest else [])]
    ramp = latest and policy.daily_cap
    jitter = policy.jitter_s if latest else 0
    times: list[float] = []
    per_day: Counter = Counter()
    for j in range(min(last, _SIMULATED) + 1):
        t = times[-1] + policy.gap_s if times else 0.0
        for cap, window_s in limits:
            if j >= cap:
                t = max(t, times[j - cap] + window_s)
        if times:
            t = max(t, times[-1]) + jitter  # the delay comes after every other limit allows
        if ramp:
            day = int(t // DAY_S)
            while per_day[day] >= policy.day_cap(day):
                day += 1  # that day is full: the next one's start
                t = max(t, day * DAY_S)
            per_day[day] += 1
        times.append(t)
    return times


def _time_of(times: list[float], j: int) -> float:
    """The j-th call's time: simulated, or extrapolated from the second half of the simulated calls."""
    if j < len(times):
        return times[j]
    half = len(times) // 2
    return times[-1] + (j - len(times) + 1) * (times[-1] - times[half]) / (len(times) - 1 - half)


def _calls_by(times: list[float], t: float) -> int:
    """How many of a number's calls leave before `t` (extrapolated past the simulated ones)."""
    if t <= times[-1]:
        return bisect_left(times, t)
    half = len(times) // 2
    step = (times[-1] - times[half]) / (len(times) - 1 - half) if len(times) - 1 > half else 0
    return len(times) + (int((t - times[-1]) / step) if step else 0)


_SIMULATED = 5000
DAY_S = 24 * 3600


def _measured_rate(campaign: Campaign, now: datetime, *, tau_s: float) -> float | None:
    """Attempts per second: an exponentially weighted moving average over the campaign's attempts of
    the last 3 tau (older ones weigh under 5 %), normalised by the span it saw (a campaign started a
    minute ago is not averaged over 15)."""
    now_ms = now.timestamp() * 1000
    since = now - timedelta(seconds=3 * tau_s)
    age = ExpressionWrapper((F("at_ms") - now_ms) / (tau_s * 1000.0), output_field=FloatField())
    seen = CallAttempt.objects.filter(campaign=campaign, at__gte=since, at__lte=now).aggregate(
        weight=Sum(Exp(age)), first_ms=Min("at_ms")
    )
    if not seen["weight"]:
        return None
    span_s = min(3 * tau_s, max(1.0, (now_ms - seen["first_ms"]) / 1000))
    return seen["weight"] / (tau_s * (1 - exp(-span_s / tau_s)))


@dataclass(frozen=True)
class CallerRow:
    e164: str
    attempts_in_window: int
    cap: int
    next_free: datetime | None
    paced: bool
    chart: SafeString = SafeString("")  # attempts per hour, the last CHART_HOURS hours (campaigns/chart.py)
    holds: tuple[
        str, ...
    ] = ()  # the limits holding it, in words: "today 75/75, resets 00:00 America/Chicago"

    @property
    def window_percent(self) -> int:
        return min(100, round(100 * self.attempts_in_window / self.cap)) if self.cap else 0


@dataclass(frozen=True)
class Callers:
    rows: tuple[CallerRow, ...]
    total: int
    all_paced_until: datetime | None
    chart_max: int
    hours: tuple[str, ...] = ()  # the chart's hours, oldest first
    live: bool = True  # the pacer's state per number was read
    unavailable: str = ""  # why the live pacing state is not shown, when it matters


def campaign_callers(campaign: Campaign, *, limit: int = 50) -> Callers:
    numbers = pool_numbers(campaign)
    shown = numbers[:limit]
    policy = pool_policy(campaign)
    hours, hourly = _hourly(campaign, shown)
    chart_max = max([1, *(n for counts in hourly.values() for n in counts)])
    charts = {n: chart_svg(hours, hourly[n], chart_max) for n in shown}
    try:
        states = _number_states(campaign, shown)
    except (redis.RedisError, PacerNotReady) as exc:
        cap = policy.windows[0][0] if policy.windows else 0
        rows = tuple(CallerRow(n, 0, cap, None, False, charts[n]) for n in shown)
        if isinstance(exc, PacerNotReady):
            # Only the dispatcher of a running campaign rebuilds it: not news on a draft or a closed one.
            why = (
                "Pacing state is being rebuilt from the database; a running campaign rebuilds it within seconds."
                if campaign.state in (Campaign.State.RUNNING, Campaign.State.PAUSED)
                else ""
            )
        else:
            why = "Pacing state is unavailable right now (Redis did not answer)."
        return Callers(rows, len(numbers), None, chart_max, hours, live=False, unavailable=why)
    rows = tuple(
        CallerRow(
            e164=n,
            attempts_in_window=states[n].attempts_in_window,
            cap=states[n].window_cap,
            next_free=_dt(states[n].next_free_ms) if states[n].paced else None,
            paced=states[n].paced,
            chart=charts[n],
            holds=tuple(hold_words(h) for h in states[n].holds),
        )
        for n in shown
    )
    all_paced = bool(rows) and len(shown) == len(numbers) and all(r.paced for r in rows)
    until = min(r.next_free for r in rows) if all_paced else None
    return Callers(rows, len(numbers), until, chart_max, hours)


def _number_states(campaign: Campaign, numbers: list[str]) -> dict:
    """The pacer's state of each number under its own policy (a pool may mix them: campaigns/pools.py,
    pool_classes), one read per policy."""
    by_policy: dict = defaultdict(list)
    for number, policy in number_policies(campaign.environment, numbers).items():
        by_policy[policy].append(number)
    states = {}
    for policy, group in by_policy.items():
        zones = {number_zone(n) for n in group} if policy.daily_cap else ()
        states |= pacer().number_states(
            workspace_id=campaign.workspace_id, numbers=group, policy=policy, zones=zones
        )
    return states


def hold_words(hold: Hold) -> str:
    """A limit holding a number, in words, times in the page's zone (the day's reset in the number's):
    "today 75/75, resets 00:00 America/Chicago", "15-min window 3/3, frees 14:07:12"."""
    frees = f"{timezone.localtime(_dt(hold.frees_ms)):%H:%M:%S}"
    if hold.kind == "daily":
        warmup = f"warm-up day {hold.warmup_day}: " if hold.warmup_day else ""
        if hold.zone:
            return f"{warmup}today {hold.used}/{hold.limit}, resets 00:00 {hold.zone}"
        return f"day {hold.used}/{hold.limit} (any 25 h: time zone unknown), frees {frees}"
    if hold.kind == "jitter":
        bound = f"{hold.window_s // 60} min" if hold.window_s % 60 == 0 else f"{hold.window_s} s"
        return f"random delay after the last call (up to {bound}), frees {frees}"
    if hold.kind == "window":
        # The pacer's windows are the policy's widened by the dial deadline (pacer_policy): name the policy's.
        window_s = max(1, hold.window_s - settings.CAMPAIGN_DIAL_DEADLINE_S)
        return f"{_duration(window_s)} window {hold.used}/{hold.limit}, frees {frees}"
    return f"gap between calls, frees {frees}"


def _duration(seconds: int) -> str:
    for unit, label in ((86400, "day"), (3600, "hour"), (60, "min")):
        if seconds >= unit and seconds % unit == 0:
            return f"{seconds // unit}-{label}"
    return f"{seconds}-s"


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _hourly(campaign: Campaign, numbers: list[str]) -> tuple[tuple[str, ...], dict[str, tuple[int, ...]]]:
    """The chart's hours ("09:00", local time, oldest first) and each number's attempts in them."""
    now = timezone.now()
    first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=CHART_HOURS - 1)
    hours = tuple(f"{timezone.localtime(first + timedelta(hours=i)):%H:%M}" for i in range(CHART_HOURS))
    counts = {n: [0] * CHART_HOURS for n in numbers}
    rows = (
        CallAttempt.objects.filter(campaign=campaign, at__gte=first, e164__in=numbers)
        .annotate(hour=TruncHour("at"))
        .values_list("e164", "hour")
        .annotate(n=Count("id"))
        .order_by()
    )
    for e164, hour, n in rows:
        index = int((hour - first).total_seconds() // 3600)
        if 0 <= index < CHART_HOURS:
            counts[e164][index] = n
    return hours, {n: tuple(c) for n, c in counts.items()}


@dataclass(frozen=True)
class TagChoice:
    pk: int
    name: str
    numbers: int  # active numbers of the environment carrying it
    checked: bool


@dataclass(frozen=True)
class CallerIdChoices:
    """The New campaign form's tags, each with the caller IDs it brings in the chosen environment."""

    environment: Environment
    tags: tuple[TagChoice, ...]
    total: int  # caller IDs of the checked tags together (a number may carry several)

    @property
    def chosen(self) -> bool:
        return any(t.checked for t in self.tags)


def caller_id_choices(*, environment_id, tag_ids) -> CallerIdChoices:
    """From the form's raw values; an unknown environment falls back to the first (Live)."""
    environments = list(Environment.objects.all())
    environment = next((e for e in environments if str(e.pk) == str(environment_id)), None) or min(
        environments, key=lambda e: e.position
    )
    checked = {int(t) for t in tag_ids if str(t).isascii() and str(t).isdigit() and len(str(t)) < 19}
    per_tag = dict(
        PhoneNumber.objects.filter(PhoneNumber.CALLS_OUT, environment=environment, tags__isnull=False)
        .values_list("tags")
        .annotate(n=Count("id"))
        .order_by()
    )
    tags = tuple(
        TagChoice(t.pk, t.name, per_tag.get(t.pk, 0), t.pk in checked) for t in tags_in_use().order_by("name")
    )
    total = (
        pool_queryset(
            workspace_id=environment.workspace_id, environment_id=environment.pk, tag_ids=checked
        ).count()
        if checked
        else 0
    )
    return CallerIdChoices(environment, tags, total)


def campaigns_list():
    return Campaign.objects.select_related("environment").order_by("-created_at")[:200]


# ---- Calling hours -------------------------------------------------------------------------------


def environment_hours() -> list[tuple[Environment, str]]:
    """Each environment of the workspace with its calling hours in words (the New campaign form's hint)."""
    policies = {p.environment_id: p for p in PacingPolicy.objects.all()}
    return [
        (e, (policies[e.pk].hours if e.pk in policies else DEFAULT_HOURS).describe())
        for e in sorted(Environment.objects.all(), key=lambda e: e.position)
    ]


@dataclass(frozen=True)
class HoursNotice:
    """What the campaign page says about calls waiting for calling hours."""

    hours: str  # the campaign's hours in words
    waiting: list[str] = field(default_factory=list)  # a sentence per closed zone set, soonest first
    all_waiting: bool = False  # every waiting call waits for calling hours


def campaign_hours_notice(campaign: Campaign, now: datetime | None = None) -> HoursNotice:
    """The campaign's calling hours, and for each zone set of its waiting calls that is closed now when its
    next call may go, in the callee's local time and in UTC."""
    now = now or timezone.now()
    notice = HoursNotice(hours=campaign_hours(campaign).describe())
    if campaign.state not in (Campaign.State.RUNNING, Campaign.State.PAUSED, Campaign.State.DRAFT):
        return notice
    with_calls = set(
        CampaignCall.unscoped.filter(campaign=campaign, state=CampaignCall.State.PENDING)
        .values_list("zone", flat=True)
        .distinct()
    )
    waiting = zones_waiting(campaign, sorted(with_calls), now)
    for w in waiting[:5]:
        where = describe_zones(w.zones)
        if w.zones == (FALLBACK_ZONE,):
            where = "UTC (their numbers have no known time zone)"
        if w.opens is None:
            notice.waiting.append(
                f"No common calling hours this week in {where}: those calls wait. Widen the hours or remove them."
            )
            continue
        zone = ZoneInfo(w.zones[0])
        later_day = w.opens.astimezone(zone).date() != now.astimezone(zone).date()
        local = (f"{w.opens.astimezone(zone):%a} " if later_day else "") + local_clock(w.opens, w.zones[0])
        utc = w.opens.astimezone(UTC)
        notice.waiting.append(
            f"Outside calling hours in {where}: next call at {local} local, "
            f"{f'{utc:%a} ' if utc.date() != now.astimezone(UTC).date() else ''}{utc:%H:%M} UTC."
        )
    if len(waiting) > 5:
        notice.waiting.append(f"…and {len(waiting) - 5} more time zones waiting for their calling hours.")
    return HoursNotice(notice.hours, notice.waiting, bool(with_calls) and len(waiting) == len(with_calls))
