"""Campaigns: a list of destinations called from the numbers carrying the campaign's tags, paced per number.

PostgreSQL is the truth for the work: every CampaignCall has a state and a `not_before`, and every pacer
claim is a CallAttempt, so Redis (pacing state only) can be rebuilt after a loss.
"""

from django.conf import settings
from django.db import models

from pacing.hours import Hours
from phone_numbers.models import PhoneNumber, Tag
from tenants.managers import WorkspaceScopedManager
from tenants.models import Environment, TenantModel


class CampaignQuerySet(models.QuerySet):
    def running_with_number(self, number: PhoneNumber) -> list:
        """Running campaigns whose caller-ID pool holds the number (same environment, one of their tags)."""
        if not number.calls_out:  # on hold, it is out of every pool already
            return []
        return list(
            self.filter(
                state=Campaign.State.RUNNING,
                environment_id=number.environment_id,
                tags__in=number.tags.all(),
            ).distinct()
        )


class CampaignManager(WorkspaceScopedManager.from_queryset(CampaignQuerySet)):
    pass


CAP_CAMPAIGN_DEFAULT, CAP_DAY_DEFAULT = 4, 3


class Campaign(TenantModel):
    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        FINISHED = "finished", "Finished"
        CANCELLED = "cancelled", "Cancelled"

    NAME_MAX = 80
    OPEN_STATES = (State.DRAFT, State.RUNNING, State.PAUSED)

    name = models.CharField(max_length=NAME_MAX)
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="+")
    # The agent may be deleted later; the campaign keeps its name as history.
    agent = models.ForeignKey(
        "agents.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    agent_name = models.CharField(max_length=60, blank=True)
    tags = models.ManyToManyField(Tag, related_name="+", help_text="Numbers carrying any of these call out.")
    state = models.CharField(max_length=20, choices=State.choices, default=State.DRAFT)
    destinations = models.PositiveIntegerField(default=0)
    duplicates_skipped = models.PositiveIntegerField(default=0)
    # Why the dispatcher stopped it by itself (e.g. the pool emptied), shown on the page.
    stop_reason = models.CharField(max_length=300, blank=True)
    # When every number of the pool was paced: the pacer's earliest free time (the dispatcher skips until).
    paced_until = models.DateTimeField(null=True, blank=True)
    pool_synced_at = models.DateTimeField(null=True, blank=True)
    # Its own calling hours, within its environment's (null: the environment's); pacing/hours.py.
    hours_days = models.PositiveSmallIntegerField(null=True, blank=True)
    hours_start_s = models.PositiveIntegerField(null=True, blank=True)
    hours_end_s = models.PositiveIntegerField(null=True, blank=True)
    # The distinct time-zone sets of its destinations (each a sorted list of zone names); a call's `zone`
    # is its set's index here. Computed once, when the list is read: the dispatcher asks every batch.
    zones = models.JSONField(default=list, blank=True)
    # Per-destination attempt caps (campaigns/caps.py): dials to one destination in this campaign (a call
    # and its retries), and per calendar day in the destination's time zone across the workspace.
    cap_campaign = models.PositiveSmallIntegerField(default=CAP_CAMPAIGN_DEFAULT)
    cap_day = models.PositiveSmallIntegerField(default=CAP_DAY_DEFAULT)
    # The retry schedule for no-answer and busy (campaigns/retries.py): how many times, after how long.
    retry_no_answer_times = models.PositiveSmallIntegerField(default=2)
    retry_no_answer_after_s = models.PositiveIntegerField(default=30 * 60)
    retry_busy_times = models.PositiveSmallIntegerField(default=3)
    retry_busy_after_s = models.PositiveIntegerField(default=5 * 60)
    # Local presence (campaigns/presence.py): each destination's caller ID chosen near it (area code, state
    # or region, time zone, then any), and kept for its retries.
    local_presence = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = CampaignManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state"], name="campaign_by_state")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    hours_days__isnull=True, hours_start_s__isnull=True, hours_end_s__isnull=True
                )
                | models.Q(
                    hours_days__gte=1,
                    hours_days__lte=127,
                    hours_end_s__lte=24 * 3600,
                    hours_start_s__lt=models.F("hours_end_s"),
                ),
                name="campaign_hours_open",
            ),
            models.CheckConstraint(
                condition=models.Q(cap_campaign__gte=1, cap_day__gte=1), name="campaign_caps_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def event_data(self) -> dict:
        """What outbound events (events/) say of the campaign."""
        return {
            "campaign_id": self.pk, "name": self.name, "state": self.state, "environment_id": self.environment_id,
            "started_at": self.started_at, "finished_at": self.finished_at,
        }  # fmt: skip

    @property
    def pool_id(self) -> str:
        return str(self.pk)

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES

    @property
    def own_hours(self) -> Hours | None:
        if self.hours_days is None:
            return None
        return Hours(self.hours_days, self.hours_start_s, self.hours_end_s)


def call_reference(call_id: int, attempt_id: int | None) -> str:
    """Sent to the provider with a dial: the call and its claim, so reconciling can ask for it."""
    return f"dialtone-call-{call_id}-{attempt_id}"


class CallAttempt(TenantModel):
    """One claim of a number by the pacer: recorded in the dispatcher's transaction, never changed.

    The pacer is rebuilt from these after a Redis loss, so an attempt counts from the moment its number
    was claimed, whether the dial then happened or not (counting too much only paces more).
    """

    call = models.ForeignKey("CampaignCall", on_delete=models.CASCADE, related_name="attempts")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    number = models.ForeignKey(PhoneNumber, null=True, on_delete=models.SET_NULL, related_name="+")
    e164 = models.CharField(max_length=16)
    at_ms = models.BigIntegerField(help_text="The pacer's clock (Redis TIME), ms since the epoch.")
    at = models.DateTimeField()
    # The destination called (the call's), for its attempt caps across the workspace (campaigns/caps.py).
    to_e164 = models.CharField("destination", max_length=16, blank=True)
    # A dial task took the call under this claim (reserved -> dialing): it counts against the caps. A claim
    # given back before that (paused, lost task, broker down) never does.
    dialed = models.BooleanField(default=False)
    # How the call went under this claim (campaigns/outcomes.py: call_settled): a retry clears the call's
    # outcome for its next claim, so each attempt keeps its own; number health reads these (health/).
    outcome = models.CharField(
        max_length=12, blank=True, default="", db_default=""
    )  # the store's SQL inserts
    answered = models.BooleanField(null=True, blank=True)
    duration_s = models.PositiveIntegerField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # A number's settled attempts, newest first (its health figures), and those settled lately.
            models.Index(
                fields=["number", "-at"], condition=~models.Q(outcome=""), name="attempt_settled_by_number"
            ),
            models.Index(
                fields=["settled_at"], condition=models.Q(settled_at__isnull=False), name="attempt_settled"
            ),
            models.Index(  # a destination's dials of the day, across the workspace's campaigns
                fields=["workspace", "to_e164", "at"],
                condition=models.Q(dialed=True),
                name="attempt_by_destination",
            ),
            models.Index(fields=["workspace", "e164", "-at_ms"], name="attempt_by_number"),
            models.Index(fields=["campaign", "at"], name="attempt_by_campaign"),
        ]

    def __str__(self) -> str:
        return f"{self.e164} at {self.at:%Y-%m-%d %H:%M:%S}"


class Outcome(models.TextChoices):
    """How a placed call ended, in the provider's final status; unknown: it never said (and can't be asked)."""

    COMPLETED = "completed", "Answered"
    BUSY = "busy", "Busy"
    NO_ANSWER = "no-answer", "No answer"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"
    UNKNOWN = "unknown", "Outcome unknown"


class CampaignCall(TenantModel):
    """One destination. pending -> reserved -> dialing -> placed | failed, each move a guarded UPDATE.

    reserved: the pacer gave it a caller ID (`attempt`); a dial task is queued. dialing: the dial task
    took it and may have reached the provider. checking: its answer was lost (a timeout, a worker that died
    mid-dial): the provider is being asked whether it was placed (reconcile); nothing redials it blindly.
    unknown: the provider could not tell us: a person decides, nothing redials it.
    suppressed: its destination is on the workspace's do-not-call list: never dialed, `error` says since
    when and who added it (pending -> suppressed, before any caller ID is claimed for it).
    A placed call's outcome (answered, for how long, the provider's final status and cause) comes from its
    status callbacks, ranked by `progress` so repeats and late reports change nothing (campaigns/outcomes.py).
    held: its destination had as many dials in this campaign as the campaign's cap allows: never dialed
    again, `error` says so (campaigns/caps.py; a destination at its daily cap waits instead, pending).
    """

    class State(models.TextChoices):
        PENDING = "pending", "Waiting"
        RESERVED = "reserved", "Reserved"
        DIALING = "dialing", "Dialing"
        CHECKING = "checking", "Checking"
        PLACED = "placed", "Placed"
        FAILED = "failed", "Failed"
        UNKNOWN = "unknown", "Needs review"
        SUPPRESSED = "suppressed", "Suppressed"
        HELD = "held", "Held back"

    OPEN_STATES = (State.PENDING, State.RESERVED, State.DIALING, State.CHECKING)
    IN_FLIGHT = (State.RESERVED, State.DIALING, State.CHECKING)

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="calls")
    to_e164 = models.CharField("destination", max_length=16)
    row = models.PositiveIntegerField(help_text="Line of the uploaded CSV.")
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    not_before = models.DateTimeField(help_text="Not dispatched before this (paced or backing off).")
    number = models.ForeignKey(
        PhoneNumber, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_e164 = models.CharField("caller ID", max_length=16, blank=True)
    attempt = models.ForeignKey(
        CallAttempt, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The claim the current reservation holds; dial tasks carry its id.",
    )  # fmt: skip
    reserved_at = models.DateTimeField(null=True, blank=True)
    dialing_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    provider_call_id = models.CharField(max_length=80, blank=True)
    error = models.CharField(max_length=300, blank=True)
    unavailable_tries = models.PositiveSmallIntegerField(default=0)
    # Retries taken after a no-answer, after a busy (campaigns/retries.py).
    no_answer_retries = models.PositiveSmallIntegerField(default=0)
    busy_retries = models.PositiveSmallIntegerField(default=0)
    zone = models.PositiveSmallIntegerField(
        default=0, help_text="Its time zones: an index of campaign.zones."
    )
    # How a placed call went (campaigns/outcomes.py): the provider's status callbacks, or asking it.
    progress = models.PositiveSmallIntegerField(
        default=0, help_text="Rank of the furthest status heard (providers.adapters.base.STATUS_RANKS)."
    )
    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True)
    answered = models.BooleanField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    duration_s = models.PositiveIntegerField("duration (s)", null=True, blank=True)
    hangup_cause = models.CharField(max_length=200, blank=True)
    outcome_asked_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["row"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "to_e164"], name="one_call_per_destination"),
        ]
        indexes = [
            models.Index(
                fields=["campaign", "not_before", "id"],
                condition=models.Q(state="pending"),
                name="call_due",
            ),
            models.Index(  # calling hours: the due calls of a zone set whose hours are closed (few)
                fields=["campaign", "zone", "not_before"],
                condition=models.Q(state="pending"),
                name="call_due_by_zone",
            ),
            models.Index(
                fields=["state", "reserved_at"],  # small: only calls in flight, for the recovery sweep
                condition=models.Q(state__in=["reserved", "dialing", "checking"]),
                name="call_in_flight",
            ),
            # The progress counts and the call log, filtered by state or not, in upload order.
            models.Index(fields=["campaign", "state", "row"], name="call_log_by_state"),
            models.Index(fields=["campaign", "row"], name="call_log"),
            # Status callbacks that name a call only by the provider's id (Telnyx's application callback).
            models.Index(
                fields=["provider_call_id"],
                condition=~models.Q(provider_call_id=""),
                name="call_by_provider_id",
            ),
            # Placed calls still waiting for their outcome (few, while callbacks arrive): reconcile asks.
            models.Index(
                fields=["finished_at"],
                condition=models.Q(state="placed", progress__lt=35),
                name="call_awaiting_outcome",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.to_e164} ({self.get_state_display()})"

    @property
    def reference(self) -> str:
        """Sent to the provider with the dial: this call and this claim, so reconciling can ask for it."""
        return call_reference(self.pk, self.attempt_id)


class DestinationUpload(TenantModel):
    """A destination list too long to read in the request, waiting for a worker (campaigns.load_destinations).

    The raw bytes live in PostgreSQL: web and workers share it already (docker-compose gives them no common
    disk, and Redis holds pacing state under a memory cap), and the row is written in the campaign's own
    transaction, so a campaign never exists without its list. Deleted once its calls are written; a failed
    read stays, with its error, and the campaign can't start."""

    class State(models.TextChoices):
        PENDING = "pending", "Reading"
        FAILED = "failed", "Failed"

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="upload")
    data = models.BinaryField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    rows_read = models.PositiveIntegerField(default=0)
    rows_estimated = models.PositiveIntegerField(default=0)  # the file's lines: what the progress counts to
    error = models.TextField(blank=True)


class DoNotCall(TenantModel):
    """A number the workspace's campaigns never dial: a call to it ends "suppressed" instead
    (campaigns/donotcall/). One entry per number and workspace."""

    class Source(models.TextChoices):
        MANUAL = "manual", "Added by hand"
        CSV = "csv", "CSV import"
        STOP = "stop-webhook", "Said stop on a call"

    e164 = models.CharField("number", max_length=16)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.MANUAL)
    note = models.CharField(max_length=200, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who added it in words, kept when the user is gone ("Dana Scully", "Stop request on +1 415 555 0100").
    added_by_label = models.CharField(max_length=150)
    added_at = models.DateTimeField()

    class Meta:
        ordering = ["-added_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["workspace", "e164"], name="one_dnc_entry_per_number")]
        indexes = [models.Index(fields=["workspace", "-added_at", "-id"], name="dnc_newest_first")]

    def __str__(self) -> str:
        return self.e164


class StopToken(TenantModel):
    """The secret an agent's tool sends with a stop request (voice/: hooks:stop); only its SHA-256 is
    kept, so it is shown once, when made. One per workspace: making another replaces it."""

    token_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=12, help_text="The token's first characters, to recognise it.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace"], name="one_stop_token_per_workspace")]

    def __str__(self) -> str:
        return f"{self.hint}…"
