"""Outbound event endpoints (a workspace's HTTPS URLs), the events published to them, and each delivery."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from providers.fields import EncryptedJSONField
from tenants.models import TenantModel


class Endpoint(TenantModel):
    """An HTTPS URL that receives the events it subscribes to, each POST signed with its own secret."""

    url = models.URLField("URL", max_length=500)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list, help_text="The event types it receives (events/catalog.py).")
    enabled = models.BooleanField(default=True)
    # {"secret": "whsec_..."}: encrypted at rest like provider credentials (providers/crypto.py).
    signing = EncryptedJSONField(default=dict)
    secret_hint = models.CharField(max_length=12)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.url

    @property
    def secret(self) -> str:
        return self.signing["secret"]


class Event(TenantModel):
    """One published event: its body is built once and sent as it is to every endpoint (and every retry)."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=40)
    body = models.TextField(help_text="The JSON sent, byte for byte (what the signature covers).")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.uid}"


class Delivery(TenantModel):
    """An event on its way to one endpoint: tried until the endpoint answers 2xx or the attempts run out."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When it may be sent next: a sender leases it by moving this ahead, so a crashed send is retried.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="HTTP status answered")
    last_error = models.CharField(max_length=300, blank=True)
    last_ms = models.PositiveIntegerField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], name="delivery_due", condition=models.Q(state="pending")
            ),
            models.Index(fields=["endpoint", "-id"], name="delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event.type} to {self.endpoint.url}"
