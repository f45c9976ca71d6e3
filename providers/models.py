from django.conf import settings
from django.db import models

from providers.fields import EncryptedJSONField
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
    Provider.SANDBOX: (("account", "Sandbox account name", False),),
}


class ProviderConnection(TenantModel):
    """A provider account: a workspace's own, or platform-managed (no workspace; created in admin)."""

    class State(models.TextChoices):
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
    state = models.CharField(max_length=20, choices=State.choices, default=State.VERIFIED)
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
