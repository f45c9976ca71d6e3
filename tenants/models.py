import hashlib
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models, transaction
from django.utils import timezone

from tenants import scope
from tenants.managers import WorkspaceScopedManager
from tenants.roles import Role

slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$",
    "Use 1-50 lowercase letters, digits and hyphens, starting and ending with a letter or digit.",
)
sip_validator = RegexValidator(
    r"^sips?:[^\s@]+@[A-Za-z0-9.-]+(?::\d{1,5})?(?:;[^\s]*)?$",
    "Enter a SIP URI such as sip:agent@sip.example.com.",
)


class Plan(models.Model):
    """What a workspace may do on the platform's managed provider accounts."""

    name = models.CharField(max_length=60, unique=True)
    managed_number_limit = models.PositiveIntegerField(
        help_text="Numbers a workspace may hold on platform-managed connections. 0 means none."
    )

    def __str__(self) -> str:
        return f"{self.name} ({self.managed_number_limit} managed numbers)"


class Workspace(models.Model):
    """A tenant. Every tenant row points at one; nobody sees another workspace's rows."""

    slug = models.SlugField(max_length=50, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=120)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="workspaces")
    created_at = models.DateTimeField(auto_now_add=True)
    # A deleted number is held this many days (answering inbound, restorable) before it is released.
    release_hold_days = models.PositiveSmallIntegerField(
        default=7,
        validators=[MaxValueValidator(30)],
        help_text="Days a deleted number is held before it is released at the provider (0-30).",
    )

    RELEASE_HOLD_MAX_DAYS = 30

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(release_hold_days__lte=30), name="release_hold_days_max"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        creating = self._state.adding
        with transaction.atomic():
            super().save(*args, **kwargs)
            if creating:
                # Every workspace has its three environments from birth (PolyAI's sandbox/pre-release/live).
                Environment.unscoped.bulk_create(
                    Environment(workspace=self, kind=kind, **Environment.default_sip(self.slug, kind))
                    for kind in Environment.Kind.values
                )


class TenantModel(models.Model):
    """Base of every tenant row: scoped default manager, `unscoped` as the named escape hatch."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")

    objects = WorkspaceScopedManager()
    unscoped = models.Manager()  # noqa: DJ012 - ruff takes models.Manager() for a field

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        active = scope.current_workspace()
        # Inside a workspace's scope every new row is that workspace's; platform rows (managed
        # connections) can only be written with all_workspaces().
        if self.workspace_id is None and active is not None:
            self.workspace = active
        if active is not None and self.workspace_id != active.pk:
            raise scope.ScopeViolation(
                f"{type(self).__name__} of workspace {self.workspace_id} saved in scope of {active.pk}"
            )
        super().save(*args, **kwargs)


class Environment(TenantModel):
    class Kind(models.TextChoices):
        SANDBOX = "sandbox", "Sandbox"
        PRE_RELEASE = "pre_release", "Pre-release"
        LIVE = "live", "Live"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    sip_main = models.CharField("main SIP address", max_length=255, validators=[sip_validator])
    sip_fallback = models.CharField(
        "fallback SIP address", max_length=255, blank=True, validators=[sip_validator]
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "kind"], name="one_environment_per_kind")]

    def __str__(self) -> str:
        return self.get_kind_display()

    @property
    def position(self) -> int:
        """Live first: production numbers are what operators look for most."""
        return [self.Kind.LIVE, self.Kind.PRE_RELEASE, self.Kind.SANDBOX].index(self.kind)

    @staticmethod
    def default_sip(slug: str, kind: str) -> dict[str, str]:
        label = kind.replace("_", "-")
        return {
            "sip_main": f"sip:{label}.{slug}@sip.dialtone.dev",
            "sip_fallback": f"sip:{label}.{slug}@sip-fallback.dialtone.dev",
        }


class Membership(TenantModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_user")]

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class Invitation(TenantModel):
    """A link to join a workspace with a role. Only the token's SHA-256 is stored: the link is shown to the
    inviter and emailed once, works once, and expires."""

    LIFETIME = timedelta(days=7)

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"
        ACCEPTED = "accepted", "Accepted"

    email = models.EmailField(help_text="Stored lower-case: addresses are compared without case.")
    role = models.CharField(max_length=20, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invitation_per_email",
            )
        ]

    def __str__(self) -> str:
        return self.email

    @staticmethod
    def hash_token(token: str) -> str:
        # The token carries 256 random bits, so a fast hash is enough: nothing to brute-force.
        return hashlib.sha256(token.encode()).hexdigest()

    @property
    def state(self) -> str:
        if self.accepted_at:
            return self.State.ACCEPTED
        if self.revoked_at:
            return self.State.REVOKED
        return self.State.EXPIRED if self.expires_at <= timezone.now() else self.State.PENDING


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ValidationError("Audit events are append-only.")

    def delete(self):
        raise ValidationError("Audit events are append-only.")


class ScopedAuditManager(WorkspaceScopedManager.from_queryset(AuditEventQuerySet)):
    pass


class AuditEvent(TenantModel):
    """Append-only record of who did what. Written only through `tenants.audit.audit()`."""

    # None for platform events (sign-in throttling): no workspace lists them, Django admin does.
    workspace = models.ForeignKey(
        Workspace, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, help_text="The actor's name when it happened.")
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = ScopedAuditManager()
    unscoped = models.Manager.from_queryset(AuditEventQuerySet)()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="audit_by_workspace_time")]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.target_label}".strip()

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValidationError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Audit events are append-only.")


class ApiKey(TenantModel):
    """A workspace's key for the JSON API (api/), acting with its own role. Only the secret's SHA-256 is
    stored: the secret is shown once, when the key is made, and every request is looked up by its hash."""

    PREFIX = "dtk_"

    name = models.CharField(max_length=60)
    role = models.CharField(max_length=20, choices=Role.choices)
    prefix = models.CharField(max_length=16, help_text="The secret's start, shown to tell keys apart.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_secret(secret: str) -> str:
        # 256 random bits: a fast hash is enough, there is nothing to brute-force.
        return hashlib.sha256(secret.encode()).hexdigest()

    @property
    def active(self) -> bool:
        return self.revoked_at is None
