from django.conf import settings
from django.db import models

from pacing.hours import DAY_S, DEFAULT_HOURS, Hours
from tenants.models import Environment, TenantModel


class PacingPolicy(TenantModel):
    """How often each number of an environment may place an outbound call ("Call pacing").

    Stored in seconds (the page speaks minutes and hours). Invariant: a cap needs a window and a window
    needs a cap. Disabled keeps the values, so turning pacing back on restores them.
    """

    MAX_GAP_S = 24 * 3600  # a day between two calls from one number
    MAX_CAP = 1000  # the pacer keeps the newest `cap` attempts per number in Redis
    MAX_WINDOW_S = 7 * 24 * 3600  # a week

    environment = models.OneToOneField(Environment, on_delete=models.CASCADE, related_name="pacing_policy")
    enabled = models.BooleanField("limit call frequency", default=False)
    gap_seconds = models.PositiveIntegerField(default=0, help_text="Seconds between two calls; 0: no wait.")
    cap = models.PositiveIntegerField(default=0, help_text="Calls per window per number; 0: no cap.")
    window_seconds = models.PositiveIntegerField(default=0, help_text="The cap's rolling window, in seconds.")
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
            models.CheckConstraint(
                condition=models.Q(cap=0, window_seconds=0)
                | (models.Q(cap__gt=0) & models.Q(window_seconds__gt=0)),
                name="pacing_cap_needs_window",
            ),
            models.CheckConstraint(
                condition=models.Q(gap_seconds__lte=24 * 3600)
                & models.Q(cap__lte=1000)
                & models.Q(window_seconds__lte=7 * 24 * 3600),
                name="pacing_within_maxima",
            ),
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
        return self.enabled and (self.gap_seconds > 0 or self.cap > 0)

    def describe(self) -> str:
        if not self.limits_calls:
            return "Off"
        parts = []
        if self.gap_seconds:
            parts.append(f"wait {_duration(self.gap_seconds)} between calls")
        if self.cap:
            parts.append(f"no more than {self.cap} calls every {_duration(self.window_seconds)}")
        return "; ".join(parts).capitalize()


def _duration(seconds: int) -> str:
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"
