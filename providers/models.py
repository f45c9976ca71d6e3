from django.conf import settings
from django.db import models, transaction

from providers.fields import EncryptedJSONField
from providers.sandbox.adapter import STARTER_NUMBERS
from tenants.models import TenantModel, Workspace


class Provider(models.TextChoices):
    TWILIO = "twilio", "Twilio"
    TELNYX = "telnyx", "Telnyx"
    SANDBOX = "sandbox", "Sandbox"


# What each provider's credentials hold: (key, label, secret?). The secret is never rendered back.
CREDENTIAL_FIELDS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    Provider.TWILIO: (("account_sid", "Account SID", False), ("auth_token", "Auth Token", True)),
    Provider.TELNYX: (
        ("api_key", "API key", True),
        ("connection_id", "TeXML application (connection) ID, for inbound and outbound calls", False),
    ),
    Provider.SANDBOX: (),  # fictional numbers, calls that ring nobody: nothing to prove
}


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
    provider = models.CharField(max_length=20, choices=Provider.choices)
    label = models.CharField(max_length=80)
    credentials = EncryptedJSONField(default=dict, blank=True)
    # Verified only by asking the provider (which also sets last_verified_at).
    state = models.CharField(max_length=20, choices=State.choices, default=State.UNVERIFIED)
    last_verified_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
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
            if creating and self.provider == Provider.SANDBOX:
                # A sandbox account opens with its connection, already owning the starter numbers.
                SandboxNumber.objects.bulk_create(
                    SandboxNumber(connection=self, e164=e) for e in STARTER_NUMBERS
                )

    @property
    def is_managed(self) -> bool:
        return self.workspace_id is None

    @property
    def account_hint(self) -> str:
        """What identifies the account on screen: public ids in full, secrets as their last 4 characters."""
        parts = []
        for key, _label, secret in CREDENTIAL_FIELDS[self.provider]:
            value = str(self.credentials.get(key, ""))
            if value:
                parts.append(f"…{value[-4:]}" if secret else value)
        return " · ".join(parts)


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
