from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction

from providers import registry
from providers.fields import EncryptedJSONField
from tenants.models import TenantModel, Workspace

MIN_CALLS_PER_SECOND, MAX_CALLS_PER_SECOND = Decimal("0.01"), Decimal(10000)


class ProviderConnection(TenantModel):
    """A provider account: a workspace's own, or platform-managed (no workspace; created in admin)."""

    class State(models.TextChoices):
        UNVERIFIED = "unverified", "Not verified yet"
        VERIFIED = "verified", "Verified"
        FAILING = "failing", "Failing"
        DISCONNECTED = "disconnected", "Disconnected"

    workspace = models.ForeignKey(
        Workspace,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Empty for a platform-managed connection, which every workspace may buy through within its plan.",
    )
    provider = models.CharField(max_length=20, choices=registry.choices())
    label = models.CharField(max_length=80)
    credentials = EncryptedJSONField(default=dict, blank=True)
    # Verified only by asking the provider (which also sets last_verified_at).
    state = models.CharField(max_length=20, choices=State.choices, default=State.UNVERIFIED)
    last_verified_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    # The account's outbound call rate, enforced by the pacer's claims (pacing/pacer.py Rate); empty: the
    # provider's default. On a managed connection, each workspace's share of the platform account.
    calls_per_second = models.DecimalField(
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(MIN_CALLS_PER_SECOND), MaxValueValidator(MAX_CALLS_PER_SECOND)],
        help_text="Outbound calls per second the account allows; empty for the provider's default. On a "
        "managed connection: what each workspace may use of the platform account's rate.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["provider", "label"]
        constraints = [
            models.UniqueConstraint(
                models.F("workspace"), models.functions.Lower("label"), name="connection_label_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} · {self.label}" + (" (managed)" if self.is_managed else "")

    def save(self, *args, **kwargs):
        creating = self._state.adding
        with transaction.atomic():
            super().save(*args, **kwargs)
            if creating:
                registry.get(self.provider).connection_created(self)

    @property
    def is_managed(self) -> bool:
        return self.workspace_id is None

    @property
    def call_rate(self) -> Decimal:
        """Outbound calls per second: the one set, or the provider's default."""
        if self.calls_per_second is not None:
            return self.calls_per_second
        return registry.get(self.provider).default_calls_per_second

    @property
    def account_hint(self) -> str:
        """What identifies the account on screen: public ids in full, secrets as their last 4 characters."""
        return registry.get(self.provider).account_hint(self.credentials)

    @property
    def missing_credentials(self) -> str:
        if self.state == self.State.DISCONNECTED:
            return ""
        return ", ".join(registry.get(self.provider).missing(self.credentials))


# ---- The sandbox provider's own records ------------------------------------------------------------
# What a real provider keeps on its side of an account, kept here for the sandbox so that every process
# (web, workers) and every restart sees the same account. Not tenant rows: they belong to the connection,
# and only providers/sandbox/store.py reads or writes them.


class SandboxNumber(models.Model):
    """A number the sandbox account holds (bought, or a starter number); released numbers are deleted."""

    connection = models.ForeignKey(ProviderConnection, on_delete=models.CASCADE, related_name="+")
    e164 = models.CharField(max_length=16)
    routing = models.JSONField(default=dict, blank=True)

    class Meta:
        # Two processes buying the same number: the database lets exactly one of them have it.
        constraints = [
            models.UniqueConstraint(fields=["connection", "e164"], name="sandbox_number_held_once")
        ]

    def __str__(self) -> str:
        return self.e164


class SandboxOrder(models.Model):
    """A purchase, tagged with the buyer's reference so a lost answer can be looked up."""

    connection = models.ForeignKey(ProviderConnection, on_delete=models.CASCADE, related_name="+")
    e164 = models.CharField(max_length=16)
    reference = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["connection", "reference"], name="sandbox_order_reference")]

    def __str__(self) -> str:
        return f"{self.e164} ({self.reference})"


class SandboxCall(models.Model):
    """A call the sandbox placed (it rings nobody)."""

    connection = models.ForeignKey(ProviderConnection, on_delete=models.CASCADE, related_name="+")
    call_id = models.CharField(max_length=40, unique=True)
    from_e164 = models.CharField(max_length=16)
    to_e164 = models.CharField(max_length=16)
    webhook_url = models.TextField()
    reference = models.CharField(max_length=100)
    placed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.from_e164} → {self.to_e164}"
