"""A number's campaign calls per day and their answer rate over the last days, with the audit events that
changed it, for its page's charts (phone_numbers sits below campaigns: its page loads this section from
a campaigns view, campaigns.views.number_calls).

Calls: its dialed claims (CallAttempt, one per dial). Answer rate: of the calls it dialed whose last
outcome is known (completed, busy, no-answer, failed, canceled), the share answered, by the day dialed.
Days are the workspace's calendar days (the current time zone). Three queries whatever the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.safestring import SafeString

from campaigns.chart import day_chart_svg
from campaigns.models import CallAttempt, CampaignCall, Outcome
from phone_numbers.models import PhoneNumber
from tenants.models import AuditEvent

DAYS = 30
SETTLED = [o for o in Outcome.values if o != Outcome.UNKNOWN]


@dataclass(frozen=True)
class Day:
    day: date
    calls: int
    settled: int  # dialed that day, outcome known
    answered: int
    events: tuple[str, ...]  # audit actions on the number that day, oldest first

    @property
    def answer_rate(self) -> int | None:
        """Percent answered of the calls whose outcome is known; None without any."""
        return round(100 * self.answered / self.settled) if self.settled else None


@dataclass(frozen=True)
class NumberActivity:
    days: tuple[Day, ...]  # oldest first, today last

    @property
    def calls(self) -> int:
        return sum(d.calls for d in self.days)

    @property
    def answered(self) -> int:
        return sum(d.answered for d in self.days)

    @property
    def settled(self) -> int:
        return sum(d.settled for d in self.days)

    @property
    def answer_rate(self) -> int | None:
        return round(100 * self.answered / self.settled) if self.settled else None


def number_activity(number: PhoneNumber, *, days: int = DAYS, today: date | None = None) -> NumberActivity:
    zone = timezone.get_current_timezone()
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time.min, tzinfo=zone)
    calls = dict(
        CallAttempt.objects.filter(number=number, dialed=True, at__gte=since)
        .annotate(day=TruncDate("at", tzinfo=zone))
        .order_by()
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    outcomes = {
        day: (settled, answered)
        for day, settled, answered in CampaignCall.objects.filter(
            number=number, outcome__in=SETTLED, dialing_at__gte=since
        )
        .annotate(day=TruncDate("dialing_at", tzinfo=zone))
        .order_by()
        .values("day")
        .annotate(settled=Count("pk"), answered=Count("pk", filter=Q(answered=True)))
        .values_list("day", "settled", "answered")
    }
    events: dict[date, list[str]] = {}
    for action, at in (
        AuditEvent.objects.filter(target_type="phonenumber", target_id=str(number.pk), created_at__gte=since)
        .order_by("created_at", "id")
        .values_list("action", "created_at")
    ):
        events.setdefault(timezone.localtime(at, zone).date(), []).append(action)
    return NumberActivity(
        days=tuple(
            Day(
                day=d,
                calls=calls.get(d, 0),
                settled=outcomes.get(d, (0, 0))[0],
                answered=outcomes.get(d, (0, 0))[1],
                events=tuple(events.get(d, ())),
            )
            for d in (first + timedelta(days=i) for i in range(days))
        )
    )


@dataclass(frozen=True)
class ActivityCharts:
    calls: SafeString
    answer_rate: SafeString


def activity_charts(activity: NumberActivity) -> ActivityCharts:
    """The two charts, each with its figures in words (its SVG's desc) for screen readers."""
    days = tuple(d.day for d in activity.days)
    events = tuple(d.events for d in activity.days)
    counts = tuple(d.calls for d in activity.days)
    rates = tuple(d.answer_rate for d in activity.days)
    return ActivityCharts(
        calls=day_chart_svg(
            key="calls-per-day", title=f"Calls per day, last {len(days)} days", desc=_calls_words(activity),
            days=days, values=counts, top=max(max(counts), 1), unit=" calls", events=events,
        ),
        answer_rate=day_chart_svg(
            key="answer-rate", title=f"Answer rate per day, last {len(days)} days", desc=_rate_words(activity),
            days=days, values=rates, top=100, unit=" % answered", events=events, axis_unit="%",
        ),
    )  # fmt: skip


def _day(d: Day) -> str:
    return f"{d.day:%b} {d.day.day}"


def _calls_words(activity: NumberActivity) -> str:
    if not activity.calls:
        return f"No calls in the last {len(activity.days)} days."
    busiest = max(activity.days, key=lambda d: d.calls)
    quiet = sum(1 for d in activity.days if not d.calls)
    return (
        f"{activity.calls} calls in the last {len(activity.days)} days, the most on {_day(busiest)} "
        f"({busiest.calls}); none on {quiet} of the days."
    )


def _rate_words(activity: NumberActivity) -> str:
    known = [d for d in activity.days if d.answer_rate is not None]
    if not known:
        return "No call with a known outcome yet."
    low = min(known, key=lambda d: d.answer_rate)
    high = max(known, key=lambda d: d.answer_rate)
    return (
        f"{activity.answer_rate} % of {activity.settled} calls with a known outcome answered; "
        f"lowest {low.answer_rate} % on {_day(low)}, highest {high.answer_rate} % on {_day(high)}."
    )
