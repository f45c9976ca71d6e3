from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from providers.models import ProviderConnection
from tenants.display import phone
from tenants.models import Environment, TenantModel


class Tag(TenantModel):
    """A free-form label on numbers; campaigns pick caller IDs by tag. Unique per workspace, any case."""

    MAX_LENGTH = 32
    MAX_PER_NUMBER = 20

    name = models.CharField(max_length=MAX_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = [Lower("name")]
        constraints = [models.UniqueConstraint("workspace", Lower("name"), name="tag_name_unique_ci")]

    def __str__(self) -> str:
        return self.name


class Health(models.TextChoices):
    """How a number's calls are going (health/: computed from its own calls against its pool's)."""

    HEALTHY = "healthy", "Healthy"
    WATCH = "watch", "Watch"
    AT_RISK = "at_risk", "At risk"
    RESTING = "resting", "Resting"
    RETIRED = "retired", "Retired"


# Out of every campaign pool: resting until `resting_until`, retired until a person returns it.
HEALTH_OUT_OF_POOLS = (Health.RESTING, Health.RETIRED)


class PhoneNumber(TenantModel):
    class State(models.TextChoices):
        PENDING = "pending", "Ordering…"
        ACTIVE = "active", "Active"
        RELEASING = "releasing", "Releasing…"
        RELEASED = "released", "Released"
        DETACHED = "detached", "Detached"

    # A number in one of these states is held by its workspace; it can be held by one workspace at most.
    HELD_STATES = (State.PENDING, State.ACTIVE, State.RELEASING)
    FINISHED_STATES = (State.RELEASED, State.DETACHED)
    # Numbers that may call out: active and not on hold. A number on hold (deleted, `release_at` set) stays
    # active so it still answers inbound calls, but leaves every campaign pool until it is restored.
    CALLS_OUT = models.Q(state=State.ACTIVE, release_at__isnull=True)

    e164 = models.CharField("number", max_length=16, help_text="E.164, e.g. +14155550142")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="+")
    connection = models.ForeignKey(ProviderConnection, on_delete=models.PROTECT, related_name="+")
    provider_ref = models.CharField(max_length=64, blank=True, help_text="The provider's id of the number.")
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    # Services refuse to delete an agent while held numbers route to it; released and detached
    # history simply loses the link.
    inbound_agent = models.ForeignKey(
        "agents.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    inbound_variant = models.ForeignKey(
        "agents.Variant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="numbers")
    previous_routing = models.JSONField(
        null=True,
        blank=True,
        help_text="Routing at the provider before Dialtone took it; restored on detach.",
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Deleted: on hold until then (answers inbound, never calls out), then released at the provider.
    release_at = models.DateTimeField(null=True, blank=True)
    # Live first, then pre-release, then sandbox: kept beside environment so the Numbers page can
    # walk one index in display order instead of sorting 100,000 rows per request.
    env_rank = models.PositiveSmallIntegerField(default=2, editable=False)
    version = models.PositiveIntegerField(
        default=0, help_text="Bumped on every edit; stale edit forms are refused."
    )
    # Health (health/ computes it; phone_numbers/health.py moves it, recording a HealthChange each time).
    health = models.CharField(max_length=10, choices=Health.choices, default=Health.HEALTHY)
    health_reason = models.CharField(max_length=300, blank=True)
    health_changed_at = models.DateTimeField(null=True, blank=True)
    resting_until = models.DateTimeField(null=True, blank=True)
    # Back from a rest at this time: only calls since count for its health, and its calls per day ramp up.
    returned_at = models.DateTimeField(null=True, blank=True)
    # Flagged by hand (e.g. a callee saw "Spam Likely"): at risk until a member clears it.
    flagged = models.BooleanField(default=False)
    flag_note = models.CharField(max_length=200, blank=True)
    flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    flagged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["e164"]
        constraints = [
            models.UniqueConstraint(
                fields=["e164"],
                condition=models.Q(state__in=["pending", "active", "releasing"]),
                name="number_held_by_one_workspace",
            ),
        ]
        indexes = [
            # PostgreSQL's also carries the id, for index-only walks (migration 0009).
            models.Index(
                fields=["workspace", "env_rank", "e164"],
                condition=models.Q(state__in=["pending", "active", "releasing"]),
                name="number_page_order",
            ),
            # Whether a tag is on a held number (tag pickers) is then answered from this index alone.
            models.Index(
                fields=["id"],
                condition=models.Q(state__in=["pending", "active", "releasing"]),
                name="number_held",
            ),
            models.Index(fields=["workspace", "environment", "e164"], name="number_by_env"),
            models.Index(fields=["workspace", "state"], name="number_by_state"),
            # The Numbers page's health filter, in page order (few numbers are anything but healthy).
            models.Index(
                fields=["workspace", "health", "env_rank", "e164"],
                condition=models.Q(state__in=["pending", "active", "releasing"]),
                name="number_page_by_health",
            ),
            # The hold task's numbers due for release.
            models.Index(
                fields=["release_at"], condition=models.Q(release_at__isnull=False), name="number_release_due"
            ),
            # The health sweep's numbers due back from a rest.
            models.Index(
                fields=["resting_until"], condition=models.Q(health="resting"), name="number_resting"
            ),
        ]

    def __str__(self) -> str:
        return phone(self.e164)  # messages, audit labels and admin read it the way people write it

    def event_data(self) -> dict:
        """What outbound events (events/) say of the number."""
        return {
            "number_id": self.pk, "e164": self.e164, "state": self.state, "environment_id": self.environment_id,
            "connection_id": self.connection_id, "provider_ref": self.provider_ref, "health": self.health,
        }  # fmt: skip

    ENV_RANK = {"live": 0, "pre_release": 1, "sandbox": 2}

    def save(self, *args, **kwargs):
        self.env_rank = self.ENV_RANK[self.environment.kind]
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "environment" in update_fields:
            kwargs["update_fields"] = {*update_fields, "env_rank"}
        super().save(*args, **kwargs)

    @property
    def is_held(self) -> bool:
        return self.state in self.HELD_STATES

    @property
    def on_hold(self) -> bool:
        """Deleted and waiting for its release (phone_numbers/hold.py): restorable until then."""
        return self.state == self.State.ACTIVE and self.release_at is not None

    @property
    def calls_out(self) -> bool:
        return self.state == self.State.ACTIVE and self.release_at is None


class NumberOperation(TenantModel):
    """A money-moving provider call (buy, release), recorded before it is made.

    The intent is committed before the provider is called and the outcome after, so a crash in
    between leaves an operation that reconciliation settles by asking the provider, never by buying
    again. The idempotency key makes a double submit or a retried request the same operation.
    """

    class Kind(models.TextChoices):
        BUY = "buy", "Buy"
        RELEASE = "release", "Release"

    class State(models.TextChoices):
        STARTED = "started", "Started"  # intent committed; provider not yet answered
        PENDING = "pending", "Pending at provider"  # e.g. a Telnyx number order in progress
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        UNKNOWN = "unknown", "Outcome unknown"  # timeout or dropped connection: reconcile decides

    OPEN_STATES = (State.STARTED, State.PENDING, State.UNKNOWN)

    kind = models.CharField(max_length=20, choices=Kind.choices)
    idempotency_key = models.CharField(max_length=64)
    state = models.CharField(max_length=20, choices=State.choices, default=State.STARTED)
    number = models.ForeignKey(
        PhoneNumber, null=True, blank=True, on_delete=models.SET_NULL, related_name="operations"
    )
    e164 = models.CharField(max_length=16)
    connection = models.ForeignKey(ProviderConnection, on_delete=models.PROTECT, related_name="+")
    order_id = models.CharField(max_length=64, blank=True)
    error = models.CharField(max_length=300, blank=True)
    error_code = models.CharField(max_length=32, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "idempotency_key"], name="operation_idempotent"),
        ]
        indexes = [models.Index(fields=["state", "created_at"], name="operation_open")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {phone(self.e164)} ({self.get_state_display()})"

    @property
    def reference(self) -> str:
        """Sent to the provider with the order (Telnyx customer_reference, Twilio friendly name)."""
        return f"dialtone-op-{self.pk}"


class HealthChange(TenantModel):
    """One move of a number's health (from -> to, why, when, by whom): its page and its charts read them.
    Append-only; `actor` None is Dialtone's own sweep ("automatic")."""

    number = models.ForeignKey(PhoneNumber, on_delete=models.CASCADE, related_name="health_changes")
    from_state = models.CharField(max_length=10, choices=Health.choices)
    to_state = models.CharField(max_length=10, choices=Health.choices)
    reason = models.CharField(max_length=300)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, default="automatic")

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["number", "at"], name="health_change_by_number")]

    def __str__(self) -> str:
        return f"{self.from_state} -> {self.to_state} at {self.at:%Y-%m-%d %H:%M}"


class ReputationSchedule(TenantModel):
    """How often the workspace's numbers get a fresh reputation check from providers that keep a feed
    (Telnyx Number Reputation). Never, by default: each fresh check costs money."""

    class Every(models.IntegerChoices):
        NEVER = 0, "Never"
        DAY = 1, "Every day"
        WEEK = 7, "Every 7 days"
        MONTH = 30, "Every 30 days"

    every_days = models.PositiveSmallIntegerField(choices=Every.choices, default=Every.NEVER)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace"], name="reputation_schedule_per_workspace"),
            models.CheckConstraint(condition=models.Q(every_days__in=[0, 1, 7, 30]), name="reputation_every"),
        ]

    def __str__(self) -> str:
        return self.get_every_days_display()


class NumberReputation(TenantModel):
    """The last reputation check of a number, kept so pages and number health read it without paying for
    another. `fetched_at` (our clock) says when it is due again; `checked_at` is the provider's."""

    class Level(models.TextChoices):
        LOW = "low", "Low spam risk"
        MEDIUM = "medium", "Medium spam risk"
        HIGH = "high", "High spam risk"
        UNKNOWN = "unknown", "Unknown"

    number = models.OneToOneField(PhoneNumber, on_delete=models.CASCADE, related_name="reputation")
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.UNKNOWN)
    flagged = models.BooleanField(default=False)
    category = models.CharField(max_length=80, blank=True)
    why = models.CharField(
        max_length=200, blank=True, help_text="Why the level is unknown, or the last error."
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=20, help_text="The provider whose feed said it.")
    fetched_at = models.DateTimeField(null=True, blank=True)
    # A refresh claims the row before it asks the provider, so two runs never pay for one number twice;
    # a claim left by a run that died lapses (reputation.CLAIM_LAPSES).
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level__in=["low", "medium", "high", "unknown"]), name="reputation_level"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number}: {self.get_level_display()}"


class BulkJob(TenantModel):
    """A change to many numbers at once (tag, untag, route, detach, release, a CSV import), run by a worker
    in chunks (phone_numbers/bulk.py). Its items are written when it is created, so "which numbers" is
    fixed then; each item's result is recorded once, so a run after a crash skips what is done.
    An import waits in `preview` until a person confirms what it will change; a bulk buy waits there as
    its quote (phone_numbers/bulk_buy.py), its items the numbers quoted and their prices."""

    class Kind(models.TextChoices):
        TAG = "tag", "Add tags"
        UNTAG = "untag", "Remove tags"
        ROUTE = "route", "Route to an agent"
        DETACH = "detach", "Detach"
        RELEASE = "release", "Release"
        IMPORT = "import", "CSV import"
        BUY = "buy", "Buy in bulk"

    class State(models.TextChoices):
        PREVIEW = "preview", "Waiting for confirmation"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    OPEN_STATES = (State.QUEUED, State.RUNNING)

    kind = models.CharField(max_length=10, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    params = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The worker running it holds it until then, renewed every chunk: a second delivery of its task waits
    # out a live run instead of working beside it, and takes over from one that died.
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=["preview", "queued", "running", "done", "failed"]),
                name="bulk_job_state",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.total} number{'s' if self.total != 1 else ''})"

    @property
    def settled(self) -> int:
        return self.done_count + self.failed_count

    @property
    def percent(self) -> int:
        return 100 if not self.total else self.settled * 100 // self.total


class BulkJobItem(TenantModel):
    """One number of a bulk job (or one row of an import), and what happened to it."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        INVALID = "invalid", "Not imported"  # an import row refused at preview: never run

    job = models.ForeignKey(BulkJob, on_delete=models.CASCADE, related_name="items")
    number = models.ForeignKey(
        PhoneNumber, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    e164 = models.CharField(max_length=40, blank=True)
    row = models.PositiveIntegerField(null=True, blank=True)  # an import's CSV row
    # An import row's wanted setup (environment, connection, agent, variant, tags) and what it changes.
    payload = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    message = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["job", "state", "id"], name="bulk_item_by_state")]

    def __str__(self) -> str:
        return f"{self.e164}: {self.get_state_display()}"
