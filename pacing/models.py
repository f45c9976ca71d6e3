from django.conf import settings
from django.db import models

from pacing.hours import DAY_S, DEFAULT_HOURS, Hours
from pacing.limits import MAX_CAP, MAX_GAP_S, MAX_JITTER_S, MAX_WINDOW_S, MAX_WINDOWS, Limits
from phone_numbers.models import Tag
from tenants.models import Environment, TenantModel

WINDOW_SLOTS = range(1, MAX_WINDOWS + 1)


def _cap(n: int):
    return models.PositiveIntegerField(default=0, help_text=f"Window {n}: calls per number; 0: no window.")


def _window(n: int):
    return models.PositiveIntegerField(default=0, help_text=f"Window {n}: its length, in seconds.")


def _limit_constraints() -> list:
    """Each window whole or empty, every value within the maxima (the pacer's log keeps MAX_CAP attempts)."""
    checks = []
    within = models.Q(gap_seconds__lte=MAX_GAP_S, daily_cap__lte=MAX_CAP, jitter_seconds__lte=MAX_JITTER_S)
    for n in WINDOW_SLOTS:
        cap, seconds = f"window{n}_cap", f"window{n}_seconds"
        checks.append(
            models.CheckConstraint(
                condition=models.Q(**{cap: 0, seconds: 0})
                | models.Q(**{f"{cap}__gt": 0, f"{seconds}__gt": 0}),
                name=f"%(app_label)s_%(class)s_window{n}_whole",
            )
        )
        within &= models.Q(**{f"{cap}__lte": MAX_CAP, f"{seconds}__lte": MAX_WINDOW_S})
    return [*checks, models.CheckConstraint(condition=within, name="%(app_label)s_%(class)s_within_maxima")]


class PacingLimits(models.Model):
    """How often one number may place outbound calls: a gap, up to four rolling windows and a daily cap
    (calls per calendar day in the number's own time zone). Stored in seconds; the page speaks minutes
    and hours. Windows fill slots 1..4 shortest first (services write them so), empty slots are (0, 0).
    Human cadence too: a random extra wait before each number's next call (jitter) and a warm-up ramp of
    daily caps for new numbers. Abstract: the environment's policy and a tag's own policy share it."""

    MAX_GAP_S, MAX_CAP, MAX_WINDOW_S = MAX_GAP_S, MAX_CAP, MAX_WINDOW_S

    gap_seconds = models.PositiveIntegerField(default=0, help_text="Seconds between two calls; 0: no wait.")
    window1_cap, window1_seconds = _cap(1), _window(1)
    window2_cap, window2_seconds = _cap(2), _window(2)
    window3_cap, window3_seconds = _cap(3), _window(3)
    window4_cap, window4_seconds = _cap(4), _window(4)
    daily_cap = models.PositiveIntegerField(
        default=0, help_text="Calls per number per calendar day in the number's time zone; 0: no cap."
    )
    jitter_seconds = models.PositiveIntegerField(
        default=0, help_text="At most this many random extra seconds before a number's next call; 0: none."
    )
    # A short list of whole numbers, checked by pacing/limits.py (JSON: django.contrib.postgres is not in use).
    ramp = models.JSONField(
        default=list,
        blank=True,
        help_text="A new number's daily caps for its days 1, 2, 3...; then the daily cap. Empty: none.",
    )

    class Meta:
        abstract = True
        constraints = _limit_constraints()

    @property
    def windows(self) -> tuple[tuple[int, int], ...]:
        """(cap, seconds) of the windows set, shortest first."""
        pairs = ((getattr(self, f"window{n}_cap"), getattr(self, f"window{n}_seconds")) for n in WINDOW_SLOTS)
        return tuple(sorted((pair for pair in pairs if pair[0]), key=lambda pair: pair[1]))

    @windows.setter
    def windows(self, pairs) -> None:
        pairs = sorted(pairs, key=lambda pair: pair[1])
        for n in WINDOW_SLOTS:
            cap, seconds = pairs[n - 1] if n <= len(pairs) else (0, 0)
            setattr(self, f"window{n}_cap", cap)
            setattr(self, f"window{n}_seconds", seconds)

    @property
    def limits(self) -> Limits:
        return Limits(self.gap_seconds, self.windows, self.daily_cap, self.jitter_seconds, tuple(self.ramp))

    @limits.setter
    def limits(self, limits: Limits) -> None:
        self.gap_seconds, self.daily_cap = limits.gap_s, limits.daily_cap
        self.windows = limits.windows
        self.jitter_seconds, self.ramp = limits.jitter_s, list(limits.ramp)


class PacingPolicy(PacingLimits, TenantModel):
    """How often each number of an environment may place an outbound call ("Call pacing"), and when
    (calling hours). Disabled keeps the limits, so turning pacing back on restores them."""

    environment = models.OneToOneField(Environment, on_delete=models.CASCADE, related_name="pacing_policy")
    enabled = models.BooleanField("limit call frequency", default=False)
    # Calling hours, in the destination's local time (pacing/hours.py): on whether or not pacing is.
    hours_days = models.PositiveSmallIntegerField(
        "calling days", default=DEFAULT_HOURS.days, help_text="Bit 0 Monday .. bit 6 Sunday."
    )
    hours_start_s = models.PositiveIntegerField(
        default=DEFAULT_HOURS.start_s, help_text="Seconds after local midnight."
    )
    hours_end_s = models.PositiveIntegerField(
        default=DEFAULT_HOURS.end_s, help_text="Seconds after local midnight."
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "pacing policies"
        constraints = [
            *_limit_constraints(),
            models.CheckConstraint(
                condition=models.Q(hours_days__gte=1, hours_days__lte=127, hours_end_s__lte=DAY_S)
                & models.Q(hours_start_s__lt=models.F("hours_end_s")),
                name="pacing_hours_open",
            ),
        ]

    def __str__(self) -> str:
        return f"Call pacing in {self.environment}"

    @property
    def hours(self) -> Hours:
        return Hours(self.hours_days, self.hours_start_s, self.hours_end_s)

    @property
    def limits_calls(self) -> bool:
        return self.enabled and self.limits.any

    def describe(self) -> str:
        """Every limit in words ("Wait 1 minute between calls; 3 calls per 15 minutes, 5 per hour; 75 calls
        a day"), or "Off"."""
        return self.limits.describe() if self.limits_calls else "Off"


class TagPolicy(PacingLimits, TenantModel):
    """A tag's own pacing in one environment: numbers carrying the tag follow it instead of the
    environment's policy, and every one of their paced tags' policies when they carry several
    (pacing/selectors.py, number_policies). Keyed by environment, like the environment's policy it
    stands in for (a sandbox can pace in seconds while Live paces in hours), and by the Tag row, so a
    tag's policy follows the tag. No row: the tag's numbers follow the environment's policy."""

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "tag pacing policies"
        constraints = [
            *_limit_constraints(),
            models.UniqueConstraint(fields=["environment", "tag"], name="pacing_one_policy_per_tag"),
        ]

    def __str__(self) -> str:
        return f"Call pacing for “{self.tag}” in {self.environment}"

    def describe(self) -> str:
        return self.limits.describe()
